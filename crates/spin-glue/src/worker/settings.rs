//! The worker's configuration, read once per invocation from Spin variables.

use crate::config;
use anyhow::Context;
use beds24_sync_core::beds24::client::ClientConfig;
use beds24_sync_core::beds24::urls::ApiBase;
use beds24_sync_core::bulk::BulkConfig;
use beds24_sync_core::queue::policy::{DEFAULT_BATCH, DEFAULT_LEASE};
use beds24_sync_core::queue::RetrySchedule;
use beds24_sync_core::worker::WorkerConfig;

/// Where the worker's stores are, and how it works.
pub struct Settings {
    /// The queue's Redis.
    pub redis_url: String,
    /// Where rows are written.
    pub database_url: String,
    /// How the worker works.
    pub worker: WorkerConfig,
}

impl Settings {
    /// Read the worker's variables; an invalid value is an error naming it.
    pub fn load() -> anyhow::Result<Self> {
        let schedule_text = config::optional("retry_delays");
        let schedule = if schedule_text.is_empty() {
            RetrySchedule::default()
        } else {
            RetrySchedule::parse(&schedule_text)?
        };
        let lease_ms = (config::number("job_lease_seconds", DEFAULT_LEASE.as_secs_f64()).max(0.5)
            * 1000.0) as i64;
        // Every Beds24 call ends well inside a lease: a batch makes a few rounds of
        // calls (token, bookings + messages, a retry after refreshing), then stores.
        let api_timeout = config::number("beds24_timeout_seconds", 30.0_f64)
            .max(0.1)
            .min(lease_ms as f64 / 4000.0);
        let client = ClientConfig {
            api: ApiBase::parse(&config::required("beds24_api_url")?).context("beds24_api_url")?,
            long_life_token: config::optional("beds24_token"),
            refresh_token: config::optional("beds24_refresh_token"),
            timeout: std::time::Duration::from_secs_f64(api_timeout),
            credit_reserve: config::number("beds24_credit_reserve", 5.0),
        };
        Ok(Self {
            redis_url: config::required("redis_url")?,
            database_url: config::required("database_url")?,
            worker: WorkerConfig {
                client,
                lease_ms,
                batch: config::number("batch_size", DEFAULT_BATCH).clamp(1, 100),
                schedule,
                bulk: BulkConfig {
                    reconcile_every_ms: (config::number("reconcile_interval_minutes", 5.0_f64)
                        .max(1.0)
                        * 60_000.0) as i64,
                    look_back_ms: (config::number("reconcile_look_back_hours", 24.0_f64).max(0.0)
                        * 3_600_000.0) as i64,
                    pages_per_slice: config::number("bulk_pages_per_slice", 3u32).clamp(1, 20),
                    // Renewed before every page: a worker that dies frees it within a lease.
                    lock_ms: lease_ms.max(5_000),
                    ..BulkConfig::default()
                },
            },
        })
    }
}
