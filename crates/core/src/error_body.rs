//! The one JSON error shape every route answers with: `{"error": code, "message": text}`.

use serde::Serialize;

/// The JSON body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `invalid_json`.
    pub error: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

/// A response the components render as-is: status plus JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status, 4xx or 5xx.
    pub status: u16,
    /// What the client reads.
    pub body: ErrorBody,
}

impl ApiError {
    /// An answer with `status`, stable code `error` and a human-readable `message`. Call it
    /// only from a `From<…> for ApiError` impl: an error type picks its status and code.
    pub fn new(status: u16, error: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                error,
                message: message.into(),
            },
        }
    }

    /// A body over `cap` bytes, refused by its declared length or while it was read.
    pub fn payload_too_large(cap: usize) -> Self {
        ApiError::new(
            413,
            "payload_too_large",
            format!("request body is larger than {cap} bytes"),
        )
    }

    /// The body as JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&self.body).expect("ErrorBody always serializes")
    }
}

impl From<crate::webhook::WebhookError> for ApiError {
    fn from(e: crate::webhook::WebhookError) -> Self {
        use crate::webhook::WebhookError::*;
        let code = match &e {
            MethodNotAllowed(_) => "method_not_allowed",
            MissingV1Id => "missing_bookid",
            InvalidJson(_) => "invalid_json",
            NotAnObject(_) => "invalid_body",
            TooManyItems(_) => "too_many_items",
        };
        ApiError::new(e.status(), code, e.to_string())
    }
}

impl From<crate::auth::AuthError> for ApiError {
    fn from(e: crate::auth::AuthError) -> Self {
        match e {
            crate::auth::AuthError::Unreadable(e) => e.into(),
            other => ApiError::new(401, "unauthorized", other.to_string()),
        }
    }
}

/// Our configuration, not the client, is at fault; and it may be passing (a variable
/// provider such as Vault being down), so 503: Beds24 retries the webhook.
impl From<crate::auth::VariableUnreadable> for ApiError {
    fn from(e: crate::auth::VariableUnreadable) -> Self {
        ApiError::new(503, "configuration_error", e.to_string())
    }
}
