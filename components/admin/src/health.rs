//! Liveness (always cheap) and readiness (Redis, Postgres + migrations, Beds24 token configured).

use beds24_spin_glue::{config, now_ms, pg::SpinPg, respond};
use beds24_sync_core::db;
use beds24_sync_core::error_body::ApiError;
use beds24_sync_core::logging::rfc3339;
use beds24_sync_core::queue::Queue;
use beds24_sync_core::store::{RedisExec, RedisValue};
use serde_json::{json, Value};
use spin_sdk::http::Response;

pub fn liveness() -> Result<Response, ApiError> {
    Ok(respond::json(
        200,
        &json!({"status": "ok", "timestamp": rfc3339(chrono::Utc::now())}),
    ))
}

pub fn readiness() -> Result<Response, ApiError> {
    let checks = json!({
        "redis": timed(check_redis),
        "postgres": timed(check_postgres),
        "beds24Token": timed(check_token),
    });
    let ready = checks
        .as_object()
        .is_some_and(|c| c.values().all(|v| v["status"] == "ok"));
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "timestamp": rfc3339(chrono::Utc::now()),
        "checks": checks,
    });
    Ok(respond::json(if ready { 200 } else { 503 }, &body))
}

fn timed(check: fn() -> Result<Value, String>) -> Value {
    let started = now_ms();
    let mut out = match check() {
        Ok(details) => json!({"status": "ok", "details": details}),
        Err(error) => json!({"status": "error", "error": error}),
    };
    out["latencyMs"] = json!(now_ms() - started);
    out
}

fn check_redis() -> Result<Value, String> {
    let mut redis = crate::redis().map_err(|e| e.body.message)?;
    Queue::new(&mut redis).ping().map_err(|e| e.to_string())?;
    Ok(Value::Null)
}

fn check_postgres() -> Result<Value, String> {
    let url = config::required("database_url").map_err(|e| e.body.message)?;
    let mut pg = SpinPg::open(&url).map_err(|e| e.to_string())?;
    let applied = db::applied_version(&mut pg).map_err(|e| e.to_string())?;
    let latest = db::latest_version();
    if applied < latest {
        return Err(format!(
            "migrations not applied: database at version {applied}, app needs {latest}"
        ));
    }
    Ok(json!({"schemaVersion": applied}))
}

fn check_token() -> Result<Value, String> {
    let long_life = !config::optional("beds24_token").is_empty();
    let refresh = !config::optional("beds24_refresh_token").is_empty();
    if !long_life && !refresh {
        return Err(
            "no Beds24 token configured (beds24_token or beds24_write_refresh_token)".into(),
        );
    }
    // Set by the worker while Beds24 rejects the token, cleared by its next accepted call.
    let mut redis = crate::redis().map_err(|e| e.body.message)?;
    let rejected = redis
        .execute("GET", &["b24:beds24:auth-failed".into()])
        .map_err(|e| e.to_string())?;
    if let Some(since) = rejected.first().and_then(RedisValue::as_text) {
        return Err(format!(
            "Beds24 rejects the configured token (since {since})"
        ));
    }
    Ok(json!({"kind": if long_life { "long-life" } else { "refresh" }}))
}
