//! What one booking costs Redis through the queue's scripts (enqueue, claim, complete), counted by Redis itself.

mod common;

use std::collections::BTreeMap;

use beds24_sync_core::job::{JobRecord, Source};
use beds24_sync_core::keys::Keys;
use beds24_sync_core::queue::{
    ClaimOptions, Clock, Completion, Enqueued, HistoryRecord, Queue, RetrySchedule,
};
use beds24_sync_core::store::RedisExec;
use beds24_sync_core::Action;
use beds24_testkit::{NativeRedis, RedisServer};
use common::{completed, id};

const BOOKINGS: usize = 100;
const BATCH: usize = 50;

/// The most Redis commands (EVALSHA and every command a script runs) one new booking
/// may cost from webhook to completion, claimed and completed in batches of 50. The
/// scripts reach 10.51 (7 to enqueue, 2.26 to claim, 1.24 to complete, one wake-up
/// published); the margin covers a few more wake-ups when this machine is slow, not
/// one more command per job. They cost 28.28 before claim and complete sent a batch's
/// set members, deletions, counters and records in one command each and enqueue read
/// the job's `state` instead of looking it up in each set.
const BUDGET_PER_BOOKING: f64 = 10.6;

/// Calls per command since the last `CONFIG RESETSTAT`, without this test's own INFO
/// and CONFIG calls.
fn calls(redis: &mut NativeRedis) -> BTreeMap<String, u64> {
    let info = redis.execute("INFO", &["commandstats".into()]).unwrap();
    let text = info[0].as_text().unwrap();
    text.lines()
        .filter_map(|line| {
            let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let count = rest
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), count))
        })
        .filter(|(name, _)| name != "info" && !name.starts_with("config"))
        .collect()
}

fn reset(redis: &mut NativeRedis) {
    redis.execute("CONFIG", &["RESETSTAT".into()]).unwrap();
}

fn total(calls: &BTreeMap<String, u64>) -> u64 {
    calls.values().sum()
}

fn webhook(n: usize) -> JobRecord {
    JobRecord {
        booking_id: id(&(80_000_000 + n).to_string()),
        action: Action::Created,
        received_at: chrono::Utc::now(),
        source: Source::V2,
        body_bytes: 2_000,
    }
}

fn options() -> ClaimOptions {
    ClaimOptions {
        clock: Clock::Redis,
        lease_ms: 30_000,
        batch: BATCH,
        max_tries: RetrySchedule::default().max_tries(),
    }
}

/// Enqueue, claim and complete one booking under `keys`: the scripts are then in
/// Redis's cache, so the measured run pays no NOSCRIPT fallback.
fn warm_up(redis: &mut NativeRedis) {
    let mut q = Queue::with_keys(redis, Keys::new("warm:"));
    q.enqueue_job(&webhook(0), Clock::Redis).unwrap();
    let jobs = q.claim(&options()).unwrap();
    let record = completed(jobs[0].booking_id.as_str());
    q.complete_many(&[(&jobs[0], &record)], Clock::Redis)
        .unwrap();
}

#[test]
fn a_new_booking_costs_at_most_its_budget_of_redis_commands() {
    // A server of its own: commandstats count every client, and other tests run at once.
    let server = RedisServer::start_with(false).unwrap();
    let mut redis = NativeRedis(server.connection(0).unwrap());
    warm_up(&mut redis);
    reset(&mut redis);

    let mut q = Queue::with_keys(&mut redis, Keys::new("b24:"));
    for n in 1..=BOOKINGS {
        let accepted = q.enqueue_job(&webhook(n), Clock::Redis).unwrap();
        assert_eq!(accepted.verdict, Enqueued::Queued);
    }
    let enqueued = calls(&mut redis);
    reset(&mut redis);

    let mut q = Queue::with_keys(&mut redis, Keys::new("b24:"));
    let mut claimed = Vec::new();
    loop {
        let jobs = q.claim(&options()).unwrap();
        if jobs.is_empty() {
            break;
        }
        claimed.push(jobs);
    }
    let claims = calls(&mut redis);
    reset(&mut redis);

    let mut q = Queue::with_keys(&mut redis, Keys::new("b24:"));
    for jobs in &claimed {
        let records: Vec<HistoryRecord> = jobs
            .iter()
            .map(|j| completed(j.booking_id.as_str()))
            .collect();
        let done: Vec<_> = jobs.iter().zip(&records).collect();
        let verdicts = q.complete_many(&done, Clock::Redis).unwrap();
        assert_eq!(verdicts, vec![Completion::Completed; jobs.len()]);
    }
    let completions = calls(&mut redis);

    let sizes: Vec<usize> = claimed.iter().map(Vec::len).collect();
    assert_eq!(sizes, [BATCH, BOOKINGS - BATCH], "claimed in full batches");
    let mut q = Queue::with_keys(&mut redis, Keys::new("b24:"));
    let stats = q.stats(Clock::Redis).unwrap();
    assert_eq!((stats.waiting, stats.active), (0, 0));

    let per = |c: &BTreeMap<String, u64>| total(c) as f64 / BOOKINGS as f64;
    let all = per(&enqueued) + per(&claims) + per(&completions);
    println!(
        "commands per booking: {all:.2} (enqueue {:.2}, claim {:.2}, complete {:.2})\n\
         enqueue: {enqueued:?}\nclaim: {claims:?}\ncomplete: {completions:?}",
        per(&enqueued),
        per(&claims),
        per(&completions)
    );
    assert!(
        all <= BUDGET_PER_BOOKING,
        "{all:.2} commands per booking, budget {BUDGET_PER_BOOKING}: enqueue {enqueued:?}, \
         claim {claims:?}, complete {completions:?}"
    );
}
