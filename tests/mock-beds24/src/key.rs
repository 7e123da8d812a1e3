//! `BookingKey`: a booking id in its text form, numeric (`82279106`) or not (`"TEST123"`).

use std::fmt;

use serde_json::{json, Value};

/// A booking id as the mock stores and matches it.
///
/// Built from a `u64`, a `&str`/`String`, or a stored booking's JSON `id`. Text that
/// reads as an unsigned integer (`"82279106"`, `" 7"`) is the same key as that
/// number, so `?id=82279106` finds a booking stored with `"id": 82279106` or
/// `"id": "82279106"`; any other text (`"TEST123"`) is kept verbatim and matched
/// exactly (case-sensitive). Keys sort numeric ids ascending first, then text ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BookingKey(Repr);

/// Variant order is the sort order: numbers before text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Repr {
    Num(u64),
    Text(String),
}

impl BookingKey {
    /// A key from query or test text; `None` for an empty (or blank) string.
    pub fn parse(text: &str) -> Option<Self> {
        if text.trim().is_empty() {
            return None;
        }
        Some(match text.trim().parse::<u64>() {
            Ok(n) => BookingKey(Repr::Num(n)),
            Err(_) => BookingKey(Repr::Text(text.to_string())),
        })
    }

    /// The key of a JSON id: a number (any number; non-`u64` ones by their text)
    /// or a non-blank string. `None` for anything else (absent, empty, null, ...).
    pub fn from_json(v: &Value) -> Option<Self> {
        match v {
            Value::Number(n) => Some(match n.as_u64() {
                Some(n) => BookingKey(Repr::Num(n)),
                None => BookingKey(Repr::Text(n.to_string())),
            }),
            Value::String(s) => Self::parse(s),
            _ => None,
        }
    }

    /// The numeric id, if this key is one.
    pub fn as_u64(&self) -> Option<u64> {
        match self.0 {
            Repr::Num(n) => Some(n),
            Repr::Text(_) => None,
        }
    }

    /// The id as a JSON value: a number for numeric keys, a string otherwise.
    pub fn to_json(&self) -> Value {
        match &self.0 {
            Repr::Num(n) => json!(n),
            Repr::Text(s) => json!(s),
        }
    }
}

impl fmt::Display for BookingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Num(n) => write!(f, "{n}"),
            Repr::Text(s) => f.write_str(s),
        }
    }
}

impl From<u64> for BookingKey {
    fn from(n: u64) -> Self {
        BookingKey(Repr::Num(n))
    }
}

/// Blank text gives a key no stored booking can have (`upsert_booking` refuses it).
impl From<&str> for BookingKey {
    fn from(s: &str) -> Self {
        Self::parse(s).unwrap_or_else(|| BookingKey(Repr::Text(s.to_string())))
    }
}

impl From<String> for BookingKey {
    fn from(s: String) -> Self {
        BookingKey::from(s.as_str())
    }
}

impl From<&String> for BookingKey {
    fn from(s: &String) -> Self {
        BookingKey::from(s.as_str())
    }
}

impl From<&BookingKey> for BookingKey {
    fn from(k: &BookingKey) -> Self {
        k.clone()
    }
}

impl PartialEq<u64> for BookingKey {
    fn eq(&self, other: &u64) -> bool {
        self.as_u64() == Some(*other)
    }
}

impl PartialEq<&str> for BookingKey {
    fn eq(&self, other: &&str) -> bool {
        // Same as comparing with `BookingKey::from(*other)`: text keys never read
        // as a number, so verbatim equality is enough for them.
        match &self.0 {
            Repr::Num(n) => other.trim().parse::<u64>() == Ok(*n),
            Repr::Text(s) => s == other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_text_is_the_number_and_other_text_is_verbatim() {
        assert_eq!(BookingKey::from("82279106"), BookingKey::from(82279106));
        assert_eq!(
            BookingKey::from_json(&json!("5")),
            Some(BookingKey::from(5))
        );
        assert_eq!(BookingKey::from("TEST123").to_json(), json!("TEST123"));
        assert_ne!(BookingKey::from("TEST123"), BookingKey::from("test123"));
        assert_eq!(BookingKey::from(7).to_json(), json!(7));
        assert_eq!(BookingKey::from("TEST123").to_string(), "TEST123");
        assert_eq!(BookingKey::parse(" "), None);
        assert_eq!(BookingKey::from_json(&json!("")), None);
        assert_eq!(BookingKey::from_json(&json!(null)), None);
        assert_eq!(BookingKey::from_json(&json!(-3)), Some("-3".into()));
        let (seven, x) = (BookingKey::from(7), BookingKey::from("x"));
        assert!(seven == " 7" && seven != "x" && x == "x" && x != "7");
    }

    #[test]
    fn numbers_sort_first_and_numerically() {
        let mut keys: Vec<BookingKey> = vec!["b".into(), 10.into(), "A".into(), 2.into()];
        keys.sort();
        let text: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        assert_eq!(text, ["2", "10", "A", "b"]);
    }
}
