//! Benchmark 2 at 200 ms Beds24 latency, the end-to-end run other benchmarks reuse, and the Postgres reference rate.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use beds24_sync_core::db;
use beds24_sync_core::mapping::{map_booking, MappingContext, SyncState};
use beds24_testkit::{Database, NativePg};
use mock_beds24::Endpoint;

use crate::ack::{Snapshots, WEBHOOK_PATH};
use crate::app::App;
use crate::batches::BatchTimes;
use crate::counters::{pg_sessions, RedisCounters};
use crate::load::{Ids, Stop};
use crate::options::Sizes;
use crate::report::{Row, Status};

/// Webhooks in flight while the bookings arrive.
pub const SEND_CONCURRENCY: usize = 32;
/// The worker's batch (spin.toml default), used for the Postgres reference too.
const BATCH: usize = 50;
const MIN_RATE_SLOW: f64 = 50.0;

const WHY_SLOW: &str = "with one worker invocation at a time, each batch waits one Beds24 round trip \
(bookings and messages in flight together, 200 ms), so one process cannot exceed about 50 bookings per \
0.2 s (≈ 250/s) and reaches that only when every claim finds a full batch of 50.";

/// What one end-to-end run measured.
pub struct E2e {
    pub n: u64,
    /// Time to get every webhook acknowledged.
    pub send: Duration,
    /// First webhook → n-th row.
    pub total: Duration,
    /// Rows already written when the last webhook was acknowledged.
    pub rows_at_send: u64,
    pub calls: usize,
    pub redis: RedisCounters,
    pub pg_sessions: i64,
    /// The worker's own timing of each batch it synced.
    pub batches: Vec<BatchTimes>,
}

impl E2e {
    pub fn rate(&self) -> f64 {
        self.n as f64 / self.total.as_secs_f64()
    }
}

/// Redis memory of the app before the 0 ms run, after it and after the 200 ms run (row 4c).
pub struct AppMemory {
    /// `used_memory` at those three points.
    pub used: [u64; 3],
    /// Keys in database 0 (queue) at those three points.
    pub queue_keys: [u64; 3],
    /// Bookings synced by the first and the second run.
    pub bookings: [u64; 2],
}

/// Rows/s at which Postgres takes the same upserts: `n` generated bookings mapped like the worker
/// does and written in batches of 50 over one native connection (only the upserts are timed).
pub fn postgres_limit(n: u64) -> Result<f64> {
    let database = Database::try_create("bench_pglimit")?;
    let mut pg = NativePg::new(database.client());
    db::migrate(&mut pg)?;
    let names = HashMap::from([("125517".to_owned(), "Casa Azul".to_owned())]);
    let today = chrono::Utc::now().date_naive();
    let rows = (1..=n)
        .map(|id| {
            let booking = mock_beds24::fixtures::generated_booking(id, today);
            let ctx = MappingContext {
                property_names: &names,
                messages: Some(Vec::new()),
                now: chrono::Utc::now(),
                state: SyncState::Synced,
            };
            Ok(map_booking(&booking, ctx)?.0)
        })
        .collect::<Result<Vec<_>>>()?;
    let started = Instant::now();
    let mut written = 0;
    for chunk in rows.chunks(BATCH) {
        written += db::upsert_rows(&mut pg, chunk)?.len();
    }
    let elapsed = started.elapsed();
    ensure!(
        written as u64 == n,
        "Postgres reference wrote {written} of {n} rows"
    );
    Ok(n as f64 / elapsed.as_secs_f64())
}

/// `n` distinct bookings: webhooks at concurrency 32 from t0 until the n-th row exists.
pub fn e2e(app: &mut App, n: u64, latency: Duration) -> Result<E2e> {
    app.truncate_bookings()?;
    app.mock.set_latency(latency);
    let first = app.take_ids(n);
    app.seed(first, n);
    app.wait_queue_idle(Duration::from_secs(60))?;
    app.settle();
    app.mock.reset_counters();
    app.host.take_batches();
    let mut info = app.redis.connection(0)?;
    let mut admin = app.db.client();
    let sessions_before = pg_sessions(&mut admin, &app.db.name)?;
    let redis_before = RedisCounters::read(&mut info)?;
    let mut pg = app.db.client();

    let started = Instant::now();
    app.send(
        WEBHOOK_PATH,
        SEND_CONCURRENCY,
        Stop::Count(n),
        Ids::From(first),
    )?
    .check("end-to-end webhooks")?;
    let send = started.elapsed();
    let rows_at_send = app.row_count(&mut pg).max(0) as u64;
    // Generous: ten times slower than the slowest target still finishes.
    let timeout = Duration::from_secs(120) + Duration::from_secs_f64(n as f64 / 5.0);
    beds24_testkit::wait_for(&format!("{n} rows in \"Booking\""), timeout, || {
        (app.row_count(&mut pg) >= n as i64).then_some(())
    });
    let total = started.elapsed();
    app.host.check_alive()?;
    let calls = [Endpoint::Bookings, Endpoint::Messages, Endpoint::Properties]
        .iter()
        .map(|e| app.mock.calls(*e))
        .sum();
    drop(pg);
    app.wait_queue_idle(Duration::from_secs(60))?;
    app.settle();
    // After the host went idle: the worker invocations for the last wake-ups count too.
    let redis = RedisCounters::read(&mut info)?.since(&redis_before);
    // Less our own polling session, counted when it closed.
    let pg_sessions = pg_sessions(&mut admin, &app.db.name)? - sessions_before - 1;
    Ok(E2e {
        n,
        send,
        total,
        rows_at_send,
        calls,
        redis,
        pg_sessions,
        batches: app.host.take_batches(),
    })
}

/// Medians over the full batches: where one batch's time goes, by the worker's own clock.
pub fn batch_phases(batches: &[BatchTimes]) -> String {
    let full: Vec<&BatchTimes> = batches.iter().filter(|b| b.jobs == BATCH as u64).collect();
    if full.is_empty() {
        return format!("{} batches, none full", batches.len());
    }
    let median = |phase: fn(&BatchTimes) -> f64| {
        let mut values: Vec<f64> = full.iter().map(|b| phase(b)).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    format!(
        "{} batches ({} of {BATCH}); a full batch, median by the worker's clock: fetch {:.0} ms, \
         store {:.0} ms, settle {:.0} ms (fetch in flight behind the previous store {:.0} ms)",
        batches.len(),
        full.len(),
        median(|b| b.fetch_ms),
        median(|b| b.store_ms),
        median(|b| b.settle_ms),
        median(|b| b.overlap_ms),
    )
}

/// The app Redis's `used_memory` and queue key count; `e2e` leaves the host idle first.
fn redis_snapshot(app: &App) -> Result<(u64, u64)> {
    Ok((app.redis.used_memory()?, app.queue_keys()?))
}

fn describe(label: &str, run: &E2e) -> String {
    let send_rate = run.n as f64 / run.send.as_secs_f64();
    let after = (run.total - run.send).as_secs_f64();
    let worker_only = (run.n - run.rows_at_send) as f64 / after.max(1e-3);
    format!(
        "2, {label}: {} webhooks acknowledged in {:.1} s = {send_rate:.0}/s at concurrency \
         {SEND_CONCURRENCY}; {} rows were written by then, the other {} in the next {after:.1} s \
         ({worker_only:.0} rows/s, the worker alone); {} Beds24 calls ({:.3} per booking); {} Postgres \
         sessions opened by the app ({:.1} bookings per session); {}; {}.",
        run.n,
        run.send.as_secs_f64(),
        run.rows_at_send,
        run.n - run.rows_at_send,
        run.calls,
        run.calls as f64 / run.n as f64,
        run.pg_sessions,
        run.n as f64 / run.pg_sessions.max(1) as f64,
        batch_phases(&run.batches),
        run.redis.per(run.n, "booking"),
    )
}

/// The 200 ms end-to-end run (test host), and the app Redis's memory across it and the
/// production runs before it (row 4c).
pub fn run(
    app: &mut App,
    sizes: &Sizes,
    before: &Snapshots,
    rows: &mut Vec<Row>,
    details: &mut Vec<String>,
) -> Result<AppMemory> {
    eprintln!(
        "bench: 2. end-to-end, {} bookings, mock at 200 ms",
        sizes.sync_n_slow
    );
    app.settle();
    let after_first = redis_snapshot(app)?;
    let slow = e2e(app, sizes.sync_n_slow, Duration::from_millis(200))?;
    app.mock.set_latency(Duration::ZERO);
    let after_slow = redis_snapshot(app)?;
    let memory = AppMemory {
        used: [before.used[0], after_first.0, after_slow.0],
        queue_keys: [before.queue_keys[0], after_first.1, after_slow.1],
        bookings: [before.bookings, slow.n],
    };
    rows.push(Row {
        key: "2.sync.200ms".into(),
        what: format!("End-to-end sync, {} bookings, mock 200 ms", slow.n),
        measured: format!(
            "{:.1} s first webhook → last row = {:.1} bookings/s (1 worker process)",
            slow.total.as_secs_f64(),
            slow.rate()
        ),
        reference: "–".into(),
        ratio: "–".into(),
        target: format!("≥ {MIN_RATE_SLOW:.0} bookings/s per worker process"),
        status: Status::from_check(slow.rate() >= MIN_RATE_SLOW),
        why_not: Some(WHY_SLOW),
    });
    details.push(describe("200 ms", &slow));
    Ok(memory)
}
