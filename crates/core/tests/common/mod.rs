//! Helpers shared by the queue's integration tests against a real Redis.

#![allow(dead_code)]

use beds24_sync_core::queue::{
    ClaimOptions, ClaimedJob, Completion, Decision, HistoryRecord, JobView, Queue, Settled,
};
use beds24_sync_core::store::RedisExec;
use beds24_sync_core::{Action, BookingId};

pub fn id(s: &str) -> BookingId {
    BookingId::parse(s).unwrap()
}

/// Claim with the clock pinned at `now_ms` (the queue's timers walk forward without sleeping).
pub fn claim_opts(now_ms: i64) -> ClaimOptions {
    ClaimOptions {
        clock: now_ms.into(),
        lease_ms: 30_000,
        batch: 10,
        max_tries: 4,
    }
}

fn record(job_id: &str, outcome: &'static str) -> HistoryRecord {
    HistoryRecord {
        booking_id: id(job_id),
        action: Action::Modify,
        outcome,
        attempts: 1,
        started_at: 0,
        finished_at: 1,
        duration_ms: 1,
        error: None,
    }
}

/// The history record of a successful try, as the worker writes it.
pub fn completed(job_id: &str) -> HistoryRecord {
    record(job_id, Completion::Completed.as_str())
}

/// The history record of a failed try settled by `decision`, as the worker writes it.
pub fn failed(job_id: &str, decision: Decision) -> HistoryRecord {
    record(job_id, decision.mode())
}

/// One booking's job, typed (`None` when it has none).
pub fn job<R: RedisExec>(queue: &mut Queue<'_, R>, booking: &str) -> Option<JobView> {
    queue.job(&id(booking)).unwrap()
}

/// Settle a claimed job with `decision` at `now`, the error text `error`; the verdict.
pub fn fail<R: RedisExec>(
    queue: &mut Queue<'_, R>,
    claimed: &ClaimedJob,
    now: i64,
    decision: Decision,
    error: &str,
) -> Settled {
    let record = failed(claimed.booking_id.as_str(), decision);
    let batch = [(claimed, decision, error, &record)];
    queue.fail_many(&batch, now).unwrap().remove(0)
}

/// Complete a claimed job at `now`; the verdict.
pub fn complete<R: RedisExec>(
    queue: &mut Queue<'_, R>,
    claimed: &ClaimedJob,
    now: i64,
) -> Completion {
    let record = completed(claimed.booking_id.as_str());
    queue
        .complete_many(&[(claimed, &record)], now)
        .unwrap()
        .remove(0)
}
