//! What each job of a stored batch comes to: synced, or failed for a reason shared with others.

use serde_json::json;

use crate::db::UpsertReport;
use crate::logging::{emit, Level};
use crate::mapping::BookingRow;
use crate::queue::{ClaimedJob, Failure};
use crate::store::StoreError;
use crate::sync::JobResult;
use crate::BookingId;

/// A batch's jobs sorted for settling: failures grouped by reason, so each group
/// settles in one round trip.
#[derive(Debug, Default, PartialEq)]
pub struct Outcomes {
    /// Written (or already current): complete them.
    pub synced: Vec<ClaimedJob>,
    /// Failed, grouped by failure.
    pub failed: Vec<(Failure, Vec<ClaimedJob>)>,
}

/// The rows to upsert and the bookings to mark missing in a mapped batch.
pub fn rows_and_missing(plan: &[(ClaimedJob, JobResult)]) -> (Vec<BookingRow>, Vec<BookingId>) {
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    for (job, result) in plan {
        match result {
            JobResult::Row(row, _) => rows.push((**row).clone()),
            JobResult::Missing => missing.push(job.booking_id.clone()),
            JobResult::Failed(_) => {}
        }
    }
    (rows, missing)
}

/// Sort a mapped batch by what storing it did.
pub fn outcomes(
    plan: Vec<(ClaimedJob, JobResult)>,
    stored: &Result<UpsertReport, StoreError>,
) -> Outcomes {
    let mut out = Outcomes::default();
    for (job, result) in plan {
        let failure = match (result, stored) {
            (JobResult::Failed(f), _) => Some(f),
            (_, Err(e)) => Some(Failure::Transient(format!("postgres: {e}"))),
            // Postgres refused this row's data: the same data would be refused again.
            (JobResult::Row(..), Ok(report)) => report
                .rejection(&job.booking_id)
                .map(|reason| Failure::Permanent(format!("postgres refused the row: {reason}"))),
            (JobResult::Missing, Ok(_)) => Some(Failure::Permanent(
                "booking not returned by Beds24 (deleted or no longer visible)".into(),
            )),
        };
        match failure {
            Some(f) => match out.failed.iter_mut().find(|(known, _)| *known == f) {
                Some((_, same)) => same.push(job),
                None => out.failed.push((f, vec![job])),
            },
            None => out.synced.push(job),
        }
    }
    out
}

/// Log the data anomalies of the rows that were mapped (kinds and ids only).
pub fn log_anomalies(plan: &[(ClaimedJob, JobResult)]) {
    for (job, result) in plan {
        if let JobResult::Row(_, anomalies) = result {
            for anomaly in anomalies {
                emit(
                    Level::Warn,
                    "booking data anomaly",
                    &[
                        ("bookingId", json!(job.booking_id)),
                        ("anomaly", json!(format!("{anomaly:?}"))),
                    ],
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str) -> ClaimedJob {
        ClaimedJob::fixture(id)
    }

    fn plan() -> Vec<(ClaimedJob, JobResult)> {
        let bad = Failure::Permanent("malformed booking".into());
        vec![
            (job("1"), JobResult::Missing),
            (job("2"), JobResult::Failed(bad.clone())),
            (job("3"), JobResult::Failed(bad)),
            (job("4"), JobResult::Missing),
        ]
    }

    #[test]
    fn failures_are_grouped_by_reason() {
        let out = outcomes(plan(), &Ok(UpsertReport::default()));
        assert!(out.synced.is_empty());
        assert_eq!(out.failed.len(), 2);
        let ids = |jobs: &[ClaimedJob]| {
            jobs.iter()
                .map(|j| j.booking_id.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&out.failed[0].1), ["1", "4"]);
        assert_eq!(ids(&out.failed[1].1), ["2", "3"]);
    }

    #[test]
    fn a_failed_store_fails_every_job_for_another_try() {
        let out = outcomes(plan(), &Err(StoreError::Unreachable("refused".into())));
        assert!(matches!(&out.failed[0].0, Failure::Transient(m) if m.contains("refused")));
        // Jobs that failed before storing keep their own reason.
        assert!(out
            .failed
            .iter()
            .any(|(f, _)| matches!(f, Failure::Permanent(_))));
        let (rows, missing) = rows_and_missing(&plan());
        assert!(rows.is_empty());
        assert_eq!(missing.len(), 2);
    }
}
