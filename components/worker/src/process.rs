//! One worker invocation: claim due jobs in batches, sync each batch, settle every job.

use std::collections::HashMap;

use beds24_spin_glue::{log, now_ms, pg::SpinPg, redis::SpinRedis, schema};
use beds24_sync_core::beds24::ApiFailure;
use beds24_sync_core::db;
use beds24_sync_core::job::JobRecord;
use beds24_sync_core::logging::Level;
use beds24_sync_core::mapping::{map_booking, BookingRow, MappingContext, SyncState};
use beds24_sync_core::queue::{ClaimOptions, ClaimedJob, Failure, Queue};
use beds24_sync_core::store::{RedisExec, RedisValue, StoreError};
use beds24_sync_core::sync::{batch_recovery, plan_batch, BatchRecovery, JobResult};
use serde_json::json;
use spin_sdk::key_value::Store;

use crate::beds24::Client;
use crate::fetch::{fetch, BatchData};
use crate::settings::Settings;
use crate::settle::{settle_failure, settle_successes, to_failure};

/// Keep one invocation well inside a lease; leftover work gets a fresh wake-up.
const INVOCATION_BUDGET_MS: i64 = 20_000;

pub async fn run() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    let mut redis = SpinRedis::open(&settings.redis_url)?;
    ensure_expiry_events(&mut redis);
    let started = now_ms();
    loop {
        let options = ClaimOptions {
            now_ms: now_ms(),
            lease_ms: settings.lease_ms,
            batch: settings.batch,
            max_tries: settings.schedule.max_tries(),
        };
        let jobs = Queue::new(&mut redis).claim(&options)?;
        if jobs.is_empty() {
            return Ok(());
        }
        sync_batch(&settings, &mut redis, jobs).await;
        if now_ms() - started > INVOCATION_BUDGET_MS {
            Queue::new(&mut redis).publish_wakeup()?;
            return Ok(());
        }
    }
}

/// Fetch, map, upsert and settle one claimed batch. Never returns early without
/// settling every job (an unsettled job waits for its lease to run out).
async fn sync_batch(settings: &Settings, redis: &mut SpinRedis, jobs: Vec<ClaimedJob>) {
    let started = now_ms();
    match fetch_batch(settings, redis, &jobs).await {
        Ok(data) => store_and_settle(settings, redis, jobs, &data, started),
        Err(failure) => recover(settings, redis, jobs, failure, started).await,
    }
}

async fn fetch_batch(
    settings: &Settings,
    redis: &mut SpinRedis,
    jobs: &[ClaimedJob],
) -> Result<BatchData, ApiFailure> {
    let mut client = Client::new(settings, redis);
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
async fn recover(
    settings: &Settings,
    redis: &mut SpinRedis,
    mut jobs: Vec<ClaimedJob>,
    failure: ApiFailure,
    started: i64,
) {
    match batch_recovery(&failure, jobs.len()) {
        BatchRecovery::EachAlone => {
            for job in jobs {
                Box::pin(sync_batch(settings, redis, vec![job])).await;
            }
        }
        BatchRecovery::Probe => {
            let first = jobs.remove(0);
            if sync_alone(settings, redis, first).await.is_ok() {
                // Not a general outage: the rest goes on as a batch (probing again if needed).
                Box::pin(sync_batch(settings, redis, jobs)).await;
                return;
            }
            let last = jobs.pop().expect("a probed batch has two jobs or more");
            match sync_alone(settings, redis, last).await {
                Ok(()) if jobs.is_empty() => {}
                Ok(()) => Box::pin(sync_batch(settings, redis, jobs)).await,
                // Both ends fail alone too: a general outage, no more calls this round.
                Err(failure) => fail_all(settings, redis, &jobs, failure, started),
            }
        }
        BatchRecovery::FailAll => fail_all(settings, redis, &jobs, to_failure(failure), started),
    }
}

/// Sync one job on its own; on a failed fetch, settle it and hand back the failure.
async fn sync_alone(
    settings: &Settings,
    redis: &mut SpinRedis,
    job: ClaimedJob,
) -> Result<(), Failure> {
    let started = now_ms();
    match fetch_batch(settings, redis, std::slice::from_ref(&job)).await {
        Ok(data) => {
            store_and_settle(settings, redis, vec![job], &data, started);
            Ok(())
        }
        Err(failure) => {
            let failure = to_failure(failure);
            settle_failure(settings, redis, &job, &failure, started);
            Err(failure)
        }
    }
}

fn fail_all(
    settings: &Settings,
    redis: &mut SpinRedis,
    jobs: &[ClaimedJob],
    failure: Failure,
    started: i64,
) {
    if matches!(failure, Failure::RateLimited { .. }) {
        degrade_to_webhook_data(settings, redis, jobs);
    }
    for job in jobs {
        settle_failure(settings, redis, job, &failure, started);
    }
}

/// Map what one batch fetched, upsert the rows and settle every job.
fn store_and_settle(
    settings: &Settings,
    redis: &mut SpinRedis,
    jobs: Vec<ClaimedJob>,
    data: &BatchData,
    started: i64,
) {
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
    let stored = store(settings, redis, &rows, &missing);
    let mut synced = Vec::new();
    for (job, result) in plan {
        let failure = match (result, &stored) {
            (_, Err(e)) => Some(Failure::Transient(format!("postgres: {e}"))),
            (JobResult::Row(_, anomalies), Ok(())) => {
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
            (JobResult::Missing, Ok(())) => Some(Failure::Permanent(
                "booking not returned by Beds24 (deleted or no longer visible)".into(),
            )),
            (JobResult::Failed(f), _) => Some(f),
        };
        match failure {
            Some(f) => settle_failure(settings, redis, &job, &f, started),
            None => synced.push(job),
        }
    }
    settle_successes(redis, &synced, started);
}

/// Out of credits: write what the stored webhooks carried (only where newer than the
/// row; marked `"BDStatus" = 'webhook'`). The jobs stay queued for the real fetch.
fn degrade_to_webhook_data(settings: &Settings, redis: &mut SpinRedis, jobs: &[ClaimedJob]) {
    let Ok(store) = Store::open_default() else {
        return;
    };
    let names = HashMap::new();
    let rows: Vec<BookingRow> = jobs
        .iter()
        .filter_map(|job| {
            let bytes = store.get(&JobRecord::kv_key(&job.booking_id)).ok()??;
            let record: JobRecord = serde_json::from_slice(&bytes).ok()?;
            let (booking, messages) = record.webhook_snapshot()?;
            let ctx = MappingContext {
                property_names: &names,
                messages,
                now: chrono::Utc::now(),
                state: SyncState::FromWebhook,
            };
            map_booking(&booking, ctx).ok().map(|(row, _)| row)
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    // Property names are not in webhooks: keep the stored one rather than blanking it.
    match SpinPg::open(&settings.database_url).and_then(|mut pg| {
        schema::ensure(redis, &mut pg)?;
        db::upsert_rows(&mut pg, &rows)
    }) {
        Ok(written) => log(
            Level::Warn,
            "credits spent: wrote webhook data",
            &[("bookingIds", json!(written))],
        ),
        Err(e) => log(
            Level::Error,
            "could not write webhook data",
            &[("error", json!(e.to_string()))],
        ),
    }
}

fn store(
    settings: &Settings,
    redis: &mut SpinRedis,
    rows: &[BookingRow],
    missing: &[String],
) -> Result<(), StoreError> {
    if rows.is_empty() && missing.is_empty() {
        return Ok(());
    }
    let mut pg = SpinPg::open(&settings.database_url)?;
    schema::ensure(redis, &mut pg)?;
    db::upsert_rows(&mut pg, rows)?;
    db::mark_missing(&mut pg, missing)?;
    Ok(())
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
