//! Reading Spin variables with clear errors.

use beds24_sync_core::auth::VariableUnreadable;
use beds24_sync_core::error_body::ApiError;

/// A variable, trimmed; missing or unreadable is a deliberate 500 naming it.
pub fn required(name: &str) -> Result<String, ApiError> {
    spin_sdk::variables::get(name)
        .map(|v| v.trim().to_owned())
        .map_err(|e| {
            ApiError::new(
                500,
                "configuration_error",
                format!("Spin variable {name} is not available: {e}"),
            )
        })
}

/// A variable whose empty value is itself a setting (`""` leaves the webhook open), so
/// a variable that cannot be read must not pass for empty: the caller fails closed.
pub fn setting(name: &'static str) -> Result<String, VariableUnreadable> {
    spin_sdk::variables::get(name)
        .map(|v| v.trim().to_owned())
        .map_err(|e| VariableUnreadable {
            variable: name,
            reason: e.to_string(),
        })
}

/// A variable that may be empty (optional settings have `default = ""`). Only for
/// settings where "unreadable" may fall back like "unset": never for tokens.
pub fn optional(name: &str) -> String {
    spin_sdk::variables::get(name)
        .map(|v| v.trim().to_owned())
        .unwrap_or_default()
}

/// A numeric variable with a fallback when unset or unparsable.
pub fn number<T: std::str::FromStr>(name: &str, fallback: T) -> T {
    optional(name).parse().unwrap_or(fallback)
}
