//! The one JSON error shape every route answers with: `{"error": code, "message": text}`.

use serde::Serialize;

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
    pub status: u16,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn new(status: u16, error: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                error,
                message: message.into(),
            },
        }
    }

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
            TooLarge => "payload_too_large",
            InvalidJson(_) => "invalid_json",
            NotAnObject(_) => "invalid_body",
            TooManyItems(_) => "too_many_items",
        };
        ApiError::new(e.status(), code, e.to_string())
    }
}

impl From<crate::auth::AuthError> for ApiError {
    fn from(e: crate::auth::AuthError) -> Self {
        ApiError::new(401, "unauthorized", e.to_string())
    }
}
