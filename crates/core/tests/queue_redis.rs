//! The queue's Lua scripts against a real Redis: coalescing, leases, retries, dead letters, history.

mod common;

use beds24_sync_core::queue::{
    decide, ClaimOptions, Completion, Counter, Decision, Enqueued, Failure, HistoryRecord,
    JobState, Queue, RetrySchedule, Settled,
};
use beds24_sync_core::store::RedisExec;
use beds24_sync_core::Action;
use beds24_testkit::NativeRedis;
use common::{claim_opts, complete, completed, fail, id, job};

#[test]
fn webhooks_for_a_waiting_booking_coalesce_into_one_job() {
    let (mut redis, keys) = NativeRedis::isolated("coalesce");
    let mut q = Queue::with_keys(&mut redis, keys);
    assert_eq!(
        q.enqueue(&id("1"), Action::Created, 1_000).unwrap(),
        Enqueued::Queued
    );
    for t in 0..19 {
        assert_eq!(
            q.enqueue(&id("1"), Action::Modify, 1_001 + t).unwrap(),
            Enqueued::Coalesced
        );
    }
    let stats = q.stats(2_000).unwrap();
    assert_eq!(
        (
            stats.waiting,
            stats.total(Counter::Received(Action::Created)),
            stats.total(Counter::Received(Action::Modify))
        ),
        (1, 1, 19)
    );
    assert_eq!(stats.total(Counter::Coalesced), 19);
    let jobs = q.claim(&claim_opts(2_000)).unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].action, Action::Modify, "latest action wins");
}

#[test]
fn a_webhook_during_sync_reruns_the_job_once_after() {
    let (mut redis, keys) = NativeRedis::isolated("rerun");
    let mut q = Queue::with_keys(&mut redis, keys);
    q.enqueue(&id("7"), Action::Created, 1_000).unwrap();
    let first = q.claim(&claim_opts(1_000)).unwrap().remove(0);
    assert_eq!(
        q.enqueue(&id("7"), Action::Modify, 1_100).unwrap(),
        Enqueued::Rerun
    );
    assert_eq!(
        q.enqueue(&id("7"), Action::Modify, 1_200).unwrap(),
        Enqueued::Rerun
    );
    assert_eq!(complete(&mut q, &first, 1_300), Completion::Requeued);
    assert_eq!(job(&mut q, "7").map(|j| j.state), Some(JobState::Waiting));
    let again = q.claim(&claim_opts(1_400)).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(complete(&mut q, &again[0], 1_500), Completion::Completed);
    assert!(q.claim(&claim_opts(1_600)).unwrap().is_empty());
    let stats = q.stats(1_600).unwrap();
    assert_eq!(
        (
            stats.completed,
            stats.total(Counter::Processed),
            stats.waiting,
            stats.active
        ),
        (2, 2, 0, 0)
    );
    assert_eq!(job(&mut q, "7"), None, "completed job record removed");
}

#[test]
fn claims_are_exclusive_and_stale_claims_cannot_complete() {
    let (mut redis, keys) = NativeRedis::isolated("exclusive");
    let mut q = Queue::with_keys(&mut redis, keys);
    q.enqueue(&id("5"), Action::Modify, 1_000).unwrap();
    let first = q
        .claim(&ClaimOptions {
            lease_ms: 100,
            ..claim_opts(1_000)
        })
        .unwrap()
        .remove(0);
    assert_eq!(job(&mut q, "5").map(|j| j.state), Some(JobState::Active));
    assert!(
        q.claim(&claim_opts(1_050)).unwrap().is_empty(),
        "held under lease"
    );
    // Lease runs out: the job returns (counting the lost try) and another worker takes it.
    let second = q.claim(&claim_opts(1_200)).unwrap().remove(0);
    assert_eq!(second.attempts, 1);
    assert_ne!(first.claim, second.claim);
    assert_eq!(complete(&mut q, &first, 1_300), Completion::Stale);
    assert_eq!(complete(&mut q, &second, 1_300), Completion::Completed);
    assert_eq!(q.stats(1_400).unwrap().total(Counter::Stalled), 1);
}

#[test]
fn transient_failures_retry_on_schedule_then_dead_letter() {
    let (mut redis, keys) = NativeRedis::isolated("retries");
    let schedule = RetrySchedule::default();
    let mut q = Queue::with_keys(&mut redis, keys.clone());
    q.enqueue(&id("9"), Action::Modify, 0).unwrap();
    let mut now = 0;
    let failure = Failure::Transient("HTTP 503".into());
    for expected_delay in [5_000, 25_000, 125_000] {
        let claimed = q.claim(&claim_opts(now)).unwrap().remove(0);
        let decision = decide(&schedule, claimed.attempts, &failure, 0.5);
        assert_eq!(
            decision,
            Decision::Retry {
                delay_ms: expected_delay
            }
        );
        assert_eq!(
            fail(&mut q, &claimed, now, decision, failure.message()),
            Settled::Retry
        );
        let delayed = job(&mut q, "9").expect("a delayed job");
        assert_eq!(delayed.state, JobState::Delayed);
        assert_eq!(delayed.due_at, Some(now + expected_delay));
        assert!(
            q.claim(&claim_opts(now + expected_delay - 1))
                .unwrap()
                .is_empty(),
            "not due yet"
        );
        assert_eq!(q.stats(now + 1).unwrap().delayed, 1);
        now += expected_delay;
    }
    let claimed = q.claim(&claim_opts(now)).unwrap().remove(0);
    assert_eq!(claimed.attempts, 3);
    let decision = decide(&schedule, claimed.attempts, &failure, 0.5);
    assert_eq!(decision, Decision::Dead);
    assert_eq!(
        fail(&mut q, &claimed, now, decision, failure.message()),
        Settled::Dead
    );
    let stats = q.stats(now).unwrap();
    assert_eq!(
        (stats.dead, stats.failed, stats.waiting, stats.delayed),
        (1, 1, 0, 0)
    );
    let dead = job(&mut q, "9").expect("a dead job keeps its record");
    assert_eq!(dead.state, JobState::Dead);
    assert_eq!(dead.attempts, 4);
    assert_eq!(dead.last_error.as_deref(), Some("HTTP 503"));
    // The retry timer key expires to wake a worker.
    let timer = format!("{}timer:due:9", keys.prefix());
    let ttl = redis.execute("PTTL", &[timer.into()]).unwrap();
    assert!(ttl[0].as_i64().unwrap() != -1);
}

#[test]
fn rate_limits_delay_without_using_a_try() {
    let (mut redis, keys) = NativeRedis::isolated("ratelimit");
    let mut q = Queue::with_keys(&mut redis, keys);
    q.enqueue(&id("3"), Action::Modify, 0).unwrap();
    let claimed = q.claim(&claim_opts(0)).unwrap().remove(0);
    let limited = Failure::RateLimited {
        retry_after_ms: 60_000,
        reason: "429".into(),
    };
    let decision = decide(&RetrySchedule::default(), claimed.attempts, &limited, 0.5);
    assert_eq!(fail(&mut q, &claimed, 0, decision, "429"), Settled::Delay);
    assert!(q.claim(&claim_opts(59_999)).unwrap().is_empty());
    let claimed = q.claim(&claim_opts(60_000)).unwrap().remove(0);
    assert_eq!(claimed.attempts, 0);
}

#[test]
fn history_is_bounded_but_counters_are_not() {
    let (mut redis, keys) = NativeRedis::isolated("history");
    let mut q = Queue::with_keys(&mut redis, keys.clone());
    for n in 1..=130 {
        let booking = id(&n.to_string());
        q.enqueue(&booking, Action::Modify, n).unwrap();
        let claimed = q.claim(&claim_opts(n)).unwrap().remove(0);
        if n % 2 == 0 {
            complete(&mut q, &claimed, n);
        } else {
            fail(&mut q, &claimed, n, Decision::Final, "gone");
        }
    }
    let stats = q.stats(1_000).unwrap();
    assert_eq!((stats.completed, stats.failed), (65, 50));
    assert_eq!(
        (
            stats.total(Counter::Processed),
            stats.total(Counter::Failed)
        ),
        (65, 65)
    );
    let kept: i64 = redis
        .execute("LLEN", &[keys.failed_history().into()])
        .unwrap()[0]
        .as_i64()
        .unwrap();
    assert_eq!(kept, 50);
    let pattern = format!("{}job:*", keys.prefix());
    let jobs = redis.execute("KEYS", &[pattern.into()]).unwrap();
    assert!(
        jobs.is_empty(),
        "finished jobs leave no per-job keys behind: {jobs:?}"
    );
}

#[test]
fn a_batch_of_successes_settles_in_one_call() {
    let (mut redis, keys) = NativeRedis::isolated("batch");
    let mut q = Queue::with_keys(&mut redis, keys);
    for n in ["21", "22", "23"] {
        q.enqueue(&id(n), Action::Modify, 0).unwrap();
    }
    let jobs = q.claim(&claim_opts(0)).unwrap();
    assert_eq!(
        q.enqueue(&id("22"), Action::Modify, 1).unwrap(),
        Enqueued::Rerun
    );
    let mut stale = jobs[2].clone();
    stale.claim = "0".into();
    let records: Vec<HistoryRecord> = ["21", "22", "23"].iter().map(|n| completed(n)).collect();
    let done = [
        (&jobs[0], &records[0]),
        (&jobs[1], &records[1]),
        (&stale, &records[2]),
    ];
    assert_eq!(
        q.complete_many(&done, 2).unwrap(),
        [
            Completion::Completed,
            Completion::Requeued,
            Completion::Stale
        ]
    );
    let stats = q.stats(2).unwrap();
    assert_eq!(
        (
            stats.total(Counter::Processed),
            stats.waiting,
            stats.active,
            stats.completed
        ),
        (2, 1, 1, 2)
    );
}
