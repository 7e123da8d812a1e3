//! Settling claimed jobs: completions in one batched call, failures by the retry policy.

use beds24_spin_glue::{job_records, log, now_ms, redis::SpinRedis};
use beds24_sync_core::beds24::ApiFailure;
use beds24_sync_core::logging::Level;
use beds24_sync_core::queue::{decide, ClaimedJob, Failure, HistoryRecord, Queue};
use beds24_sync_core::sync::job_failure;
use serde_json::json;

use crate::settings::Settings;

/// Best effort: a record left behind is overwritten by the booking's next webhook.
fn forget_records<'a>(jobs: impl IntoIterator<Item = &'a ClaimedJob>) {
    let _ = job_records::forget(jobs.into_iter().map(|job| &job.booking_id));
}

/// Complete every synced job of the batch in one round trip.
pub fn settle_successes(redis: &mut SpinRedis, jobs: &[ClaimedJob], started: i64) {
    let now = now_ms();
    let records: Vec<HistoryRecord> = jobs
        .iter()
        .map(|job| history(job, "completed", started, now, None))
        .collect();
    let done: Vec<_> = jobs.iter().zip(&records).collect();
    let verdicts = match Queue::new(redis).complete_many(&done, now) {
        Ok(verdicts) => verdicts,
        Err(e) => {
            // The jobs stay active; their leases run out and they are synced again.
            let ids: Vec<&str> = jobs.iter().map(|j| j.booking_id.as_str()).collect();
            log(
                Level::Error,
                "could not record completion",
                &[("bookingIds", json!(ids)), ("error", json!(e.to_string()))],
            );
            return;
        }
    };
    let finished = jobs
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| *v == "completed");
    forget_records(finished.map(|(job, _)| job));
    for (job, verdict) in jobs.iter().zip(verdicts) {
        log(
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

pub fn settle_failure(
    settings: &Settings,
    redis: &mut SpinRedis,
    job: &ClaimedJob,
    failure: &Failure,
    started: i64,
) {
    let now = now_ms();
    let jitter = f64::from(chrono::Utc::now().timestamp_subsec_nanos() % 1000) / 1000.0;
    let decision = decide(&settings.schedule, job.attempts, failure, now, jitter);
    let record = history(
        job,
        decision.mode(),
        started,
        now,
        Some(failure.message().to_owned()),
    );
    let verdict = Queue::new(redis).fail(job, now, decision, failure.message(), &record);
    if matches!(verdict.as_deref(), Ok("final")) {
        forget_records([job]);
    }
    log(
        Level::Warn,
        "booking sync failed",
        &[
            ("bookingId", json!(job.booking_id)),
            ("action", json!(job.action)),
            ("attempt", json!(job.attempts + 1)),
            ("decision", json!(decision.mode())),
            ("queue", json!(verdict.as_ref().map_err(|e| e.to_string()))),
            ("error", json!(failure.message())),
        ],
    );
}

fn history(
    job: &ClaimedJob,
    outcome: &str,
    started: i64,
    now: i64,
    error: Option<String>,
) -> HistoryRecord {
    HistoryRecord {
        booking_id: job.booking_id.to_string(),
        action: job.action,
        outcome: outcome.to_owned(),
        attempts: job.attempts + 1,
        started_at: started,
        finished_at: now,
        duration_ms: now - started,
        error,
    }
}

pub fn to_failure(failure: ApiFailure) -> Failure {
    job_failure(failure, now_ms())
}
