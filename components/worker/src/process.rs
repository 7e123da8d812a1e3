//! One worker invocation: claim due jobs in batches, sync each batch, settle every job.

use beds24_spin_glue::{log, now_ms, redis::SpinRedis};
use beds24_sync_core::beds24::ApiFailure;
use beds24_sync_core::logging::Level;
use beds24_sync_core::mapping::BookingRow;
use beds24_sync_core::queue::{ClaimOptions, ClaimedJob, Failure, Queue};
use beds24_sync_core::store::{RedisExec, RedisValue};
use beds24_sync_core::sync::{batch_recovery, plan_batch, BatchRecovery, JobResult};
use serde_json::json;

use crate::beds24::Client;
use crate::fetch::{fetch, BatchData};
use crate::rows::PgSession;
use crate::settings::Settings;
use crate::settle::{settle_failure, settle_successes, to_failure};

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
    };
    let started = now_ms();
    loop {
        let options = ClaimOptions {
            now_ms: now_ms(),
            lease_ms: settings.lease_ms,
            batch: settings.batch,
            max_tries: settings.schedule.max_tries(),
        };
        let jobs = Queue::new(run.redis).claim(&options)?;
        if jobs.is_empty() {
            return Ok(());
        }
        run.sync_batch(jobs).await;
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
}

impl Run<'_> {
    /// Fetch, map, upsert and settle one claimed batch. Never returns early without
    /// settling every job (an unsettled job waits for its lease to run out).
    async fn sync_batch(&mut self, jobs: Vec<ClaimedJob>) {
        let started = now_ms();
        match self.fetch_batch(&jobs).await {
            Ok(data) => self.store_and_settle(jobs, &data, started),
            Err(failure) => self.recover(jobs, failure, started).await,
        }
    }

    async fn fetch_batch(&mut self, jobs: &[ClaimedJob]) -> Result<BatchData, ApiFailure> {
        let mut client = Client::new(self.settings, self.redis);
        match client.credits_wait_until() {
            Some(until) => Err(ApiFailure::RateLimited(
                "Beds24 credit budget spent".into(),
                Some(((until - now_ms()).max(0) / 1000) as u64 + 1),
            )),
            None => fetch(&mut client, jobs).await,
        }
    }

    /// The batch request failed: find out whether one booking is to blame before
    /// failing everyone (see `BatchRecovery`).
    async fn recover(&mut self, mut jobs: Vec<ClaimedJob>, failure: ApiFailure, started: i64) {
        match batch_recovery(&failure, jobs.len()) {
            BatchRecovery::EachAlone => {
                for job in jobs {
                    Box::pin(self.sync_batch(vec![job])).await;
                }
            }
            BatchRecovery::Probe => {
                let first = jobs.remove(0);
                if self.sync_alone(first).await.is_ok() {
                    // Not a general outage: the rest goes on as a batch (probing again if needed).
                    Box::pin(self.sync_batch(jobs)).await;
                    return;
                }
                let last = jobs.pop().expect("a probed batch has two jobs or more");
                match self.sync_alone(last).await {
                    Ok(()) if jobs.is_empty() => {}
                    Ok(()) => Box::pin(self.sync_batch(jobs)).await,
                    // Both ends fail alone too: a general outage, no more calls this round.
                    Err(failure) => self.fail_all(&jobs, failure, started),
                }
            }
            BatchRecovery::FailAll => self.fail_all(&jobs, to_failure(failure), started),
        }
    }

    /// Sync one job on its own; on a failed fetch, settle it and hand back the failure.
    async fn sync_alone(&mut self, job: ClaimedJob) -> Result<(), Failure> {
        let started = now_ms();
        match self.fetch_batch(std::slice::from_ref(&job)).await {
            Ok(data) => {
                self.store_and_settle(vec![job], &data, started);
                Ok(())
            }
            Err(failure) => {
                let failure = to_failure(failure);
                settle_failure(self.settings, self.redis, &job, &failure, started);
                Err(failure)
            }
        }
    }

    fn fail_all(&mut self, jobs: &[ClaimedJob], failure: Failure, started: i64) {
        for job in jobs {
            settle_failure(self.settings, self.redis, job, &failure, started);
        }
    }

    /// Map what one batch fetched, upsert the rows and settle every job.
    fn store_and_settle(&mut self, jobs: Vec<ClaimedJob>, data: &BatchData, started: i64) {
        let fetched_at = now_ms();
        let batch_size = jobs.len();
        let plan = plan_batch(&jobs, &data.as_input(), chrono::Utc::now());
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
        for (job, result) in plan {
            let failure = match (result, &stored) {
                (_, Err(e)) => Some(Failure::Transient(format!("postgres: {e}"))),
                // Postgres refused this row's data: the same data would be refused again.
                (JobResult::Row(..), Ok(report)) if report.rejection(&job.booking_id).is_some() => {
                    let reason = report.rejection(&job.booking_id).unwrap_or_default();
                    Some(Failure::Permanent(format!("postgres refused the row: {reason}")))
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
                Some(f) => settle_failure(self.settings, self.redis, &job, &f, started),
                None => synced.push(job),
            }
        }
        settle_successes(self.redis, &synced, started);
        // Where a batch's time goes, for operators tuning batch_size or chasing a slow phase.
        log(
            Level::Info,
            "batch done",
            &[
                ("jobs", json!(batch_size)),
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
