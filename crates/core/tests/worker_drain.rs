//! core's HTTP-driven worker run (a drain), natively, against real Redis, Postgres and the mock Beds24: places and leaving.

use beds24_sync_core::job::{JobRecord, Source};
use beds24_sync_core::queue::{Clock, DrainPlace, Enqueued, Leave, Queue};
use beds24_sync_core::worker::drain::{DrainConfig, DrainReport};
use beds24_sync_core::{Action, BookingId};
use beds24_testkit::{Beds24Env, Database, TokenKind};
use mock_beds24::Endpoint;

const ONE_PLACE: DrainConfig = DrainConfig {
    budget_ms: 10_000,
    slots: 1,
};

fn id(n: u64) -> BookingId {
    BookingId::parse(&n.to_string()).unwrap()
}

fn webhook(n: u64) -> JobRecord {
    JobRecord {
        booking_id: id(n),
        action: Action::Modify,
        received_at: chrono::Utc::now(),
        source: Source::V2,
        body_bytes: 321,
    }
}

fn drains_running(env: &mut Beds24Env) -> i64 {
    let key = env.keys.drains();
    let reply = beds24_sync_core::store::RedisExec::execute(&mut env.redis, "ZCARD", &[key.into()]);
    reply.unwrap()[0].as_i64().unwrap()
}

#[test]
fn the_webhook_record_rides_in_the_job_hash_and_only_the_first_enqueue_wakes() {
    let mut env = Beds24Env::start("drain-record", TokenKind::LongLife);
    let mut queue = Queue::with_keys(&mut env.redis, env.keys.clone());
    let first = queue.enqueue_job(&webhook(7001), Clock::Redis).unwrap();
    assert_eq!((first.verdict, first.woke), (Enqueued::Queued, true));
    // The wake-up is pending until a claim: the next webhooks need no drain of their own.
    let second = queue.enqueue_job(&webhook(7002), Clock::Redis).unwrap();
    let again = queue.enqueue_job(&webhook(7001), Clock::Redis).unwrap();
    assert_eq!((second.verdict, second.woke), (Enqueued::Queued, false));
    assert_eq!((again.verdict, again.woke), (Enqueued::Coalesced, false));
    let job = queue.job(&id(7001)).unwrap().expect("stored");
    assert_eq!(job.source.as_deref(), Some("v2"));
    assert_eq!(job.body_bytes, Some(321));
    assert!(
        job.received_at.is_some_and(|t| t > 1_700_000_000_000),
        "{job:?}"
    );
    assert_eq!(job.webhooks, 2);
}

#[test]
fn a_drain_syncs_due_work_and_gives_its_place_back() {
    let mut env = Beds24Env::start("drain-run", TokenKind::LongLife);
    for n in [7101u64, 7102] {
        env.mock.booking_from_fixture(n, |_| {});
    }
    let database = Database::create("drainrun");
    let mut queue = Queue::with_keys(&mut env.redis, env.keys.clone());
    for n in [7101, 7102] {
        queue.enqueue_job(&webhook(n), Clock::Redis).unwrap();
    }
    let DrainReport::Ran(summary) = env.run_drain(&database, ONE_PLACE) else {
        panic!("the only drain found its place taken");
    };
    assert_eq!((summary.jobs, summary.handed_on), (2, false));
    assert_eq!(env.mock.calls(Endpoint::Bookings), 1);
    assert_eq!(drains_running(&mut env), 0, "its place is free again");
    let mut queue = Queue::with_keys(&mut env.redis, env.keys.clone());
    assert!(queue.job(&id(7101)).unwrap().is_none());
}

#[test]
fn a_kick_that_finds_every_place_taken_is_not_lost() {
    let mut env = Beds24Env::start("drain-busy", TokenKind::LongLife);
    env.mock.booking_from_fixture(7201u64, |_| {});
    let database = Database::create("drainbusy");
    let mut queue = Queue::with_keys(&mut env.redis, env.keys.clone());
    // A running drain holds the one place and has just found nothing to claim.
    let DrainPlace::Taken(running) = queue.enter_drain(Clock::Redis, 60_000, 1).unwrap() else {
        panic!("the place was free");
    };
    // A webhook comes; its kick finds the place taken and does nothing.
    queue.enqueue_job(&webhook(7201), Clock::Redis).unwrap();
    assert_eq!(
        env.run_drain(&database, ONE_PLACE),
        DrainReport::Busy { running: 1 }
    );
    // The running drain may not leave: the job is due, so it claims again.
    let mut queue = Queue::with_keys(&mut env.redis, env.keys.clone());
    assert_eq!(
        queue.leave_drain(Clock::Redis, running, false, 0).unwrap(),
        Leave::More
    );
    // Out of time it leaves anyway, and the next drain takes the job.
    assert_eq!(
        queue.leave_drain(Clock::Redis, running, true, 0).unwrap(),
        Leave::Left
    );
    let DrainReport::Ran(summary) = env.run_drain(&database, ONE_PLACE) else {
        panic!("the place was given back");
    };
    assert_eq!(summary.jobs, 1);
}

#[test]
fn a_place_whose_drain_died_frees_itself_when_its_lease_ends() {
    let mut env = Beds24Env::start("drain-lease", TokenKind::LongLife);
    let mut queue = Queue::with_keys(&mut env.redis, env.keys.clone());
    assert!(matches!(
        queue.enter_drain(Clock::Redis, 100, 1).unwrap(),
        DrainPlace::Taken(_)
    ));
    assert_eq!(
        queue.enter_drain(Clock::Redis, 100, 1).unwrap(),
        DrainPlace::Full(1)
    );
    std::thread::sleep(std::time::Duration::from_millis(150));
    assert!(matches!(
        queue.enter_drain(Clock::Redis, 100, 1).unwrap(),
        DrainPlace::Taken(_)
    ));
    // Two places: a second drain runs beside the first.
    assert!(matches!(
        queue.enter_drain(Clock::Redis, 100, 2).unwrap(),
        DrainPlace::Taken(_)
    ));
}

#[test]
fn a_drain_waits_for_a_retry_due_within_its_time_and_not_for_a_later_one() {
    let mut env = Beds24Env::start("drain-wait", TokenKind::LongLife);
    let mut queue = Queue::with_keys(&mut env.redis, env.keys.clone());
    let DrainPlace::Taken(owner) = queue.enter_drain(Clock::Redis, 60_000, 1).unwrap() else {
        panic!("the place was free");
    };
    // A job due in 5 s, as a first retry would be (pinned clock: now = 1000).
    queue.enqueue(&id(7301), Action::Modify, 6_000).unwrap();
    assert_eq!(
        queue.leave_drain(1_000, owner, false, 10_000).unwrap(),
        Leave::Wait(5_000)
    );
    assert_eq!(
        queue.leave_drain(1_000, owner, false, 4_000).unwrap(),
        Leave::Left
    );
}
