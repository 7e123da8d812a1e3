//! A listing page mapped to rows, each booking with its own messages.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use serde_json::Value;

use crate::mapping::{booking_id_of, map_identified, BookingRow, MappingContext, SyncState};
use crate::BookingId;

/// Map a listing page to rows, each with its messages (none known when that call failed).
pub(super) fn rows(
    bookings: &[Value],
    messages: Option<&[Value]>,
    names: &HashMap<String, String>,
) -> Vec<BookingRow> {
    let mut by_booking: BTreeMap<BookingId, Vec<Value>> = BTreeMap::new();
    for message in messages.unwrap_or_default() {
        if let Some(id) = message
            .get("bookingId")
            .and_then(|v| BookingId::from_json(v).ok())
        {
            by_booking.entry(id).or_default().push(message.clone());
        }
    }
    let now = Utc::now();
    bookings
        .iter()
        .filter_map(|booking| {
            let id = booking_id_of(booking).ok()?;
            let ctx = MappingContext {
                property_names: names,
                messages: messages.map(|_| by_booking.remove(&id).unwrap_or_default()),
                now,
                state: SyncState::Synced,
            };
            map_identified(id, booking, ctx).ok().map(|(row, _)| row)
        })
        .collect()
}
