//! Batched settling against a real Redis: one lease timer per deadline, each job settled once, history and counters as if job by job.

mod common;

use beds24_sync_core::job::{JobRecord, Source};
use beds24_sync_core::queue::{
    policy, ClaimOptions, ClaimedJob, Clock, Completion, Counter, Decision, Enqueued,
    HistoryRecord, JobState, Queue, Settled,
};
use beds24_sync_core::store::RedisExec;
use beds24_sync_core::Action;
use beds24_testkit::{NativeRedis, RedisServer};
use common::{claim_opts, complete, completed, fail, failed, id, job};
use serde_json::json;

/// The lease timers under `prefix` with their TTLs (ms), sorted by name.
fn lease_timers(redis: &mut NativeRedis, prefix: &str) -> Vec<(String, i64)> {
    let pattern = format!("{prefix}timer:lease:*");
    let mut names: Vec<String> = redis
        .execute("KEYS", &[pattern.into()])
        .unwrap()
        .iter()
        .filter_map(|v| v.as_text())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let ttl = redis.execute("PTTL", &[name.as_str().into()]).unwrap()[0]
                .as_i64()
                .unwrap();
            (name.trim_start_matches(prefix).to_owned(), ttl)
        })
        .collect()
}

fn enqueue_all<R: RedisExec>(q: &mut Queue<'_, R>, ids: &[&str], at: i64) {
    for n in ids {
        q.enqueue(&id(n), Action::Modify, at).unwrap();
    }
}

#[test]
fn a_claimed_batch_shares_one_lease_timer_until_its_last_job_is_settled() {
    let (mut redis, keys) = NativeRedis::isolated("leasetimer");
    let prefix = keys.prefix().to_owned();
    let mut q = Queue::with_keys(&mut redis, keys.clone());
    enqueue_all(&mut q, &["31", "32", "33"], 1_000);
    let jobs = q.claim(&claim_opts(1_000)).unwrap();
    assert_eq!(jobs.len(), 3);
    let claims: Vec<i64> = jobs.iter().map(|j| j.claim.parse().unwrap()).collect();
    assert_eq!(
        claims,
        [claims[0], claims[0] + 1, claims[0] + 2],
        "unique, in order"
    );
    let timers = lease_timers(&mut redis, &prefix);
    assert_eq!(timers.len(), 1, "{timers:?}");
    assert_eq!(
        timers[0].0, "timer:lease:at:31000",
        "named by the lease deadline"
    );
    assert!((29_000..=30_050).contains(&timers[0].1), "{timers:?}");

    // Part of the batch settled (as batch recovery does): the rest still needs its wake-up.
    let mut q = Queue::with_keys(&mut redis, keys.clone());
    assert_eq!(complete(&mut q, &jobs[0], 2_000), Completion::Completed);
    let retry = Decision::Retry { delay_ms: 5_000 };
    assert_eq!(fail(&mut q, &jobs[1], 2_000, retry, "503"), Settled::Retry);
    assert_eq!(lease_timers(&mut redis, &prefix).len(), 1);
    // The last one settled: nothing is left to wake a worker for.
    let mut q = Queue::with_keys(&mut redis, keys.clone());
    assert_eq!(complete(&mut q, &jobs[2], 2_000), Completion::Completed);
    assert_eq!(lease_timers(&mut redis, &prefix), []);
}

#[test]
fn renewed_leases_move_to_a_timer_of_their_own() {
    let (mut redis, keys) = NativeRedis::isolated("leaserenew");
    let prefix = keys.prefix().to_owned();
    let mut q = Queue::with_keys(&mut redis, keys.clone());
    enqueue_all(&mut q, &["41", "42"], 0);
    let jobs = q.claim(&claim_opts(0)).unwrap();
    // Half of the batch renewed (a bisected batch renews the half it is working on).
    assert_eq!(q.extend_leases(&jobs[..1], 10_000, 30_000).unwrap(), [true]);
    let names = |timers: Vec<(String, i64)>| timers.into_iter().map(|t| t.0).collect::<Vec<_>>();
    assert_eq!(
        names(lease_timers(&mut redis, &prefix)),
        ["timer:lease:at:30000", "timer:lease:at:40000"],
        "the other half keeps its deadline and its wake-up"
    );
    let mut q = Queue::with_keys(&mut redis, keys.clone());
    assert_eq!(q.extend_leases(&jobs[1..], 10_000, 30_000).unwrap(), [true]);
    assert_eq!(
        names(lease_timers(&mut redis, &prefix)),
        ["timer:lease:at:40000"]
    );
    // The job whose first deadline passed is still held: not taken over at 35 s.
    let mut q = Queue::with_keys(&mut redis, keys.clone());
    assert!(q.claim(&claim_opts(35_000)).unwrap().is_empty());
    for job in &jobs {
        assert_eq!(complete(&mut q, job, 36_000), Completion::Completed);
    }
    assert_eq!(lease_timers(&mut redis, &prefix), []);
}

#[test]
fn a_lease_timer_expires_only_once_its_lease_has_run_out() {
    // Real time here: the timer's TTL is in Redis's clock, like the deadline it stands for.
    let server = RedisServer::start_with(false).unwrap();
    let mut redis = NativeRedis(server.connection(0).unwrap());
    let keys = beds24_sync_core::keys::Keys::new("t:");
    let options = ClaimOptions {
        clock: Clock::Redis,
        lease_ms: 300,
        batch: 10,
        max_tries: 4,
    };
    let mut q = Queue::with_keys(&mut redis, keys.clone());
    q.enqueue(&id("51"), Action::Modify, Clock::Redis).unwrap();
    assert_eq!(q.claim(&options).unwrap().len(), 1);
    let started = std::time::Instant::now();
    while !lease_timers(&mut redis, "t:").is_empty() {
        assert!(started.elapsed().as_secs() < 5, "the timer never expired");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // The worker its expiry wakes finds the lease run out and takes the job back.
    let mut q = Queue::with_keys(&mut redis, keys);
    let again = q.claim(&options).unwrap();
    assert_eq!(again.len(), 1, "expired before the lease ran out");
    assert_eq!(again[0].attempts, 1, "the lost try is counted");
    assert_eq!(q.stats(Clock::Redis).unwrap().total(Counter::Stalled), 1);
}

#[test]
fn a_job_named_twice_in_one_call_is_settled_once() {
    let (mut redis, keys) = NativeRedis::isolated("twice");
    let mut q = Queue::with_keys(&mut redis, keys);
    enqueue_all(&mut q, &["61", "62"], 0);
    let jobs = q.claim(&claim_opts(0)).unwrap();
    let record = completed("61");
    let done = [(&jobs[0], &record), (&jobs[0], &record)];
    assert_eq!(
        q.complete_many(&done, 1).unwrap(),
        [Completion::Completed, Completion::Stale]
    );
    // A stale claim first does not keep the right one from settling.
    let mut stale = jobs[1].clone();
    stale.claim = "0".into();
    let record = failed("62", Decision::Final);
    let batch = [
        (&stale, Decision::Final, "gone", &record),
        (&jobs[1], Decision::Final, "gone", &record),
        (&jobs[1], Decision::Final, "gone", &record),
    ];
    assert_eq!(
        q.fail_many(&batch, 1).unwrap(),
        [Settled::Stale, Settled::Final, Settled::Stale]
    );
    let stats = q.stats(2).unwrap();
    assert_eq!(
        (
            stats.total(Counter::Processed),
            stats.total(Counter::Failed),
            stats.completed,
            stats.failed,
            stats.active
        ),
        (1, 1, 1, 1, 0)
    );
}

fn timed(job: &ClaimedJob, duration_ms: i64) -> HistoryRecord {
    HistoryRecord {
        duration_ms,
        ..completed(job.booking_id.as_str())
    }
}

#[test]
fn a_batch_writes_history_and_counters_as_if_job_by_job() {
    let (mut redis, keys) = NativeRedis::isolated("batchstats");
    let mut q = Queue::with_keys(&mut redis, keys);
    enqueue_all(&mut q, &["71", "72", "73"], 0);
    let jobs = q.claim(&claim_opts(0)).unwrap();
    let records: Vec<_> = jobs
        .iter()
        .zip([40, 45, 3_000])
        .map(|(j, ms)| timed(j, ms))
        .collect();
    let done: Vec<_> = jobs.iter().zip(&records).collect();
    assert_eq!(
        q.complete_many(&done, 1).unwrap(),
        [Completion::Completed; 3]
    );
    let stats = q.stats(2).unwrap();
    let bucket = |ms| stats.total(Counter::DurationBucket(policy::duration_bucket(ms)));
    assert_eq!(
        (
            stats.total(Counter::Processed),
            stats.total(Counter::DurationMsSum),
            bucket(40),
            bucket(3_000)
        ),
        (3, 3_085, 2, 1)
    );
    let newest_first: Vec<_> = q
        .history(false, 10)
        .unwrap()
        .iter()
        .map(|r| r["bookingId"].clone())
        .collect();
    assert_eq!(newest_first, [json!("73"), json!("72"), json!("71")]);
}

#[test]
fn one_failure_call_applies_every_decision() {
    let (mut redis, keys) = NativeRedis::isolated("faildecisions");
    let mut q = Queue::with_keys(&mut redis, keys);
    enqueue_all(&mut q, &["81", "82", "83", "84", "85"], 0);
    let jobs = q.claim(&claim_opts(0)).unwrap();
    assert_eq!(
        q.enqueue(&id("85"), Action::Cancel, 1).unwrap(),
        Enqueued::Rerun
    );
    let decisions = [
        Decision::Retry { delay_ms: 5_000 },
        Decision::Delay { delay_ms: 1_500 },
        Decision::Dead,
        Decision::Final,
        Decision::Final,
    ];
    let records: Vec<_> = jobs
        .iter()
        .zip(decisions)
        .map(|(j, d)| failed(j.booking_id.as_str(), d))
        .collect();
    let batch: Vec<_> = jobs
        .iter()
        .zip(decisions)
        .zip(&records)
        .map(|((j, d), r)| (j, d, "boom", r))
        .collect();
    assert_eq!(
        q.fail_many(&batch, 1_000).unwrap(),
        [
            Settled::Retry,
            Settled::Delay,
            Settled::Dead,
            Settled::Final,
            Settled::Requeued
        ]
    );
    let view =
        |q: &mut Queue<'_, NativeRedis>, n| job(q, n).map(|j| (j.state, j.attempts, j.due_at));
    assert_eq!(
        view(&mut q, "81"),
        Some((JobState::Delayed, 1, Some(6_000)))
    );
    assert_eq!(
        view(&mut q, "82"),
        Some((JobState::Delayed, 0, Some(3_000)))
    );
    assert_eq!(view(&mut q, "83"), Some((JobState::Dead, 1, Some(0))));
    assert_eq!(view(&mut q, "84"), None);
    assert_eq!(
        view(&mut q, "85"),
        Some((JobState::Waiting, 0, Some(1_000)))
    );
    let dead = job(&mut q, "83").unwrap();
    assert_eq!(
        (dead.last_error.as_deref(), dead.timeline.len(), dead.rerun),
        (Some("boom"), 1, false)
    );
    let stats = q.stats(1_000).unwrap();
    assert_eq!(
        (
            stats.waiting,
            stats.delayed,
            stats.active,
            stats.dead,
            stats.failed
        ),
        (1, 2, 0, 1, 3)
    );
    assert_eq!(
        [
            Counter::Retried,
            Counter::Delayed,
            Counter::Failed,
            Counter::Dead
        ]
        .map(|c| stats.total(c)),
        [1, 1, 3, 1]
    );
    let newest_first: Vec<_> = q
        .history(true, 10)
        .unwrap()
        .iter()
        .map(|r| r["bookingId"].clone())
        .collect();
    assert_eq!(newest_first, [json!("85"), json!("84"), json!("83")]);
}

#[test]
fn webhooks_keep_their_record_and_count_on_every_path() {
    let (mut redis, keys) = NativeRedis::isolated("records");
    let mut q = Queue::with_keys(&mut redis, keys);
    let webhook = |action, at_ms, bytes| JobRecord {
        booking_id: id("91"),
        action,
        received_at: chrono::DateTime::from_timestamp_millis(at_ms).unwrap(),
        source: Source::V2,
        body_bytes: bytes,
    };
    let seen = |q: &mut Queue<'_, NativeRedis>| {
        job(q, "91").map(|j| (j.state, j.webhooks, j.received_at, j.body_bytes, j.action))
    };
    let accepted = q
        .enqueue_job(&webhook(Action::Created, 10, 100), 10)
        .unwrap();
    assert_eq!(accepted.verdict, Enqueued::Queued);
    assert_eq!(
        seen(&mut q),
        Some((JobState::Waiting, 1, Some(10), Some(100), Action::Created))
    );
    let claimed = q.claim(&claim_opts(20)).unwrap().remove(0);
    let retry = Decision::Retry { delay_ms: 5_000 };
    assert_eq!(fail(&mut q, &claimed, 20, retry, "503"), Settled::Retry);
    // Delayed: a webhook makes it due now, with the new record.
    let accepted = q
        .enqueue_job(&webhook(Action::Modify, 30, 200), 30)
        .unwrap();
    assert_eq!(accepted.verdict, Enqueued::Coalesced);
    assert_eq!(
        seen(&mut q),
        Some((JobState::Waiting, 2, Some(30), Some(200), Action::Modify))
    );
    assert_eq!(q.claim(&claim_opts(30)).unwrap().len(), 1, "due now");
    let accepted = q
        .enqueue_job(&webhook(Action::Cancel, 40, 300), 40)
        .unwrap();
    assert_eq!(accepted.verdict, Enqueued::Rerun);
    assert_eq!(
        seen(&mut q),
        Some((JobState::Active, 3, Some(40), Some(300), Action::Cancel))
    );
    assert!(job(&mut q, "91").unwrap().rerun);
    // A manual sync of a new booking has no record.
    q.enqueue(&id("92"), Action::Modify, 50).unwrap();
    let manual = job(&mut q, "92").unwrap();
    assert_eq!(
        (manual.source, manual.received_at, manual.webhooks),
        (None, None, 1)
    );
}
