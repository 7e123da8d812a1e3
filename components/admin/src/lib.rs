//! admin component: health and readiness, queue stats and actions, Prometheus metrics, dashboard.

mod actions;
mod health;
mod jobs;
mod metrics;

use beds24_spin_glue::{config, redis::SpinRedis, respond, send::send};
use beds24_sync_core::auth::check_bearer;
use beds24_sync_core::error_body::ApiError;
use spin_sdk::http::conversions::TryFromIncomingRequest;
use spin_sdk::http::{IncomingRequest, Method, Request, Response, ResponseOutparam};
use spin_sdk::http_component;

/// The dashboard: one self-contained page (no CDN). It holds no data itself and asks
/// for the admin token, so it is the one admin route served without it.
const DASHBOARD: &str = include_str!("dashboard.html");

#[http_component]
async fn handle(request: IncomingRequest, out: ResponseOutparam) {
    let response = match Request::try_from_incoming_request(request).await {
        Ok(request) => route(&request).unwrap_or_else(|error| respond::error(&error)),
        Err(e) => respond::error(&ApiError::new(
            400,
            "invalid_request",
            format!("could not read the request: {e}"),
        )),
    };
    send(out, response);
}

fn route(request: &Request) -> Result<Response, ApiError> {
    let path = request.path().trim_end_matches('/');
    let method = request.method().clone();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (&method, segments.as_slice()) {
        (Method::Get | Method::Head, ["api", "health"]) if !is_ready_query(request.query()) => {
            return health::liveness()
        }
        (Method::Get, ["api", "admin", "queues", "ui"]) => return Ok(html(DASHBOARD)),
        _ => {}
    }
    authorize(request)?;
    match (&method, segments.as_slice()) {
        (Method::Get, ["api", "health"] | ["api", "health", "ready"]) => health::readiness(),
        (Method::Get, ["metrics"]) => metrics::render(),
        (Method::Post, ["api", "admin", "tick"]) => actions::tick(),
        (Method::Get, ["api", "admin", "queues", "stats"]) => jobs::stats(),
        (Method::Get, ["api", "admin", "queues", "dead"]) => jobs::dead(),
        (Method::Get, ["api", "admin", "queues", "history"]) => jobs::history(request.query()),
        (Method::Get, ["api", "admin", "queues", "jobs", id]) => jobs::detail(id),
        (Method::Post, ["api", "admin", "queues", "jobs"]) => actions::enqueue(request.body()),
        (Method::Post, ["api", "admin", "queues", "dead", id, "retry"]) => actions::retry(id),
        (Method::Post, ["api", "admin", "queues", "dead", "replay"]) => {
            actions::replay(request.query())
        }
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

/// Every route but liveness and the dashboard page needs the admin bearer token;
/// with none configured the admin API stays closed rather than open.
fn authorize(request: &Request) -> Result<(), ApiError> {
    let expected = config::optional("admin_token");
    if expected.is_empty() {
        return Err(ApiError::new(
            401,
            "unauthorized",
            "admin API disabled: set the admin_token variable",
        ));
    }
    let header = request.header("authorization").and_then(|v| v.as_str());
    Ok(check_bearer(header, &expected)?)
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
