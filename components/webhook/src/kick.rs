//! Starting a drain after answering, where no Redis trigger hears the wake-up (Fermyon Cloud, Akamai Functions).
//!
//! With `drain_url` set (the Cloud manifest points it at the app's own worker route
//! through `http://self.alt`), the delivery whose enqueue published the wake-up calls
//! that route, so its row does not wait for the next cron tick. Only that one: the
//! wake-up stays pending until a drain claims, so a burst starts one drain, not one per
//! webhook, and the drain places bound how many run at once. Empty (the default, and
//! the Redis-trigger deployment): nothing happens here.

use beds24_spin_glue::{config, log};
use beds24_sync_core::logging::Level;
use serde_json::json;
use spin_sdk::http::{Method, Request, Response};

/// Call the worker route and wait for it (the 202 has already gone out). A failure
/// loses nothing: the job is stored, and the cron's next call drains it.
pub async fn start_drain() {
    let url = config::optional("drain_url");
    if url.is_empty() {
        return;
    }
    let mut request = Request::builder();
    request.method(Method::Post).uri(url.as_str());
    let token = config::optional("worker_token");
    if !token.is_empty() {
        request.header("authorization", format!("Bearer {token}"));
    }
    match spin_sdk::http::send::<_, Response>(request.build()).await {
        Ok(response) if (200..300).contains(response.status()) => {}
        Ok(response) => log(
            Level::Warn,
            "drain not started",
            &[
                ("status", json!(response.status())),
                ("body", json!(String::from_utf8_lossy(response.body()))),
            ],
        ),
        Err(e) => log(
            Level::Warn,
            "drain not started",
            &[("error", json!(e.to_string()))],
        ),
    }
}
