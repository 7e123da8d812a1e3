//! Reconciliation and backfill through core's worker run, natively: real Redis, real Postgres, the mock Beds24.

use std::time::Duration;

use beds24_sync_core::bulk::{
    backfill_progress, pause_backfill, reconcile_status, request_reconcile, resume_backfill,
    start_backfill, BackfillRange, BackfillState, BulkConfig,
};
use beds24_sync_core::queue::{Clock, Counter, Queue};
use beds24_sync_core::worker::RunSummary;
use beds24_sync_core::{db, Action, BookingId};
use beds24_testkit::{Beds24Env, Database, NativePg, TokenKind};
use mock_beds24::{CreditsConfig, Endpoint};

fn id(n: u64) -> BookingId {
    BookingId::parse(&n.to_string()).unwrap()
}

/// One worker invocation, as a wake-up would start it.
fn invoke(env: &mut Beds24Env, database: &Database, bulk: &BulkConfig) -> RunSummary {
    invoke_for(env, database, bulk, 20_000)
}

/// One worker invocation that stops after `budget_ms` (0: after its first slice).
fn invoke_for(
    env: &mut Beds24Env,
    database: &Database,
    bulk: &BulkConfig,
    budget_ms: i64,
) -> RunSummary {
    env.run_worker(database, bulk.clone(), budget_ms)
}

fn row_count(database: &Database) -> i64 {
    database
        .client()
        .query_one("SELECT count(*) FROM \"Booking\"", &[])
        .map(|row| row.get(0))
        .unwrap_or(0)
}

#[test]
fn a_reconciliation_brings_changes_no_webhook_announced() {
    let mut env = Beds24Env::start("bulk-reconcile", TokenKind::LongLife);
    env.mock.booking_from_fixture(5001u64, |_| {});
    env.mock.booking_from_fixture(5002u64, |_| {});
    env.mock.booking_from_fixture(5003u64, |_| {});
    let database = Database::create("bulkreconcile");
    let bulk = BulkConfig::default();
    // The first sight only schedules the first run, one interval ahead: no call.
    invoke(&mut env, &database, &bulk);
    assert_eq!(env.mock.calls(Endpoint::Bookings), 0);
    let status = reconcile_status(&mut env.redis, &env.keys).unwrap();
    assert!(status.next_at.is_some() && status.cursor.is_none());

    // Staff edit one booking and cancel another in Beds24; no webhook comes.
    env.mock
        .update_booking(5001u64, |b| b["phone"] = "+34 600 000 001".into());
    env.mock
        .update_booking(5002u64, |b| b["status"] = "cancelled".into());
    request_reconcile(&mut env.redis, &env.keys).unwrap();
    let summary = invoke(&mut env, &database, &bulk);
    assert_eq!(summary.bulk_slices, 1);
    let mut pg = NativePg::new(database.client());
    let edited = db::booking_json(&mut pg, &id(5001)).unwrap().expect("row");
    assert_eq!(edited["phone"], "+34 600 000 001");
    let cancelled = db::booking_json(&mut pg, &id(5002)).unwrap().expect("row");
    assert_eq!(cancelled["status"], "cancelled");
    // One listing page and one messages call, not a fetch per booking.
    assert_eq!(env.mock.calls(Endpoint::Bookings), 1);
    let status = reconcile_status(&mut env.redis, &env.keys).unwrap();
    assert!(status.cursor.is_some(), "{status:?}");
    assert_eq!(status.running_since, None);
    assert!(status.last_bookings.unwrap_or(0) >= 2, "{status:?}");
    // Not due again until the interval has passed.
    invoke(&mut env, &database, &bulk);
    assert_eq!(env.mock.calls(Endpoint::Bookings), 1);
}

#[test]
fn a_backfill_imports_every_page_once_and_survives_being_stopped() {
    let mut env = Beds24Env::start("bulk-backfill", TokenKind::LongLife);
    env.mock.seed_generated(250);
    let database = Database::create("bulkbackfill");
    let bulk = BulkConfig {
        pages_per_slice: 1,
        ..BulkConfig::default()
    };
    let range = BackfillRange::parse(Some("2000-01-01"), None).unwrap();
    start_backfill(&mut env.redis, &env.keys, range, 0).unwrap();
    // One page, then the worker "dies" (the invocation ends with the run unfinished).
    let first = invoke_for(&mut env, &database, &bulk, 0);
    assert_eq!((first.bulk_slices, first.handed_on), (1, true));
    let progress = backfill_progress(&mut env.redis, &env.keys, 0).unwrap();
    assert_eq!(progress.pages_done, 1, "{progress:?}");
    assert_eq!(row_count(&database), 100);
    // Paused: a worker takes no page.
    pause_backfill(&mut env.redis, &env.keys, 0).unwrap();
    let calls = env.mock.calls(Endpoint::Bookings);
    invoke(&mut env, &database, &bulk);
    assert_eq!(env.mock.calls(Endpoint::Bookings), calls);
    resume_backfill(&mut env.redis, &env.keys, 0).unwrap();
    for _ in 0..10 {
        invoke(&mut env, &database, &bulk);
        if backfill_progress(&mut env.redis, &env.keys, 0)
            .unwrap()
            .state
            == BackfillState::Done
        {
            break;
        }
    }
    let progress = backfill_progress(&mut env.redis, &env.keys, 0).unwrap();
    assert_eq!(progress.state, BackfillState::Done, "{progress:?}");
    assert_eq!((progress.pages_done, progress.bookings_done), (3, 250));
    assert_eq!(progress.rows_written, 250);
    assert_eq!(row_count(&database), 250);
    // Pages of 100: three listing calls; the 25 messages come in one page of their own.
    assert_eq!(env.mock.calls(Endpoint::Bookings), 3);
    assert_eq!(env.mock.calls(Endpoint::Messages), 1);
    assert_eq!(progress.message_pages_done, 1);
    let mut pg = NativePg::new(database.client());
    let with_message = db::booking_json(&mut pg, &id(10)).unwrap().expect("row");
    assert_eq!(
        with_message["messages"][0]["bookingId"], 10,
        "{with_message}"
    );
    let without = db::booking_json(&mut pg, &id(11)).unwrap().expect("row");
    assert_eq!(without["messages"], serde_json::json!([]));
    assert!(progress.credits_spent > 0.0, "{progress:?}");
    // Idempotent: the same import again writes nothing new.
    start_backfill(&mut env.redis, &env.keys, range, 0).unwrap();
    for _ in 0..10 {
        invoke(&mut env, &database, &bulk);
    }
    let again = backfill_progress(&mut env.redis, &env.keys, 0).unwrap();
    assert_eq!((again.state, again.rows_written), (BackfillState::Done, 0));
}

#[test]
fn a_spent_credit_budget_makes_the_backfill_wait_and_it_goes_on_by_itself() {
    let mut env = Beds24Env::start("bulk-credits", TokenKind::LongLife);
    env.mock.seed_generated(150);
    env.mock.set_credits(CreditsConfig {
        budget: 12.0,
        window: Duration::from_secs(2),
        base_cost: 1.0,
        per_result_cost: 0.05,
    });
    env.config.credit_reserve = 5.0;
    let database = Database::create("bulkcredits");
    let bulk = BulkConfig::default();
    let range = BackfillRange::parse(Some("2000-01-01"), None).unwrap();
    start_backfill(&mut env.redis, &env.keys, range, 0).unwrap();
    invoke(&mut env, &database, &bulk);
    let progress = backfill_progress(&mut env.redis, &env.keys, 0).unwrap();
    assert_eq!(
        progress.state,
        BackfillState::WaitingForCredits,
        "{progress:?}"
    );
    // After the window resets, the next wake-up carries on to the end.
    std::thread::sleep(Duration::from_millis(2_200));
    for _ in 0..10 {
        invoke(&mut env, &database, &bulk);
        let p = backfill_progress(&mut env.redis, &env.keys, 0).unwrap();
        if p.state == BackfillState::Done {
            break;
        }
        std::thread::sleep(Duration::from_millis(2_100));
    }
    let progress = backfill_progress(&mut env.redis, &env.keys, 0).unwrap();
    assert_eq!(progress.state, BackfillState::Done, "{progress:?}");
    assert_eq!(row_count(&database), 150);
}

#[test]
fn a_queued_booking_a_reconciliation_page_just_stored_is_not_fetched_again() {
    let mut env = Beds24Env::start("bulk-redundant", TokenKind::LongLife);
    env.mock.booking_from_fixture(6001u64, |_| {});
    env.mock.booking_from_fixture(6002u64, |_| {});
    let database = Database::create("bulkredundant");
    let bulk = BulkConfig::default();
    invoke(&mut env, &database, &bulk); // schedules the first reconciliation
                                        // A webhook job for 6001 waits (claims are paused); then the reconciliation runs.
    let mut queue = Queue::with_keys(&mut env.redis, env.keys.clone());
    queue
        .enqueue(&id(6001), Action::Modify, Clock::Redis)
        .unwrap();
    queue.set_paused(true).unwrap();
    env.mock
        .update_booking(6001u64, |b| b["phone"] = "+34 600 000 061".into());
    request_reconcile(&mut env.redis, &env.keys).unwrap();
    invoke_for(&mut env, &database, &bulk, 20_000);
    let mut pg = NativePg::new(database.client());
    let row = db::booking_json(&mut pg, &id(6001)).unwrap().expect("row");
    assert_eq!(row["phone"], "+34 600 000 061");
    // The job would only fetch what the page just stored: it is done, its hash gone.
    let mut queue = Queue::with_keys(&mut env.redis, env.keys.clone());
    assert!(queue.job(&id(6001)).unwrap().is_none());
    let stats = queue.stats(Clock::Redis).unwrap();
    assert_eq!((stats.waiting, stats.total(Counter::Satisfied)), (0, 1));
    queue.set_paused(false).unwrap();
    let listings = env.mock.calls(Endpoint::Bookings);
    invoke(&mut env, &database, &bulk);
    assert_eq!(
        env.mock.calls(Endpoint::Bookings),
        listings,
        "no fetch by id"
    );
}
