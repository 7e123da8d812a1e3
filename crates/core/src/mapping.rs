//! Beds24 booking JSON → the `"Booking"` row, never panicking on missing or odd fields.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{json, Value};

use crate::BookingId;

/// Our sync state of a row (`"BDStatus"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SyncState {
    /// Written from Beds24's API answer: authoritative.
    #[serde(rename = "synced")]
    Synced,
}

/// One `"Booking"` row. Field names are the table's quoted camelCase columns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BookingRow {
    /// Beds24 `id`: the row's primary key.
    #[serde(rename = "bookingId")]
    pub booking_id: BookingId,
    /// Beds24 `phone`, else `mobile`.
    pub phone: Option<String>,
    /// Beds24 `firstName` and `lastName`, joined with a space.
    #[serde(rename = "guestName")]
    pub guest_name: Option<String>,
    /// Beds24 `status` (e.g. `confirmed`, `cancelled`), as sent.
    pub status: Option<String>,
    /// The name of Beds24 `propertyId`, from the property-name cache; `None` when the
    /// cache does not know it, and the upsert then keeps the stored name.
    #[serde(rename = "propertyName")]
    pub property_name: Option<String>,
    /// Beds24 `arrival` (`YYYY-MM-DD`).
    #[serde(rename = "arrivalDate")]
    pub arrival_date: Option<NaiveDate>,
    /// Beds24 `departure` (`YYYY-MM-DD`).
    #[serde(rename = "departureDate")]
    pub departure_date: Option<NaiveDate>,
    /// Days from `arrival` to `departure`, when both are readable.
    #[serde(rename = "numNights")]
    pub num_nights: Option<i64>,
    /// Beds24 `numAdult` + `numChild` (`None` when both are absent).
    #[serde(rename = "totalPersons")]
    pub total_persons: Option<i64>,
    /// Sum of the `invoiceItems` of type `charge`; Beds24 `price` when there are none.
    #[serde(rename = "totalCharges")]
    pub total_charges: Decimal,
    /// Sum of the `invoiceItems` of type `payment` (refunds subtract).
    #[serde(rename = "totalPayments")]
    pub total_payments: Decimal,
    /// `totalCharges` − `totalPayments`: what the guest still owes.
    pub balance: Decimal,
    /// Beds24 `price`.
    #[serde(rename = "basePrice")]
    pub base_price: Option<Decimal>,
    /// Beds24 `channel`, else `apiSource`: where the booking was made.
    pub channel: Option<String>,
    /// Beds24 `email`.
    pub email: Option<String>,
    /// Beds24 `apiReference`: the channel's own booking reference.
    #[serde(rename = "apiReference")]
    pub api_reference: Option<String>,
    /// Beds24 `notes`.
    pub notes: Option<String>,
    /// Beds24 `modifiedTime`: guards the upsert (an older snapshot never overwrites a
    /// newer row).
    #[serde(rename = "modifiedDate")]
    pub modified_date: Option<DateTime<Utc>>,
    /// When we wrote the row (the sync's clock, not Beds24's).
    #[serde(rename = "lastUpdatedBD")]
    pub last_updated_bd: DateTime<Utc>,
    /// Our sync state of the row.
    #[serde(rename = "BDStatus")]
    pub bd_status: SyncState,
    /// The `charge` entries of Beds24 `invoiceItems`, as sent (JSON array).
    pub charges: Value,
    /// The `payment` entries of Beds24 `invoiceItems`, as sent (JSON array).
    pub payments: Value,
    /// The booking's guest messages from Beds24 `GET /bookings/messages` (JSON array).
    /// `None` when the messages call failed: the upsert keeps the stored messages.
    pub messages: Option<Value>,
    /// Beds24 `infoItems` (JSON array; `[]` when absent).
    #[serde(rename = "infoItems")]
    pub info_items: Value,
    /// The whole booking object as Beds24 returned it.
    pub raw: Value,
}

/// Something odd in the data, worth a log line (ids and kinds only, no guest data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anomaly {
    /// An invoice item whose `type` is neither `charge` nor `payment`: left out of
    /// both totals and both lists.
    UnknownItemType {
        /// The item's Beds24 `id` (`?` when it has none).
        item_id: String,
        /// Its `type`, lowercased (`""` when absent).
        kind: String,
    },
    /// An invoice item with neither a readable `lineTotal` nor a readable `amount`:
    /// counted as zero.
    UnreadableAmount {
        /// The item's Beds24 `id` (`?` when it has none).
        item_id: String,
    },
}

/// Why a booking from Beds24 could not be mapped at all (the job fails permanently).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// The booking is not a JSON object.
    #[error("booking is not a JSON object")]
    NotAnObject,
    /// Its `id` is missing or not a valid [`BookingId`]; carries the reason.
    #[error("booking has no usable id: {0}")]
    NoId(String),
}

/// Everything the mapping needs besides the booking itself.
pub struct MappingContext<'a> {
    /// Property names by Beds24 `propertyId` (the cached `GET /properties` answer).
    pub property_names: &'a HashMap<String, String>,
    /// The booking's messages, or `None` when Beds24 could not be asked for them.
    pub messages: Option<Vec<Value>>,
    /// The sync's clock, written to `lastUpdatedBD`.
    pub now: DateTime<Utc>,
    /// The `BDStatus` to write.
    pub state: SyncState,
}

/// Map one Beds24 booking as the API returns it (`data[i]`). Webhook bodies are never
/// mapped: they are unauthenticated by default, so only Beds24's own answer is written.
pub fn map_booking(
    booking: &Value,
    ctx: MappingContext<'_>,
) -> Result<(BookingRow, Vec<Anomaly>), MappingError> {
    map_identified(booking_id_of(booking)?, booking, ctx)
}

/// The id of a booking as Beds24 returns it.
pub fn booking_id_of(booking: &Value) -> Result<BookingId, MappingError> {
    let object = booking.as_object().ok_or(MappingError::NotAnObject)?;
    let id_value = object.get("id").unwrap_or(&Value::Null);
    BookingId::from_json(id_value).map_err(|e| MappingError::NoId(e.to_string()))
}

/// [`map_booking`] for a booking whose id was already read (with [`booking_id_of`]).
pub fn map_identified(
    booking_id: BookingId,
    booking: &Value,
    ctx: MappingContext<'_>,
) -> Result<(BookingRow, Vec<Anomaly>), MappingError> {
    let object = booking.as_object().ok_or(MappingError::NotAnObject)?;
    let text = |key: &str| object.get(key).and_then(non_empty_text);
    let int = |key: &str| object.get(key).and_then(as_i64);

    let arrival_date = text("arrival").and_then(|s| NaiveDate::from_str(&s).ok());
    let departure_date = text("departure").and_then(|s| NaiveDate::from_str(&s).ok());
    let num_nights = arrival_date
        .zip(departure_date)
        .map(|(a, d)| (d - a).num_days());
    let total_persons = match (int("numAdult"), int("numChild")) {
        (None, None) => None,
        (adults, children) => Some(adults.unwrap_or(0) + children.unwrap_or(0)),
    };
    let guest_name = [text("firstName"), text("lastName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");

    let items = object
        .get("invoiceItems")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let totals = invoice_totals(&items);
    let base_price = object.get("price").and_then(as_decimal);
    // A booking fetched without invoice items still has a price: that is what it charges.
    let total_charges = if totals.charges.is_empty() {
        base_price.unwrap_or_default()
    } else {
        totals.charged
    };
    let property_name = object
        .get("propertyId")
        .and_then(non_empty_text)
        .and_then(|id| ctx.property_names.get(&id).cloned());

    let row = BookingRow {
        booking_id,
        phone: text("phone").or_else(|| text("mobile")),
        guest_name: (!guest_name.is_empty()).then_some(guest_name),
        status: text("status"),
        property_name,
        arrival_date,
        departure_date,
        num_nights,
        total_persons,
        total_charges,
        total_payments: totals.paid,
        balance: total_charges - totals.paid,
        base_price,
        channel: text("channel").or_else(|| text("apiSource")),
        email: text("email"),
        api_reference: text("apiReference"),
        notes: text("notes"),
        modified_date: text("modifiedTime")
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|d| d.to_utc()),
        last_updated_bd: ctx.now,
        bd_status: ctx.state,
        charges: Value::Array(totals.charges),
        payments: Value::Array(totals.payments),
        messages: ctx.messages.map(Value::Array),
        info_items: object
            .get("infoItems")
            .filter(|v| v.is_array())
            .cloned()
            .unwrap_or_else(|| json!([])),
        raw: booking.clone(),
    };
    Ok((row, totals.anomalies))
}

struct InvoiceTotals {
    charges: Vec<Value>,
    payments: Vec<Value>,
    charged: Decimal,
    paid: Decimal,
    anomalies: Vec<Anomaly>,
}

/// Charges and payments share one `invoiceItems` array, told apart by `type`.
fn invoice_totals(items: &[Value]) -> InvoiceTotals {
    let mut totals = InvoiceTotals {
        charges: Vec::new(),
        payments: Vec::new(),
        charged: Decimal::ZERO,
        paid: Decimal::ZERO,
        anomalies: Vec::new(),
    };
    for item in items {
        let item_id = item
            .get("id")
            .and_then(non_empty_text)
            .unwrap_or_else(|| "?".into());
        let kind = item
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let amount = match kind.as_str() {
            "payment" => paid_by(item),
            _ => line_total(item),
        };
        if amount.is_none() {
            totals.anomalies.push(Anomaly::UnreadableAmount {
                item_id: item_id.clone(),
            });
        }
        let amount = amount.unwrap_or_default();
        match kind.as_str() {
            "charge" => {
                totals.charged += amount;
                totals.charges.push(item.clone());
            }
            "payment" => {
                totals.paid += amount;
                totals.payments.push(item.clone());
            }
            other => totals.anomalies.push(Anomaly::UnknownItemType {
                item_id,
                kind: other.to_owned(),
            }),
        }
    }
    totals
}

/// A charge line's total: `lineTotal`, else `amount × qty`.
fn line_total(item: &Value) -> Option<Decimal> {
    if let Some(total) = item.get("lineTotal").and_then(as_decimal) {
        return Some(total);
    }
    amount_times_qty(item)
}

/// What a payment line adds to `totalPayments`: Beds24 books a payment as a positive
/// `amount` with a negative `lineTotal` (it lowers the balance) and a refund the other
/// way round, so a payment adds and a refund subtracts: `-lineTotal`, else `amount × qty`.
fn paid_by(item: &Value) -> Option<Decimal> {
    if let Some(total) = item.get("lineTotal").and_then(as_decimal) {
        return Some(-total);
    }
    amount_times_qty(item)
}

fn amount_times_qty(item: &Value) -> Option<Decimal> {
    let amount = item.get("amount").and_then(as_decimal)?;
    let qty = item.get("qty").and_then(as_decimal).unwrap_or(Decimal::ONE);
    Some(amount * qty)
}

/// Exact decimal from a JSON number or numeric string (never through f64 arithmetic).
fn as_decimal(value: &Value) -> Option<Decimal> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .ok()
}

fn as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Text of a string or number field; `""` and null count as absent (Beds24 sends `""`).
fn non_empty_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
