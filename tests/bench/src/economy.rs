//! Benchmark 3: Beds24 calls per synced booking, for a burst on one booking and for many bookings at once.

use std::time::Duration;

use anyhow::{ensure, Result};
use mock_beds24::Endpoint;

use crate::ack::WEBHOOK_PATH;
use crate::app::App;
use crate::load::{Ids, Stop};
use crate::options::Sizes;
use crate::report::{Row, Status};
use crate::sync::e2e;

const BURST: u64 = 20;
const MAX_BURST_FETCHES: usize = 2;
const MAX_CALLS_PER_BOOKING: f64 = 0.1;

const WHY_BURST: &str = "a webhook arriving while its booking is being synced marks it for one more run; \
more than two fetches means the burst outlasted two syncs, i.e. jobs were claimed before the burst ended.";
const WHY_DISTINCT: &str = "more calls per booking mean smaller batches: there is no batching window, \
the worker claims whatever is due the moment a wake-up reaches it, and each batch costs a bookings call and \
a messages call. When the worker keeps up with the arriving webhooks (a faster machine, or webhooks \
trickling in) each claim finds only a few jobs.";

fn calls(app: &App) -> usize {
    [
        Endpoint::Bookings,
        Endpoint::Messages,
        Endpoint::Properties,
        Endpoint::Token,
    ]
    .iter()
    .map(|e| app.mock.calls(*e))
    .sum()
}

/// (a) 20 webhooks for one booking, all in flight together.
fn burst(app: &mut App, rows: &mut Vec<Row>, details: &mut Vec<String>) -> Result<()> {
    eprintln!("bench: 3a. burst of {BURST} webhooks on one booking");
    app.mock.set_latency(Duration::ZERO);
    let id = app.take_ids(1);
    app.seed(id, 1);
    app.wait_queue_idle(Duration::from_secs(60))?;
    app.settle();
    app.mock.reset_counters();
    app.send(
        WEBHOOK_PATH,
        BURST as usize,
        Stop::Count(BURST),
        Ids::Same(id),
    )?
    .check("burst webhooks")?;
    app.wait_queue_idle(Duration::from_secs(60))?;
    let mut pg = app.db.client();
    let synced = pg.query(
        "SELECT 1 FROM \"Booking\" WHERE \"bookingId\" = $1",
        &[&id.to_string()],
    )?;
    ensure!(
        !synced.is_empty(),
        "the burst's booking {id} was not synced"
    );
    let fetches = app.mock.fetches_of(Endpoint::Bookings, id);
    rows.push(Row {
        key: "3a.burst".into(),
        what: format!("Beds24 economy: burst of {BURST} webhooks on one booking"),
        measured: format!(
            "{fetches} `GET /bookings` naming it ({} Beds24 calls in all)",
            calls(app)
        ),
        reference: "–".into(),
        ratio: "–".into(),
        target: format!("≤ {MAX_BURST_FETCHES} fetches"),
        status: Status::from_check(fetches <= MAX_BURST_FETCHES),
        why_not: Some(WHY_BURST),
    });
    details.push(format!(
        "3a: messages calls naming it: {}.",
        app.mock.fetches_of(Endpoint::Messages, id)
    ));
    Ok(())
}

/// (b) `n` distinct bookings arriving together (webhooks at concurrency 32).
fn distinct(app: &mut App, n: u64, latency_ms: u64, rows: &mut Vec<Row>) -> Result<()> {
    eprintln!("bench: 3b. {n} distinct bookings together, mock at {latency_ms} ms");
    let run = e2e(app, n, Duration::from_millis(latency_ms))?;
    app.mock.set_latency(Duration::ZERO);
    let per_booking = run.calls as f64 / n as f64;
    rows.push(Row {
        key: format!("3b.distinct.{latency_ms}ms"),
        what: format!("Beds24 economy: {n} distinct bookings together, mock {latency_ms} ms"),
        measured: format!("{} calls = {per_booking:.3} per booking", run.calls),
        reference: "–".into(),
        ratio: "–".into(),
        target: format!("≤ {MAX_CALLS_PER_BOOKING} per booking"),
        status: Status::from_check(per_booking <= MAX_CALLS_PER_BOOKING),
        why_not: Some(WHY_DISTINCT),
    });
    Ok(())
}

pub fn run(
    app: &mut App,
    sizes: &Sizes,
    rows: &mut Vec<Row>,
    details: &mut Vec<String>,
) -> Result<()> {
    burst(app, rows, details)?;
    distinct(app, sizes.economy_n, 0, rows)?;
    distinct(app, sizes.economy_n, 200, rows)?;
    Ok(())
}
