//! admin component: health and readiness, queue stats, Prometheus metrics, tick.

mod health;
mod metrics;

use beds24_spin_glue::{config, now_ms, pg::SpinPg, redis::SpinRedis, respond, schema};
use beds24_sync_core::auth::check_bearer;
use beds24_sync_core::error_body::ApiError;
use beds24_sync_core::queue::Queue;
use serde_json::json;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(request: Request) -> Response {
    match route(&request) {
        Ok(response) => response,
        Err(error) => respond::error(&error),
    }
}

fn route(request: &Request) -> Result<Response, ApiError> {
    let path = request.path().trim_end_matches('/');
    let method = request.method();
    if path == "/api/health" && !is_ready_query(request.query()) {
        return health::liveness(method);
    }
    authorize(request)?;
    match (method, path) {
        (Method::Get, "/api/health" | "/api/health/ready") => health::readiness(),
        (Method::Get, "/api/admin/queues/stats") => stats(),
        (Method::Get, "/metrics") => metrics::render(),
        (Method::Post, "/api/admin/tick") => tick(),
        (_, "/api/health" | "/api/health/ready" | "/api/admin/queues/stats" | "/metrics" | "/api/admin/tick") => {
            Err(ApiError::new(405, "method_not_allowed", format!("{method} is not allowed on {path}")))
        }
        _ => Err(ApiError::new(404, "not_found", format!("no admin route {path}"))),
    }
}

fn is_ready_query(query: &str) -> bool {
    query.split('&').any(|p| p == "ready=1" || p == "ready=true" || p == "ready")
}

/// Every route but liveness needs the admin bearer token; with none configured the
/// admin API stays closed rather than open.
fn authorize(request: &Request) -> Result<(), ApiError> {
    let expected = config::optional("admin_token");
    if expected.is_empty() {
        return Err(ApiError::new(401, "unauthorized", "admin API disabled: set the admin_token variable"));
    }
    let header = request.header("authorization").and_then(|v| v.as_str());
    Ok(check_bearer(header, &expected)?)
}

pub(crate) fn redis() -> Result<SpinRedis, ApiError> {
    SpinRedis::open(&config::required("redis_url")?).map_err(|e| respond::unavailable(&e.to_string()))
}

fn stats() -> Result<Response, ApiError> {
    let mut redis = redis()?;
    let stats = Queue::new(&mut redis).stats(now_ms()).map_err(|e| respond::unavailable(&e.to_string()))?;
    let credits = metrics::credits(&mut redis);
    let mut body = serde_json::to_value(&stats).unwrap_or_default();
    body["beds24CreditsRemaining"] = json!(credits);
    body["lastError"] = json!(metrics::last_error(&mut redis));
    Ok(respond::json(200, &body))
}

/// Sweep on demand (cron, probes, after a restart): make sure the schema exists,
/// then wake a worker, which claims every due job and every job whose lease ran out.
fn tick() -> Result<Response, ApiError> {
    let mut redis = redis()?;
    let mut pg = SpinPg::open(&config::required("database_url")?).map_err(|e| respond::unavailable(&e.to_string()))?;
    schema::ensure(&mut redis, &mut pg).map_err(|e| respond::unavailable(&e.to_string()))?;
    Queue::new(&mut redis).publish_wakeup().map_err(|e| respond::unavailable(&e.to_string()))?;
    let stats = Queue::new(&mut redis).stats(now_ms()).map_err(|e| respond::unavailable(&e.to_string()))?;
    Ok(respond::json(202, &json!({"woken": true, "waiting": stats.waiting, "delayed": stats.delayed})))
}
