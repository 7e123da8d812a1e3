//! The worker's Spin side, shared by its two shells: the Redis-trigger component and the HTTP-driven route.
//!
//! Both open the same doors (outbound Redis, wasi-http to Beds24, outbound Postgres)
//! and hand them to core's worker; only what starts a run differs.

mod http_client;
mod settings;

use beds24_sync_core::keys::Keys;
use beds24_sync_core::store::StoreError;
use beds24_sync_core::worker::drain::{self, DrainConfig, DrainReport};
use beds24_sync_core::worker::{self, PgSession, Platform, RunSummary, SqlConnect};

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

/// The settings, and the queue's Redis opened.
fn open() -> Result<(Settings, SpinRedis), WorkerError> {
    let settings = Settings::load().map_err(WorkerError::Settings)?;
    let redis = SpinRedis::open(&settings.redis_url)?;
    Ok((settings, redis))
}

/// Spin's doors for one run: the queue's Redis, wasi-http, Postgres opened on first use.
fn platform<'a>(
    redis: &'a mut SpinRedis,
    http: &'a mut WasiHttp,
    database_url: &str,
) -> Platform<'a, SpinRedis, WasiHttp, impl SqlConnect> {
    let database_url = database_url.to_owned();
    Platform {
        redis,
        http,
        pg: PgSession::new(move || SpinPg::open(&database_url)),
    }
}

/// One Redis-triggered invocation: sync due work for up to `budget_ms`.
pub async fn run(budget_ms: i64) -> Result<RunSummary, WorkerError> {
    let (settings, mut redis) = open()?;
    let mut http = WasiHttp;
    let platform = platform(&mut redis, &mut http, &settings.database_url);
    Ok(worker::run(&settings.worker, &Keys::default(), platform, budget_ms).await?)
}

/// One HTTP-driven run (a drain), if a drain place is free.
pub async fn drain(config: DrainConfig) -> Result<DrainReport, WorkerError> {
    let (settings, mut redis) = open()?;
    let mut http = WasiHttp;
    let platform = platform(&mut redis, &mut http, &settings.database_url);
    Ok(drain::drain(&settings.worker, &Keys::default(), platform, config).await?)
}
