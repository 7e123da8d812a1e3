//! One worker invocation: claim due jobs in batches, sync each batch, settle every job.

use beds24_spin_glue::{log, now_ms, redis::SpinRedis};
use beds24_sync_core::beds24::ApiFailure;
use beds24_sync_core::logging::Level;
use beds24_sync_core::mapping::BookingRow;
use beds24_sync_core::queue::{ClaimOptions, ClaimedJob, Clock, Failure, Queue};
use beds24_sync_core::store::{RedisExec, RedisValue};
use beds24_sync_core::sync::{plan_batch, sync_batch, BatchAttempt, JobResult};
use serde_json::json;

use crate::beds24::Client;
use crate::fetch::{fetch, BatchData};
use crate::rows::PgSession;
use crate::settings::Settings;
use crate::settle::{hold_for, settle_failures, settle_successes};

/// Keep one invocation well inside a lease; leftover work gets a fresh wake-up.
const INVOCATION_BUDGET_MS: i64 = 20_000;

pub async fn run() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    let mut redis = SpinRedis::open(&settings.redis_url)?;
    ensure_expiry_events(&mut redis);
    let mut run = Run {
        pg: PgSession::new(&settings.database_url),
        settings: &settings,
        redis: &mut redis,
        scopes_checked: false,
    };
    let started = now_ms();
    loop {
        let options = ClaimOptions {
            clock: Clock::Redis,
            lease_ms: settings.lease_ms,
            batch: settings.batch,
            max_tries: settings.schedule.max_tries(),
        };
        // Empty while paused or held (account unusable, credits spent): the hold's
        // expiry wakes a worker when calls may go out again.
        let jobs = Queue::new(run.redis).claim(&options)?;
        if jobs.is_empty() {
            return Ok(());
        }
        sync_batch(&mut run, &jobs).await;
        if now_ms() - started > INVOCATION_BUDGET_MS {
            Queue::new(run.redis).publish_wakeup()?;
            return Ok(());
        }
    }
}

/// What one invocation works with: its settings, its Redis connection and one
/// Postgres session shared by all its batches.
struct Run<'a> {
    settings: &'a Settings,
    redis: &'a mut SpinRedis,
    pg: PgSession,
    /// The token's scopes were checked (or known good) during this invocation.
    scopes_checked: bool,
}

impl BatchAttempt for Run<'_> {
    /// Fetch, map, upsert and settle one group of claimed jobs; a failed Beds24 request
    /// settles nothing and is handed back for batch recovery to decide.
    async fn attempt(&mut self, jobs: &[ClaimedJob]) -> Result<(), ApiFailure> {
        let started = now_ms();
        let data = self.fetch_batch(jobs).await?;
        self.renew_leases_if_slow(jobs, started);
        self.store_and_settle(jobs, &data, started);
        Ok(())
    }

    fn fail(&mut self, jobs: &[ClaimedJob], failure: ApiFailure) {
        let failure = self.queue_failure(failure);
        hold_for(self.redis, &failure);
        settle_failures(self.settings, self.redis, jobs, &failure, now_ms());
    }
}

impl Run<'_> {
    async fn fetch_batch(&mut self, jobs: &[ClaimedJob]) -> Result<BatchData, ApiFailure> {
        let mut client = Client::new(self.settings, self.redis);
        if let Some(until) = client.credits_wait_until() {
            return Err(ApiFailure::RateLimited(
                "Beds24 credit budget spent".into(),
                Some(((until - now_ms()).max(0) / 1000) as u64 + 1),
            ));
        }
        if !self.scopes_checked {
            client.check_scopes().await?;
            self.scopes_checked = true;
        }
        fetch(&mut client, jobs).await
    }

    /// The queue failure for a failed request; rate limits wait for the shared window.
    fn queue_failure(&mut self, failure: ApiFailure) -> Failure {
        // Only a rate limit waits for the shared window; other failures need no read.
        let window = match failure {
            ApiFailure::RateLimited(..) => Client::new(self.settings, self.redis)
                .credits_wait_until()
                .map(|until| until - now_ms()),
            _ => None,
        };
        beds24_sync_core::sync::job_failure(failure, window)
    }

    /// A fetch that took a good part of the lease renews it before storing, so the
    /// batch is not taken over (and its tries used) while its rows are being written.
    fn renew_leases_if_slow(&mut self, jobs: &[ClaimedJob], started: i64) {
        if now_ms() - started < self.settings.lease_ms / 4 {
            return;
        }
        if let Err(e) =
            Queue::new(self.redis).extend_leases(jobs, Clock::Redis, self.settings.lease_ms)
        {
            log(
                Level::Warn,
                "could not renew leases",
                &[("error", json!(e.to_string()))],
            );
        }
    }

    /// Map what one batch fetched, upsert the rows and settle every job.
    fn store_and_settle(&mut self, jobs: &[ClaimedJob], data: &BatchData, started: i64) {
        let fetched_at = now_ms();
        let plan = plan_batch(jobs, &data.as_input(), chrono::Utc::now());
        let rows: Vec<BookingRow> = plan
            .iter()
            .filter_map(|(_, r)| match r {
                JobResult::Row(row, _) => Some((**row).clone()),
                _ => None,
            })
            .collect();
        let missing: Vec<String> = plan
            .iter()
            .filter(|(_, r)| *r == JobResult::Missing)
            .map(|(j, _)| j.booking_id.to_string())
            .collect();
        let stored = self.pg.store(&rows, &missing);
        let stored_at = now_ms();
        let mut synced = Vec::new();
        // Jobs failing for the same reason settle in one round trip.
        let mut failed: Vec<(Failure, Vec<ClaimedJob>)> = Vec::new();
        for (job, result) in plan {
            let failure = match (result, &stored) {
                (_, Err(e)) => Some(Failure::Transient(format!("postgres: {e}"))),
                // Postgres refused this row's data: the same data would be refused again.
                (JobResult::Row(..), Ok(report)) if report.rejection(&job.booking_id).is_some() => {
                    let reason = report.rejection(&job.booking_id).unwrap_or_default();
                    Some(Failure::Permanent(format!(
                        "postgres refused the row: {reason}"
                    )))
                }
                (JobResult::Row(_, anomalies), Ok(_)) => {
                    for anomaly in anomalies {
                        log(
                            Level::Warn,
                            "booking data anomaly",
                            &[
                                ("bookingId", json!(job.booking_id)),
                                ("anomaly", json!(format!("{anomaly:?}"))),
                            ],
                        );
                    }
                    None
                }
                (JobResult::Missing, Ok(_)) => Some(Failure::Permanent(
                    "booking not returned by Beds24 (deleted or no longer visible)".into(),
                )),
                (JobResult::Failed(f), _) => Some(f),
            };
            match failure {
                Some(f) => match failed.iter_mut().find(|(known, _)| *known == f) {
                    Some((_, same)) => same.push(job),
                    None => failed.push((f, vec![job])),
                },
                None => synced.push(job),
            }
        }
        for (failure, jobs) in &failed {
            settle_failures(self.settings, self.redis, jobs, failure, started);
        }
        settle_successes(self.redis, &synced, started);
        // Where a batch's time goes, for operators tuning batch_size or chasing a slow phase.
        log(
            Level::Info,
            "batch done",
            &[
                ("jobs", json!(jobs.len())),
                ("synced", json!(synced.len())),
                ("fetchMs", json!(fetched_at - started)),
                ("storeMs", json!(stored_at - fetched_at)),
                ("settleMs", json!(now_ms() - stored_at)),
            ],
        );
    }
}

/// Retry and lease timers wake workers through expiry events: make sure Redis
/// emits them (checked at most once a minute; managed Redis may refuse CONFIG,
/// then the README's settings apply and the tick route covers the gap).
fn ensure_expiry_events(redis: &mut SpinRedis) {
    let fresh = redis.execute(
        "SET",
        &[
            "b24:notify-checked".into(),
            "1".into(),
            "NX".into(),
            "EX".into(),
            60i64.into(),
        ],
    );
    if !matches!(fresh.as_deref(), Ok([RedisValue::Status(s)]) if s == "OK") {
        return;
    }
    let current = redis
        .execute("CONFIG", &["GET".into(), "notify-keyspace-events".into()])
        .ok()
        .and_then(|r| r.get(1).and_then(RedisValue::as_text))
        .unwrap_or_default();
    let has_events = current.contains('E');
    let has_expired = current.contains('x') || current.contains('A');
    if !(has_events && has_expired) {
        let wanted = format!(
            "{current}{}{}",
            if has_events { "" } else { "E" },
            if has_expired { "" } else { "x" }
        );
        let _ = redis.execute(
            "CONFIG",
            &["SET".into(), "notify-keyspace-events".into(), wanted.into()],
        );
    }
}
