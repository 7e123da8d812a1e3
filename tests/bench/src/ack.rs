//! Benchmark 1: webhook acknowledgement (req/s, p50/p99) at each concurrency, next to the no-op component.

use anyhow::Result;

use crate::app::App;
use crate::counters::RedisCounters;
use crate::load::{Outcome, Stop};
use crate::options::Sizes;
use crate::report::{Row, Status};

pub const WEBHOOK_PATH: &str = "/api/webhooks/beds24";
const NOOP_PATH: &str = "/noop";
/// Targets: at least half the no-op throughput, at most twice its p99.
const MIN_THROUGHPUT_RATIO: f64 = 0.5;
const MAX_P99_RATIO: f64 = 2.0;

const WHY_THROUGHPUT: &str = "each acknowledgement runs in a fresh wasm instance, opens a new outbound \
Redis connection (Spin connects on every `open`) and runs the enqueue script (job, record and wake-up, \
the wake-up deduplicated until a worker claims) in one round trip. The no-op does none of this; the worker \
invocations the wake-ups start share the same 2 cores (details below).";
const WHY_P99: &str = "the webhook's latency is a new connection plus a Redis round trip, \
against a no-op that answers at once; worker invocations on the same 2 cores widen the tail under load. \
(Runs before commit 0af4893 showed ~40 ms outliers at c=1: Spin's HTTP server, like this host, sets no \
TCP_NODELAY and sent the response head before the SDK had written the body, which then waited for the \
client's delayed ACK. The components now write the body before handing the response over, \
`crates/spin-glue/src/send.rs`.)";

/// Measure one target at one concurrency, after letting the host go idle and a warm-up.
/// Also returns what all its requests (warm-up included) cost in Redis, once the host is idle again.
fn measure(
    app: &mut App,
    path: &str,
    concurrency: usize,
    sizes: &Sizes,
) -> Result<(Outcome, String)> {
    app.settle();
    let mut info = app.redis.connection(0)?;
    let before = RedisCounters::read(&mut info)?;
    let warmup = app.send_fresh(path, concurrency, Stop::After(sizes.ack_warmup))?;
    warmup.check(path)?;
    let outcome = app.send_fresh(path, concurrency, Stop::After(sizes.ack_duration))?;
    outcome.check(path)?;
    app.settle();
    let cost = RedisCounters::read(&mut info)?.since(&before);
    let cost = cost.per(warmup.sent + outcome.sent, "request");
    Ok((outcome, cost))
}

pub fn run(
    app: &mut App,
    sizes: &Sizes,
    rows: &mut Vec<Row>,
    details: &mut Vec<String>,
) -> Result<()> {
    // Acknowledgement only: the paused worker still wakes (deduplicated) but claims nothing.
    app.pause(true)?;
    for &c in &sizes.concurrency {
        eprintln!("bench: 1. acknowledgement at concurrency {c}");
        let (noop, _) = measure(app, NOOP_PATH, c, sizes)?;
        let (hook, hook_cost) = measure(app, WEBHOOK_PATH, c, sizes)?;
        let throughput = hook.rps() / noop.rps();
        let p99 = hook.p99_ms() / noop.p99_ms().max(0.001);
        rows.push(Row {
            key: format!("1.ack.c{c}.throughput"),
            what: format!("Webhook acknowledgement throughput, c={c}"),
            measured: format!("{:.0} req/s", hook.rps()),
            reference: format!("no-op {:.0} req/s", noop.rps()),
            ratio: format!("{throughput:.2}×"),
            target: format!("≥ {MIN_THROUGHPUT_RATIO}× no-op"),
            status: Status::from_check(throughput >= MIN_THROUGHPUT_RATIO),
            why_not: Some(WHY_THROUGHPUT),
        });
        rows.push(Row {
            key: format!("1.ack.c{c}.p99"),
            what: format!("Webhook acknowledgement latency, c={c}"),
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
        details.push(format!(
            "1, c={c}: webhook {} requests in {:.1} s (max {:.2} ms); no-op {} requests in {:.1} s \
             (max {:.2} ms); webhook, the worker invocations it wakes included, {hook_cost}.",
            hook.ok,
            hook.elapsed.as_secs_f64(),
            hook.latency.max() as f64 / 1000.0,
            noop.ok,
            noop.elapsed.as_secs_f64(),
            noop.latency.max() as f64 / 1000.0
        ));
    }
    // Drop the paused flag and the acknowledged jobs: the next benchmarks start from an empty queue.
    app.flush_redis()?;
    app.settle();
    Ok(())
}
