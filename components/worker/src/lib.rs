//! worker component: Redis trigger that runs the worker on every wake-up.
//!
//! Every message (a wake-up on `beds24-sync` or a timer key expiring) means the same:
//! "there may be due work". The message itself carries nothing we rely on.

use beds24_spin_glue::{log, worker};
use beds24_sync_core::logging::Level;
use beds24_sync_core::worker::INVOCATION_BUDGET_MS;
use serde_json::json;
use spin_sdk::redis_component;

#[redis_component]
async fn on_message(_message: Vec<u8>) -> anyhow::Result<()> {
    if let Err(error) = worker::run(INVOCATION_BUDGET_MS).await {
        // Spin only logs a handler error; log it ourselves in our format and
        // return Ok: the jobs stay in Redis and a later wake-up or timer retries them.
        log(
            Level::Error,
            "worker run failed",
            &[("error", json!(error.to_string()))],
        );
    }
    Ok(())
}
