//! Helpers shared by the queue's integration tests against a real Redis.

use beds24_sync_core::queue::{ClaimOptions, HistoryRecord};
use beds24_sync_core::{Action, BookingId};

pub fn id(s: &str) -> BookingId {
    BookingId::parse(s).unwrap()
}

/// Claim with the clock pinned at `now_ms` (the queue's timers walk forward without sleeping).
pub fn claim_opts(now_ms: i64) -> ClaimOptions {
    ClaimOptions {
        clock: now_ms.into(),
        lease_ms: 30_000,
        batch: 10,
        max_tries: 4,
    }
}

pub fn record(job_id: &str, outcome: &str) -> HistoryRecord {
    HistoryRecord {
        booking_id: job_id.into(),
        action: Action::Modify,
        outcome: outcome.into(),
        attempts: 1,
        started_at: 0,
        finished_at: 1,
        duration_ms: 1,
        error: None,
    }
}
