//! Benchmark 5: the backfill ("Sync Masivo") through the real worker: Beds24 calls per booking, rows per second, Redis memory.

use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use beds24_sync_core::bulk::{backfill_progress, start_backfill, BackfillRange, BackfillState};
use beds24_sync_core::keys::Keys;
use beds24_testkit::NativeRedis;
use mock_beds24::Endpoint;

use crate::app::App;
use crate::memory::used_memory;
use crate::options::Sizes;
use crate::report::{Row, Status};

/// The bound: 10,000 bookings in at most ~110 calls (pages of 100 plus messages).
const MAX_CALLS_PER_BOOKING: f64 = 0.011;

const WHY_CALLS: &str = "each page of up to 100 bookings costs one `GET /bookings`, and the messages \
one `GET /bookings/messages` per 100 messages; more calls mean smaller pages (the mock's page size) or \
pages fetched twice (a slice that failed after its call and before storing).";

/// Import `sizes.backfill_n` bookings with a backfill started as `POST /api/admin/backfill` would.
pub fn run(
    app: &mut App,
    sizes: &Sizes,
    rows: &mut Vec<Row>,
    details: &mut Vec<String>,
) -> Result<()> {
    let n = sizes.backfill_n;
    eprintln!("bench: 5. backfill of {n} bookings and {} messages", n / 10);
    app.mock.set_latency(Duration::ZERO);
    app.mock.clear_bookings();
    app.truncate_bookings()?;
    let first = app.take_ids(n);
    app.seed(first, n);
    // One message per ten bookings, like `MockBeds24::seed_generated`.
    app.mock.clear_messages();
    for id in (first..first + n).filter(|id| id % 10 == 0) {
        app.mock
            .add_message(mock_beds24::fixtures::generated_message(id, id));
    }
    app.settle();
    app.mock.reset_counters();
    let mut conn = app.redis.connection(0)?;
    let memory_before = used_memory(&mut conn)?;
    let mut redis = NativeRedis(app.redis.connection(0)?);
    let keys = Keys::default();
    let range = BackfillRange::parse(Some("2000-01-01"), None)?;
    let started = Instant::now();
    let now = chrono::Utc::now().timestamp_millis();
    start_backfill(&mut redis, &keys, range, now)?;
    let progress =
        beds24_testkit::wait_for("the backfill to finish", Duration::from_secs(600), || {
            let p = backfill_progress(&mut redis, &keys, 0).ok()?;
            matches!(p.state, BackfillState::Done | BackfillState::Failed).then_some(p)
        });
    let elapsed = started.elapsed();
    ensure!(
        progress.state == BackfillState::Done,
        "the backfill failed: {:?}",
        progress.last_error
    );
    let stored = app.row_count(&mut app.db.client());
    ensure!(stored as u64 == n, "{stored} rows for {n} bookings");
    let memory_after = used_memory(&mut conn)?;
    let calls: usize = [Endpoint::Bookings, Endpoint::Messages, Endpoint::Properties]
        .iter()
        .map(|e| app.mock.calls(*e))
        .sum();
    let per_booking = calls as f64 / n as f64;
    rows.push(Row {
        key: "5.backfill.calls".into(),
        what: format!(
            "Backfill of {n} bookings and {} messages: Beds24 calls per booking",
            n / 10
        ),
        measured: format!(
            "{per_booking:.4} ({calls} calls: {} bookings pages, {} messages pages, {} properties)",
            app.mock.calls(Endpoint::Bookings),
            app.mock.calls(Endpoint::Messages),
            app.mock.calls(Endpoint::Properties)
        ),
        reference: "–".into(),
        ratio: "–".into(),
        target: format!("≤ {MAX_CALLS_PER_BOOKING} (≈110 for 10,000)"),
        status: Status::from_check(per_booking <= MAX_CALLS_PER_BOOKING),
        why_not: Some(WHY_CALLS),
    });
    let rate = n as f64 / elapsed.as_secs_f64();
    rows.push(Row {
        key: "5.backfill.rate".into(),
        what: format!("Backfill of {n} bookings: rows per second, start to done"),
        measured: format!("{rate:.0} rows/s ({:.1} s)", elapsed.as_secs_f64()),
        reference: "–".into(),
        ratio: "–".into(),
        target: "–".into(),
        status: Status::Info,
        why_not: None,
    });
    details.push(format!(
        "5: {} pages, {} rows written, {:.1} credits by `x-request-cost`; Redis `used_memory` {} KiB before, {} KiB after (the backfill keeps one hash, not a key per booking).",
        progress.pages_done,
        progress.rows_written,
        progress.credits_spent,
        memory_before / 1024,
        memory_after / 1024
    ));
    Ok(())
}
