//! Operator actions: tick, manual sync, retry / replay dead jobs, purge, pause and resume.

use beds24_spin_glue::{config, job_records, log, pg::SpinPg, respond, schema};
use beds24_sync_core::error_body::ApiError;
use beds24_sync_core::logging::Level;
use beds24_sync_core::queue::{Clock, Purge, Queue};
use beds24_sync_core::{Action, BookingId};
use serde_json::{json, Value};
use spin_sdk::http::Response;

use crate::{redis, store_down};

/// Sweep on demand (cron, probes, after a restart): make sure the schema exists,
/// then wake a worker, which claims every due job and every job whose lease ran out.
pub fn tick() -> Result<Response, ApiError> {
    let mut redis = redis()?;
    let mut pg = SpinPg::open(&config::required("database_url")?).map_err(|e| store_down(&e))?;
    schema::ensure(&mut pg).map_err(|e| store_down(&e))?;
    let mut queue = Queue::new(&mut redis);
    queue.publish_wakeup().map_err(|e| store_down(&e))?;
    let stats = queue.stats(Clock::Redis).map_err(|e| store_down(&e))?;
    Ok(respond::json(
        202,
        &json!({"woken": true, "waiting": stats.waiting, "delayed": stats.delayed}),
    ))
}

/// `{"bookingId": …}` → a sync job, as if a webhook had come.
pub fn enqueue(body: &[u8]) -> Result<Response, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "invalid_json",
            format!("request body is not valid JSON: {e}"),
        )
    })?;
    let id = value
        .get("bookingId")
        .ok_or_else(|| ApiError::new(400, "invalid_body", "body must be {\"bookingId\": <id>}"))
        .and_then(|v| {
            BookingId::from_json(v)
                .map_err(|e| ApiError::new(400, "invalid_booking_id", e.to_string()))
        })?;
    let mut redis = redis()?;
    let mut queue = Queue::new(&mut redis);
    let outcome = queue
        .enqueue_counted(&id, Action::Modify, Clock::Redis, "manual")
        .map_err(|e| store_down(&e))?;
    let _ = queue.publish_wakeup();
    Ok(respond::json(
        202,
        &json!({"bookingId": id, "queue": outcome}),
    ))
}

pub fn retry(raw_id: &str) -> Result<Response, ApiError> {
    let id = BookingId::parse(raw_id)
        .map_err(|e| ApiError::new(400, "invalid_booking_id", e.to_string()))?;
    let mut redis = redis()?;
    let mut queue = Queue::new(&mut redis);
    match queue
        .revive_dead(Clock::Redis, 0, Some(&id))
        .map_err(|e| store_down(&e))?
    {
        0 => Err(ApiError::new(
            404,
            "not_found",
            format!("booking {id} has no dead job"),
        )),
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
pub fn replay(query: &str) -> Result<Response, ApiError> {
    let since = url_param(query, "since")
        .map(|s| parse_time(&s))
        .transpose()?
        .unwrap_or(0);
    let mut redis = redis()?;
    let mut queue = Queue::new(&mut redis);
    let replayed = queue
        .revive_dead(Clock::Redis, since, None)
        .map_err(|e| store_down(&e))?;
    if replayed > 0 {
        let _ = queue.publish_wakeup();
    }
    Ok(respond::json(
        202,
        &json!({"replayed": replayed, "sinceMs": since}),
    ))
}

pub fn purge(what: &str) -> Result<Response, ApiError> {
    let kind = Purge::parse(what).ok_or_else(|| {
        ApiError::new(
            400,
            "invalid_purge",
            format!("can purge dead, completed or failed, not {what:?}"),
        )
    })?;
    let mut redis = redis()?;
    let mut queue = Queue::new(&mut redis);
    let purged = if kind == Purge::Dead {
        let ids = queue.purge_dead().map_err(|e| store_down(&e))?;
        forget_job_records(&ids);
        ids.len() as i64
    } else {
        queue.purge(kind).map_err(|e| store_down(&e))?
    };
    Ok(respond::json(200, &json!({"purged": purged, "what": what})))
}

/// A dead job keeps the webhook it came with until it is replayed or purged; a
/// purge must not leave those bodies (guest data) behind in the key-value store.
/// The jobs are already gone: a failure here is logged, not answered as an error.
fn forget_job_records(ids: &[BookingId]) {
    if let Err(e) = job_records::forget(ids) {
        log(
            Level::Warn,
            "purged dead jobs but kept some job records",
            &[("count", json!(ids.len())), ("error", json!(e))],
        );
    }
}

pub fn pause(paused: bool) -> Result<Response, ApiError> {
    let mut redis = redis()?;
    Queue::new(&mut redis)
        .set_paused(paused)
        .map_err(|e| store_down(&e))?;
    Ok(respond::json(200, &json!({"paused": paused})))
}

pub(crate) fn url_param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn parse_time(text: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|e| {
            ApiError::new(
                400,
                "invalid_since",
                format!("since must be RFC 3339 or epoch milliseconds: {e}"),
            )
        })
}
