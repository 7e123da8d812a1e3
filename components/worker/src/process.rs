//! One worker invocation: claim due jobs in batches, sync each batch, settle every job.

use std::collections::HashMap;

use beds24_spin_glue::{log, now_ms, pg::SpinPg, redis::SpinRedis, schema};
use beds24_sync_core::beds24::ApiFailure;
use beds24_sync_core::db;
use beds24_sync_core::job::JobRecord;
use beds24_sync_core::logging::Level;
use beds24_sync_core::mapping::{map_booking, BookingRow, MappingContext, SyncState};
use beds24_sync_core::queue::{decide, ClaimOptions, ClaimedJob, Failure, HistoryRecord, Queue};
use beds24_sync_core::store::{RedisExec, RedisValue, StoreError};
use beds24_sync_core::sync::{plan_batch, Fetched, JobResult};
use serde_json::json;
use spin_sdk::key_value::Store;

use crate::beds24::Client;
use crate::fetch::fetch;
use crate::settings::Settings;

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
    let fetched = {
        let mut client = Client::new(settings, redis);
        match client.credits_wait_until() {
            Some(until) => Err(ApiFailure::RateLimited(
                "Beds24 credit budget spent".into(),
                Some(((until - now_ms()).max(0) / 1000) as u64 + 1),
            )),
            None => fetch(&mut client, &jobs).await,
        }
    };
    let (bookings, messages, names) = match fetched {
        Ok(parts) => parts,
        Err(ApiFailure::BadRequest(_)) if jobs.len() > 1 => {
            // One unfetchable id must not sink the batch: retry each job alone.
            for job in jobs {
                Box::pin(sync_batch(settings, redis, vec![job])).await;
            }
            return;
        }
        Err(failure) => {
            let failure = to_failure(failure);
            if matches!(failure, Failure::RateLimited { .. }) {
                degrade_to_webhook_data(settings, redis, &jobs);
            }
            for job in &jobs {
                settle_failure(settings, redis, job, &failure, started);
            }
            return;
        }
    };
    let fetched = Fetched {
        bookings: &bookings,
        messages: &messages,
        property_names: &names,
    };
    let plan = plan_batch(&jobs, &fetched, chrono::Utc::now());
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

/// The webhook's job record lives as long as its job: without this, Redis would keep
/// a copy of every booking's last webhook body forever.
fn forget_records<'a>(jobs: impl IntoIterator<Item = &'a ClaimedJob>) {
    let mut jobs = jobs.into_iter().peekable();
    if jobs.peek().is_none() {
        return;
    }
    if let Ok(store) = Store::open_default() {
        for job in jobs {
            let _ = store.delete(&JobRecord::kv_key(&job.booking_id));
        }
    }
}

/// Complete every synced job of the batch in one round trip.
fn settle_successes(redis: &mut SpinRedis, jobs: &[ClaimedJob], started: i64) {
    let now = now_ms();
    let records: Vec<HistoryRecord> = jobs
        .iter()
        .map(|job| history(job, "completed", started, now, None))
        .collect();
    let done: Vec<_> = jobs.iter().zip(&records).collect();
    let verdicts = match Queue::new(redis).complete_many(&done, now) {
        Ok(verdicts) => verdicts,
        Err(e) => {
            // The jobs stay active; their leases run out and they are synced again.
            let ids: Vec<&str> = jobs.iter().map(|j| j.booking_id.as_str()).collect();
            log(
                Level::Error,
                "could not record completion",
                &[("bookingIds", json!(ids)), ("error", json!(e.to_string()))],
            );
            return;
        }
    };
    let finished = jobs
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| *v == "completed");
    forget_records(finished.map(|(job, _)| job));
    for (job, verdict) in jobs.iter().zip(verdicts) {
        log(
            Level::Info,
            "booking synced",
            &[
                ("bookingId", json!(job.booking_id)),
                ("action", json!(job.action)),
                ("queue", json!(verdict)),
                ("durationMs", json!(now - started)),
            ],
        );
    }
}

fn settle_failure(
    settings: &Settings,
    redis: &mut SpinRedis,
    job: &ClaimedJob,
    failure: &Failure,
    started: i64,
) {
    let now = now_ms();
    let jitter = f64::from(chrono::Utc::now().timestamp_subsec_nanos() % 1000) / 1000.0;
    let decision = decide(&settings.schedule, job.attempts, failure, now, jitter);
    let record = history(
        job,
        decision.mode(),
        started,
        now,
        Some(failure.message().to_owned()),
    );
    let verdict = Queue::new(redis).fail(job, now, decision, failure.message(), &record);
    if matches!(verdict.as_deref(), Ok("final")) {
        forget_records([job]);
    }
    log(
        Level::Warn,
        "booking sync failed",
        &[
            ("bookingId", json!(job.booking_id)),
            ("action", json!(job.action)),
            ("attempt", json!(job.attempts + 1)),
            ("decision", json!(decision.mode())),
            ("queue", json!(verdict.as_ref().map_err(|e| e.to_string()))),
            ("error", json!(failure.message())),
        ],
    );
}

fn history(
    job: &ClaimedJob,
    outcome: &str,
    started: i64,
    now: i64,
    error: Option<String>,
) -> HistoryRecord {
    HistoryRecord {
        booking_id: job.booking_id.to_string(),
        action: job.action,
        outcome: outcome.to_owned(),
        attempts: job.attempts + 1,
        started_at: started,
        finished_at: now,
        duration_ms: now - started,
        error,
    }
}

fn to_failure(failure: ApiFailure) -> Failure {
    match failure {
        ApiFailure::RateLimited(reason, after) => Failure::RateLimited {
            retry_at_ms: now_ms() + after.unwrap_or(60).max(1) as i64 * 1000,
            reason: format!("Beds24 rate limit: {reason}"),
        },
        transient @ ApiFailure::Transient(_) => Failure::Transient(transient.to_string()),
        permanent => Failure::Permanent(permanent.to_string()),
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
