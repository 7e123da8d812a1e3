//! worker component: Redis trigger that hands Spin's Redis, HTTP, Postgres and key-value doors to core's worker.
//!
//! Every message (a wake-up on `beds24-sync` or a timer key expiring) means the same:
//! "there may be due work". The message itself carries nothing we rely on.

mod http_client;
mod settings;

use beds24_spin_glue::{job_records, log, pg::SpinPg, redis::SpinRedis};
use beds24_sync_core::keys::Keys;
use beds24_sync_core::logging::Level;
use beds24_sync_core::store::StoreError;
use beds24_sync_core::worker::{self, JobRecords, PgSession, Platform, INVOCATION_BUDGET_MS};
use beds24_sync_core::BookingId;
use serde_json::json;
use spin_sdk::redis_component;

#[redis_component]
async fn on_message(_message: Vec<u8>) -> anyhow::Result<()> {
    if let Err(error) = run().await {
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

async fn run() -> anyhow::Result<()> {
    let settings = settings::Settings::load()?;
    let mut redis = SpinRedis::open(&settings.redis_url)?;
    let database_url = settings.database_url.clone();
    let platform = Platform {
        redis: &mut redis,
        http: &mut http_client::WasiHttp,
        pg: PgSession::new(move || SpinPg::open(&database_url)),
        records: &mut KvRecords,
    };
    worker::run(
        &settings.worker,
        &Keys::default(),
        platform,
        INVOCATION_BUDGET_MS,
    )
    .await?;
    Ok(())
}

/// The webhook's job records, in Spin's default key-value store.
struct KvRecords;

impl JobRecords for KvRecords {
    fn forget(&mut self, ids: &[&BookingId]) -> Result<(), StoreError> {
        job_records::forget(ids.iter().copied()).map_err(|e| StoreError::Other(e.to_string()))
    }
}
