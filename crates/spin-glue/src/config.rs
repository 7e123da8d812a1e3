//! Reading Spin variables with clear errors.

use beds24_sync_core::auth::VariableUnreadable;
use beds24_sync_core::error_body::ApiError;

/// A variable the component cannot work without could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Spin refused the variable: undefined for this component, an invalid name, or a
    /// variable provider (Vault, Azure Key Vault) that failed.
    #[error("Spin variable {name} is not available: {reason}")]
    Unavailable {
        /// The variable's name as the component asked for it, e.g. `redis_url`.
        name: String,
        /// Why Spin could not give it.
        reason: spin_sdk::variables::Error,
    },
}

/// A deliberate 500 naming the variable: the deployment, not the client, is at fault.
impl From<ConfigError> for ApiError {
    fn from(e: ConfigError) -> Self {
        ApiError::new(500, "configuration_error", e.to_string())
    }
}

/// A variable, trimmed; missing or unreadable is an error naming it.
pub fn required(name: &str) -> Result<String, ConfigError> {
    spin_sdk::variables::get(name)
        .map(|v| v.trim().to_owned())
        .map_err(|reason| ConfigError::Unavailable {
            name: name.to_owned(),
            reason,
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
