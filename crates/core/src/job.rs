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

impl Source {
    /// The name stored in the job's hash (`v2`, `v1`).
    pub fn as_str(self) -> &'static str {
        match self {
            Source::V2 => "v2",
            Source::V1 => "v1",
        }
    }
}

/// What the webhook stores of a delivery, in the job's own Redis hash (one round trip
/// with the queue entry; it goes when the job ends). Nothing personal: the worker
/// fetches the booking from Beds24 anyway.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRecord {
    /// The booking to sync (also the Redis job's key).
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
