//! Liveness (always cheap) and readiness (Redis, Postgres + migrations, Beds24 token configured).

use beds24_spin_glue::config::{self, ConfigError};
use beds24_spin_glue::redis::SpinRedis;
use beds24_spin_glue::respond::{self, Unavailable};
use beds24_spin_glue::{now_ms, pg::SpinPg};
use beds24_sync_core::account;
use beds24_sync_core::db;
use beds24_sync_core::keys::Keys;
use beds24_sync_core::logging::rfc3339;
use beds24_sync_core::queue::Queue;
use beds24_sync_core::store::StoreError;
use serde_json::{json, Value};
use spin_sdk::http::Response;

/// Why one readiness check failed: its text is the check's `error` in the answer.
#[derive(Debug, thiserror::Error)]
enum CheckError {
    /// A variable the check needs cannot be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The queue's Redis could not be opened (worded as the other admin routes' 503).
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    /// A store answered with an error.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The database lacks migrations this build needs.
    #[error("migrations not applied: database at version {applied}, app needs {latest}")]
    SchemaBehind { applied: i32, latest: i32 },
    /// Neither Beds24 token variable is set.
    #[error("no Beds24 token configured (beds24_token or beds24_write_refresh_token)")]
    NoToken,
    /// The worker saw Beds24 refuse the token and has not seen it accepted since.
    #[error("Beds24 rejects the configured token (since {since})")]
    TokenRejected { since: String },
}

/// The process answers: no store is asked.
pub fn liveness() -> Response {
    respond::json(
        200,
        &json!({"status": "ok", "timestamp": rfc3339(chrono::Utc::now())}),
    )
}

/// Every check with its latency; 200 only when all pass, else 503 naming what failed.
/// Without `details` (a probe without the token: Kubernetes' `httpGet` sends no
/// header) only the verdict: the checks' errors name hosts and versions.
pub fn readiness(details: bool) -> Response {
    let checks = json!({
        "redis": timed(check_redis),
        "postgres": timed(check_postgres),
        "beds24Token": timed(check_token),
    });
    let ready = checks
        .as_object()
        .is_some_and(|c| c.values().all(|v| v["status"] == "ok"));
    let mut body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "timestamp": rfc3339(chrono::Utc::now()),
    });
    if details {
        body["checks"] = checks;
    }
    respond::json(if ready { 200 } else { 503 }, &body)
}

fn timed(check: fn() -> Result<Value, CheckError>) -> Value {
    let started = now_ms();
    let mut out = match check() {
        Ok(details) => json!({"status": "ok", "details": details}),
        Err(error) => json!({"status": "error", "error": error.to_string()}),
    };
    out["latencyMs"] = json!(now_ms() - started);
    out
}

/// The queue's Redis; failing to open it reads as the 503 of the other routes.
fn redis() -> Result<SpinRedis, CheckError> {
    crate::redis().map_err(|e| match e {
        CheckError::Store(e) => CheckError::Unavailable(e.into()),
        other => other,
    })
}

fn check_redis() -> Result<Value, CheckError> {
    let mut redis = redis()?;
    Queue::new(&mut redis).ping()?;
    Ok(Value::Null)
}

fn check_postgres() -> Result<Value, CheckError> {
    let mut pg = SpinPg::open(&config::required("database_url")?)?;
    let applied = db::applied_version(&mut pg)?;
    let latest = db::latest_version();
    if applied < latest {
        return Err(CheckError::SchemaBehind { applied, latest });
    }
    Ok(json!({"schemaVersion": applied}))
}

fn check_token() -> Result<Value, CheckError> {
    let long_life = !config::optional("beds24_token").is_empty();
    let refresh = !config::optional("beds24_refresh_token").is_empty();
    if !long_life && !refresh {
        return Err(CheckError::NoToken);
    }
    // Set by the worker while Beds24 rejects the token, cleared by its next accepted call.
    let mut redis = redis()?;
    if let Some(since) = account::token_rejected(&mut redis, &Keys::default())? {
        return Err(CheckError::TokenRejected { since });
    }
    Ok(json!({"kind": if long_life { "long-life" } else { "refresh" }}))
}
