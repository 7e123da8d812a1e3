//! JSON responses: every answer, error or not, is a deliberate status with a JSON body.

use beds24_sync_core::error_body::ApiError;
use serde::Serialize;
use spin_sdk::http::Response;

pub fn json(status: u16, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(bytes)
        .build()
}

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

/// Body for Redis being unreachable: Beds24 retries on any status ≥ 400.
pub fn unavailable(what: &str) -> ApiError {
    ApiError::new(
        503,
        "unavailable",
        format!("{what}; nothing was accepted, please retry"),
    )
}
