//! Operator actions: tick, manual sync, retry / replay dead jobs, purge, pause and resume.

use beds24_spin_glue::config::{self, ConfigError};
use beds24_spin_glue::redis::SpinRedis;
use beds24_spin_glue::respond::{self, Unavailable};
use beds24_spin_glue::{pg::SpinPg, schema};
use beds24_sync_core::booking_id::BookingIdError;
use beds24_sync_core::error_body::ApiError;
use beds24_sync_core::queue::{Clock, Counter, Purge, Queue};
use beds24_sync_core::store::StoreError;
use beds24_sync_core::{Action, BookingId};
use serde_json::{json, Value};
use spin_sdk::http::Response;

/// Why an operator action was refused or not carried out.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The body of a manual sync is not JSON.
    #[error("request body is not valid JSON: {0}")]
    InvalidJson(#[from] serde_json::Error),
    /// The body is JSON without a `bookingId`.
    #[error("body must be {{\"bookingId\": <id>}}")]
    InvalidBody,
    /// The booking id (body or path) is not a Beds24 booking id.
    #[error(transparent)]
    InvalidBookingId(#[from] BookingIdError),
    /// There is no dead job of this booking to retry.
    #[error("booking {0} has no dead job")]
    NoDeadJob(BookingId),
    /// The path names nothing that can be purged.
    #[error("can purge dead, completed or failed, not {0:?}")]
    InvalidPurge(String),
    /// `?since=` is neither RFC 3339 nor epoch milliseconds.
    #[error("since must be RFC 3339 or epoch milliseconds: {0}")]
    InvalidSince(#[from] chrono::ParseError),
    /// A variable the action needs cannot be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Redis (or Postgres) cannot be used: nothing was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> Self {
        let (status, code) = match e {
            ActionError::Config(e) => return e.into(),
            ActionError::Store(e) => return Unavailable::from(e).into(),
            ActionError::InvalidJson(_) => (400, "invalid_json"),
            ActionError::InvalidBody => (400, "invalid_body"),
            ActionError::InvalidBookingId(_) => (400, "invalid_booking_id"),
            ActionError::NoDeadJob(_) => (404, "not_found"),
            ActionError::InvalidPurge(_) => (400, "invalid_purge"),
            ActionError::InvalidSince(_) => (400, "invalid_since"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

/// The queue's Redis.
fn redis() -> Result<SpinRedis, ActionError> {
    crate::redis()
}

/// Sweep on demand (cron, probes, after a restart): make sure the schema exists,
/// then wake a worker, which claims every due job and every job whose lease ran out.
pub fn tick() -> Result<Response, ActionError> {
    let mut redis = redis()?;
    let mut pg = SpinPg::open(&config::required("database_url")?)?;
    schema::ensure(&mut pg)?;
    let mut queue = Queue::new(&mut redis);
    queue.publish_wakeup()?;
    let stats = queue.stats(Clock::Redis)?;
    Ok(respond::json(
        202,
        &json!({"woken": true, "waiting": stats.waiting, "delayed": stats.delayed}),
    ))
}

/// `{"bookingId": …}` → a sync job, as if a webhook had come.
pub fn enqueue(body: &[u8]) -> Result<Response, ActionError> {
    let value: Value = serde_json::from_slice(body)?;
    let id = BookingId::from_json(value.get("bookingId").ok_or(ActionError::InvalidBody)?)?;
    let mut redis = redis()?;
    let mut queue = Queue::new(&mut redis);
    let outcome = queue.enqueue_counted(&id, Action::Modify, Clock::Redis, Counter::Manual)?;
    let _ = queue.publish_wakeup();
    Ok(respond::json(
        202,
        &json!({"bookingId": id, "queue": outcome}),
    ))
}

/// Put one booking's dead job back in the queue, due now (404 when it has none).
pub fn retry(raw_id: &str) -> Result<Response, ActionError> {
    let id = BookingId::parse(raw_id)?;
    let mut redis = redis()?;
    let mut queue = Queue::new(&mut redis);
    match queue.revive_dead(Clock::Redis, 0, Some(&id))? {
        0 => Err(ActionError::NoDeadJob(id)),
        _ => {
            let _ = queue.publish_wakeup();
            Ok(respond::json(
                202,
                &json!({"bookingId": id, "retried": true}),
            ))
        }
    }
}

/// Replay every dead job, or those dead since `?since=` (RFC 3339 or epoch ms).
pub fn replay(query: &str) -> Result<Response, ActionError> {
    let since = url_param(query, "since")
        .map(|s| parse_time(&s))
        .transpose()?
        .unwrap_or(0);
    let mut redis = redis()?;
    let mut queue = Queue::new(&mut redis);
    let replayed = queue.revive_dead(Clock::Redis, since, None)?;
    if replayed > 0 {
        let _ = queue.publish_wakeup();
    }
    Ok(respond::json(
        202,
        &json!({"replayed": replayed, "sinceMs": since}),
    ))
}

/// Empty the dead letters (each job's hash goes with it), or the completed or failed history.
pub fn purge(what: &str) -> Result<Response, ActionError> {
    let kind = Purge::parse(what).ok_or_else(|| ActionError::InvalidPurge(what.to_owned()))?;
    let mut redis = redis()?;
    let mut queue = Queue::new(&mut redis);
    let purged = if kind == Purge::Dead {
        queue.purge_dead()?.len() as i64
    } else {
        queue.purge(kind)?
    };
    Ok(respond::json(200, &json!({"purged": purged, "what": what})))
}

/// Hold (`true`) or release (`false`) all claims; jobs keep queueing while paused.
pub fn pause(paused: bool) -> Result<Response, ActionError> {
    let mut redis = redis()?;
    Queue::new(&mut redis).set_paused(paused)?;
    Ok(respond::json(200, &json!({"paused": paused})))
}

/// The first value of `name` in a URL query, percent-decoded.
pub(crate) fn url_param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn parse_time(text: &str) -> Result<i64, ActionError> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    Ok(chrono::DateTime::parse_from_rfc3339(text)?.timestamp_millis())
}
