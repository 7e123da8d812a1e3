//! JSON responses: every answer, error or not, is a deliberate status with a JSON body.

use beds24_sync_core::error_body::ApiError;
use beds24_sync_core::store::StoreError;
use serde::Serialize;
use spin_sdk::http::Response;

/// `body` as JSON with `status`, never cached.
pub fn json(status: u16, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(bytes)
        .build()
}

/// The error's status and `{"error", "message"}` body; a 401 also says which scheme to use.
pub fn error(e: &ApiError) -> Response {
    let mut builder = Response::builder();
    builder
        .status(e.status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store");
    if e.status == 401 {
        builder.header("www-authenticate", "Bearer");
    }
    builder.body(e.to_json()).build()
}

/// A store we depend on (Redis, Postgres) cannot be used right now: nothing was
/// accepted, and the client should retry (Beds24 retries on any status ≥ 400).
#[derive(Debug, thiserror::Error)]
#[error("{what}; nothing was accepted, please retry")]
pub struct Unavailable {
    /// What failed, e.g. `job store unavailable` or the store's own error.
    pub what: String,
}

impl From<StoreError> for Unavailable {
    fn from(e: StoreError) -> Self {
        Unavailable {
            what: e.to_string(),
        }
    }
}

/// 503 `unavailable`.
impl From<Unavailable> for ApiError {
    fn from(e: Unavailable) -> Self {
        ApiError::new(503, "unavailable", e.to_string())
    }
}

/// Body for Redis being unreachable: 503 `unavailable` saying `what`.
pub fn unavailable(what: &str) -> ApiError {
    Unavailable {
        what: what.to_owned(),
    }
    .into()
}
