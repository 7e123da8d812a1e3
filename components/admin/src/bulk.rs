//! Sync Masivo for operators: run a reconciliation now, start / pause / resume / cancel the backfill, read both.

use beds24_spin_glue::config::ConfigError;
use beds24_spin_glue::now_ms;
use beds24_spin_glue::redis::SpinRedis;
use beds24_spin_glue::respond::{self, Unavailable};
use beds24_sync_core::bulk::{self, BackfillRange, BulkError};
use beds24_sync_core::error_body::ApiError;
use beds24_sync_core::keys::Keys;
use beds24_sync_core::store::StoreError;
use serde::Deserialize;
use serde_json::json;
use spin_sdk::http::Response;

/// Why a reconciliation or backfill request was refused or not carried out.
#[derive(Debug, thiserror::Error)]
pub enum BulkRouteError {
    /// The body of a backfill start is not JSON.
    #[error("request body is not valid JSON: {0}")]
    InvalidJson(serde_json::Error),
    /// The body is JSON, but not `{"arrivalFrom"?: …, "arrivalTo"?: …}` with date strings.
    #[error("body must be {{\"arrivalFrom\"?: \"YYYY-MM-DD\", \"arrivalTo\"?: \"YYYY-MM-DD\"}} or empty: {0}")]
    InvalidBody(serde_json::Error),
    /// The arrival dates cannot be parsed, or the range is reversed.
    #[error("{0}")]
    InvalidRange(String),
    /// The backfill's state does not allow this (start while one runs, pause when idle, …).
    #[error("the backfill is {state}: {what}")]
    Conflict {
        /// The state it is in.
        state: &'static str,
        /// What cannot be done.
        what: &'static str,
    },
    /// A variable the route needs cannot be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Redis cannot be used: nothing was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<BulkError> for BulkRouteError {
    fn from(e: BulkError) -> Self {
        match e {
            BulkError::Store(e) => BulkRouteError::Store(e),
            BulkError::Conflict { state, what } => BulkRouteError::Conflict { state, what },
            BulkError::BadRange(message) => BulkRouteError::InvalidRange(message),
        }
    }
}

impl From<serde_json::Error> for BulkRouteError {
    /// Broken JSON is `invalid_json`; well-formed JSON of the wrong shape is `invalid_body`.
    fn from(e: serde_json::Error) -> Self {
        if e.is_data() {
            BulkRouteError::InvalidBody(e)
        } else {
            BulkRouteError::InvalidJson(e)
        }
    }
}

impl From<BulkRouteError> for ApiError {
    fn from(e: BulkRouteError) -> Self {
        let (status, code) = match e {
            BulkRouteError::Config(e) => return e.into(),
            BulkRouteError::Store(e) => return Unavailable::from(e).into(),
            BulkRouteError::InvalidJson(_) => (400, "invalid_json"),
            BulkRouteError::InvalidBody(_) => (400, "invalid_body"),
            BulkRouteError::InvalidRange(_) => (400, "invalid_range"),
            BulkRouteError::Conflict { .. } => (409, "conflict"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

/// The optional body of `POST /api/admin/backfill`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BackfillRequest {
    arrival_from: Option<String>,
    arrival_to: Option<String>,
}

/// The queue's Redis, and the key names.
fn redis() -> Result<(SpinRedis, Keys), BulkRouteError> {
    Ok((crate::redis::<BulkRouteError>()?, Keys::default()))
}

/// Make the reconciliation due now and wake a worker: 202 `{"reconcile": …}`.
pub fn reconcile_now() -> Result<Response, BulkRouteError> {
    let (mut redis, keys) = redis()?;
    let status = bulk::request_reconcile(&mut redis, &keys)?;
    Ok(respond::json(202, &json!({ "reconcile": status })))
}

/// The reconciliation's cursor, run in progress, next and last run.
pub fn reconcile_status() -> Result<Response, BulkRouteError> {
    let (mut redis, keys) = redis()?;
    Ok(respond::json(
        200,
        &bulk::reconcile_status(&mut redis, &keys)?,
    ))
}

/// The backfill's progress.
pub fn progress() -> Result<Response, BulkRouteError> {
    let (mut redis, keys) = redis()?;
    let progress = bulk::backfill_progress(&mut redis, &keys, now_ms())?;
    Ok(respond::json(200, &progress))
}

/// Start a backfill of the body's arrival range (an empty body: all history). The range
/// is checked before Redis is touched.
pub fn start(body: &[u8]) -> Result<Response, BulkRouteError> {
    let request: BackfillRequest = if body.trim_ascii().is_empty() {
        BackfillRequest::default()
    } else {
        serde_json::from_slice(body)?
    };
    let range = BackfillRange::parse(
        request.arrival_from.as_deref(),
        request.arrival_to.as_deref(),
    )?;
    let (mut redis, keys) = redis()?;
    let progress = bulk::start_backfill(&mut redis, &keys, range, now_ms())?;
    Ok(respond::json(202, &progress))
}

/// An operator's command on the backfill in progress.
#[derive(Debug, Clone, Copy)]
pub enum Command {
    /// Stop a running backfill where it is (200).
    Pause,
    /// Go on with a paused or failed backfill (202: a worker is woken).
    Resume,
    /// Forget it; rows already written stay (200).
    Cancel,
}

/// Pause, resume or cancel the backfill; the answer is its progress afterwards.
pub fn command(command: Command) -> Result<Response, BulkRouteError> {
    let (mut redis, keys) = redis()?;
    let now = now_ms();
    let (status, progress) = match command {
        Command::Pause => (200, bulk::pause_backfill(&mut redis, &keys, now)?),
        Command::Resume => (202, bulk::resume_backfill(&mut redis, &keys, now)?),
        Command::Cancel => (200, bulk::cancel_backfill(&mut redis, &keys, now)?),
    };
    Ok(respond::json(status, &progress))
}
