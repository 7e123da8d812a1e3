//! The worker loop overlaps batches: the next batch's Beds24 requests go out before the current batch is stored (real Redis, Postgres, mock Beds24).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use beds24_sync_core::beds24::http::{Answer, HttpError, HttpGet, Request};
use beds24_sync_core::bulk::BulkConfig;
use beds24_sync_core::queue::{ClaimOptions, Clock, Counter, JobState, Queue, RetrySchedule};
use beds24_sync_core::store::{SqlExec, SqlParam, SqlValue, StoreError};
use beds24_sync_core::worker::{run, PgSession, Platform, RunSummary, WorkerConfig};
use beds24_sync_core::{db, Action, BookingId};
use beds24_testkit::{block_on, Beds24Env, Database, NativeHttp, NativePending, NativePg};
use beds24_testkit::{NativeRedis, TokenKind};

/// What the worker did, in the order it did it.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    /// A `GET /bookings?id=…` went out for these ids.
    Sent(Vec<String>),
    /// The upsert into `"Booking"` began for these ids.
    Upserted(Vec<String>),
}

type Log = Rc<RefCell<Vec<Event>>>;

fn stored_yet(log: &Log) -> bool {
    log.borrow().iter().any(|e| matches!(e, Event::Upserted(_)))
}

/// The native HTTP door, noting every bookings request it sends.
struct RecordingHttp {
    inner: NativeHttp,
    log: Log,
    /// Runs once, when the first answer after the first upsert is read.
    after_first_store: Option<Box<dyn FnOnce()>>,
}

impl HttpGet for RecordingHttp {
    type Pending = NativePending;

    fn start(&mut self, request: &Request, timeout: Duration) -> Result<NativePending, HttpError> {
        let ids: Vec<String> = request
            .url
            .query_pairs()
            .filter(|(k, _)| k == "id")
            .map(|(_, v)| v.into_owned())
            .collect();
        if request.url.path().ends_with("/bookings") && !ids.is_empty() {
            self.log.borrow_mut().push(Event::Sent(ids));
        }
        self.inner.start(request, timeout)
    }

    fn finish(&mut self, pending: NativePending) -> Result<Answer, HttpError> {
        if stored_yet(&self.log) {
            if let Some(hook) = self.after_first_store.take() {
                hook();
            }
        }
        self.inner.finish(pending)
    }
}

/// Native Postgres, noting every upsert; the first one is slow by `first_store_delay`.
struct RecordingPg {
    inner: NativePg,
    log: Log,
    first_store_delay: Duration,
}

impl SqlExec for RecordingPg {
    fn execute(&mut self, sql: &str, params: &[SqlParam]) -> Result<u64, StoreError> {
        self.inner.execute(sql, params)
    }

    fn query(&mut self, sql: &str, params: &[SqlParam]) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        if let (true, [SqlParam::Json(rows)]) = (sql.contains("INSERT INTO \"Booking\""), params) {
            if !stored_yet(&self.log) {
                std::thread::sleep(self.first_store_delay);
            }
            let ids = rows
                .as_array()
                .into_iter()
                .flatten()
                .map(|row| row["bookingId"].to_string().trim_matches('"').to_owned())
                .collect();
            self.log.borrow_mut().push(Event::Upserted(ids));
        }
        self.inner.query(sql, params)
    }
}

fn id(n: u64) -> BookingId {
    BookingId::parse(&n.to_string()).unwrap()
}

/// A world with bookings `ids` known to the mock Beds24 and queued.
fn world(tag: &str, ids: std::ops::RangeInclusive<u64>) -> (Beds24Env, Database) {
    let mut env = Beds24Env::start(tag, TokenKind::LongLife);
    let mut queue = Queue::with_keys(&mut env.redis, env.keys.clone());
    for n in ids {
        queue.enqueue(&id(n), Action::Modify, Clock::Redis).unwrap();
        env.mock.booking_from_fixture(n, |_| {});
    }
    (env, Database::create(&tag.replace('-', "")))
}

/// What one worker run does with batches of 10 on `env`, and what it did, in order.
struct Setup {
    lease_ms: i64,
    budget_ms: i64,
    first_store_delay: Duration,
    after_first_store: Option<Box<dyn FnOnce()>>,
}

impl Setup {
    fn new(budget_ms: i64) -> Self {
        Setup {
            lease_ms: 30_000,
            budget_ms,
            first_store_delay: Duration::ZERO,
            after_first_store: None,
        }
    }

    fn run(self, env: &mut Beds24Env, database: &Database) -> (RunSummary, Vec<Event>) {
        let config = WorkerConfig {
            client: env.config.clone(),
            lease_ms: self.lease_ms,
            batch: 10,
            schedule: RetrySchedule::default(),
            bulk: BulkConfig::default(),
        };
        let log = Log::default();
        let mut http = RecordingHttp {
            inner: NativeHttp::new(),
            log: log.clone(),
            after_first_store: self.after_first_store,
        };
        let pg_log = log.clone();
        let delay = self.first_store_delay;
        let connect = move || {
            Ok::<_, StoreError>(RecordingPg {
                inner: NativePg::new(database.client()),
                log: pg_log.clone(),
                first_store_delay: delay,
            })
        };
        let platform = Platform {
            redis: &mut env.redis,
            http: &mut http,
            pg: PgSession::new(connect),
        };
        let summary = block_on(run(&config, &env.keys, platform, self.budget_ms))
            .expect("the queue is readable");
        let events = log.borrow().clone();
        (summary, events)
    }
}

/// The ids of the `Sent` and the `Upserted` events, each in order.
fn sent_and_upserted(events: &[Event]) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let (mut sent, mut upserted) = (Vec::new(), Vec::new());
    for event in events {
        match event {
            Event::Sent(ids) => sent.push(ids.clone()),
            Event::Upserted(ids) => upserted.push(sorted(ids)),
        }
    }
    (sent, upserted)
}

fn sorted(ids: &[String]) -> Vec<String> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids
}

#[test]
fn the_next_batch_is_requested_before_the_current_one_is_stored() {
    let (mut env, database) = world("overlap-order", 9001..=9025);
    let (summary, events) = Setup::new(20_000).run(&mut env, &database);
    assert_eq!((summary.batches, summary.jobs), (3, 25));
    assert!(!summary.handed_on);

    // Batches of 10, 10 and 5: each full batch's successor went out before it was
    // stored; the last one, not full, asked for nothing more.
    let (sent, upserted) = sent_and_upserted(&events);
    assert_eq!(sent.len(), 3, "{events:?}");
    let shape: Vec<&str> = events
        .iter()
        .map(|e| match e {
            Event::Sent(_) => "sent",
            Event::Upserted(_) => "stored",
        })
        .collect();
    assert_eq!(
        shape,
        ["sent", "sent", "stored", "sent", "stored", "stored"],
        "{events:?}"
    );
    // Each upsert wrote the batch its requests asked for, in claim order.
    let sent: Vec<Vec<String>> = sent.iter().map(|ids| sorted(ids)).collect();
    assert_eq!(upserted, sent);
    assert_eq!(sent.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
    assert_eq!(env.mock.calls(mock_beds24::Endpoint::Bookings), 3);

    let mut pg = beds24_testkit::NativePg::new(database.client());
    let mut queue = Queue::with_keys(&mut env.redis, env.keys.clone());
    for n in 9001..=9025 {
        assert!(queue.job(&id(n)).unwrap().is_none(), "{n} settled");
        let row = db::booking_json(&mut pg, &id(n)).unwrap().expect("a row");
        assert_eq!(row["BDStatus"], "synced");
    }
    let stats = queue.stats(Clock::Redis).unwrap();
    assert_eq!(stats.total(Counter::Processed), 25);
    assert_eq!((stats.waiting, stats.active), (0, 0));
}

#[test]
fn a_budget_spent_while_storing_still_syncs_the_batch_already_claimed() {
    let (mut env, database) = world("overlap-budget", 9101..=9125);
    // The second batch is claimed before the first store, which outlasts the budget.
    let mut setup = Setup::new(2_000);
    setup.first_store_delay = Duration::from_millis(2_500);
    let (summary, events) = setup.run(&mut env, &database);
    assert_eq!((summary.batches, summary.jobs), (2, 20));
    assert!(summary.handed_on, "the rest is handed on");

    let (sent, upserted) = sent_and_upserted(&events);
    assert_eq!(sent.len(), 2, "no third batch once out of time: {events:?}");
    assert_eq!(upserted.len(), 2);
    let mut queue = Queue::with_keys(&mut env.redis, env.keys.clone());
    let stats = queue.stats(Clock::Redis).unwrap();
    assert_eq!(stats.total(Counter::Processed), 20);
    assert_eq!(
        (stats.waiting, stats.active),
        (5, 0),
        "nothing left claimed"
    );
    let settled = sent.concat();
    for n in 9101..=9125 {
        let job = queue.job(&id(n)).unwrap();
        if settled.contains(&n.to_string()) {
            assert!(job.is_none(), "{n} settled");
        } else {
            let job = job.expect("still queued");
            assert_eq!((job.state, job.attempts), (JobState::Waiting, 0), "{n}");
        }
    }
}

#[test]
fn a_batch_claimed_before_a_long_store_keeps_its_lease() {
    let (mut env, database) = world("overlap-lease", 9201..=9220);
    // Another worker claims once the second batch's first lease would have run out:
    // the first store took more than a quarter of the lease, so it was renewed.
    let taken = Rc::new(Cell::new(usize::MAX));
    let (mut other, _) = NativeRedis::isolated("overlap-lease-other");
    let keys = env.keys.clone();
    let seen = taken.clone();
    let mut setup = Setup::new(20_000);
    setup.lease_ms = 2_000;
    setup.first_store_delay = Duration::from_millis(1_200);
    setup.after_first_store = Some(Box::new(move || {
        std::thread::sleep(Duration::from_millis(1_200));
        let options = ClaimOptions {
            clock: Clock::Redis,
            lease_ms: 2_000,
            batch: 10,
            max_tries: 4,
        };
        let claimed = Queue::with_keys(&mut other, keys).claim(&options).unwrap();
        seen.set(claimed.len());
    }));
    let (summary, _) = setup.run(&mut env, &database);
    assert_eq!((summary.batches, summary.jobs), (2, 20));
    assert_eq!(
        taken.get(),
        0,
        "the other worker took the second batch over"
    );

    let mut queue = Queue::with_keys(&mut env.redis, env.keys.clone());
    let stats = queue.stats(Clock::Redis).unwrap();
    assert_eq!(stats.total(Counter::Processed), 20);
    assert_eq!(stats.total(Counter::Stalled), 0);
    for n in 9201..=9220 {
        assert!(queue.job(&id(n)).unwrap().is_none(), "{n} settled");
    }
}

#[test]
fn a_prefetched_batch_beds24_fails_goes_through_recovery_before_anything_more_is_claimed() {
    let (mut env, database) = world("overlap-recover", 9301..=9325);
    // Jobs are claimed in due order: 9312 is in the second batch, the prefetched one.
    env.mock.set_fault(
        Some(9312),
        mock_beds24::Fault::Status(500),
        mock_beds24::Times::Always,
    );
    let (summary, events) = Setup::new(20_000).run(&mut env, &database);
    assert_eq!((summary.batches, summary.jobs), (3, 25));
    assert!(
        matches!(
            &events[..3],
            [Event::Sent(_), Event::Sent(_), Event::Upserted(_)]
        ),
        "{events:?}"
    );
    let names = |e: &Event, n: u64| match e {
        Event::Sent(ids) | Event::Upserted(ids) => ids.contains(&n.to_string()),
    };
    let last_recovered = events
        .iter()
        .rposition(|e| matches!(e, Event::Upserted(_)) && names(e, 9311))
        .expect("9311 stored");
    let third = events
        .iter()
        .position(|e| names(e, 9321))
        .expect("the third batch requested");
    assert!(
        last_recovered < third,
        "the third batch was claimed during recovery: {events:?}"
    );

    let mut queue = Queue::with_keys(&mut env.redis, env.keys.clone());
    let job = queue.job(&id(9312)).unwrap().expect("the culprit stays");
    assert_eq!((job.state, job.attempts), (JobState::Delayed, 1));
    for n in (9301..=9325).filter(|&n| n != 9312) {
        assert!(queue.job(&id(n)).unwrap().is_none(), "{n} settled");
    }
    assert_eq!(
        queue.stats(Clock::Redis).unwrap().total(Counter::Processed),
        24
    );
}
