//! Read-only views of the queue: stats, dead letters, history, one booking's detail.

use beds24_spin_glue::config::{self, ConfigError};
use beds24_spin_glue::pg::SpinPg;
use beds24_spin_glue::redis::SpinRedis;
use beds24_spin_glue::respond::{self, Unavailable};
use beds24_sync_core::booking_id::BookingIdError;
use beds24_sync_core::error_body::ApiError;
use beds24_sync_core::queue::{Clock, Queue};
use beds24_sync_core::store::StoreError;
use beds24_sync_core::{db, BookingId};
use serde_json::{json, Value};
use spin_sdk::http::Response;

use crate::actions::url_param;
use crate::metrics;

/// Why a read-only view (stats, dead letters, history, detail, metrics) was not shown.
#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    /// `?kind=` is neither `completed` nor `failed`.
    #[error("kind must be completed or failed, not {0:?}")]
    InvalidKind(String),
    /// The path's booking id is not a Beds24 booking id.
    #[error(transparent)]
    InvalidBookingId(#[from] BookingIdError),
    /// A variable the view needs cannot be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Redis (or Postgres) cannot be used.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<JobsError> for ApiError {
    fn from(e: JobsError) -> Self {
        let code = match e {
            JobsError::Config(e) => return e.into(),
            JobsError::Store(e) => return Unavailable::from(e).into(),
            JobsError::InvalidKind(_) => "invalid_kind",
            JobsError::InvalidBookingId(_) => "invalid_booking_id",
        };
        ApiError::new(400, code, e.to_string())
    }
}

/// The queue's Redis.
fn redis() -> Result<SpinRedis, JobsError> {
    crate::redis()
}

/// Queue depths and totals, the last known Beds24 credits and the newest failure.
pub fn stats() -> Result<Response, JobsError> {
    let mut redis = redis()?;
    let stats = Queue::new(&mut redis).stats(Clock::Redis)?;
    let mut body = serde_json::to_value(&stats).unwrap_or_default();
    body["beds24CreditsRemaining"] = json!(metrics::credits(&mut redis));
    body["lastError"] = json!(metrics::last_error(&mut redis));
    Ok(respond::json(200, &body))
}

/// Dead jobs with their last error and tries (never trimmed; newest first, 200 at most here).
pub fn dead() -> Result<Response, JobsError> {
    let mut redis = redis()?;
    let mut queue = Queue::new(&mut redis);
    let dead = queue.dead_jobs(200)?;
    let mut jobs = Vec::with_capacity(dead.len());
    for (id, died_at) in dead {
        let fields = queue.job_fields(&id).unwrap_or_default();
        jobs.push(json!({
            "bookingId": id,
            "diedAt": died_at,
            "attempts": fields.get("attempts").and_then(|a| a.parse::<i64>().ok()),
            "action": fields.get("action"),
            "lastError": fields.get("lastError"),
        }));
    }
    Ok(respond::json(200, &json!({"dead": jobs})))
}

/// `?kind=completed|failed&limit=N` → recent history records.
pub fn history(query: &str) -> Result<Response, JobsError> {
    let kind = url_param(query, "kind").unwrap_or_else(|| "completed".into());
    let failed = match kind.as_str() {
        "completed" => false,
        "failed" => true,
        other => return Err(JobsError::InvalidKind(other.to_owned())),
    };
    let limit = url_param(query, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100)
        .clamp(1, 100);
    let mut redis = redis()?;
    let records = Queue::new(&mut redis).history(failed, limit)?;
    Ok(respond::json(
        200,
        &json!({"kind": kind, "records": records}),
    ))
}

/// The job hash with its numeric fields as numbers.
fn job_json(fields: std::collections::BTreeMap<String, String>) -> Value {
    if fields.is_empty() {
        return Value::Null;
    }
    let object = fields
        .into_iter()
        .map(|(key, value)| match value.parse::<i64>() {
            Ok(n) if key != "id" => (key, json!(n)),
            _ => (key, json!(value)),
        })
        .collect();
    Value::Object(object)
}

/// Everything about one booking: its job (state, tries, timeline), its history, its row.
pub fn detail(raw_id: &str) -> Result<Response, JobsError> {
    let id = BookingId::parse(raw_id)?;
    let mut redis = redis()?;
    let mut queue = Queue::new(&mut redis);
    let mut fields = queue.job_fields(&id)?;
    let timeline: Value = fields
        .remove("log")
        .and_then(|l| serde_json::from_str(&l).ok())
        .unwrap_or(json!([]));
    let mentions = |records: Vec<Value>| -> Vec<Value> {
        records
            .into_iter()
            .filter(|r| r["bookingId"] == json!(id.as_str()))
            .collect()
    };
    let completed = mentions(queue.history(false, 100)?);
    let failed = mentions(queue.history(true, 100)?);
    let row = match SpinPg::open(&config::required("database_url")?) {
        Ok(mut pg) => db::booking_json(&mut pg, &id).unwrap_or(None),
        Err(_) => None,
    };
    Ok(respond::json(
        200,
        &json!({
            "bookingId": id,
            "job": job_json(fields),
            "timeline": timeline,
            "history": {"completed": completed, "failed": failed},
            "booking": row,
        }),
    ))
}
