//! Settling claimed jobs: completions and failures, each batch in one round trip.

use beds24_spin_glue::{job_records, log, now_ms, redis::SpinRedis};
use beds24_sync_core::logging::Level;
use beds24_sync_core::queue::{decide, policy, ClaimedJob, Clock, Failure, HistoryRecord, Queue};
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
    let verdicts = match Queue::new(redis).complete_many(&done, Clock::Redis) {
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

/// Settle jobs that failed for one reason, in one round trip: each by the retry policy
/// (its own tries), all on Redis's clock, so jobs delayed together come due together.
pub fn settle_failures(
    settings: &Settings,
    redis: &mut SpinRedis,
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
            let decision = decide(&settings.schedule, job.attempts, failure, jitter);
            let record = history(
                job,
                decision.mode(),
                started,
                now,
                Some(failure.message().to_owned()),
            );
            (job, decision, record)
        })
        .collect();
    let batch: Vec<_> = decided
        .iter()
        .map(|(job, decision, record)| (*job, *decision, failure.message(), record))
        .collect();
    let verdicts = Queue::new(redis).fail_many(&batch, Clock::Redis);
    if let Ok(verdicts) = &verdicts {
        forget_records(
            jobs.iter()
                .zip(verdicts)
                .filter(|(_, v)| *v == "final")
                .map(|(job, _)| job),
        );
    }
    for (i, (job, decision, _)) in decided.iter().enumerate() {
        let verdict = match &verdicts {
            Ok(all) => json!(all.get(i)),
            Err(e) => json!({ "error": e.to_string() }),
        };
        log(
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
pub fn hold_for(redis: &mut SpinRedis, failure: &Failure) {
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
    if let Err(e) = Queue::new(redis).hold(&reason, for_ms) {
        log(
            Level::Warn,
            "could not hold the queue",
            &[("error", json!(e.to_string()))],
        );
    } else {
        log(
            Level::Warn,
            "queue held",
            &[("reason", json!(reason)), ("forMs", json!(for_ms))],
        );
    }
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
