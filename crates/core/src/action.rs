//! `Action`: what a webhook says happened to a booking (the seed's CREATED / MODIFY / CANCEL).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The event a webhook reports for a booking. It is recorded on the job and counted
/// per kind (`received:<ACTION>`); the worker fetches the booking from Beds24 whatever
/// the action, so it never changes what ends up in the `"Booking"` row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    /// A new booking (v1 `status=new`, or a v2 booking whose `bookingTime` equals its
    /// `modifiedTime`).
    #[serde(rename = "CREATED")]
    Created,
    /// Any other change, and the fallback for labels we do not recognise.
    #[serde(rename = "MODIFY")]
    Modify,
    /// A cancellation (status `cancelled` or a `cancelTime` set).
    #[serde(rename = "CANCEL")]
    Cancel,
}

impl Action {
    /// Every action (the metrics report one `received` counter for each).
    pub const ALL: [Action; 3] = [Action::Created, Action::Modify, Action::Cancel];

    /// The wire name (`CREATED`, `MODIFY`, `CANCEL`), as stored in Redis and in stats
    /// counter names.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "CREATED",
            Action::Modify => "MODIFY",
            Action::Cancel => "CANCEL",
        }
    }

    /// An explicit `action` field, as the seed maps it. Unknown values are a
    /// modification: the worker always fetches the booking anyway.
    pub fn from_label(label: &str) -> Action {
        match label.trim().to_ascii_lowercase().as_str() {
            "created" | "create" | "new" => Action::Created,
            "cancelled" | "canceled" | "cancel" => Action::Cancel,
            _ => Action::Modify,
        }
    }

    /// Beds24 v2 bodies carry no event type: read it off the booking itself.
    pub fn derive_from_booking(booking: &Value) -> Action {
        let text = |key: &str| booking.get(key).and_then(Value::as_str).unwrap_or("");
        let cancelled = text("status").eq_ignore_ascii_case("cancelled")
            || booking
                .get("cancelTime")
                .is_some_and(|v| !v.is_null() && v != "");
        if cancelled {
            return Action::Cancel;
        }
        let (booked, modified) = (text("bookingTime"), text("modifiedTime"));
        if !booked.is_empty() && booked == modified {
            Action::Created
        } else {
            Action::Modify
        }
    }

    /// Beds24 v1 (`?status=new|modify|cancel|message`). A message still changes
    /// what we store (messages column), so it is a modification.
    pub fn from_v1_status(status: Option<&str>) -> Action {
        match status.map(|s| s.trim().to_ascii_lowercase()) {
            Some(s) if s == "new" => Action::Created,
            Some(s) if s == "cancel" || s == "cancelled" => Action::Cancel,
            _ => Action::Modify,
        }
    }

    /// The action whose wire name ([`Action::as_str`]) is exactly `text`, as read back
    /// from Redis; `None` for anything else.
    pub fn parse(text: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_map_like_the_seed_case_insensitively() {
        assert_eq!(Action::from_label("created"), Action::Created);
        assert_eq!(Action::from_label("MODIFIED"), Action::Modify);
        assert_eq!(Action::from_label("Cancelled"), Action::Cancel);
        assert_eq!(Action::from_label("something-else"), Action::Modify);
    }

    #[test]
    fn derives_from_booking_when_no_action() {
        let created =
            json!({"bookingTime": "2026-02-12T19:49:04Z", "modifiedTime": "2026-02-12T19:49:04Z"});
        let modified =
            json!({"bookingTime": "2026-02-12T19:49:04Z", "modifiedTime": "2026-02-15T10:07:22Z"});
        assert_eq!(Action::derive_from_booking(&created), Action::Created);
        assert_eq!(Action::derive_from_booking(&modified), Action::Modify);
        assert_eq!(
            Action::derive_from_booking(&json!({"status": "cancelled"})),
            Action::Cancel
        );
        assert_eq!(
            Action::derive_from_booking(
                &json!({"status": "confirmed", "cancelTime": "2026-02-15T10:07:22Z"})
            ),
            Action::Cancel
        );
        assert_eq!(Action::derive_from_booking(&json!({})), Action::Modify);
    }

    #[test]
    fn v1_status_maps() {
        assert_eq!(Action::from_v1_status(Some("new")), Action::Created);
        assert_eq!(Action::from_v1_status(Some("cancel")), Action::Cancel);
        assert_eq!(Action::from_v1_status(Some("message")), Action::Modify);
        assert_eq!(Action::from_v1_status(None), Action::Modify);
    }
}
