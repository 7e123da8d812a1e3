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
    /// Queued by an operator through the admin API.
    Manual,
}

/// The stored job record (Spin key-value store, key [`JobRecord::kv_key`]). It holds
/// nothing personal: a record the worker's delete misses (or that lands after the job
/// finished) stays behind harmless. The worker fetches the booking from Beds24 anyway.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    /// The booking to sync (also the record's key and the Redis job's key).
#[serde(rename_all = "camelCase")]
    /// The event the webhook reported.
pub struct JobRecord {
    /// When the webhook request arrived.
    pub booking_id: BookingId,
    /// Which webhook version delivered it.
    pub action: Action,
    pub received_at: DateTime<Utc>,
    pub source: Source,
    /// Size of the HTTP body the job came in (0 for a v1 query).
    pub body_bytes: usize,
}
    /// The key-value store key of a booking's record: `job:<bookingId>`.

impl JobRecord {
    pub fn kv_key(id: &BookingId) -> String {
        format!("job:{id}")
    }
}
