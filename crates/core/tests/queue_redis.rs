//! The queue's Lua scripts against a real Redis: coalescing, leases, retries, dead letters, history.

mod common;

use beds24_sync_core::queue::{
    decide, keys, ClaimOptions, Decision, Enqueued, Failure, HistoryRecord, Queue, RetrySchedule,
};
use beds24_sync_core::store::RedisExec;
use beds24_sync_core::Action;
use beds24_testkit::NativeRedis;
use common::{claim_opts, id, record};

#[test]
fn webhooks_for_a_waiting_booking_coalesce_into_one_job() {
    let mut redis = NativeRedis::fresh(2);
    let mut q = Queue::new(&mut redis);
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
            stats.total("received:CREATED"),
            stats.total("received:MODIFY")
        ),
        (1, 1, 19)
    );
    assert_eq!(stats.total("coalesced"), 19);
    let jobs = q.claim(&claim_opts(2_000)).unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].action, Action::Modify, "latest action wins");
}

#[test]
fn a_webhook_during_sync_reruns_the_job_once_after() {
    let mut redis = NativeRedis::fresh(3);
    let mut q = Queue::new(&mut redis);
    q.enqueue(&id("7"), Action::Created, 1_000).unwrap();
    let job = q.claim(&claim_opts(1_000)).unwrap().remove(0);
    assert_eq!(
        q.enqueue(&id("7"), Action::Modify, 1_100).unwrap(),
        Enqueued::Rerun
    );
    assert_eq!(
        q.enqueue(&id("7"), Action::Modify, 1_200).unwrap(),
        Enqueued::Rerun
    );
    assert_eq!(
        q.complete(&job, 1_300, &record("7", "completed")).unwrap(),
        "requeued"
    );
    let again = q.claim(&claim_opts(1_400)).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        q.complete(&again[0], 1_500, &record("7", "completed"))
            .unwrap(),
        "completed"
    );
    assert!(q.claim(&claim_opts(1_600)).unwrap().is_empty());
    let stats = q.stats(1_600).unwrap();
    assert_eq!(
        (
            stats.completed,
            stats.total("processed"),
            stats.waiting,
            stats.active
        ),
        (2, 2, 0, 0)
    );
    assert!(
        q.job_fields(&id("7")).unwrap().is_empty(),
        "completed job record removed"
    );
}

#[test]
fn claims_are_exclusive_and_stale_claims_cannot_complete() {
    let mut redis = NativeRedis::fresh(4);
    let mut q = Queue::new(&mut redis);
    q.enqueue(&id("5"), Action::Modify, 1_000).unwrap();
    let first = q
        .claim(&ClaimOptions {
            lease_ms: 100,
            ..claim_opts(1_000)
        })
        .unwrap()
        .remove(0);
    assert!(
        q.claim(&claim_opts(1_050)).unwrap().is_empty(),
        "held under lease"
    );
    // Lease runs out: the job returns (counting the lost try) and another worker takes it.
    let second = q.claim(&claim_opts(1_200)).unwrap().remove(0);
    assert_eq!(second.attempts, 1);
    assert_ne!(first.claim, second.claim);
    assert_eq!(
        q.complete(&first, 1_300, &record("5", "completed"))
            .unwrap(),
        "stale"
    );
    assert_eq!(
        q.complete(&second, 1_300, &record("5", "completed"))
            .unwrap(),
        "completed"
    );
    assert_eq!(q.stats(1_400).unwrap().total("stalled"), 1);
}

#[test]
fn transient_failures_retry_on_schedule_then_dead_letter() {
    let mut redis = NativeRedis::fresh(5);
    let schedule = RetrySchedule::default();
    let mut q = Queue::new(&mut redis);
    q.enqueue(&id("9"), Action::Modify, 0).unwrap();
    let mut now = 0;
    let failure = Failure::Transient("HTTP 503".into());
    for expected_delay in [5_000, 25_000, 125_000] {
        let job = q.claim(&claim_opts(now)).unwrap().remove(0);
        let decision = decide(&schedule, job.attempts, &failure, 0.5);
        assert_eq!(
            decision,
            Decision::Retry {
                delay_ms: expected_delay
            }
        );
        assert_eq!(
            q.fail(
                &job,
                now,
                decision,
                failure.message(),
                &record("9", "retry")
            )
            .unwrap(),
            "retry"
        );
        assert!(
            q.claim(&claim_opts(now + expected_delay - 1))
                .unwrap()
                .is_empty(),
            "not due yet"
        );
        assert_eq!(q.stats(now + 1).unwrap().delayed, 1);
        now += expected_delay;
    }
    let job = q.claim(&claim_opts(now)).unwrap().remove(0);
    assert_eq!(job.attempts, 3);
    let decision = decide(&schedule, job.attempts, &failure, 0.5);
    assert_eq!(decision, Decision::Dead);
    assert_eq!(
        q.fail(&job, now, decision, failure.message(), &record("9", "dead"))
            .unwrap(),
        "dead"
    );
    let stats = q.stats(now).unwrap();
    assert_eq!(
        (stats.dead, stats.failed, stats.waiting, stats.delayed),
        (1, 1, 0, 0)
    );
    let fields = q.job_fields(&id("9")).unwrap();
    assert_eq!(fields["state"], "dead");
    assert_eq!(fields["attempts"], "4");
    assert_eq!(fields["lastError"], "HTTP 503");
    // The retry timer key expires to wake a worker.
    let ttl = redis.execute("PTTL", &["b24:timer:due:9".into()]).unwrap();
    assert!(ttl[0].as_i64().unwrap() != -1);
}

#[test]
fn rate_limits_delay_without_using_a_try() {
    let mut redis = NativeRedis::fresh(6);
    let mut q = Queue::new(&mut redis);
    q.enqueue(&id("3"), Action::Modify, 0).unwrap();
    let job = q.claim(&claim_opts(0)).unwrap().remove(0);
    let limited = Failure::RateLimited {
        retry_after_ms: 60_000,
        reason: "429".into(),
    };
    let decision = decide(&RetrySchedule::default(), job.attempts, &limited, 0.5);
    assert_eq!(
        q.fail(&job, 0, decision, "429", &record("3", "delay"))
            .unwrap(),
        "delay"
    );
    assert!(q.claim(&claim_opts(59_999)).unwrap().is_empty());
    let job = q.claim(&claim_opts(60_000)).unwrap().remove(0);
    assert_eq!(job.attempts, 0);
}

#[test]
fn history_is_bounded_but_counters_are_not() {
    let mut redis = NativeRedis::fresh(7);
    let mut q = Queue::new(&mut redis);
    for n in 1..=130 {
        let booking = id(&n.to_string());
        q.enqueue(&booking, Action::Modify, n).unwrap();
        let job = q.claim(&claim_opts(n)).unwrap().remove(0);
        if n % 2 == 0 {
            q.complete(&job, n, &record(&n.to_string(), "completed"))
                .unwrap();
        } else {
            q.fail(
                &job,
                n,
                Decision::Final,
                "gone",
                &record(&n.to_string(), "final"),
            )
            .unwrap();
        }
    }
    let stats = q.stats(1_000).unwrap();
    assert_eq!((stats.completed, stats.failed), (65, 50));
    assert_eq!((stats.total("processed"), stats.total("failed")), (65, 65));
    let kept: i64 = redis.execute("LLEN", &[keys::FAILED.into()]).unwrap()[0]
        .as_i64()
        .unwrap();
    assert_eq!(kept, 50);
    let jobs = redis.execute("KEYS", &["b24:job:*".into()]).unwrap();
    assert!(
        jobs.is_empty(),
        "finished jobs leave no per-job keys behind: {jobs:?}"
    );
}

#[test]
fn a_batch_of_successes_settles_in_one_call() {
    let mut redis = NativeRedis::fresh(12);
    let mut q = Queue::new(&mut redis);
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
    let records: Vec<HistoryRecord> = ["21", "22", "23"]
        .iter()
        .map(|n| record(n, "completed"))
        .collect();
    let done = [
        (&jobs[0], &records[0]),
        (&jobs[1], &records[1]),
        (&stale, &records[2]),
    ];
    assert_eq!(
        q.complete_many(&done, 2).unwrap(),
        ["completed", "requeued", "stale"]
    );
    let stats = q.stats(2).unwrap();
    assert_eq!(
        (
            stats.total("processed"),
            stats.waiting,
            stats.active,
            stats.completed
        ),
        (2, 1, 1, 2)
    );
}
