//! An HTTP-driven worker run (a drain): the same claims, leases and retries as the Redis-trigger worker, started by a request.
//!
//! Where the platform has no Redis trigger (Fermyon Cloud, Akamai Functions), a
//! scheduler and the webhook's kick call a route that drains the queue for a bounded
//! time. Places bound how many drains run at once, so a burst of kicks does not split
//! the queue into many small batches (more Beds24 calls per booking).

use super::{work, Platform, RunSummary, SqlConnect, WorkerConfig};
use crate::beds24::http::HttpGet;
use crate::keys::Keys;
use crate::queue::{Clock, DrainPlace, Queue};
use crate::store::{RedisExec, StoreError};

/// How drains run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainConfig {
    /// Time a drain works before it stops claiming (ms); the request ends soon after.
    pub budget_ms: i64,
    /// Drains that may run at once.
    pub slots: u32,
}

/// What a drain request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainReport {
    /// This request ran the worker.
    Ran(RunSummary),
    /// Every place was taken by running drains (this many), which claim again before
    /// they stop: nothing was left undone.
    Busy {
        /// Drains running.
        running: i64,
    },
}

/// Take a drain place, run the worker on due work until none is left or the budget is
/// spent, then give the place back.
pub async fn drain<R, H, C>(
    config: &WorkerConfig,
    keys: &Keys,
    platform: Platform<'_, R, H, C>,
    settings: DrainConfig,
) -> Result<DrainReport, StoreError>
where
    R: RedisExec,
    H: HttpGet,
    C: SqlConnect,
{
    let Platform { redis, http, pg } = platform;
    // Held past the budget by a lease's length: a drain whose instance was killed
    // mid-batch frees its place once its jobs' leases ran out too.
    let lease_ms = settings.budget_ms + config.lease_ms;
    let place = Queue::with_keys(&mut *redis, keys.clone()).enter_drain(
        Clock::Redis,
        lease_ms,
        settings.slots,
    )?;
    let owner = match place {
        DrainPlace::Full(running) => return Ok(DrainReport::Busy { running }),
        DrainPlace::Taken(owner) => owner,
    };
    let platform = Platform {
        redis: &mut *redis,
        http,
        pg,
    };
    let result = work(config, keys, platform, settings.budget_ms, Some(owner)).await;
    if result.is_err() {
        // Best effort: the place frees itself when its lease ends anyway.
        let _ = Queue::with_keys(redis, keys.clone()).leave_drain(Clock::Redis, owner, true, 0);
    }
    result.map(DrainReport::Ran)
}
