//! `BookingId`: the one key of a booking everywhere (job key, row key, log field).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Largest id a JSON float names exactly (2^53); Beds24's ids are 8–9 digits.
const MAX_EXACT_FLOAT: f64 = 9_007_199_254_740_992.0;

/// A Beds24 booking id: a positive whole number, kept as its canonical decimal text
/// (no sign, no leading zeros), so `82279106`, `82279106.0` and `"082279106"` are one
/// booking and match the id in Beds24's answers. Anything else is not a Beds24 id, and
/// sending it to `GET /bookings?id=` is not a lookup (it can list every booking).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BookingId(String);

/// Why a value is not a [`BookingId`]; the message is what a webhook sender or admin
/// caller is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookingIdError {
    /// Blank text, or JSON `null` / no id at all.
    #[error("bookingId is empty")]
    Empty,
    /// Text with anything but digits in it (a sign, a decimal point, letters).
    #[error("bookingId is not a Beds24 booking id: Beds24 booking ids are whole numbers")]
    NotNumeric,
    /// The number zero (in any spelling, e.g. `"000"`).
    #[error("bookingId 0 is not a Beds24 booking id: Beds24 booking ids are positive")]
    Zero,
    /// Digits beyond `u64`'s range.
    #[error("bookingId is too large to be a Beds24 booking id")]
    TooLarge,
    /// A JSON value that is neither a string nor a positive whole number; names what it was.
    #[error("bookingId must be a positive whole number or a string of digits, got {0}")]
    WrongType(&'static str),
}

impl BookingId {
    /// Parse from text (trimmed): digits only; leading zeros are dropped.
    pub fn parse(text: &str) -> Result<Self, BookingIdError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(BookingIdError::Empty);
        }
        // u64's own parser also takes a leading '+': an id is digits and nothing else.
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BookingIdError::NotNumeric);
        }
        match text.parse::<u64>() {
            Ok(0) => Err(BookingIdError::Zero),
            Ok(n) => Ok(Self(n.to_string())),
            Err(_) => Err(BookingIdError::TooLarge),
        }
    }

    /// Parse from a JSON value: Beds24 sends numbers, people send strings, and some
    /// senders write whole numbers as floats (`82279106.0`).
    pub fn from_json(value: &Value) -> Result<Self, BookingIdError> {
        match value {
            Value::String(s) => Self::parse(s),
            Value::Number(n) => match (n.as_u64(), n.as_f64()) {
                (Some(0), _) => Err(BookingIdError::Zero),
                (Some(n), _) => Ok(Self(n.to_string())),
                (None, Some(f)) if f >= 1.0 && f.fract() == 0.0 && f <= MAX_EXACT_FLOAT => {
                    // Whole and exact below 2^53, so the cast loses nothing.
                    Ok(Self((f as u64).to_string()))
                }
                _ => Err(BookingIdError::WrongType(
                    "a number that is not a positive integer",
                )),
            },
            Value::Null => Err(BookingIdError::Empty),
            Value::Bool(_) => Err(BookingIdError::WrongType("a boolean")),
            Value::Array(_) => Err(BookingIdError::WrongType("an array")),
            Value::Object(_) => Err(BookingIdError::WrongType("an object")),
        }
    }

    /// The canonical decimal text (what Redis keys, `"Booking"."bookingId"` and Beds24
    /// queries use).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BookingId {
    type Error = BookingIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<BookingId> for String {
    fn from(id: BookingId) -> Self {
        id.0
    }
}

impl fmt::Display for BookingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_and_digit_strings_become_text() {
        assert_eq!(
            BookingId::from_json(&json!(82279106)).unwrap().as_str(),
            "82279106"
        );
        assert_eq!(
            BookingId::from_json(&json!(" 82279106 ")).unwrap().as_str(),
            "82279106"
        );
    }

    #[test]
    fn rejects_what_cannot_be_an_id() {
        assert_eq!(BookingId::from_json(&json!("")), Err(BookingIdError::Empty));
        assert_eq!(
            BookingId::from_json(&json!(null)),
            Err(BookingIdError::Empty)
        );
        assert_eq!(BookingId::from_json(&json!(0)), Err(BookingIdError::Zero));
        assert!(BookingId::from_json(&json!(-4)).is_err());
        assert!(BookingId::from_json(&json!(1.5)).is_err());
        assert!(BookingId::from_json(&json!(1e300)).is_err());
        assert!(BookingId::from_json(&json!({"a": 1})).is_err());
        assert_eq!(
            BookingId::parse(&"9".repeat(21)),
            Err(BookingIdError::TooLarge)
        );
    }

    #[test]
    fn whole_float_numbers_are_ids() {
        assert_eq!(
            BookingId::from_json(&json!(82279106.0)).unwrap().as_str(),
            "82279106"
        );
        let parsed: serde_json::Value = serde_json::from_str("8.2279106e7").unwrap();
        assert_eq!(BookingId::from_json(&parsed).unwrap().as_str(), "82279106");
        assert!(BookingId::from_json(&json!(0.0)).is_err());
        assert!(BookingId::from_json(&json!(-3.0)).is_err());
    }

    #[test]
    fn leading_zeros_are_dropped() {
        assert_eq!(
            BookingId::from_json(&json!(" 082279106 "))
                .unwrap()
                .as_str(),
            "82279106"
        );
        assert_eq!(BookingId::parse("0007").unwrap().as_str(), "7");
        assert_eq!(BookingId::parse("000"), Err(BookingIdError::Zero));
    }

    #[test]
    fn only_whole_numbers_are_beds24_ids() {
        for text in ["TEST123", "82279106.0", "+5", "-5", "1e3", "0x10", "82 279"] {
            assert_eq!(
                BookingId::parse(text),
                Err(BookingIdError::NotNumeric),
                "{text}"
            );
        }
        let error = BookingId::parse("TEST123").unwrap_err().to_string();
        assert!(error.contains("whole numbers"), "{error}");
    }

    #[test]
    fn stored_ids_round_trip_through_serde() {
        let id: BookingId = serde_json::from_value(json!("082279106")).unwrap();
        assert_eq!(serde_json::to_value(&id).unwrap(), json!("82279106"));
        assert!(serde_json::from_value::<BookingId>(json!("TEST123")).is_err());
    }
}
