//! The job queue on Redis: per-booking coalescing, leases, retries, dead letters, bounded history.
//!
//! State lives in Redis (database 0 of `redis_url`), shared by every worker process;
//! every transition is one Lua script (see [`scripts`]). A booking has at most one job:
//! the job key is the bookingId.

/// Prepends `clock(arg)`: the pinned time in ms when `arg` is a number, else Redis `TIME`.
macro_rules! with_clock {
    ($body:literal) => {
        concat!(
            "local function clock(pinned)\n",
            "  local n = tonumber(pinned)\n",
            "  if n then return n end\n",
            "  local t = redis.call('TIME')\n",
            "  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n",
            "end\n",
            $body
        )
    };
}

mod admin;
pub mod admin_scripts;
mod hold;
pub mod policy;
pub mod scripts;
mod stats;

use std::collections::BTreeMap;

use serde::Serialize;

pub use admin::Purge;
pub use policy::{decide, Decision, Failure, RetrySchedule};
pub use stats::{Held, QueueStats};

use crate::store::{RedisArg, RedisExec, RedisValue, StoreError};
use crate::{Action, BookingId};

/// Channel the webhook publishes on to wake a worker (`[[trigger.redis]]` in spin.toml).
pub const WAKE_CHANNEL: &str = "beds24-sync";
/// Key prefix of everything the queue stores.
pub const PREFIX: &str = "b24:";

/// Names of the fixed keys.
pub mod keys {
    pub const DUE: &str = "b24:due";
    pub const ACTIVE: &str = "b24:active";
    pub const DEAD: &str = "b24:dead";
    pub const STATS: &str = "b24:stats";
    pub const PAUSED: &str = "b24:paused";
    /// Set while the Beds24 account or its credit window cannot take calls (value: why);
    /// claims stop until it expires, and its expiry event wakes a worker.
    pub const HOLD: &str = "b24:hold";
    /// Set while a wake-up is published and not yet answered by a claim.
    pub const WAKE: &str = "b24:wake-pending";
    pub const COMPLETED: &str = "b24:history:completed";
    pub const FAILED: &str = "b24:history:failed";

    pub fn job(id: &str) -> String {
        format!("{}job:{id}", super::PREFIX)
    }
}

/// Which clock queue times come from. Every worker must agree on "now", so the queue
/// normally reads Redis's own clock inside each script; tests pin it to walk timers
/// forward without sleeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Redis `TIME`, read inside the script.
    Redis,
    /// A fixed time in ms since the epoch.
    At(i64),
}

impl From<i64> for Clock {
    fn from(ms: i64) -> Self {
        Clock::At(ms)
    }
}

impl From<Clock> for RedisArg {
    fn from(clock: Clock) -> Self {
        match clock {
            Clock::Redis => RedisArg::from(""),
            Clock::At(ms) => RedisArg::Int(ms),
        }
    }
}

/// What enqueueing a webhook did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Enqueued {
    /// A new job.
    Queued,
    /// The booking was already waiting: that job was refreshed.
    Coalesced,
    /// The booking is being synced right now: it will run once more after.
    Rerun,
}

/// A job a worker holds under lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub booking_id: BookingId,
    /// Proof of ownership: completing with a stale claim is refused.
    pub claim: String,
    /// Failed tries so far.
    pub attempts: u32,
    pub action: Action,
}

/// Settings for claiming.
#[derive(Debug, Clone)]
pub struct ClaimOptions {
    pub clock: Clock,
    pub lease_ms: i64,
    pub batch: usize,
    pub max_tries: u32,
}

/// The outcome record kept in the completed / failed history lists.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryRecord {
    pub booking_id: String,
    pub action: Action,
    pub outcome: String,
    pub attempts: u32,
    pub started_at: i64,
    pub finished_at: i64,
    pub duration_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub struct Queue<'a, R: RedisExec> {
    redis: &'a mut R,
}

impl<'a, R: RedisExec> Queue<'a, R> {
    pub fn new(redis: &'a mut R) -> Self {
        Self { redis }
    }

    fn eval(
        &mut self,
        script: &str,
        keys: &[&str],
        args: Vec<RedisArg>,
    ) -> Result<Vec<RedisValue>, StoreError> {
        let mut all = Vec::with_capacity(2 + keys.len() + args.len());
        all.push(RedisArg::from(script));
        all.push(RedisArg::Int(keys.len() as i64));
        all.extend(keys.iter().map(|k| RedisArg::from(*k)));
        all.extend(args);
        self.redis.execute("EVAL", &all)
    }

    fn eval_text(
        &mut self,
        script: &str,
        keys: &[&str],
        args: Vec<RedisArg>,
    ) -> Result<String, StoreError> {
        let reply = self.eval(script, keys, args)?;
        reply
            .first()
            .and_then(RedisValue::as_text)
            .ok_or_else(|| StoreError::new("queue script returned nothing"))
    }

    /// Cheap reachability check (outbound Redis fails fast while key-value calls hang).
    pub fn ping(&mut self) -> Result<(), StoreError> {
        self.redis.execute("PING", &[]).map(drop)
    }

    /// Store the queue entry for a webhook (coalescing per booking).
    pub fn enqueue(
        &mut self,
        id: &BookingId,
        action: Action,
        clock: impl Into<Clock>,
    ) -> Result<Enqueued, StoreError> {
        self.enqueue_counted(id, action, clock, &format!("received:{action}"))
    }

    /// Enqueue counting under `counter` (operators' manual syncs are not webhooks).
    pub fn enqueue_counted(
        &mut self,
        id: &BookingId,
        action: Action,
        clock: impl Into<Clock>,
        counter: &str,
    ) -> Result<Enqueued, StoreError> {
        let args = vec![
            PREFIX.into(),
            id.as_str().into(),
            action.as_str().into(),
            clock.into().into(),
            counter.into(),
            WAKE_CHANNEL.into(),
        ];
        let reply = self.eval_text(
            scripts::ENQUEUE,
            &[keys::DUE, keys::ACTIVE, keys::DEAD, keys::STATS, keys::WAKE],
            args,
        )?;
        match reply.as_str() {
            "queued" => Ok(Enqueued::Queued),
            "coalesced" => Ok(Enqueued::Coalesced),
            "rerun" => Ok(Enqueued::Rerun),
            other => Err(StoreError::new(format!(
                "unexpected enqueue reply {other:?}"
            ))),
        }
    }

    /// Wake a worker. Pub/sub is fire-and-forget: the job is already stored.
    pub fn publish_wakeup(&mut self) -> Result<(), StoreError> {
        self.redis
            .execute("PUBLISH", &[WAKE_CHANNEL.into(), "wake".into()])
            .map(drop)
    }

    /// Whether a wake-up is pending (published, not yet answered by a claim).
    pub fn wake_pending(&mut self) -> Result<bool, StoreError> {
        let reply = self.redis.execute("EXISTS", &[keys::WAKE.into()])?;
        Ok(reply.first().and_then(RedisValue::as_i64) == Some(1))
    }

    /// Count one more of a named event (skipped webhooks, API calls, …).
    pub fn count(&mut self, counter: &str, by: i64) -> Result<(), StoreError> {
        self.redis
            .execute("HINCRBY", &[keys::STATS.into(), counter.into(), by.into()])
            .map(drop)
    }

    /// Requeue jobs whose lease ran out, then claim up to `batch` due jobs.
    pub fn claim(&mut self, options: &ClaimOptions) -> Result<Vec<ClaimedJob>, StoreError> {
        let args = vec![
            PREFIX.into(),
            options.clock.into(),
            options.lease_ms.into(),
            (options.batch as i64).into(),
            i64::from(options.max_tries).into(),
            (policy::FAILED_HISTORY as i64).into(),
        ];
        let keys = [
            keys::DUE,
            keys::ACTIVE,
            keys::DEAD,
            keys::STATS,
            keys::PAUSED,
            keys::FAILED,
            keys::WAKE,
            keys::HOLD,
        ];
        let reply = self.eval(scripts::CLAIM, &keys, args)?;
        reply
            .chunks(4)
            .map(|chunk| {
                let text = |i: usize| {
                    chunk
                        .get(i)
                        .and_then(RedisValue::as_text)
                        .unwrap_or_default()
                };
                let booking_id = BookingId::parse(&text(0))
                    .map_err(|e| StoreError::new(format!("corrupt queue entry: {e}")))?;
                Ok(ClaimedJob {
                    booking_id,
                    claim: text(1),
                    attempts: text(2).parse().unwrap_or(0),
                    action: Action::parse(&text(3)).unwrap_or(Action::Modify),
                })
            })
            .collect()
    }

    /// Finish a job successfully. Returns the script's verdict ("completed", "requeued", "stale").
    pub fn complete(
        &mut self,
        job: &ClaimedJob,
        clock: impl Into<Clock>,
        record: &HistoryRecord,
    ) -> Result<String, StoreError> {
        let mut verdicts = self.complete_many(&[(job, record)], clock)?;
        verdicts
            .pop()
            .ok_or_else(|| StoreError::new("complete script returned nothing"))
    }

    /// Finish a batch of jobs successfully in one round trip; one verdict per job, in order.
    pub fn complete_many(
        &mut self,
        done: &[(&ClaimedJob, &HistoryRecord)],
        clock: impl Into<Clock>,
    ) -> Result<Vec<String>, StoreError> {
        if done.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec![
            PREFIX.into(),
            clock.into().into(),
            (policy::COMPLETED_HISTORY as i64).into(),
        ];
        for (job, record) in done {
            args.push(job.booking_id.as_str().into());
            args.push(job.claim.as_str().into());
            args.push(
                serde_json::to_string(record)
                    .expect("record serializes")
                    .into(),
            );
            args.push(policy::duration_bucket(record.duration_ms).into());
            args.push(record.duration_ms.max(0).into());
        }
        let keys = [keys::DUE, keys::ACTIVE, keys::STATS, keys::COMPLETED];
        let reply = self.eval(scripts::COMPLETE, &keys, args)?;
        Ok(reply
            .iter()
            .map(|v| v.as_text().unwrap_or_default())
            .collect())
    }

    /// Apply one failure decision. Returns the verdict (mode applied, "requeued" or "stale").
    pub fn fail(
        &mut self,
        job: &ClaimedJob,
        clock: impl Into<Clock>,
        decision: Decision,
        error: &str,
        record: &HistoryRecord,
    ) -> Result<String, StoreError> {
        let mut verdicts = self.fail_many(&[(job, decision, error, record)], clock)?;
        verdicts
            .pop()
            .ok_or_else(|| StoreError::new("fail script returned nothing"))
    }

    /// Apply the failure decisions of a batch in one round trip and one clock reading;
    /// one verdict per job, in order.
    pub fn fail_many(
        &mut self,
        failed: &[(&ClaimedJob, Decision, &str, &HistoryRecord)],
        clock: impl Into<Clock>,
    ) -> Result<Vec<String>, StoreError> {
        if failed.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec![
            PREFIX.into(),
            clock.into().into(),
            (policy::FAILED_HISTORY as i64).into(),
        ];
        for (job, decision, error, record) in failed {
            args.push(job.booking_id.as_str().into());
            args.push(job.claim.as_str().into());
            args.push(decision.mode().into());
            args.push(decision.delay_ms().into());
            args.push((*error).into());
            args.push(
                serde_json::to_string(record)
                    .expect("record serializes")
                    .into(),
            );
        }
        let keys = [
            keys::DUE,
            keys::ACTIVE,
            keys::DEAD,
            keys::STATS,
            keys::FAILED,
        ];
        let reply = self.eval(scripts::FAIL, &keys, args)?;
        Ok(reply
            .iter()
            .map(|v| v.as_text().unwrap_or_default())
            .collect())
    }

    /// Counts by state and the counters.
    pub fn stats(&mut self, clock: impl Into<Clock>) -> Result<QueueStats, StoreError> {
        let clock: Clock = clock.into();
        let keys = [
            keys::DUE,
            keys::ACTIVE,
            keys::DEAD,
            keys::STATS,
            keys::COMPLETED,
            keys::FAILED,
            keys::PAUSED,
            keys::HOLD,
        ];
        let reply = self.eval(scripts::STATS, &keys, vec![clock.into()])?;
        Ok(QueueStats::from_reply(&reply))
    }

    /// One job's fields (for the admin detail view and tests).
    pub fn job_fields(&mut self, id: &BookingId) -> Result<BTreeMap<String, String>, StoreError> {
        let reply = self
            .redis
            .execute("HGETALL", &[keys::job(id.as_str()).into()])?;
        Ok(reply
            .chunks(2)
            .filter_map(|pair| Some((pair.first()?.as_text()?, pair.get(1)?.as_text()?)))
            .collect())
    }
}
