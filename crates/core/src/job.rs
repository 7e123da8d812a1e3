//! A sync job as the webhook stores it: which booking, why and when; never what the body said.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Action, BookingId};

/// Where a job came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Beds24 webhook version 2 (POST with the booking in the body).
    V2,
    /// Beds24 webhook version 1 (`?bookid=…&status=…`).
    V1,
}

/// The stored job record (Spin key-value store, key [`JobRecord::kv_key`]). It holds
/// nothing personal: a record the worker's delete misses (or that lands after the job
/// finished) stays behind harmless. The worker fetches the booking from Beds24 anyway.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRecord {
    /// The booking to sync (also the record's key and the Redis job's key).
    pub booking_id: BookingId,
    /// The event the webhook reported.
    pub action: Action,
    /// When the webhook request arrived.
    pub received_at: DateTime<Utc>,
    /// Which webhook version delivered it.
    pub source: Source,
    /// Size of the HTTP body the job came in (0 for a v1 query).
    pub body_bytes: usize,
}

impl JobRecord {
    /// The key-value store key of a booking's record: `job:<bookingId>`.
    pub fn kv_key(id: &BookingId) -> String {
        format!("job:{id}")
    }
}
