//! admin component: health and readiness, queue stats and actions, Sync Masivo controls, Prometheus metrics, dashboard.

mod actions;
mod bulk;
mod health;
mod jobs;
mod metrics;

use beds24_spin_glue::config::{self, ConfigError};
use beds24_spin_glue::{body::read_capped, redis::SpinRedis, respond, send::send};
use beds24_sync_core::auth::check_admin;
use beds24_sync_core::error_body::ApiError;
use beds24_sync_core::store::StoreError;
use bulk::Command::{Cancel, Pause, Resume};
use http::uri::{InvalidUri, PathAndQuery};
use spin_sdk::http::{IncomingRequest, Method, Response, ResponseOutparam};
use spin_sdk::http_component;

/// The dashboard: one self-contained page (no CDN). It holds no data itself and asks
/// for the admin token, so it is served without it (as are liveness and the bare
/// readiness verdict, for probes). Its Sync Masivo
/// panel's script is kept in a second file, which ends the page.
const DASHBOARD: &str = concat!(
    include_str!("dashboard.html"),
    include_str!("dashboard_bulk.html")
);

/// The admin API's only bodies are `{"bookingId": …}` and a backfill's two arrival dates;
/// nothing legitimate comes near this.
const MAX_BODY_BYTES: usize = 64 * 1024;

#[http_component]
async fn handle(request: IncomingRequest, out: ResponseOutparam) {
    let response = route(request)
        .await
        .unwrap_or_else(|error| respond::error(&error));
    send(out, response);
}

/// What the router itself refuses, before any route runs.
#[derive(Debug, thiserror::Error)]
enum RouteError {
    /// The request target is not a path and query we can read.
    #[error("unreadable request target: {0}")]
    UnreadableTarget(#[from] InvalidUri),
    /// The path is served, but not with this method.
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    /// No route has this path.
    #[error("no admin route {method} {path}")]
    NotFound { method: String, path: String },
}

impl From<RouteError> for ApiError {
    fn from(e: RouteError) -> Self {
        let (status, code) = match &e {
            RouteError::UnreadableTarget(_) => (400, "invalid_request"),
            RouteError::MethodNotAllowed { .. } => (405, "method_not_allowed"),
            RouteError::NotFound { .. } => (404, "not_found"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

/// Route on the head alone: the token is checked before any body byte is read, and
/// only the routes that take a body read it, under [`MAX_BODY_BYTES`].
async fn route(request: IncomingRequest) -> Result<Response, ApiError> {
    let target = request.path_with_query().unwrap_or_default();
    let target: PathAndQuery = target.parse().map_err(RouteError::from)?;
    let path = target.path().trim_end_matches('/');
    let query = target.query().unwrap_or_default();
    let method = request.method();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if is_readiness(&method, &segments, query) && request.headers().get("authorization").is_empty()
    {
        return Ok(health::readiness(false));
    }
    match (&method, segments.as_slice()) {
        (Method::Get | Method::Head, ["api", "health"]) if !is_ready_query(query) => {
            return Ok(health::liveness())
        }
        (Method::Get, ["api", "admin", "queues", "ui"]) => return Ok(html(DASHBOARD)),
        _ => {}
    }
    authorize(&request)?;
    match (&method, segments.as_slice()) {
        (Method::Get, ["api", "health"] | ["api", "health", "ready"]) => {
            Ok(health::readiness(true))
        }
        (Method::Get, ["metrics"]) => Ok(metrics::render()?),
        (Method::Post, ["api", "admin", "tick"]) => Ok(actions::tick()?),
        (Method::Get, ["api", "admin", "queues", "stats"]) => Ok(jobs::stats()?),
        (Method::Get, ["api", "admin", "queues", "dead"]) => Ok(jobs::dead()?),
        (Method::Get, ["api", "admin", "queues", "history"]) => Ok(jobs::history(query)?),
        (Method::Get, ["api", "admin", "queues", "jobs", id]) => Ok(jobs::detail(id)?),
        (Method::Post, ["api", "admin", "queues", "jobs"]) => Ok(actions::enqueue(
            &read_capped(request, MAX_BODY_BYTES).await?,
        )?),
        (Method::Post, ["api", "admin", "queues", "dead", id, "retry"]) => Ok(actions::retry(id)?),
        (Method::Post, ["api", "admin", "queues", "dead", "replay"]) => Ok(actions::replay(query)?),
        (Method::Post, ["api", "admin", "queues", "purge", what]) => Ok(actions::purge(what)?),
        (Method::Post, ["api", "admin", "queues", "pause"]) => Ok(actions::pause(true)?),
        (Method::Post, ["api", "admin", "queues", "resume"]) => Ok(actions::pause(false)?),
        (Method::Get, ["api", "admin", "reconcile"]) => Ok(bulk::reconcile_status()?),
        (Method::Post, ["api", "admin", "reconcile"]) => Ok(bulk::reconcile_now()?),
        (Method::Get, ["api", "admin", "backfill"]) => Ok(bulk::progress()?),
        (Method::Post, ["api", "admin", "backfill"]) => {
            Ok(bulk::start(&read_capped(request, MAX_BODY_BYTES).await?)?)
        }
        (Method::Post, ["api", "admin", "backfill", "pause"]) => Ok(bulk::command(Pause)?),
        (Method::Post, ["api", "admin", "backfill", "resume"]) => Ok(bulk::command(Resume)?),
        (Method::Post, ["api", "admin", "backfill", "cancel"]) => Ok(bulk::command(Cancel)?),
        _ => {
            let (method, path) = (method.to_string(), path.to_owned());
            Err(if known_path(&segments) {
                RouteError::MethodNotAllowed { method, path }
            } else {
                RouteError::NotFound { method, path }
            }
            .into())
        }
    }
}

/// Paths the router serves with some method (for 405 rather than 404).
fn known_path(segments: &[&str]) -> bool {
    matches!(
        segments,
        ["api", "health"]
            | ["api", "health", "ready"]
            | ["metrics"]
            | ["api", "admin", "tick" | "reconcile" | "backfill"]
            | ["api", "admin", "backfill", "pause" | "resume" | "cancel"]
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

/// `/api/health/ready`, or `/api/health?ready`.
fn is_readiness(method: &Method, segments: &[&str], query: &str) -> bool {
    match (method, segments) {
        (Method::Get, ["api", "health", "ready"]) => true,
        (Method::Get, ["api", "health"]) => is_ready_query(query),
        _ => false,
    }
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

/// The queue's Redis, in the caller's error type: its URL variable, then the connection.
pub(crate) fn redis<E: From<ConfigError> + From<StoreError>>() -> Result<SpinRedis, E> {
    Ok(SpinRedis::open(&config::required("redis_url")?)?)
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
