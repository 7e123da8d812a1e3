//! A sync job as the webhook stores it: which booking, why, when, and the body that said so.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Action, BookingId};

/// Where a job came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Beds24 webhook version 2 (POST with the booking in the body).
    V2,
    /// Beds24 webhook version 1 (`?bookid=…&status=…`).
    V1,
    /// Queued by an operator through the admin API.
    Manual,
}

/// The stored job record (Spin key-value store, key [`JobRecord::kv_key`]).
/// The payload may hold guest data: it is stored, never logged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRecord {
    pub booking_id: BookingId,
    pub action: Action,
    pub received_at: DateTime<Utc>,
    pub source: Source,
    pub payload: Value,
}

impl JobRecord {
    pub fn kv_key(id: &BookingId) -> String {
        format!("job:{id}")
    }

    /// The booking object a v2 body carried, if it carried a whole one.
    pub fn webhook_booking(&self) -> Option<&Value> {
        let booking = self.payload.get("booking")?;
        (booking.get("id").is_some() && booking.get("modifiedTime").is_some()).then_some(booking)
    }

    /// The webhook's booking shaped like an API answer: v2 bodies carry the invoice
    /// and info items beside the booking, the API inside it. Plus the body's messages.
    pub fn webhook_snapshot(&self) -> Option<(Value, Vec<Value>)> {
        let mut booking = self.webhook_booking()?.clone();
        for key in ["invoiceItems", "infoItems"] {
            if booking.get(key).is_none() {
                if let Some(items) = self.payload.get(key).filter(|v| v.is_array()) {
                    booking[key] = items.clone();
                }
            }
        }
        let messages = self
            .payload
            .get("messages")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Some((booking, messages))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_snapshot_moves_items_into_the_booking() {
        let payload: Value =
            serde_json::from_str(include_str!("../tests/fixtures/webhook-v2-direct.json")).unwrap();
        let record = JobRecord {
            booking_id: BookingId::parse("82279106").unwrap(),
            action: Action::Modify,
            received_at: chrono::Utc::now(),
            source: Source::V2,
            payload,
        };
        let (booking, messages) = record.webhook_snapshot().unwrap();
        assert_eq!(booking["invoiceItems"].as_array().unwrap().len(), 3);
        assert_eq!(booking["infoItems"], serde_json::json!([]));
        assert!(messages.is_empty());
        let seed = JobRecord {
            payload: serde_json::json!({"booking": {"id": "TEST123"}}),
            ..record
        };
        assert!(
            seed.webhook_snapshot().is_none(),
            "a partial booking is not a snapshot"
        );
    }
}
