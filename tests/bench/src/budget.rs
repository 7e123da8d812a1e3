//! Information rows: what the speed targets leave in CPU per webhook and per booking, next to what the whole machine spent.

use crate::ack::{Production, MIN_E2E_RATIO, MIN_THROUGHPUT_RATIO};
use crate::cpu::Spent;
use crate::report::{Row, Status};

/// What the targets leave per webhook and per booking in CPU of the whole machine, next to
/// what was measured over `n` requests of each run, and the floor a webhook as cheap as the
/// no-op would leave: rows keyed under prefix `p`, described for runtime `label`.
pub fn rows(
    (p, label): (&str, &str),
    c: usize,
    n: u64,
    noop_cpu: &Spent,
    run: &Production,
    paused: &Spent,
) -> [Row; 2] {
    let n = n.max(1) as f64;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get()) as f64;
    let noop = noop_cpu.machine_ms / n;
    let ack = paused.machine_ms / n;
    let booking = run.spent.machine_ms / n;
    // What taking a booking in costs beyond its acknowledgement: the worker, its Redis
    // and Postgres work, the mock's answers.
    let sync = (booking - ack).max(0.0);
    let allowed = cores * 1000.0 / (MIN_E2E_RATIO * run.postgres_rate);
    let floor = noop + sync;
    [
        Row {
            key: format!("{p}1.budget"),
            what: format!(
                "{label}: machine CPU per acknowledgement (every process), worker paused, c={c}"
            ),
            measured: format!("{ack:.3} ms per webhook"),
            reference: format!("no-op {noop:.3} ms per request"),
            ratio: format!("{:.2}×", ack / noop.max(1e-9)),
            target: format!(
                "– (information: {MIN_THROUGHPUT_RATIO}× the no-op's rate on a CPU-bound box needs ≤ {:.2}×)",
                1.0 / MIN_THROUGHPUT_RATIO
            ),
            status: Status::Info,
            why_not: None,
        },
        Row {
            key: format!("{p}2.budget"),
            what: format!(
                "{label}: machine CPU per booking end to end (every process), worker running, c={c}"
            ),
            measured: format!(
                "{booking:.3} ms = acknowledgement {ack:.3} + sync {sync:.3}; with a webhook as cheap as \
                 the no-op: {floor:.3} ms"
            ),
            reference: format!(
                "the end-to-end target allows {allowed:.3} ms ({cores:.0} cores at {:.0} rows/s)",
                MIN_E2E_RATIO * run.postgres_rate
            ),
            ratio: format!("{:.2}× (floor)", floor / allowed.max(1e-9)),
            target: "– (information: a floor above 1× puts the target out of reach here)".into(),
            status: Status::Info,
            why_not: None,
        },
    ]
}
