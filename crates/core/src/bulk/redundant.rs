//! Ending queued jobs a bulk page made redundant: their booking was just stored as Beds24 listed it.

use serde_json::json;

use crate::keys::Keys;
use crate::logging::{emit, Level};
use crate::queue::Queue;
use crate::store::RedisExec;
use crate::BookingId;

/// Jobs still waiting for bookings this page stored, queued before it was listed,
/// would fetch the same data again: end them (best effort; they would only cost a call).
pub(super) fn end_redundant_jobs(
    redis: &mut impl RedisExec,
    keys: &Keys,
    stored: &[BookingId],
    listed_at: i64,
) {
    let ended = Queue::with_keys(redis, keys.clone()).satisfy(stored, listed_at);
    match ended {
        Ok(ended) if !ended.is_empty() => {
            emit(
                Level::Info,
                "queued bookings synced by a bulk page",
                &[("bookingIds", json!(ended))],
            );
        }
        Ok(_) => {}
        Err(e) => emit(
            Level::Warn,
            "could not end jobs a bulk page made redundant",
            &[("error", json!(e.to_string()))],
        ),
    }
}
