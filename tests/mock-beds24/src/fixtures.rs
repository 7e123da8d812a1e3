//! Sample Beds24 payloads embedded at compile time, and builders derived from them.

use chrono::{Duration as Days, NaiveDate, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::key::BookingKey;

/// `GET /bookings?id=…&includeInvoiceItems=true&includeInfoItems=true` envelope.
pub const BOOKINGS_RESPONSE: &str = include_str!("../fixtures/bookings-response.json");
/// `GET /bookings/messages?bookingId=…` envelope.
pub const MESSAGES_RESPONSE: &str = include_str!("../fixtures/messages-response.json");
/// The real error body for a bad token.
pub const ERROR_401: &str = include_str!("../fixtures/error-401.json");
/// A complete version-2 booking webhook body.
pub const WEBHOOK_V2: &str = include_str!("../fixtures/webhook-v2-direct.json");

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("embedded fixture is valid JSON")
}

/// The sample booking (id 82279106), with its `invoiceItems` and `infoItems`.
pub fn sample_booking() -> Value {
    parse(BOOKINGS_RESPONSE)["data"][0].clone()
}

/// The two sample messages of booking 82279106.
pub fn sample_messages() -> Vec<Value> {
    match parse(MESSAGES_RESPONSE)["data"].take() {
        Value::Array(v) => v,
        _ => Vec::new(),
    }
}

/// The sample webhook v2 body.
pub fn sample_webhook_v2() -> Value {
    parse(WEBHOOK_V2)
}

/// The sample booking re-keyed to `id` (`7` or `"TEST123"`, which becomes a JSON
/// string): item ids are derived from it (`id * 100 + index`; a text id stands in
/// for a number from 9 000 000 000 up hashed from its text) so that many generated
/// bookings never share an item id.
pub fn booking_with_id(id: impl Into<BookingKey>) -> Value {
    let id = id.into();
    let base = id.as_u64().unwrap_or_else(|| text_number(&id.to_string()));
    let mut b = sample_booking();
    b["id"] = id.to_json();
    for key in ["invoiceItems", "infoItems"] {
        if let Some(items) = b[key].as_array_mut() {
            for (i, item) in items.iter_mut().enumerate() {
                item["id"] = json!(base.saturating_mul(100).saturating_add(i as u64));
                item["bookingId"] = id.to_json();
            }
        }
    }
    b
}

/// A stable number for a text id (FNV-1a), clear of realistic numeric ids and
/// small enough that `* 100 + index` stays exact in a JavaScript number.
fn text_number(text: &str) -> u64 {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    9_000_000_000 + hash % 1_000_000_000
}

/// Current time in the API's format (`2026-02-15T10:07:22Z`).
pub fn now_timestamp() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A webhook v2 body (`{timeStamp, booking, infoItems, invoiceItems, messages,
/// retries}`) for a stored-shape booking, as Beds24 would POST it.
pub fn webhook_v2_for(booking: &Value, messages: Vec<Value>) -> Value {
    let mut b = booking.clone();
    let take = |b: &mut Value, k: &str| {
        b.as_object_mut()
            .and_then(|o| o.remove(k))
            .unwrap_or_else(|| json!([]))
    };
    let invoice = take(&mut b, "invoiceItems");
    let info = take(&mut b, "infoItems");
    let stamp = b["modifiedTime"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(now_timestamp);
    json!({
        "timeStamp": stamp,
        "booking": b,
        "infoItems": info,
        "invoiceItems": invoice,
        "messages": messages,
        "retries": 0,
    })
}

/// A varied but deterministic booking for benchmarks: future stays spread over
/// six months, a few cancellations and requests, a guest name, and a
/// `modifiedTime` that grows with the id (handy for `modifiedFrom` paging).
pub fn generated_booking(id: u64, today: NaiveDate) -> Value {
    let mut b = booking_with_id(id);
    let arrival = today + Days::days((id % 180) as i64 + 1);
    let departure = arrival + Days::days((id % 4) as i64 + 1);
    let status = match id % 20 {
        0 => "cancelled",
        7 => "request",
        13 => "new",
        _ => "confirmed",
    };
    let modified = Utc::now() - Days::seconds(100_000 - (id % 100_000) as i64);
    b["status"] = json!(status);
    b["arrival"] = json!(arrival.format("%Y-%m-%d").to_string());
    b["departure"] = json!(departure.format("%Y-%m-%d").to_string());
    b["firstName"] = json!(format!("Guest{id}"));
    b["lastName"] = json!("Example");
    b["email"] = json!(format!("guest{id}@example.com"));
    b["modifiedTime"] = json!(modified.to_rfc3339_opts(SecondsFormat::Secs, true));
    if status == "cancelled" {
        b["cancelTime"] = b["modifiedTime"].clone();
    }
    b
}

/// A guest message for a generated booking.
pub fn generated_message(id: u64, booking_id: u64) -> Value {
    let mut m = sample_messages().swap_remove(0);
    m["id"] = json!(id);
    m["bookingId"] = json!(booking_id);
    m
}
