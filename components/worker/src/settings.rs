//! The worker's configuration, read once per invocation from Spin variables.

use anyhow::Context;
use beds24_spin_glue::config;
use beds24_sync_core::beds24::urls::ApiBase;
use beds24_sync_core::queue::policy::{DEFAULT_BATCH, DEFAULT_LEASE};
use beds24_sync_core::queue::RetrySchedule;

pub struct Settings {
    pub redis_url: String,
    pub database_url: String,
    pub api: ApiBase,
    pub long_life_token: String,
    pub refresh_token: String,
    pub lease_ms: i64,
    pub batch: usize,
    pub schedule: RetrySchedule,
    /// Connect / first-byte / between-bytes timeout of each Beds24 call (at most a
    /// quarter of the lease).
    pub api_timeout: std::time::Duration,
    /// Credits kept in reserve for other users of the account (manual calls, other tools).
    pub credit_reserve: f64,
}

impl Settings {
    pub fn load() -> anyhow::Result<Self> {
        let get = |name: &str| config::required(name).map_err(|e| anyhow::anyhow!(e));
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
        Ok(Self {
            redis_url: get("redis_url")?,
            database_url: get("database_url")?,
            api: ApiBase::parse(&get("beds24_api_url")?).context("beds24_api_url")?,
            long_life_token: config::optional("beds24_token"),
            refresh_token: config::optional("beds24_refresh_token"),
            lease_ms,
            batch: config::number("batch_size", DEFAULT_BATCH).clamp(1, 100),
            schedule,
            api_timeout: std::time::Duration::from_secs_f64(api_timeout),
            credit_reserve: config::number("beds24_credit_reserve", 5.0),
        })
    }
}
