//! The job queue on Redis: per-booking coalescing, leases, retries, dead letters, bounded history.
//!
//! State lives in Redis (database 0 of `redis_url`), shared by every worker process;
//! every transition is one Lua script (see [`scripts`]). A booking has at most one job:
//! the job key is the bookingId.

mod admin;
mod drain;
mod enqueue;
mod hold;
mod job_view;
pub mod policy;
pub mod scripts;
mod state;
mod stats;

use std::collections::BTreeMap;

use serde::Serialize;

pub use admin::Purge;
pub use drain::{DrainPlace, Leave};
pub use enqueue::Accepted;
pub use job_view::JobView;
pub use policy::{decide, Decision, Failure, RetrySchedule};
pub use state::{Completion, Counter, Enqueued, JobState, Settled, UnknownReply};
pub use stats::{Held, QueueStats};

pub use crate::keys::{Keys, WAKE_CHANNEL};
use crate::store::{RedisArg, RedisExec, RedisValue, StoreError};
use crate::{Action, BookingId};

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

/// A job a worker holds under lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// The booking to sync.
    pub booking_id: BookingId,
    /// Proof of ownership: completing with a stale claim is refused.
    pub claim: String,
    /// Failed tries so far.
    pub attempts: u32,
    /// The action of the latest enqueue for the booking (each webhook overwrites it).
    pub action: Action,
}

#[cfg(test)]
impl ClaimedJob {
    /// A job claimed with claim "1" and no failed tries (unit-test fixture).
    pub(crate) fn fixture(id: &str) -> Self {
        ClaimedJob {
            booking_id: BookingId::parse(id).expect("a test id"),
            claim: "1".into(),
            attempts: 0,
            action: Action::Modify,
        }
    }
}

/// Settings for claiming.
#[derive(Debug, Clone)]
pub struct ClaimOptions {
    /// Whose time decides what is due and when leases run out.
    pub clock: Clock,
    /// How long the claimed jobs are the worker's; after that they go back to the
    /// queue (a lost try) for another worker.
    pub lease_ms: i64,
    /// Most jobs claimed at once (fetched from Beds24 together, as one batch).
    pub batch: usize,
    /// Tries a job gets ([`policy::RetrySchedule::max_tries`]): a job whose lease runs
    /// out on its last try goes to the dead-letter queue.
    pub max_tries: u32,
}

/// The outcome record kept in the completed / failed history lists.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryRecord {
    /// The booking synced.
    pub booking_id: BookingId,
    /// Why it was synced.
    pub action: Action,
    /// `completed`, or the failure decision's mode (`retry`, `delay`, `dead`, `final`).
    pub outcome: &'static str,
    /// The try this record is about (1 for the first).
    pub attempts: u32,
    /// When the batch started (ms).
    pub started_at: i64,
    /// When the job was settled (ms).
    pub finished_at: i64,
    /// `finished_at - started_at`.
    pub duration_ms: i64,
    /// Why the try failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The job queue of one deployment (one key prefix) on one Redis connection.
pub struct Queue<'a, R: RedisExec> {
    redis: &'a mut R,
    keys: Keys,
}

impl<'a, R: RedisExec> Queue<'a, R> {
    /// The queue under the default prefix.
    pub fn new(redis: &'a mut R) -> Self {
        Self::with_keys(redis, Keys::default())
    }

    /// The queue under `keys`' prefix (tests isolate themselves this way).
    pub fn with_keys(redis: &'a mut R, keys: Keys) -> Self {
        Self { redis, keys }
    }

    /// The key names this queue uses.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    fn prefix_arg(&self) -> RedisArg {
        self.keys.prefix().into()
    }

    fn first_text(reply: Vec<RedisValue>, script: &scripts::Script) -> Result<String, StoreError> {
        reply
            .first()
            .and_then(RedisValue::as_text)
            .ok_or_else(|| StoreError::Reply(format!("script {} returned nothing", script.name())))
    }

    /// Cheap reachability check (outbound Redis fails fast while key-value calls hang).
    pub fn ping(&mut self) -> Result<(), StoreError> {
        self.redis.execute("PING", &[]).map(drop)
    }

    /// Wake a worker. Pub/sub is fire-and-forget: the job is already stored.
    pub fn publish_wakeup(&mut self) -> Result<(), StoreError> {
        self.redis
            .execute("PUBLISH", &[WAKE_CHANNEL.into(), "wake".into()])
            .map(drop)
    }

    /// Whether a wake-up is pending (published, not yet answered by a claim).
    pub fn wake_pending(&mut self) -> Result<bool, StoreError> {
        let reply = self
            .redis
            .execute("EXISTS", &[self.keys.wake_pending().into()])?;
        Ok(reply.first().and_then(RedisValue::as_i64) == Some(1))
    }

    /// Count `by` more of `counter`.
    pub fn count(&mut self, counter: Counter, by: i64) -> Result<(), StoreError> {
        let args = [
            self.keys.stats().into(),
            counter.field().as_ref().into(),
            by.into(),
        ];
        self.redis.execute("HINCRBY", &args).map(drop)
    }

    /// Requeue jobs whose lease ran out, then claim up to `batch` due jobs.
    pub fn claim(&mut self, options: &ClaimOptions) -> Result<Vec<ClaimedJob>, StoreError> {
        let args = vec![
            self.prefix_arg(),
            options.clock.into(),
            options.lease_ms.into(),
            (options.batch as i64).into(),
            i64::from(options.max_tries).into(),
            (policy::FAILED_HISTORY as i64).into(),
        ];
        let k = &self.keys;
        let keys = [
            k.due(),
            k.active(),
            k.dead(),
            k.stats(),
            k.paused(),
            k.failed_history(),
            k.wake_pending(),
            k.hold(),
        ];
        let reply = scripts::CLAIM.run(self.redis, &keys, args)?;
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
                    .map_err(|e| StoreError::Reply(format!("corrupt queue entry: {e}")))?;
                Ok(ClaimedJob {
                    booking_id,
                    claim: text(1),
                    attempts: text(2).parse().unwrap_or(0),
                    action: Action::parse(&text(3)).unwrap_or(Action::Modify),
                })
            })
            .collect()
    }

    /// Finish a batch of jobs successfully in one round trip; one verdict per job, in order.
    pub fn complete_many(
        &mut self,
        done: &[(&ClaimedJob, &HistoryRecord)],
        clock: impl Into<Clock>,
    ) -> Result<Vec<Completion>, StoreError> {
        if done.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec![
            self.prefix_arg(),
            clock.into().into(),
            (policy::COMPLETED_HISTORY as i64).into(),
        ];
        for (job, record) in done {
            args.push(job.booking_id.as_str().into());
            args.push(job.claim.as_str().into());
            args.push(record_json(record)?.into());
            args.push(policy::duration_bucket(record.duration_ms).into());
            args.push(record.duration_ms.max(0).into());
        }
        let k = &self.keys;
        let keys = [k.due(), k.active(), k.stats(), k.completed_history()];
        let reply = scripts::COMPLETE.run(self.redis, &keys, args)?;
        verdicts(&reply)
    }

    /// Apply the failure decisions of a batch in one round trip and one clock reading;
    /// one verdict per job, in order.
    pub fn fail_many(
        &mut self,
        failed: &[(&ClaimedJob, Decision, &str, &HistoryRecord)],
        clock: impl Into<Clock>,
    ) -> Result<Vec<Settled>, StoreError> {
        if failed.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec![
            self.prefix_arg(),
            clock.into().into(),
            (policy::FAILED_HISTORY as i64).into(),
        ];
        for (job, decision, error, record) in failed {
            args.push(job.booking_id.as_str().into());
            args.push(job.claim.as_str().into());
            args.push(decision.mode().into());
            args.push(decision.delay_ms().into());
            args.push((*error).into());
            args.push(record_json(record)?.into());
        }
        let k = &self.keys;
        let keys = [k.due(), k.active(), k.dead(), k.stats(), k.failed_history()];
        let reply = scripts::FAIL.run(self.redis, &keys, args)?;
        verdicts(&reply)
    }

    /// Counts by state and the counters.
    pub fn stats(&mut self, clock: impl Into<Clock>) -> Result<QueueStats, StoreError> {
        let clock: Clock = clock.into();
        let k = &self.keys;
        let keys = [
            k.due(),
            k.active(),
            k.dead(),
            k.stats(),
            k.completed_history(),
            k.failed_history(),
            k.paused(),
            k.hold(),
        ];
        let reply = scripts::STATS.run(self.redis, &keys, vec![clock.into()])?;
        Ok(QueueStats::from_reply(&reply))
    }

    /// One job's fields as stored (for the admin detail view).
    pub fn job_fields(&mut self, id: &BookingId) -> Result<BTreeMap<String, String>, StoreError> {
        let reply = self.redis.execute("HGETALL", &[self.keys.job(id).into()])?;
        Ok(reply
            .chunks(2)
            .filter_map(|pair| Some((pair.first()?.as_text()?, pair.get(1)?.as_text()?)))
            .collect())
    }

    /// One job, typed; `None` when the booking has no job.
    pub fn job(&mut self, id: &BookingId) -> Result<Option<JobView>, StoreError> {
        JobView::from_fields(&self.job_fields(id)?)
    }
}

fn record_json(record: &HistoryRecord) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(|e| StoreError::Other(format!("history record: {e}")))
}

/// One verdict per element of a script's reply.
fn verdicts<V: std::str::FromStr<Err = UnknownReply>>(
    reply: &[RedisValue],
) -> Result<Vec<V>, StoreError> {
    reply
        .iter()
        .map(|v| {
            v.as_text()
                .unwrap_or_default()
                .parse()
                .map_err(|e: UnknownReply| StoreError::Reply(e.to_string()))
        })
        .collect()
}
