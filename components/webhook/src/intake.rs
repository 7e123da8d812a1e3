//! Reading, authenticating and storing one webhook delivery.

use beds24_spin_glue::{body::read_capped, config, log, redis::SpinRedis, respond};
use beds24_sync_core::auth::check_webhook;
use beds24_sync_core::error_body::ApiError;
use beds24_sync_core::logging::{rfc3339, Level};
use beds24_sync_core::queue::{Clock, Counter, Queue};
use beds24_sync_core::webhook::{parse_delivery, Delivery, WebhookError, MAX_BODY_BYTES};
use chrono::Utc;
use serde_json::{json, Value};
use spin_sdk::http::{IncomingRequest, Response};

/// The answer, and whether a job's enqueue published the wake-up (no worker knew of
/// work yet: an HTTP-driven deployment starts a drain after answering).
pub struct Accepted {
    /// The 202 (or the skip) to send.
    pub response: Response,
    /// A wake-up went out with this delivery.
    pub woke: bool,
}

pub async fn accept(request: IncomingRequest) -> Result<Accepted, ApiError> {
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
    let mut woke = false;
    for delivery in deliveries {
        let (answer, published) = store(&mut redis, delivery)?;
        results.push(answer);
        woke |= published;
    }
    let mut body = json!({"received": true, "timestamp": rfc3339(now)});
    match results.as_slice() {
        [single] => merge(&mut body, single),
        many => body["bookings"] = Value::from(many.to_vec()),
    }
    Ok(Accepted {
        response: respond::json(202, &body),
        woke,
    })
}

/// Store one delivery: its answer, and whether it published the wake-up.
fn store(redis: &mut SpinRedis, delivery: Delivery) -> Result<(Value, bool), ApiError> {
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
            Ok((answer, false))
        }
        Delivery::Job(job) => {
            // Queue entry, job record and wake-up in one script, one round trip, through
            // outbound Redis: it fails at once while Redis is down (a key-value call would
            // hang for a minute). The 202 comes only after it.
            let accepted = Queue::new(redis)
                .enqueue_job(&job, Clock::Redis)
                .map_err(|e| unavailable(&e))?;
            let outcome = accepted.verdict;
            log(
                Level::Info,
                "Beds24 webhook received",
                &[
                    ("bookingId", json!(job.booking_id)),
                    ("action", json!(job.action)),
                    ("queue", json!(outcome)),
                ],
            );
            let answer =
                json!({"bookingId": job.booking_id, "action": job.action, "queue": outcome});
            Ok((answer, accepted.woke))
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
