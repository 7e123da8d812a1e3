//! The Lua scripts behind every queue transition, each atomic across all worker processes.
//!
//! The scripts live as `.lua` files beside this module, each opening with a header that
//! names its KEYS and ARGV. Conventions: `ARGV[1]` is the key prefix where a script derives
//! per-booking keys (`<prefix>job:<id>`, `<prefix>timer:…`); replies are flat arrays
//! because Spin's `execute` flattens nested ones. Timer keys exist only to expire: their
//! expiry event (`notify-keyspace-events Ex`) wakes a worker when a delay ends
//! (`timer:due:<id>`) or a lease runs out (`timer:lease:at:<deadline>`, one per lease
//! deadline, shared by a claimed batch and dropped once no active job has that deadline).
//! Times come from Redis's own `TIME` unless the caller pins the clock (see [`super::Clock`]).
//!
//! Every command a script runs costs Redis as much as one sent on its own, so the scripts
//! that claim and settle batches (prelude `lua/batch.lua`) spend a command per job only on
//! the job's own hash and send set members, deletions, counters and history records in one
//! command per batch.
//!
//! Scripts run with `EVALSHA`, so a call ships a 40-byte digest rather than the text;
//! a server that does not know the script yet (new, restarted, `SCRIPT FLUSH`) answers
//! `NOSCRIPT`, and that one call falls back to `EVAL`, which also caches it.

use sha1_smol::Sha1;

use crate::store::{RedisArg, RedisExec, RedisValue, StoreError};

/// One Lua script: its name (for errors) and its text.
#[derive(Debug, Clone, Copy)]
pub struct Script {
    name: &'static str,
    source: &'static str,
}

impl Script {
    const fn new(name: &'static str, source: &'static str) -> Self {
        Script { name, source }
    }

    /// The script's name, as in `lua/<name>.lua`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The full text sent on a cache miss.
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// The SHA-1 Redis caches the script under.
    pub fn sha1(&self) -> String {
        Sha1::from(self.source).digest().to_string()
    }

    /// Run the script on `keys` and `args`: by digest, with the text only when Redis
    /// does not have it yet.
    pub fn run(
        &self,
        redis: &mut impl RedisExec,
        keys: &[String],
        args: Vec<RedisArg>,
    ) -> Result<Vec<RedisValue>, StoreError> {
        let mut call = Vec::with_capacity(2 + keys.len() + args.len());
        call.push(RedisArg::from(self.sha1()));
        call.push(RedisArg::Int(keys.len() as i64));
        call.extend(keys.iter().map(|k| RedisArg::from(k.as_str())));
        call.extend(args);
        match redis.execute("EVALSHA", &call) {
            Err(StoreError::NoScript) => {
                call[0] = RedisArg::from(self.source);
                redis.execute("EVAL", &call)
            }
            other => other,
        }
        .map_err(|e| match e {
            StoreError::Command(message) => {
                StoreError::Command(format!("script {}: {message}", self.name))
            }
            other => other,
        })
    }
}

macro_rules! script {
    ($name:literal) => {
        Script::new($name, include_str!(concat!("lua/", $name, ".lua")))
    };
    ($name:literal, with_clock) => {
        Script::new(
            $name,
            concat!(
                include_str!("lua/clock.lua"),
                include_str!(concat!("lua/", $name, ".lua"))
            ),
        )
    };
    ($name:literal, with_batch) => {
        Script::new(
            $name,
            concat!(
                include_str!("lua/clock.lua"),
                include_str!("lua/batch.lua"),
                include_str!(concat!("lua/", $name, ".lua"))
            ),
        )
    };
}

/// Store a webhook's job (coalescing per booking) and wake a worker.
pub const ENQUEUE: Script = script!("enqueue", with_clock);
/// Requeue jobs whose lease ran out, then claim due jobs.
pub const CLAIM: Script = script!("claim", with_batch);
/// Renew the leases of a batch still held.
pub const EXTEND: Script = script!("extend", with_batch);
/// Settle a batch of successes.
pub const COMPLETE: Script = script!("complete", with_batch);
/// Settle a batch of failures.
pub const FAIL: Script = script!("fail", with_batch);
/// Counts by state, the hold and the counters.
pub const STATS: Script = script!("stats", with_clock);
/// Send dead jobs back to the queue.
pub const REVIVE_DEAD: Script = script!("revive_dead", with_clock);
/// Drop every dead job.
pub const PURGE_DEAD: Script = script!("purge_dead");
/// Release a lock only if this owner holds it.
pub const RELEASE_LOCK: Script = script!("release_lock");
/// Whether a bulk run is due (hold, backfill state and run, next reconciliation).
pub const BULK_DUE: Script = script!("bulk_due");
/// End waiting jobs whose bookings a bulk page just stored.
pub const SATISFY: Script = script!("satisfy");
/// Extend a lock only if this owner holds it.
pub const RENEW_LOCK: Script = script!("renew_lock");
/// Set hash fields only if a guard field has one of the expected values.
pub const HSET_IF: Script = script!("hset_if");
/// Take one of the HTTP-driven worker's places.
pub const DRAIN_ENTER: Script = script!("drain_enter", with_clock);
/// Give a drain's place back unless work came due.
pub const DRAIN_LEAVE: Script = script!("drain_leave", with_clock);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_names_its_keys_and_args() {
        for script in [
            ENQUEUE,
            CLAIM,
            EXTEND,
            COMPLETE,
            FAIL,
            STATS,
            REVIVE_DEAD,
            PURGE_DEAD,
            RELEASE_LOCK,
            HSET_IF,
            RENEW_LOCK,
            SATISFY,
            BULK_DUE,
            DRAIN_ENTER,
            DRAIN_LEAVE,
        ] {
            assert!(
                script.source().contains("-- KEYS:"),
                "{} has no KEYS header",
                script.name()
            );
            assert_eq!(script.sha1().len(), 40);
        }
        assert_ne!(ENQUEUE.sha1(), CLAIM.sha1());
    }
}
