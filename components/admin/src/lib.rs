//! admin component: health and readiness, queue stats and actions, Prometheus metrics, dashboard.

mod actions;
mod health;
mod jobs;
mod metrics;

use beds24_spin_glue::{body::read_capped, config, redis::SpinRedis, respond, send::send};
use beds24_sync_core::auth::check_admin;
use beds24_sync_core::error_body::ApiError;
use http::uri::PathAndQuery;
use spin_sdk::http::{IncomingRequest, Method, Response, ResponseOutparam};
use spin_sdk::http_component;

/// The dashboard: one self-contained page (no CDN). It holds no data itself and asks
/// for the admin token, so it is the one admin route served without it.
const DASHBOARD: &str = include_str!("dashboard.html");

/// The admin API's only body is `{"bookingId": …}`; nothing legitimate comes near this.
const MAX_BODY_BYTES: usize = 64 * 1024;

#[http_component]
async fn handle(request: IncomingRequest, out: ResponseOutparam) {
    let response = route(request)
        .await
        .unwrap_or_else(|error| respond::error(&error));
    send(out, response);
}

/// Route on the head alone: the token is checked before any body byte is read, and
/// only the one route that takes a body reads it, under [`MAX_BODY_BYTES`].
async fn route(request: IncomingRequest) -> Result<Response, ApiError> {
    let target = request.path_with_query().unwrap_or_default();
    let target: PathAndQuery = target.parse().map_err(|e| {
        ApiError::new(
            400,
            "invalid_request",
            format!("unreadable request target: {e}"),
        )
    })?;
    let path = target.path().trim_end_matches('/');
    let query = target.query().unwrap_or_default();
    let method = request.method();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (&method, segments.as_slice()) {
        (Method::Get | Method::Head, ["api", "health"]) if !is_ready_query(query) => {
            return health::liveness()
        }
        (Method::Get, ["api", "admin", "queues", "ui"]) => return Ok(html(DASHBOARD)),
        _ => {}
    }
    authorize(&request)?;
    match (&method, segments.as_slice()) {
        (Method::Get, ["api", "health"] | ["api", "health", "ready"]) => health::readiness(),
        (Method::Get, ["metrics"]) => metrics::render(),
        (Method::Post, ["api", "admin", "tick"]) => actions::tick(),
        (Method::Get, ["api", "admin", "queues", "stats"]) => jobs::stats(),
        (Method::Get, ["api", "admin", "queues", "dead"]) => jobs::dead(),
        (Method::Get, ["api", "admin", "queues", "history"]) => jobs::history(query),
        (Method::Get, ["api", "admin", "queues", "jobs", id]) => jobs::detail(id),
        (Method::Post, ["api", "admin", "queues", "jobs"]) => {
            actions::enqueue(&read_capped(request, MAX_BODY_BYTES).await?)
        }
        (Method::Post, ["api", "admin", "queues", "dead", id, "retry"]) => actions::retry(id),
        (Method::Post, ["api", "admin", "queues", "dead", "replay"]) => actions::replay(query),
        (Method::Post, ["api", "admin", "queues", "purge", what]) => actions::purge(what),
        (Method::Post, ["api", "admin", "queues", "pause"]) => actions::pause(true),
        (Method::Post, ["api", "admin", "queues", "resume"]) => actions::pause(false),
        _ if known_path(&segments) => Err(ApiError::new(
            405,
            "method_not_allowed",
            format!("{method} is not allowed on {path}"),
        )),
        _ => Err(ApiError::new(
            404,
            "not_found",
            format!("no admin route {method} {path}"),
        )),
    }
}

/// Paths the router serves with some method (for 405 rather than 404).
fn known_path(segments: &[&str]) -> bool {
    matches!(
        segments,
        ["api", "health"]
            | ["api", "health", "ready"]
            | ["metrics"]
            | ["api", "admin", "tick"]
            | [
                "api",
                "admin",
                "queues",
                "stats" | "ui" | "dead" | "history" | "jobs" | "pause" | "resume"
            ]
            | ["api", "admin", "queues", "jobs", _]
            | ["api", "admin", "queues", "dead", "replay"]
            | ["api", "admin", "queues", "dead", _, "retry"]
            | ["api", "admin", "queues", "purge", _]
    )
}

fn is_ready_query(query: &str) -> bool {
    actions::url_param(query, "ready").is_some_and(|v| matches!(v.as_str(), "" | "1" | "true"))
}

/// Every route but liveness and the dashboard page needs the admin bearer token; with
/// none configured, or one that cannot be read, the admin API stays closed and says why.
fn authorize(request: &IncomingRequest) -> Result<(), ApiError> {
    let header = request.headers().get("authorization");
    let header = header.first().and_then(|v| std::str::from_utf8(v).ok());
    Ok(check_admin(header, config::setting("admin_token"))?)
}

pub(crate) fn redis() -> Result<SpinRedis, ApiError> {
    SpinRedis::open(&config::required("redis_url")?).map_err(|e| store_down(&e))
}

pub(crate) fn store_down(e: &dyn std::fmt::Display) -> ApiError {
    respond::unavailable(&e.to_string())
}

fn html(page: &'static str) -> Response {
    Response::builder()
        .status(200)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .header(
            "content-security-policy",
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
        )
        .body(page)
        .build()
}
