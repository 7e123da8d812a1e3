//! Settling claimed jobs: completions and failures, each group in one round trip, then the logs.

use serde_json::json;

use crate::logging::{emit, now_ms, Level};
use crate::queue::{
    decide, policy, ClaimedJob, Clock, Failure, HistoryRecord, Queue, RetrySchedule,
};
use crate::store::RedisExec;
use crate::BookingId;

/// Complete every synced job of a batch in one round trip.
pub fn settle_successes<R: RedisExec>(queue: &mut Queue<'_, R>, jobs: &[ClaimedJob], started: i64) {
    if jobs.is_empty() {
        return;
    }
    let now = now_ms();
    let history: Vec<HistoryRecord> = jobs
        .iter()
        .map(|job| record(job, "completed", started, now, None))
        .collect();
    let done: Vec<_> = jobs.iter().zip(&history).collect();
    let verdicts = match queue.complete_many(&done, Clock::Redis) {
        Ok(verdicts) => verdicts,
        Err(e) => {
            // The jobs stay active; their leases run out and they are synced again.
            let ids: Vec<&BookingId> = jobs.iter().map(|j| &j.booking_id).collect();
            emit(
                Level::Error,
                "could not record completion",
                &[("bookingIds", json!(ids)), ("error", json!(e.to_string()))],
            );
            return;
        }
    };
    for (job, verdict) in jobs.iter().zip(verdicts) {
        emit(
            Level::Info,
            "booking synced",
            &[
                ("bookingId", json!(job.booking_id)),
                ("action", json!(job.action)),
                ("queue", json!(verdict)),
                ("durationMs", json!(now - started)),
            ],
        );
    }
}

/// Settle jobs that failed for one reason, in one round trip: each by the retry policy
/// (its own tries), all on Redis's clock, so jobs delayed together come due together.
pub fn settle_failures<R: RedisExec>(
    queue: &mut Queue<'_, R>,
    schedule: &RetrySchedule,
    jobs: &[ClaimedJob],
    failure: &Failure,
    started: i64,
) {
    if jobs.is_empty() {
        return;
    }
    let now = now_ms();
    let jitter = f64::from(chrono::Utc::now().timestamp_subsec_nanos() % 1000) / 1000.0;
    let decided: Vec<_> = jobs
        .iter()
        .map(|job| {
            let decision = decide(schedule, job.attempts, failure, jitter);
            let error = Some(failure.message().to_owned());
            let history = record(job, decision.mode(), started, now, error);
            (job, decision, history)
        })
        .collect();
    let batch: Vec<_> = decided
        .iter()
        .map(|(job, decision, history)| (*job, *decision, failure.message(), history))
        .collect();
    let verdicts = queue.fail_many(&batch, Clock::Redis);
    for (i, (job, decision, _)) in decided.iter().enumerate() {
        let verdict = match &verdicts {
            Ok(all) => json!(all.get(i)),
            Err(e) => json!({ "error": e.to_string() }),
        };
        emit(
            Level::Warn,
            "booking sync failed",
            &[
                ("bookingId", json!(job.booking_id)),
                ("action", json!(job.action)),
                ("attempt", json!(job.attempts + 1)),
                ("decision", json!(decision.mode())),
                ("queue", verdict),
                ("error", json!(failure.message())),
            ],
        );
    }
}

/// Failures that no call can get past for a while hold every claim: a rejected account
/// until the next recheck, a spent credit window until it resets.
pub fn hold_for<R: RedisExec>(queue: &mut Queue<'_, R>, failure: &Failure) {
    let (reason, for_ms) = match failure {
        // (The client has already recorded why, for readiness.)
        Failure::AccountBlocked(message) => (
            format!("Beds24 account unusable: {message}"),
            policy::ACCOUNT_RECHECK.as_millis() as i64,
        ),
        Failure::RateLimited {
            retry_after_ms,
            reason,
        } => (reason.clone(), *retry_after_ms),
        Failure::Transient(_) | Failure::Permanent(_) => return,
    };
    match queue.hold(&reason, for_ms) {
        Err(e) => emit(
            Level::Warn,
            "could not hold the queue",
            &[("error", json!(e.to_string()))],
        ),
        Ok(()) => emit(
            Level::Warn,
            "queue held",
            &[("reason", json!(reason)), ("forMs", json!(for_ms))],
        ),
    }
}

fn record(
    job: &ClaimedJob,
    outcome: &'static str,
    started: i64,
    now: i64,
    error: Option<String>,
) -> HistoryRecord {
    HistoryRecord {
        booking_id: job.booking_id.clone(),
        action: job.action,
        outcome,
        attempts: job.attempts + 1,
        started_at: started,
        finished_at: now,
        duration_ms: now - started,
        error,
    }
}
