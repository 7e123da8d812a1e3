//! webhook component: `POST /api/webhooks/beds24` → job stored in Redis → 202.
//!
//! Thin shell: read the request (bounded), let the core parse it, store each job,
//! answer. A 202 is a promise: it is sent only after the job is stored.

mod intake;

use beds24_spin_glue::{respond, send::send};
use beds24_sync_core::error_body::ApiError;
use spin_sdk::http::{IncomingRequest, Response, ResponseOutparam};
use spin_sdk::http_component;

#[http_component]
async fn handle(request: IncomingRequest, out: ResponseOutparam) {
    send(out, answer(request).await);
}

async fn answer(request: IncomingRequest) -> Response {
    match intake::accept(request).await {
        Ok(response) => response,
        Err(error) => {
            let mut response = respond::error(&error);
            if error.status == 405 {
                response.set_header("allow", "GET, POST");
            }
            response
        }
    }
}

/// Internal errors never leak as bare 500s: they become a JSON 500 with a message.
pub(crate) fn internal(context: &str, error: impl std::fmt::Display) -> ApiError {
    ApiError::new(500, "internal_error", format!("{context}: {error}"))
}
