//! Benchmark 1: webhook acknowledgement (req/s, p50/p99) at each concurrency, next to the no-op component.

use anyhow::Result;

use crate::app::App;
use crate::load::{Outcome, Stop};
use crate::options::Sizes;
use crate::report::{Row, Status};

pub const WEBHOOK_PATH: &str = "/api/webhooks/beds24";
const NOOP_PATH: &str = "/noop";
/// Targets: at least half the no-op throughput, at most twice its p99.
const MIN_THROUGHPUT_RATIO: f64 = 0.5;
const MAX_P99_RATIO: f64 = 2.0;

const WHY_THROUGHPUT: &str = "per request the webhook opens a new outbound Redis connection (Spin, like the test host, \
connects on every `open`), makes four Redis round trips (PING, key-value SET of the whole ~3 KiB body, the \
enqueue script, PUBLISH) and parses and re-serialises the body inside a fresh wasm instance, while the no-op \
answers at once; and every PUBLISH wakes one worker invocation in the same process, which competes for the 2 cores.";
const WHY_P99: &str = "the same per-request work as the throughput row; at high concurrency the worker \
invocations woken by each PUBLISH also queue behind the requests on the 2 cores, which widens the tail.";

/// Measure one target at one concurrency, after letting the host go idle and a warm-up.
fn measure(app: &mut App, path: &str, concurrency: usize, sizes: &Sizes) -> Result<Outcome> {
    app.settle();
    app.send_fresh(path, concurrency, Stop::After(sizes.ack_warmup))?
        .check(path)?;
    let outcome = app.send_fresh(path, concurrency, Stop::After(sizes.ack_duration))?;
    outcome.check(path)?;
    Ok(outcome)
}

pub fn run(
    app: &mut App,
    sizes: &Sizes,
    rows: &mut Vec<Row>,
    details: &mut Vec<String>,
) -> Result<()> {
    // Acknowledgement only: the worker still wakes on every PUBLISH but claims nothing.
    app.pause(true)?;
    for &c in &sizes.concurrency {
        eprintln!("bench: 1. acknowledgement at concurrency {c}");
        let noop = measure(app, NOOP_PATH, c, sizes)?;
        let hook = measure(app, WEBHOOK_PATH, c, sizes)?;
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
            "1, c={c}: webhook {} requests in {:.1} s (max {:.2} ms); no-op {} requests in {:.1} s (max {:.2} ms).",
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
