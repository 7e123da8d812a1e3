//! Turning one fetched batch into per-job results: a row to upsert, a missing booking, or a failure.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::beds24::ApiFailure;
use crate::mapping::{
    booking_id_of, map_identified, Anomaly, BookingRow, MappingContext, SyncState,
};
use crate::queue::{ClaimedJob, Failure};
use crate::BookingId;

/// What became of one claimed job.
#[derive(Debug, Clone, PartialEq)]
pub enum JobResult {
    /// Mapped: upsert this row.
    Row(Box<BookingRow>, Vec<Anomaly>),
    /// Beds24 did not return the booking: deleted or no longer visible (final).
    Missing,
    /// Could not be mapped or fetched.
    Failed(Failure),
}

/// What the Beds24 calls of one batch returned.
pub struct Fetched<'a> {
    /// The bookings Beds24 returned for the batch (`GET /bookings?id=…`, every page).
    pub bookings: &'a [Value],
    /// `None` when the messages call failed: rows keep their stored messages.
    pub messages: Option<&'a [Value]>,
    /// Property names by Beds24 `propertyId`, for `"Booking"."propertyName"`.
    pub property_names: &'a HashMap<String, String>,
}

/// Match fetched bookings and messages to the claimed jobs and map each one.
pub fn plan_batch(
    jobs: &[ClaimedJob],
    fetched: &Fetched<'_>,
    now: DateTime<Utc>,
) -> Vec<(ClaimedJob, JobResult)> {
    let by_id: HashMap<BookingId, &Value> = fetched
        .bookings
        .iter()
        .filter_map(|b| Some((booking_id_of(b).ok()?, b)))
        .collect();
    let mut messages: HashMap<BookingId, Vec<Value>> = HashMap::new();
    for message in fetched.messages.unwrap_or_default() {
        if let Some(id) = message
            .get("bookingId")
            .and_then(|v| BookingId::from_json(v).ok())
        {
            messages.entry(id).or_default().push(message.clone());
        }
    }
    jobs.iter()
        .map(|job| {
            let id = &job.booking_id;
            let result = match by_id.get(id) {
                None => JobResult::Missing,
                Some(booking) => {
                    let ctx = MappingContext {
                        property_names: fetched.property_names,
                        messages: fetched
                            .messages
                            .map(|_| messages.remove(id).unwrap_or_default()),
                        now,
                        state: SyncState::Synced,
                    };
                    match map_identified(id.clone(), booking, ctx) {
                        Ok((row, anomalies)) => JobResult::Row(Box::new(row), anomalies),
                        Err(e) => {
                            JobResult::Failed(Failure::Permanent(format!("malformed booking: {e}")))
                        }
                    }
                }
            };
            (job.clone(), result)
        })
        .collect()
}

/// What to do when the Beds24 request for a whole batch fails. The cause may be one
/// booking, and one booking must not drag the others into the dead-letter queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchRecovery {
    /// Settle every job with the failure: the batch is one job, or no single booking
    /// can cause it (no answer at all, rate limit, token or scope refused).
    FailAll,
    /// Sync each job alone now: Beds24 rejected the request, so repeating it cannot help.
    EachAlone,
    /// Beds24 answered with an error: try each half on its own. A half that goes through
    /// is done; a failing half is split again, so one bad booking among n costs about
    /// 2·log₂ n calls. When both halves fail the outage is general and everyone waits.
    Bisect,
}

/// How to recover from `failure` of the request for a batch of `batch_len` jobs.
pub fn batch_recovery(failure: &ApiFailure, batch_len: usize) -> BatchRecovery {
    match failure {
        _ if batch_len < 2 => BatchRecovery::FailAll,
        ApiFailure::BadRequest(_) => BatchRecovery::EachAlone,
        ApiFailure::Transient(_) => BatchRecovery::Bisect,
        ApiFailure::Unreachable(_)
        | ApiFailure::RateLimited(..)
        | ApiFailure::Unauthorized(_)
        | ApiFailure::Forbidden(_) => BatchRecovery::FailAll,
    }
}

/// The two things batch recovery needs from a worker.
#[allow(async_fn_in_trait)] // used with concrete types inside one component, never sent
pub trait BatchAttempt {
    /// Fetch these jobs from Beds24 in one request and, when it answers, store and settle
    /// them. `Err` means the request failed and nothing was settled.
    async fn attempt(&mut self, jobs: &[ClaimedJob]) -> Result<(), ApiFailure>;
    /// Settle these jobs with a failed request.
    fn fail(&mut self, jobs: &[ClaimedJob], failure: ApiFailure);
}

/// Sync a claimed batch, isolating the booking a failed request is to blame on
/// (see [`BatchRecovery`]). Every job is settled once.
pub async fn sync_batch(worker: &mut impl BatchAttempt, jobs: &[ClaimedJob]) {
    if let Err(failure) = worker.attempt(jobs).await {
        Box::pin(recover(worker, jobs, failure)).await;
    }
}

/// Settle a batch whose request failed with `failure`, re-attempting its parts as
/// [`BatchRecovery`] says. For a worker that made the batch's first attempt itself
/// (the run loop, which fetches the next batch while storing this one).
pub async fn recover(worker: &mut impl BatchAttempt, jobs: &[ClaimedJob], failure: ApiFailure) {
    match batch_recovery(&failure, jobs.len()) {
        BatchRecovery::FailAll => worker.fail(jobs, failure),
        BatchRecovery::EachAlone => {
            for job in jobs {
                if let Err(failure) = worker.attempt(std::slice::from_ref(job)).await {
                    worker.fail(std::slice::from_ref(job), failure);
                }
            }
        }
        BatchRecovery::Bisect => {
            let (left, right) = jobs.split_at(jobs.len() / 2);
            match worker.attempt(left).await {
                Ok(()) => Box::pin(sync_batch(worker, right)).await,
                Err(left_failure) => match worker.attempt(right).await {
                    // Only the left half fails: the culprit is in there.
                    Ok(()) => Box::pin(recover(worker, left, left_failure)).await,
                    Err(right_failure) => {
                        worker.fail(left, left_failure);
                        worker.fail(right, right_failure);
                    }
                },
            }
        }
    }
}

/// How the queue treats a failed Beds24 call. Every variant is named (no catch-all),
/// so a new kind of failure cannot silently become final. `window_reset_ms` is the time
/// left in the shared credit window when known: every job held by a rate limit waits
/// for the same reset and goes out again with the others, as one batch.
pub fn job_failure(failure: ApiFailure, window_reset_ms: Option<i64>) -> Failure {
    let message = failure.to_string();
    match failure {
        ApiFailure::RateLimited(_, after) => Failure::RateLimited {
            retry_after_ms: window_reset_ms
                .or(after.map(|s| s as i64 * 1000))
                .unwrap_or(60_000)
                .max(1_000),
            reason: message,
        },
        ApiFailure::Transient(_) | ApiFailure::Unreachable(_) => Failure::Transient(message),
        // The account, not the booking: hold and wait for a working token.
        ApiFailure::Unauthorized(_) | ApiFailure::Forbidden(_) => Failure::AccountBlocked(message),
        ApiFailure::BadRequest(_) => Failure::Permanent(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(id: &str) -> ClaimedJob {
        ClaimedJob::fixture(id)
    }

    #[test]
    fn matches_bookings_and_messages_to_jobs() {
        let bookings = [
            json!({"id": 1, "status": "confirmed"}),
            json!({"id": "2", "status": "cancelled"}),
            json!({"id": []}),
        ];
        let messages = [
            json!({"bookingId": 1, "message": "hi"}),
            json!({"bookingId": 1, "message": "again"}),
        ];
        let names = HashMap::new();
        let fetched = Fetched {
            bookings: &bookings,
            messages: Some(&messages),
            property_names: &names,
        };
        let now = "2026-01-01T00:00:00Z".parse().unwrap();
        let plan = plan_batch(&[job("1"), job("2"), job("3")], &fetched, now);
        match &plan[0].1 {
            JobResult::Row(row, _) => {
                assert_eq!(row.messages.as_ref().unwrap().as_array().unwrap().len(), 2)
            }
            other => panic!("{other:?}"),
        }
        match &plan[1].1 {
            JobResult::Row(row, _) => assert_eq!(row.status.as_deref(), Some("cancelled")),
            other => panic!("{other:?}"),
        }
        assert_eq!(plan[2].1, JobResult::Missing);
    }

    #[test]
    fn only_failures_one_booking_can_cause_are_taken_apart() {
        let answer = || ApiFailure::Transient("HTTP 500".into());
        assert_eq!(batch_recovery(&answer(), 1), BatchRecovery::FailAll);
        assert_eq!(batch_recovery(&answer(), 2), BatchRecovery::Bisect);
        assert_eq!(
            batch_recovery(&ApiFailure::BadRequest("bad id".into()), 3),
            BatchRecovery::EachAlone
        );
        for general in [
            ApiFailure::Unreachable("timed out".into()),
            ApiFailure::RateLimited("429".into(), Some(3)),
            ApiFailure::Unauthorized("token".into()),
            ApiFailure::Forbidden("scope".into()),
        ] {
            assert_eq!(batch_recovery(&general, 50), BatchRecovery::FailAll);
        }
    }

    #[test]
    fn api_failures_become_queue_failures() {
        assert_eq!(
            job_failure(ApiFailure::RateLimited("429".into(), Some(3)), None),
            Failure::RateLimited {
                retry_after_ms: 3000,
                reason: "Beds24 rate limit: 429".into()
            }
        );
        // The shared window wins over what one answer said.
        assert!(matches!(
            job_failure(
                ApiFailure::RateLimited("spent".into(), Some(3)),
                Some(41_500)
            ),
            Failure::RateLimited {
                retry_after_ms: 41_500,
                ..
            }
        ));
        assert!(matches!(
            job_failure(ApiFailure::RateLimited("spent".into(), None), None),
            Failure::RateLimited {
                retry_after_ms: 60_000,
                ..
            }
        ));
        for retry in [
            ApiFailure::Transient("HTTP 502".into()),
            ApiFailure::Unreachable("connection refused".into()),
        ] {
            assert!(matches!(job_failure(retry, None), Failure::Transient(_)));
        }
        for account in [
            ApiFailure::Unauthorized("token".into()),
            ApiFailure::Forbidden("scope".into()),
        ] {
            assert!(matches!(
                job_failure(account, None),
                Failure::AccountBlocked(_)
            ));
        }
        assert!(matches!(
            job_failure(ApiFailure::BadRequest("id".into()), None),
            Failure::Permanent(_)
        ));
    }
}

#[cfg(test)]
#[path = "sync_recovery_tests.rs"]
mod recovery_tests;
