//! The worker's Spin side, shared by its two shells: the Redis-trigger component and the HTTP-driven route.
//!
//! Both open the same doors (outbound Redis, wasi-http to Beds24, outbound Postgres)
//! and hand them to core's worker; only what starts a run differs.

mod http_client;
mod settings;

use beds24_sync_core::keys::Keys;
use beds24_sync_core::store::StoreError;
use beds24_sync_core::worker::drain::{self, DrainConfig, DrainReport};
use beds24_sync_core::worker::{self, PgSession, Platform, RunSummary};

pub use http_client::WasiHttp;
pub use settings::Settings;

use crate::pg::SpinPg;
use crate::redis::SpinRedis;

/// Why a worker run did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// A variable is missing or invalid: the deployment must be fixed.
    #[error("worker configuration: {0:#}")]
    Settings(anyhow::Error),
    /// The queue's Redis cannot be used: nothing was claimed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One Redis-triggered invocation: sync due work for up to `budget_ms`.
pub async fn run(budget_ms: i64) -> Result<RunSummary, WorkerError> {
    let settings = Settings::load().map_err(WorkerError::Settings)?;
    let mut redis = SpinRedis::open(&settings.redis_url)?;
    let database_url = settings.database_url.clone();
    let platform = Platform {
        redis: &mut redis,
        http: &mut WasiHttp,
        pg: PgSession::new(move || SpinPg::open(&database_url)),
    };
    Ok(worker::run(&settings.worker, &Keys::default(), platform, budget_ms).await?)
}

/// One HTTP-driven run (a drain), if a drain place is free.
pub async fn drain(config: DrainConfig) -> Result<DrainReport, WorkerError> {
    let settings = Settings::load().map_err(WorkerError::Settings)?;
    let mut redis = SpinRedis::open(&settings.redis_url)?;
    let database_url = settings.database_url.clone();
    let platform = Platform {
        redis: &mut redis,
        http: &mut WasiHttp,
        pg: PgSession::new(move || SpinPg::open(&database_url)),
    };
    Ok(drain::drain(&settings.worker, &Keys::default(), platform, config).await?)
}
