//! core's worker run, natively, against real Redis, real Postgres and the mock Beds24: what the worker component does.

use beds24_sync_core::beds24::Endpoint as ApiEndpoint;
use beds24_sync_core::bulk::BulkConfig;
use beds24_sync_core::queue::{Clock, Counter, JobState, Queue};
use beds24_sync_core::worker::RunSummary;
use beds24_sync_core::{db, Action, BookingId};
use beds24_testkit::{Beds24Env, Database, NativePg, TokenKind};
use mock_beds24::{Endpoint, Fault, Times};

fn id(n: u64) -> BookingId {
    BookingId::parse(&n.to_string()).unwrap()
}

/// Enqueue `ids`, run one worker invocation, return what it says.
fn enqueue_and_run(env: &mut Beds24Env, database: &Database, ids: &[u64]) -> RunSummary {
    let mut queue = Queue::with_keys(&mut env.redis, env.keys.clone());
    for &n in ids {
        queue.enqueue(&id(n), Action::Modify, Clock::Redis).unwrap();
    }
    env.run_worker(database, BulkConfig::default(), 20_000)
}

#[test]
fn a_run_writes_rows_marks_missing_bookings_and_settles_every_job() {
    let mut env = Beds24Env::start("worker-run", TokenKind::LongLife);
    env.mock.booking_from_fixture(1001u64, |_| {});
    env.mock
        .booking_from_fixture(1002u64, |b| b["status"] = "cancelled".into());
    let database = Database::create("workerrun");
    let summary = enqueue_and_run(&mut env, &database, &[1001, 1002, 1003]);
    assert_eq!((summary.batches, summary.jobs), (1, 3));
    assert!(!summary.handed_on);

    // One request for the three bookings (and one for their messages).
    assert_eq!(env.mock.calls(Endpoint::Bookings), 1);
    let mut pg = NativePg::new(database.client());
    let row = db::booking_json(&mut pg, &id(1002))
        .unwrap()
        .expect("a row");
    assert_eq!(row["status"], "cancelled");
    assert_eq!(row["BDStatus"], "synced");
    assert!(db::booking_json(&mut pg, &id(1001)).unwrap().is_some());
    // Beds24 does not know 1003: no row is invented, the job ends for good.
    assert_eq!(db::booking_json(&mut pg, &id(1003)).unwrap(), None);

    let mut queue = Queue::with_keys(&mut env.redis, env.keys.clone());
    let stats = queue.stats(Clock::Redis).unwrap();
    assert_eq!(
        (stats.waiting, stats.active, stats.delayed, stats.dead),
        (0, 0, 0, 0)
    );
    assert_eq!(stats.total(Counter::Processed), 2);
    assert_eq!(stats.total(Counter::Failed), 1);
    assert_eq!(stats.total(Counter::ApiCall(ApiEndpoint::Bookings)), 1);
    let failures = queue.history(true, 10).unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["bookingId"], "1003");
    // Every job ended, and its hash (with the webhook's record) went with it.
    for n in [1001, 1002, 1003] {
        assert!(queue.job(&id(n)).unwrap().is_none(), "{n}");
    }
}

#[test]
fn a_booking_beds24_fails_on_is_retried_alone_and_the_others_are_written() {
    let mut env = Beds24Env::start("worker-isolate", TokenKind::LongLife);
    for n in [2001u64, 2002, 2003, 2004] {
        env.mock.booking_from_fixture(n, |_| {});
    }
    env.mock
        .set_fault(Some(2003), Fault::Status(500), Times::Always);
    let database = Database::create("workerisolate");
    let summary = enqueue_and_run(&mut env, &database, &[2001, 2002, 2003, 2004]);
    assert_eq!(summary.jobs, 4);

    let mut pg = NativePg::new(database.client());
    for n in [2001, 2002, 2004] {
        assert!(db::booking_json(&mut pg, &id(n)).unwrap().is_some(), "{n}");
    }
    assert_eq!(db::booking_json(&mut pg, &id(2003)).unwrap(), None);
    let mut queue = Queue::with_keys(&mut env.redis, env.keys.clone());
    let job = queue
        .job(&id(2003))
        .unwrap()
        .expect("the failing job stays");
    assert_eq!((job.state, job.attempts), (JobState::Delayed, 1));
    assert!(job
        .last_error
        .unwrap_or_default()
        .contains("Beds24 temporarily failed"));
    for n in [2001, 2002, 2004] {
        assert!(queue.job(&id(n)).unwrap().is_none(), "{n}");
    }
}

#[test]
fn a_rejected_token_holds_the_queue_without_using_tries() {
    let mut env = Beds24Env::start("worker-token", TokenKind::LongLife);
    env.mock.booking_from_fixture(3001u64, |_| {});
    env.config.long_life_token = "not-the-token".into();
    let database = Database::create("workertoken");
    let summary = enqueue_and_run(&mut env, &database, &[3001]);
    assert_eq!(summary.jobs, 1);
    let mut queue = Queue::with_keys(&mut env.redis, env.keys.clone());
    let job = queue.job(&id(3001)).unwrap().expect("kept");
    assert_eq!((job.state, job.attempts), (JobState::Delayed, 0));
    let stats = queue.stats(Clock::Redis).unwrap();
    let held = stats.held.expect("the queue is held");
    assert!(held.reason.contains("account unusable"), "{held:?}");
    let rejected = beds24_sync_core::account::token_rejected(&mut env.redis, &env.keys).unwrap();
    assert!(rejected.is_some(), "readiness must say why");
}
