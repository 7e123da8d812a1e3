//! Turning one fetched batch into per-job results: a row to upsert, a missing booking, or a failure.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::mapping::{map_booking, Anomaly, BookingRow, MappingContext, SyncState};
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
    pub bookings: &'a [Value],
    pub messages: &'a [Value],
    pub property_names: &'a HashMap<String, String>,
}

/// Match fetched bookings and messages to the claimed jobs and map each one.
pub fn plan_batch(
    jobs: &[ClaimedJob],
    fetched: &Fetched<'_>,
    now: DateTime<Utc>,
) -> Vec<(ClaimedJob, JobResult)> {
    let by_id: HashMap<String, &Value> = fetched
        .bookings
        .iter()
        .filter_map(|b| Some((BookingId::from_json(b.get("id")?).ok()?.to_string(), b)))
        .collect();
    let mut messages: HashMap<String, Vec<Value>> = HashMap::new();
    for message in fetched.messages {
        if let Some(id) = message
            .get("bookingId")
            .and_then(|v| BookingId::from_json(v).ok())
        {
            messages
                .entry(id.to_string())
                .or_default()
                .push(message.clone());
        }
    }
    jobs.iter()
        .map(|job| {
            let id = job.booking_id.as_str();
            let result = match by_id.get(id) {
                None => JobResult::Missing,
                Some(booking) => {
                    let ctx = MappingContext {
                        property_names: fetched.property_names,
                        messages: messages.remove(id).unwrap_or_default(),
                        now,
                        state: SyncState::Synced,
                    };
                    match map_booking(booking, ctx) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Action;
    use serde_json::json;

    fn job(id: &str) -> ClaimedJob {
        ClaimedJob {
            booking_id: BookingId::parse(id).unwrap(),
            claim: "1".into(),
            attempts: 0,
            action: Action::Modify,
        }
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
            messages: &messages,
            property_names: &names,
        };
        let now = "2026-01-01T00:00:00Z".parse().unwrap();
        let plan = plan_batch(&[job("1"), job("2"), job("3")], &fetched, now);
        match &plan[0].1 {
            JobResult::Row(row, _) => assert_eq!(row.messages.as_array().unwrap().len(), 2),
            other => panic!("{other:?}"),
        }
        match &plan[1].1 {
            JobResult::Row(row, _) => assert_eq!(row.status.as_deref(), Some("cancelled")),
            other => panic!("{other:?}"),
        }
        assert_eq!(plan[2].1, JobResult::Missing);
    }
}
