//! One worker invocation, free of Spin: claim due jobs in batches, fetch them from Beds24, store, settle.
//!
//! The worker component only opens the platform's doors (Redis, HTTP, Postgres) and
//! calls [`run`]; everything it decides is here, tested natively. Batches overlap by
//! one step: the next batch's Beds24 requests are in flight while one is stored.

mod batch;
pub mod drain;
mod notify;
mod outcome;
mod session;
mod settle;

use std::time::Duration;

pub use notify::ensure_expiry_events;
pub use outcome::{outcomes, Outcomes};
pub use session::{PgSession, SqlConnect};

use crate::beds24::client::{Client, ClientConfig};
use crate::beds24::http::HttpGet;
use crate::beds24::ApiFailure;
use crate::bulk::{run_slice, BulkConfig, SliceOutcome};
use crate::keys::Keys;
use crate::logging::now_ms;
use crate::queue::{Clock, Failure, Leave, Queue, RetrySchedule};
use crate::store::{RedisExec, StoreError};
use crate::sync::job_failure;

/// Keep one invocation well inside a lease; leftover work gets a fresh wake-up.
pub const INVOCATION_BUDGET_MS: i64 = 20_000;

/// Longest a drain sleeps before claiming again while it waits for a retry.
const WAIT_STEP_MS: i64 = 200;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The Beds24 client's settings.
    pub client: ClientConfig,
    /// How long a claim is held before another worker may take the job over (ms).
    pub lease_ms: i64,
    /// Jobs per Beds24 request.
    pub batch: usize,
    /// Retry delays (and so the number of tries).
    pub schedule: RetrySchedule,
    /// Reconciliation and backfill.
    pub bulk: BulkConfig,
}

/// What the platform lends one invocation.
pub struct Platform<'a, R, H, C: SqlConnect> {
    /// The queue's Redis.
    pub redis: &'a mut R,
    /// Outbound HTTP to Beds24.
    pub http: &'a mut H,
    /// Postgres, opened on first use.
    pub pg: PgSession<C>,
}

/// What one invocation did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    /// Batches claimed.
    pub batches: usize,
    /// Jobs claimed.
    pub jobs: usize,
    /// Bulk slices run (reconciliation or backfill pages).
    pub bulk_slices: usize,
    /// The time budget ran out with work left: a wake-up was published for it.
    pub handed_on: bool,
}

/// Claim and sync batches until nothing is due (or paused, or held), or the time
/// budget is spent. Only a queue that cannot be read is an error: every claimed job
/// is settled, whatever Beds24 or Postgres answer.
pub async fn run<R, H, C>(
    config: &WorkerConfig,
    keys: &Keys,
    platform: Platform<'_, R, H, C>,
    budget_ms: i64,
) -> Result<RunSummary, StoreError>
where
    R: RedisExec,
    H: HttpGet,
    C: SqlConnect,
{
    work(config, keys, platform, budget_ms, None).await
}

/// [`run`], for a drain holding place `drain` (see [`drain::drain`]): before it stops
/// for lack of work it gives the place back in the same step that checks nothing came
/// due; out of time, it gives it back anyway.
async fn work<R, H, C>(
    config: &WorkerConfig,
    keys: &Keys,
    platform: Platform<'_, R, H, C>,
    budget_ms: i64,
    drain: Option<i64>,
) -> Result<RunSummary, StoreError>
where
    R: RedisExec,
    H: HttpGet,
    C: SqlConnect,
{
    // Retry and lease timers wake only Redis-triggered workers; a drain is called.
    if drain.is_none() {
        ensure_expiry_events(platform.redis, keys);
    }
    let mut run = Run {
        config,
        keys,
        platform,
        scopes_checked: false,
    };
    let started = now_ms();
    let mut summary = RunSummary::default();
    // A batch claimed while the previous one was stored: it is synced before the loop
    // may end, whatever the budget says.
    let mut next = None;
    loop {
        let batch = match next.take() {
            Some(batch) => Some(batch),
            // Empty while paused or held (account unusable, credits spent): the hold's
            // expiry wakes a worker when calls may go out again.
            None => run.claim()?,
        };
        if let Some(batch) = batch {
            summary.batches += 1;
            summary.jobs += batch.jobs.len();
            next = run.sync(batch, started + budget_ms).await?;
        } else {
            // Webhook jobs are fresher: bulk pages only once the queue is drained (and not
            // while it is held), and after each slice the queue is claimed again.
            let outcome = run.bulk_slice()?;
            if outcome == (SliceOutcome::Worked { more: true }) {
                summary.bulk_slices += 1;
            } else {
                summary.bulk_slices += usize::from(outcome != SliceOutcome::Idle);
                if let Some(owner) = drain {
                    // Wait only for what can still be claimed, synced and settled in time.
                    let wait_limit = budget_ms - (now_ms() - started) - config.lease_ms / 4;
                    match run
                        .queue()
                        .leave_drain(Clock::Redis, owner, false, wait_limit)?
                    {
                        Leave::Left => return Ok(summary),
                        Leave::More => {}
                        // In short steps: a kick that finds this place taken relies
                        // on this drain to claim its job soon.
                        Leave::Wait(ms) => std::thread::sleep(Duration::from_millis(
                            ms.clamp(1, WAIT_STEP_MS) as u64,
                        )),
                    }
                } else {
                    return Ok(summary);
                }
            }
        }
        if next.is_none() && now_ms() - started > budget_ms {
            run.queue().publish_wakeup()?;
            if let Some(owner) = drain {
                run.queue().leave_drain(Clock::Redis, owner, true, 0)?;
            }
            summary.handed_on = true;
            return Ok(summary);
        }
    }
}

/// One invocation's state: its settings, its platform, what it already checked.
struct Run<'a, 'p, R, H, C: SqlConnect> {
    config: &'a WorkerConfig,
    keys: &'a Keys,
    platform: Platform<'p, R, H, C>,
    /// The token's scopes were checked (or known good) during this invocation.
    scopes_checked: bool,
}

impl<R: RedisExec, H: HttpGet, C: SqlConnect> Run<'_, '_, R, H, C> {
    fn queue(&mut self) -> Queue<'_, R> {
        Queue::with_keys(&mut *self.platform.redis, self.keys.clone())
    }

    fn bulk_slice(&mut self) -> Result<SliceOutcome, StoreError> {
        run_slice(
            &self.config.client,
            &self.config.bulk,
            self.keys,
            &mut *self.platform.redis,
            &mut *self.platform.http,
            &mut self.platform.pg,
        )
    }

    fn client(&mut self) -> Client<'_, R, H> {
        Client::new(
            &self.config.client,
            self.keys,
            &mut *self.platform.redis,
            &mut *self.platform.http,
        )
    }

    /// The queue failure for a failed request; only a rate limit waits for the shared window.
    fn queue_failure(&mut self, failure: ApiFailure) -> Failure {
        let window = match failure {
            ApiFailure::RateLimited(..) => self
                .client()
                .credits_wait_until()
                .map(|until| until - now_ms()),
            _ => None,
        };
        job_failure(failure, window)
    }
}
