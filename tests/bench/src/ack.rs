//! Benchmarks 1 and 2 in the production shape: webhook acknowledgement next to the no-op, and first webhook → last row, worker running.

use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use beds24_sync_core::keys::Keys;

use crate::app::App;
use crate::batches::BatchTimes;
use crate::counters::RedisCounters;
use crate::cpu::Spent;
use crate::load::{Ids, Outcome, Stop};
use crate::options::Sizes;
use crate::report::{Row, Status};
use crate::sync::batch_phases;

pub const WEBHOOK_PATH: &str = "/api/webhooks/beds24";
const NOOP_PATH: &str = "/noop";
/// Targets (issue 15): 0.6× the no-op's throughput, at most twice its p99, and end to end
/// at least half of Postgres's own batched-upsert rate.
pub const MIN_THROUGHPUT_RATIO: f64 = 0.6;
const MAX_P99_RATIO: f64 = 2.0;
pub const MIN_E2E_RATIO: f64 = 0.5;

const WHY_THROUGHPUT: &str = "per webhook the HTTP process burns two to three times the no-op's \
CPU (cost and budget rows), while the rate asked for allows about 1.7×. Under Spin 4.0.2 most of the \
extra is the platform's (README, design notes): a new TCP connection to Redis on every outbound \
`open` (no pooling), then reading the 3 KiB body through WASI streams and parsing it, which alone \
reach the 1.7× line; the key-value store's pooled connection would cost less but hangs while Redis \
is down. The worker process syncing the same bookings shares the 2 cores, at a lower priority.";
const WHY_P99: &str =
    "the webhook's latency is a new Redis connection plus one script round trip, \
against a no-op that answers at once, on 2 cores kept busy by the load (and the worker).";
const WHY_E2E: &str =
    "the whole machine's CPU per booking is above what this rate allows on these \
cores (`2.budget`), and the acknowledgement takes most of it; the floor in `2.budget` (the same \
worker behind a webhook as cheap as the no-op) says whether any webhook could get there on this \
machine. The clock includes taking every webhook in, which runs below the Postgres rate here \
(acknowledgement rows), with the worker close behind (details).";

/// The no-op served by the same HTTP process: `n` requests at concurrency `c`.
fn noop(app: &mut App, c: usize, sizes: &Sizes) -> Result<(Outcome, Spent)> {
    app.settle();
    app.send_fresh(NOOP_PATH, c, Stop::Count(sizes.ack_warmup))?
        .check(NOOP_PATH)?;
    let before = app.cpu_reading()?;
    let outcome = app.send_fresh(NOOP_PATH, c, Stop::Count(sizes.ack_requests))?;
    outcome.check(NOOP_PATH)?;
    Ok((outcome, app.cpu_reading()?.since(&before)))
}

/// One production run: distinct webhooks for bookings the mock knows, the worker running.
pub struct Production {
    pub hook: Outcome,
    /// First webhook → last one acknowledged, and → the n-th row.
    pub acked: Duration,
    pub total: Duration,
    pub rows_at_ack: u64,
    /// From the first webhook to the n-th row.
    pub spent: Spent,
    /// Everything the run cost Redis, the worker's tail included.
    pub redis: RedisCounters,
    pub batches: Vec<BatchTimes>,
    /// The Postgres reference rate the run is judged against (rows/s).
    pub postgres_rate: f64,
}

impl Production {
    pub fn rows_per_s(&self) -> f64 {
        self.hook.ok as f64 / self.total.as_secs_f64().max(1e-9)
    }
}

fn production(app: &mut App, c: usize, sizes: &Sizes, postgres_rate: f64) -> Result<Production> {
    let n = sizes.ack_requests;
    // Warm-up with synced bookings too, so the worker's first batch is not in the numbers.
    let warm = app.take_ids(sizes.ack_warmup);
    app.seed(warm, sizes.ack_warmup);
    app.send(
        WEBHOOK_PATH,
        c,
        Stop::Count(sizes.ack_warmup),
        Ids::From(warm),
    )?
    .check("warm-up webhooks")?;
    app.wait_queue_idle(Duration::from_secs(120))?;
    let first = app.take_ids(n);
    app.seed(first, n);
    app.settle();
    let mut pg = app.db.client();
    let rows_before = app.row_count(&mut pg).max(0) as u64;
    let mut info = app.redis.connection(0)?;
    let redis_before = RedisCounters::read(&mut info)?;
    let processed_before = processed(&mut info);
    app.host.take_batches();
    let before = app.cpu_reading()?;

    let started = Instant::now();
    let hook = app.send(WEBHOOK_PATH, c, Stop::Count(n), Ids::From(first))?;
    hook.check(WEBHOOK_PATH)?;
    let acked = started.elapsed();
    let rows_at_ack = (app.row_count(&mut pg).max(0) as u64).saturating_sub(rows_before);
    // Watched through the worker's `processed` counter (incremented once a batch's rows are
    // committed), a cheap Redis read: counting the table every few milliseconds would itself
    // take a good part of a core. The row count is checked once at the end.
    let timeout = Duration::from_secs(120) + Duration::from_secs_f64(n as f64 / 5.0);
    beds24_testkit::wait_for(&format!("{n} more bookings processed"), timeout, || {
        (processed(&mut info) >= processed_before + n as i64).then_some(())
    });
    let total = started.elapsed();
    let spent = app.cpu_reading()?.since(&before);
    let rows = app.row_count(&mut pg).max(0) as u64;
    ensure!(
        rows >= rows_before + n,
        "the worker reported {n} bookings processed but \"Booking\" grew by {}",
        rows - rows_before.min(rows)
    );
    app.host.check_alive()?;
    app.wait_queue_idle(Duration::from_secs(60))?;
    app.settle();
    Ok(Production {
        hook,
        acked,
        total,
        rows_at_ack,
        spent,
        redis: RedisCounters::read(&mut info)?.since(&redis_before),
        batches: app.host.take_batches(),
        postgres_rate,
    })
}

/// The worker's `processed` counter (jobs completed after their rows were written).
fn processed(conn: &mut redis::Connection) -> i64 {
    redis::cmd("HGET")
        .arg(Keys::default().stats())
        .arg("processed")
        .query::<Option<i64>>(conn)
        .ok()
        .flatten()
        .unwrap_or(0)
}

/// The acknowledgement alone: the worker paused (its claims return nothing).
fn paused(app: &mut App, c: usize, sizes: &Sizes) -> Result<(Outcome, Spent, RedisCounters)> {
    app.pause(true)?;
    app.settle();
    app.send_fresh(WEBHOOK_PATH, c, Stop::Count(sizes.ack_warmup))?
        .check("warm-up webhooks")?;
    app.settle();
    let mut info = app.redis.connection(0)?;
    let redis_before = RedisCounters::read(&mut info)?;
    let before = app.cpu_reading()?;
    let outcome = app.send_fresh(WEBHOOK_PATH, c, Stop::Count(sizes.ack_requests))?;
    outcome.check(WEBHOOK_PATH)?;
    let spent = app.cpu_reading()?.since(&before);
    app.settle();
    let redis = RedisCounters::read(&mut info)?.since(&redis_before);
    // Drop the paused flag and the acknowledged jobs: the next runs start from an empty queue.
    app.flush_redis()?;
    app.settle();
    Ok((outcome, spent, redis))
}

/// What the production runs left in the app's Redis: `used_memory` and queue keys, before and after.
pub struct Snapshots {
    pub used: [u64; 2],
    pub queue_keys: [u64; 2],
    pub bookings: u64,
}

pub fn run(
    app: &mut App,
    sizes: &Sizes,
    postgres_rate: f64,
    rows: &mut Vec<Row>,
    details: &mut Vec<String>,
) -> Result<Snapshots> {
    let p = app.runtime.key_prefix();
    let label = app.runtime.label();
    let n = sizes.ack_requests;
    app.settle();
    let before = (app.redis.used_memory()?, app.queue_keys()?);
    let mut bookings = 0;
    for &c in &sizes.concurrency {
        eprintln!("bench: 1-2 ({label}). no-op, then {n} webhooks with the worker running, c={c}");
        let (noop, noop_cpu) = noop(app, c, sizes)?;
        let run = production(app, c, sizes, postgres_rate)?;
        bookings += n + sizes.ack_warmup;
        let hook = &run.hook;
        let throughput = hook.rps() / noop.rps();
        let p99 = hook.p99_ms() / noop.p99_ms().max(0.001);
        let e2e = run.rows_per_s() / postgres_rate;
        rows.push(Row {
            key: format!("{p}1.ack.c{c}.throughput"),
            what: format!("{label}: webhook acknowledgement throughput, c={c}, worker running"),
            measured: format!("{:.0} req/s", hook.rps()),
            reference: format!("no-op {:.0} req/s", noop.rps()),
            ratio: format!("{throughput:.2}×"),
            target: format!("≥ {MIN_THROUGHPUT_RATIO}× no-op"),
            status: Status::from_check(throughput >= MIN_THROUGHPUT_RATIO),
            why_not: Some(WHY_THROUGHPUT),
        });
        rows.push(Row {
            key: format!("{p}1.ack.c{c}.p99"),
            what: format!("{label}: webhook acknowledgement latency, c={c}, worker running"),
            measured: format!("p50 {:.2} ms, p99 {:.2} ms", hook.p50_ms(), hook.p99_ms()),
            reference: format!(
                "no-op p50 {:.2} ms, p99 {:.2} ms",
                noop.p50_ms(),
                noop.p99_ms()
            ),
            ratio: format!("{p99:.2}× (p99)"),
            target: format!("p99 ≤ {MAX_P99_RATIO}× no-op"),
            status: Status::from_check(p99 <= MAX_P99_RATIO),
            why_not: Some(WHY_P99),
        });
        rows.push(Row {
            key: format!("{p}2.e2e.c{c}"),
            what: format!("{label}: end to end, {n} webhooks at c={c}, first webhook → last row"),
            measured: format!(
                "{:.1} s = {:.0} rows/s",
                run.total.as_secs_f64(),
                run.rows_per_s()
            ),
            reference: format!("Postgres batched upsert (50/statement) {postgres_rate:.0} rows/s"),
            ratio: format!("{e2e:.2}×"),
            target: format!("≥ {MIN_E2E_RATIO}× Postgres"),
            status: Status::from_check(e2e >= MIN_E2E_RATIO),
            why_not: Some(WHY_E2E),
        });
        details.push(format!(
            "{label}, c={c}: no-op {} requests in {:.1} s (max {:.2} ms), {}. Webhooks: {} acknowledged \
             in {:.1} s (max {:.2} ms); {} rows written by then, the other {} in the next {:.1} s; \
             {}; from the first webhook to the last row, {}; {}.",
            noop.ok,
            noop.elapsed.as_secs_f64(),
            noop.latency.max() as f64 / 1000.0,
            noop_cpu.per(noop.ok, "request"),
            hook.ok,
            run.acked.as_secs_f64(),
            hook.latency.max() as f64 / 1000.0,
            run.rows_at_ack,
            n - run.rows_at_ack.min(n),
            (run.total - run.acked).as_secs_f64(),
            batch_phases(&run.batches),
            run.spent.per(n, "booking"),
            run.redis.per(n, "booking"),
        ));
        if Some(&c) == sizes.concurrency.last() {
            cost_rows(app, c, sizes, &noop_cpu, &run, rows, details)?;
        }
    }
    let after = (app.redis.used_memory()?, app.queue_keys()?);
    Ok(Snapshots {
        used: [before.0, after.0],
        queue_keys: [before.1, after.1],
        bookings,
    })
}

/// Where one webhook's and one booking's CPU and Redis commands go (information rows).
fn cost_rows(
    app: &mut App,
    c: usize,
    sizes: &Sizes,
    noop_cpu: &Spent,
    run: &Production,
    rows: &mut Vec<Row>,
    details: &mut Vec<String>,
) -> Result<()> {
    let (p, label, n) = (
        app.runtime.key_prefix(),
        app.runtime.label(),
        sizes.ack_requests,
    );
    eprintln!("bench: 1 ({label}). {n} webhooks with the worker paused, c={c}");
    let (hook, spent, redis) = paused(app, c, sizes)?;
    let per = |ms: f64| ms / n.max(1) as f64;
    rows.push(Row {
        key: format!("{p}1.cost.webhook"),
        what: format!("{label}: cost of one acknowledgement, worker paused, c={c}"),
        measured: format!(
            "HTTP process {:.3} ms CPU, Redis {:.3} ms CPU; {:.2} Redis connections and {:.1} commands \
             ({:.0} req/s)",
            per(spent.http_ms),
            per(spent.redis_ms),
            redis.connections as f64 / n.max(1) as f64,
            redis.total() as f64 / n.max(1) as f64,
            hook.rps()
        ),
        reference: format!("no-op: HTTP process {:.3} ms CPU", per(noop_cpu.http_ms)),
        ratio: format!("{:.2}× (CPU)", spent.http_ms / noop_cpu.http_ms.max(1e-9)),
        target: "– (information)".into(),
        status: Status::Info,
        why_not: None,
    });
    rows.push(Row {
        key: format!("{p}2.cost.booking"),
        what: format!("{label}: cost of one booking end to end, worker running, c={c}"),
        measured: format!(
            "HTTP {:.3} + worker {:.3} + Redis {:.3} ms CPU; {:.1} Redis commands",
            per(run.spent.http_ms),
            per(run.spent.worker_ms),
            per(run.spent.redis_ms),
            run.redis.total() as f64 / n.max(1) as f64
        ),
        reference: "–".into(),
        ratio: "–".into(),
        target: "– (information)".into(),
        status: Status::Info,
        why_not: None,
    });
    rows.extend(crate::budget::rows(
        (p, &label),
        c,
        n,
        noop_cpu,
        run,
        &spent,
    ));
    details.push(format!(
        "{label}, worker paused, c={c}: {} webhooks in {:.1} s, p50 {:.2} ms, p99 {:.2} ms; {}; {}.",
        hook.ok,
        hook.elapsed.as_secs_f64(),
        hook.p50_ms(),
        hook.p99_ms(),
        spent.per(n, "webhook"),
        redis.per(n, "webhook"),
    ));
    Ok(())
}
