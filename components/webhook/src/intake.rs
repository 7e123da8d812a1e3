//! Reading, authenticating and storing one webhook delivery.

use beds24_spin_glue::{body::read_capped, config, log, redis::SpinRedis, respond};
use beds24_sync_core::auth::check_webhook;
use beds24_sync_core::error_body::ApiError;
use beds24_sync_core::job::JobRecord;
use beds24_sync_core::logging::{rfc3339, Level};
use beds24_sync_core::queue::{Clock, Counter, Queue};
use beds24_sync_core::webhook::{parse_delivery, Delivery, WebhookError, MAX_BODY_BYTES};
use chrono::Utc;
use serde_json::{json, Value};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::key_value::Store;

pub async fn accept(request: IncomingRequest) -> Result<Response, ApiError> {
    let method = http::Method::from(request.method());
    if !matches!(method, http::Method::GET | http::Method::POST) {
        return Err(WebhookError::MethodNotAllowed(method.to_string()).into());
    }
    let authorization = header(&request, "authorization");
    check_webhook(authorization.as_deref(), config::setting("webhook_token"))?;

    let query = request
        .uri()
        .split_once('?')
        .map(|(_, q)| q.to_owned())
        .unwrap_or_default();
    let body = read_capped(request, MAX_BODY_BYTES).await?;
    let now = Utc::now();
    let deliveries = parse_delivery(&method, &query, &body, now)?;

    let redis_url = config::required("redis_url")?;
    let mut redis = SpinRedis::open(&redis_url).map_err(|e| unavailable(&e))?;

    let mut results = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        results.push(store(&mut redis, delivery)?);
    }
    let mut body = json!({"received": true, "timestamp": rfc3339(now)});
    match results.as_slice() {
        [single] => merge(&mut body, single),
        many => body["bookings"] = Value::from(many.to_vec()),
    }
    Ok(respond::json(202, &body))
}

fn store(redis: &mut SpinRedis, delivery: Delivery) -> Result<Value, ApiError> {
    match delivery {
        Delivery::Skipped { reason, booking_id } => {
            log(
                Level::Warn,
                "Beds24 webhook skipped",
                &[("bookingId", json!(booking_id)), ("reason", json!(reason))],
            );
            let _ = Queue::new(redis).count(Counter::Skipped, 1);
            let mut answer = json!({"skipped": reason});
            if let Some(id) = booking_id {
                answer["bookingId"] = json!(id);
            }
            Ok(answer)
        }
        Delivery::Job(job) => {
            // Queue entry first, through outbound Redis: it fails at once while Redis is
            // down (a key-value call would hang for a minute) and wakes a worker in the
            // same round trip. Then the job record; the 202 comes only after both.
            let outcome = Queue::new(redis)
                .enqueue(&job.booking_id, job.action, Clock::Redis)
                .map_err(|e| unavailable(&e))?;
            let record =
                serde_json::to_vec(&job).map_err(|e| crate::internal("encoding job", e))?;
            Store::open_default()
                .and_then(|kv| kv.set(&JobRecord::kv_key(&job.booking_id), &record))
                .map_err(|e| unavailable(&format!("key-value store: {e}")))?;
            log(
                Level::Info,
                "Beds24 webhook received",
                &[
                    ("bookingId", json!(job.booking_id)),
                    ("action", json!(job.action)),
                    ("queue", json!(outcome)),
                ],
            );
            Ok(json!({"bookingId": job.booking_id, "action": job.action, "queue": outcome}))
        }
    }
}

fn unavailable(error: &dyn std::fmt::Display) -> ApiError {
    log(
        Level::Error,
        "webhook not stored",
        &[("error", json!(error.to_string()))],
    );
    respond::unavailable("job store unavailable")
}

fn merge(target: &mut Value, extra: &Value) {
    if let (Some(target), Some(extra)) = (target.as_object_mut(), extra.as_object()) {
        target.extend(extra.clone());
    }
}

fn header(request: &IncomingRequest, name: &str) -> Option<String> {
    let values = request.headers().get(name);
    values
        .first()
        .map(|v| String::from_utf8_lossy(v).into_owned())
}
