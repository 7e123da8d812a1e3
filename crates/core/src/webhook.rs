//! Parsing a Beds24 webhook delivery (v2 JSON body, one-element array form, or v1 query) into jobs.

use chrono::{DateTime, Utc};
use http::Method;
use serde_json::{Map, Value};

use crate::job::{JobRecord, Source};
use crate::{booking_id::BookingIdError, Action, BookingId};

/// Largest body we read (Beds24 bodies are a few KiB; messages can grow them).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most bookings one delivery may carry when sent as an array.
pub const MAX_ITEMS: usize = 100;

/// What one delivery asks for.
#[derive(Debug, PartialEq)]
pub enum Delivery {
    /// A booking to sync: queue it and store its record.
    Job(Box<JobRecord>),
    /// A body that can never become a job; answered 202 so Beds24 stops retrying.
    Skipped {
        /// Why it is no job, as said in the answer and the log.
        reason: String,
        /// The id it named, when it is short plain text fit for a log line.
        booking_id: Option<String>,
    },
}

/// A request that is not a webhook delivery at all: refused (the status is
/// [`WebhookError::status`]), nothing is queued.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum WebhookError {
    /// Neither GET nor POST; holds the method.
    #[error(
        "method {0} is not allowed: Beds24 sends POST (webhook v2) or GET ?bookid= (webhook v1)"
    )]
    MethodNotAllowed(String),
    /// A GET (webhook v1) without `?bookid=`.
    #[error("a GET is a Beds24 webhook version 1 and needs ?bookid=<id> (version 2 is a POST with a JSON body)")]
    MissingV1Id,
    /// A POST body that does not parse as JSON; holds the parser's message.
    #[error("request body is not valid JSON: {0}")]
    InvalidJson(String),
    /// A JSON body (or array element) that is not an object; names what it was.
    #[error("request body must be a JSON object (or an array of objects), got {0}")]
    NotAnObject(&'static str),
    /// An array of more than [`MAX_ITEMS`] bookings; holds its length.
    #[error("request body holds {0} bookings; at most {MAX_ITEMS} are accepted at once")]
    TooManyItems(usize),
}

impl WebhookError {
    /// The HTTP status to answer with: 405 for a wrong method, 400 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            WebhookError::MethodNotAllowed(_) => 405,
            _ => 400,
        }
    }
}

/// Turn one HTTP delivery into jobs. `query` is the raw query string.
pub fn parse_delivery(
    method: &Method,
    query: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Vec<Delivery>, WebhookError> {
    let v1 = V1Query::parse(query);
    let body_is_empty = body.iter().all(u8::is_ascii_whitespace);
    match *method {
        Method::GET | Method::POST if body_is_empty && v1.bookid.is_some() => {
            Ok(vec![v1.into_delivery(body.len(), now)])
        }
        Method::GET => Err(WebhookError::MissingV1Id),
        Method::POST if body_is_empty => Ok(vec![skipped("empty body and no ?bookid= query")]),
        Method::POST => parse_v2_body(body, now),
        _ => Err(WebhookError::MethodNotAllowed(method.to_string())),
    }
}

fn parse_v2_body(body: &[u8], now: DateTime<Utc>) -> Result<Vec<Delivery>, WebhookError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::InvalidJson(e.to_string()))?;
    match value {
        Value::Object(object) => Ok(vec![object_to_delivery(object, body.len(), now)]),
        Value::Array(items) if items.len() > MAX_ITEMS => {
            Err(WebhookError::TooManyItems(items.len()))
        }
        Value::Array(items) if items.is_empty() => Ok(vec![skipped("empty array")]),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(object) => Ok(object_to_delivery(object, body.len(), now)),
                other => Err(WebhookError::NotAnObject(kind(&other))),
            })
            .collect(),
        other => Err(WebhookError::NotAnObject(kind(&other))),
    }
}

fn object_to_delivery(
    object: Map<String, Value>,
    body_bytes: usize,
    now: DateTime<Utc>,
) -> Delivery {
    let payload = Value::Object(object);
    let booking_id = match find_booking_id(&payload) {
        Ok(id) => id,
        Err(not_a_job) => return not_a_job,
    };
    let action = match payload.get("action").and_then(Value::as_str) {
        Some(label) => Action::from_label(label),
        None => Action::derive_from_booking(payload.get("booking").unwrap_or(&payload)),
    };
    Delivery::Job(Box::new(JobRecord {
        booking_id,
        action,
        received_at: now,
        source: Source::V2,
        body_bytes,
    }))
}

/// The seed's rule: `id` ‖ `booking.id` ‖ `bookingId`, first one present wins.
fn find_booking_id(payload: &Value) -> Result<BookingId, Delivery> {
    let candidates = [
        ("id", payload.get("id")),
        (
            "booking.id",
            payload.get("booking").and_then(|b| b.get("id")),
        ),
        ("bookingId", payload.get("bookingId")),
    ];
    let found = candidates
        .into_iter()
        .find_map(|(field, v)| v.filter(|v| !v.is_null()).map(|v| (field, v)));
    match found {
        None => Err(skipped(
            "missing bookingId: none of id, booking.id, bookingId is present",
        )),
        Some((field, value)) => {
            BookingId::from_json(value).map_err(|e| id_skipped(field, value, &e))
        }
    }
}

/// A delivery whose id Beds24 could never answer for: acknowledged, never queued.
/// A non-numeric id in particular must not reach `GET /bookings?id=`, where it is no
/// lookup at all (Beds24 lists every upcoming booking, ~150 credits).
fn id_skipped(field: &str, value: &Value, error: &BookingIdError) -> Delivery {
    let reason = match error {
        BookingIdError::Empty => format!("missing bookingId: {field} is empty"),
        BookingIdError::NotNumeric => format!(
            "{field} is not a Beds24 booking id: Beds24 booking ids are whole numbers, \
             so this delivery was acknowledged but not queued"
        ),
        other => format!("invalid {field}: {other}"),
    };
    Delivery::Skipped {
        reason,
        booking_id: loggable_id(value),
    }
}

/// The id as sent, if it is short plain text: fit for a log line and the answer,
/// while anything longer or odder is not echoed anywhere.
fn loggable_id(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    (!text.is_empty() && text.len() <= 64 && text.chars().all(plain)).then_some(text)
}

struct V1Query {
    bookid: Option<String>,
    status: Option<String>,
}

impl V1Query {
    fn parse(query: &str) -> Self {
        let mut parsed = V1Query {
            bookid: None,
            status: None,
        };
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "bookid" | "bookId" | "bookingId" => parsed.bookid = Some(value.into_owned()),
                "status" => parsed.status = Some(value.into_owned()),
                _ => {}
            }
        }
        parsed
    }

    fn into_delivery(self, body_bytes: usize, now: DateTime<Utc>) -> Delivery {
        let raw_id = Value::String(self.bookid.unwrap_or_default());
        let booking_id = match BookingId::from_json(&raw_id) {
            Ok(id) => id,
            Err(e) => return id_skipped("bookid", &raw_id, &e),
        };
        let action = Action::from_v1_status(self.status.as_deref());
        Delivery::Job(Box::new(JobRecord {
            booking_id,
            action,
            received_at: now,
            source: Source::V1,
            body_bytes,
        }))
    }
}

fn skipped(reason: &str) -> Delivery {
    Delivery::Skipped {
        reason: reason.to_owned(),
        booking_id: None,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
#[path = "webhook_tests.rs"]
mod tests;
