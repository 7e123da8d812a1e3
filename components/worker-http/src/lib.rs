//! worker-http component: `GET|POST /api/worker/run` runs the worker on due work for a bounded time.
//!
//! For platforms without a Redis trigger (Fermyon Cloud, Akamai Functions): a cron
//! (`spin aka cron`, which sends only a path and query) and the webhook's kick call
//! this route; each call is one drain with the same claims, leases and retries as the
//! Redis-trigger worker. Unauthenticated calls (no `worker_token` set) can do nothing
//! but run work that is already due; the answer holds counts only.

use beds24_spin_glue::config;
use beds24_spin_glue::worker::{self, WorkerError};
use beds24_spin_glue::{log, now_ms, respond, send::send};
use beds24_sync_core::auth::check_worker_run;
use beds24_sync_core::error_body::ApiError;
use beds24_sync_core::logging::Level;
use beds24_sync_core::worker::drain::{DrainConfig, DrainReport};
use serde_json::json;
use spin_sdk::http::{IncomingRequest, Method, Response, ResponseOutparam};
use spin_sdk::http_component;

/// Default time a drain works (s): well inside the 30 s request limit of Fermyon
/// Cloud and Akamai Functions, counting the batch in flight when it runs out.
const DEFAULT_BUDGET_SECONDS: f64 = 15.0;

#[http_component]
async fn handle(request: IncomingRequest, out: ResponseOutparam) {
    let response = match run(request).await {
        Ok(response) => response,
        Err(error) => {
            let mut response = respond::error(&error);
            if error.status == 405 {
                response.set_header("allow", "GET, POST");
            }
            response
        }
    };
    send(out, response);
}

async fn run(request: IncomingRequest) -> Result<Response, ApiError> {
    let method = request.method();
    if !matches!(method, Method::Get | Method::Post) {
        return Err(ApiError::new(
            405,
            "method_not_allowed",
            format!("{method} is not allowed on /api/worker/run"),
        ));
    }
    authorize(&request)?;
    let settings = DrainConfig {
        budget_ms: (config::number("run_budget_seconds", DEFAULT_BUDGET_SECONDS).clamp(1.0, 25.0)
            * 1000.0) as i64,
        slots: config::number("concurrency", 1u32).clamp(1, 16),
    };
    let started = now_ms();
    let report = worker::drain(settings).await.map_err(|e| {
        log(
            Level::Error,
            "worker run failed",
            &[("error", json!(e.to_string()))],
        );
        match e {
            WorkerError::Settings(e) => ApiError::new(500, "configuration_error", format!("{e:#}")),
            WorkerError::Store(e) => respond::Unavailable::from(e).into(),
        }
    })?;
    let duration_ms = now_ms() - started;
    let body = match report {
        DrainReport::Ran(summary) => json!({
            "ran": true,
            "batches": summary.batches,
            "jobs": summary.jobs,
            "bulkSlices": summary.bulk_slices,
            "handedOn": summary.handed_on,
            "durationMs": duration_ms,
        }),
        DrainReport::Busy { running } => json!({
            "ran": false,
            "running": running,
            "reason": "every drain place is taken; running drains claim again before they stop",
        }),
    };
    Ok(respond::json(200, &body))
}

/// `worker_token` as a bearer header or `?token=`; open when it is empty.
fn authorize(request: &IncomingRequest) -> Result<(), ApiError> {
    let header = request.headers().get("authorization");
    let header = header.first().and_then(|v| std::str::from_utf8(v).ok());
    let target = request.path_with_query().unwrap_or_default();
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let query_token = url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned());
    check_worker_run(
        header,
        query_token.as_deref(),
        config::setting("worker_token"),
    )?;
    Ok(())
}
