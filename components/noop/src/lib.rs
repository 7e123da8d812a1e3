//! No-op HTTP component: answers 202 with a tiny JSON body, touching nothing (benchmark floor).

use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(_request: IncomingRequest) -> Response {
    Response::builder()
        .status(202)
        .header("content-type", "application/json")
        .body(r#"{"received":true}"#)
        .build()
}
