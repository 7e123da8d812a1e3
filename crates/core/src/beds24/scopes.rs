//! The token scopes a sync needs: without them Beds24 silently leaves fields out.
//!
//! A token without `bookings-personal` gets bookings with empty guest fields, one without
//! `bookings-financial` gets no invoice items; neither call fails. Writing such rows would
//! blank real data, so the worker checks the scopes (`GET /authentication/details`) and
//! holds the queue while any is missing.

use serde_json::Value;

/// What each sync call needs, by the resource part of Beds24's `<access>:<resource>` scopes.
pub const REQUIRED: [&str; 3] = ["bookings", "bookings-personal", "bookings-financial"];

/// The required scopes the `/authentication/details` answer does not grant, or `None`
/// when the answer lists no scopes at all (nothing to judge by: the sync goes on).
/// Any access level counts (`read:`, `write:`, `all:`).
pub fn missing(details: &Value) -> Option<Vec<&'static str>> {
    let granted: Vec<&str> = details
        .pointer("/token/scopes")
        .or_else(|| details.get("scopes"))?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .map(|scope| {
            scope
                .split_once(':')
                .map_or(scope, |(_, resource)| resource)
        })
        .collect();
    Some(
        REQUIRED
            .into_iter()
            .filter(|needed| !granted.contains(needed))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_full_read_token_lacks_nothing() {
        let details = json!({"validToken": true, "token": {"scopes": [
            "read:bookings", "read:bookings-personal", "read:bookings-financial", "read:properties"
        ]}});
        assert_eq!(missing(&details), Some(vec![]));
    }

    #[test]
    fn names_each_missing_scope_whatever_the_access_level() {
        let details = json!({"token": {"scopes": ["all:bookings", "write:bookings-personal"]}});
        assert_eq!(missing(&details), Some(vec!["bookings-financial"]));
        let bare = json!({"token": {"scopes": []}});
        assert_eq!(missing(&bare), Some(REQUIRED.to_vec()));
    }

    #[test]
    fn an_answer_without_scopes_is_not_judged() {
        assert_eq!(missing(&json!({"validToken": true})), None);
    }
}
