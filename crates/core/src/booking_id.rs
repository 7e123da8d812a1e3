//! `BookingId`: the one key of a booking everywhere (job key, row key, log field).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest id we accept. Beds24 ids are 8–9 digit numbers; the seed's own test
/// sends `"TEST123"`. Anything far longer is garbage, not a booking.
const MAX_LEN: usize = 64;

/// A booking id as text, parsed from a JSON number or string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BookingId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookingIdError {
    #[error("bookingId is empty")]
    Empty,
    #[error("bookingId is longer than {MAX_LEN} characters")]
    TooLong,
    #[error("bookingId may only contain letters, digits, '-', '_', '.' and ':'")]
    BadCharacters,
    #[error("bookingId must be a positive whole number or a string, got {0}")]
    WrongType(&'static str),
}

impl BookingId {
    /// Parse from text (trimmed).
    pub fn parse(text: &str) -> Result<Self, BookingIdError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(BookingIdError::Empty);
        }
        if text.len() > MAX_LEN {
            return Err(BookingIdError::TooLong);
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
        if !text.chars().all(allowed) {
            return Err(BookingIdError::BadCharacters);
        }
        Ok(Self(text.to_owned()))
    }

    /// Parse from a JSON value: Beds24 sends numbers, people send strings.
    pub fn from_json(value: &Value) -> Result<Self, BookingIdError> {
        match value {
            Value::String(s) => Self::parse(s),
            Value::Number(n) => match n.as_u64() {
                Some(n) if n > 0 => Ok(Self(n.to_string())),
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

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Beds24's own ids are numeric; only those can be fetched from its API.
    pub fn is_numeric(&self) -> bool {
        self.0.bytes().all(|b| b.is_ascii_digit())
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
    fn numbers_and_strings_become_text() {
        assert_eq!(
            BookingId::from_json(&json!(82279106)).unwrap().as_str(),
            "82279106"
        );
        assert_eq!(
            BookingId::from_json(&json!(" TEST123 ")).unwrap().as_str(),
            "TEST123"
        );
    }

    #[test]
    fn rejects_what_cannot_be_an_id() {
        assert_eq!(BookingId::from_json(&json!("")), Err(BookingIdError::Empty));
        assert_eq!(
            BookingId::from_json(&json!(null)),
            Err(BookingIdError::Empty)
        );
        assert!(BookingId::from_json(&json!(-4)).is_err());
        assert!(BookingId::from_json(&json!(1.5)).is_err());
        assert!(BookingId::from_json(&json!({"a": 1})).is_err());
        assert_eq!(BookingId::parse("a b"), Err(BookingIdError::BadCharacters));
        assert_eq!(
            BookingId::parse(&"9".repeat(65)),
            Err(BookingIdError::TooLong)
        );
    }

    #[test]
    fn numeric_ids_are_fetchable() {
        assert!(BookingId::parse("82279106").unwrap().is_numeric());
        assert!(!BookingId::parse("TEST123").unwrap().is_numeric());
    }
}
