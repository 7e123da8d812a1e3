//! HTTP endpoints of the mock and the router that mounts them under `/v2`.

pub(crate) mod auth;
mod bookings;
mod common;
mod messages;

use axum::routing::get;
use axum::Router;

use crate::state::App;
use crate::types::Endpoint;

pub(crate) fn router(app: App) -> Router {
    Router::new()
        .route(Endpoint::Bookings.path(), get(bookings::handler))
        .route(Endpoint::Messages.path(), get(messages::messages))
        .route(Endpoint::Properties.path(), get(messages::properties))
        .route(Endpoint::Token.path(), get(auth::token))
        .route(Endpoint::Details.path(), get(auth::details))
        .fallback(not_found)
        .with_state(app)
}

async fn not_found() -> axum::response::Response {
    let body = common::render(&common::error_body(404, "Not found"));
    axum::response::Response::builder()
        .status(404)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
        .unwrap_or_default()
}
