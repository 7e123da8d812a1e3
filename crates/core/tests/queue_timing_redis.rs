//! The queue's clock, holds, lease renewal and shared delays against a real Redis.

mod common;

use beds24_sync_core::queue::{
    decide, ClaimOptions, Clock, Enqueued, Failure, JobState, Queue, RetrySchedule, Settled,
};
use beds24_sync_core::store::RedisExec;
use beds24_sync_core::Action;
use beds24_testkit::NativeRedis;
use common::{claim_opts, failed, id};

fn redis_now(redis: &mut NativeRedis) -> i64 {
    let t = redis.execute("TIME", &[]).unwrap();
    t[0].as_i64().unwrap() * 1000 + t[1].as_i64().unwrap() / 1000
}

#[test]
fn queue_times_come_from_redis_and_rate_limited_jobs_come_due_together() {
    let (mut redis, keys) = NativeRedis::isolated("redisclock");
    let mut q = Queue::with_keys(&mut redis, keys.clone());
    for n in 1..=5 {
        q.enqueue(&id(&n.to_string()), Action::Modify, Clock::Redis)
            .unwrap();
    }
    let options = ClaimOptions {
        clock: Clock::Redis,
        lease_ms: 30_000,
        batch: 10,
        max_tries: 4,
    };
    let jobs = q.claim(&options).unwrap();
    assert_eq!(jobs.len(), 5, "enqueued on Redis's clock, due now on it");
    // A rate limit settles the whole batch in one call: one clock reading, one due time,
    // rounded up to a whole second, with no try used.
    let limited = Failure::RateLimited {
        retry_after_ms: 1_200,
        reason: "credits spent".into(),
    };
    let decision = decide(&RetrySchedule::default(), 0, &limited, 0.5);
    let records: Vec<_> = jobs
        .iter()
        .map(|j| failed(j.booking_id.as_str(), decision))
        .collect();
    let batch: Vec<_> = jobs
        .iter()
        .zip(&records)
        .map(|(job, rec)| (job, decision, "credits spent", rec))
        .collect();
    let verdicts = q.fail_many(&batch, Clock::Redis).unwrap();
    assert_eq!(verdicts, vec![Settled::Delay; 5]);
    let mut due_times = Vec::new();
    for claimed in &jobs {
        let job = q.job(&claimed.booking_id).unwrap().expect("a delayed job");
        assert_eq!((job.state, job.attempts), (JobState::Delayed, 0));
        due_times.push(job.due_at.expect("a due time"));
    }
    due_times.dedup();
    assert_eq!(due_times.len(), 1, "one shared due time: {due_times:?}");
    assert_eq!(due_times[0] % 1000, 0);
    let now = redis_now(&mut redis);
    assert!(
        (1_200..=2_300).contains(&(due_times[0] - now)),
        "{due_times:?} vs {now}"
    );
    let mut q = Queue::with_keys(&mut redis, keys);
    assert!(q.claim(&options).unwrap().is_empty(), "not due yet");
    std::thread::sleep(std::time::Duration::from_millis(
        (due_times[0] - now + 50) as u64,
    ));
    assert_eq!(
        q.claim(&options).unwrap().len(),
        5,
        "due together: one batch"
    );
}

#[test]
fn holds_stop_claims_and_leases_renew_and_a_lost_lease_keeps_its_rerun() {
    let (mut redis, keys) = NativeRedis::isolated("holds");
    let mut q = Queue::with_keys(&mut redis, keys.clone());
    q.enqueue(&id("1"), Action::Modify, 1_000).unwrap();
    // Held: nothing is claimed, and a longer hold is never shortened.
    q.hold("Beds24 account unusable: token rejected", 60_000)
        .unwrap();
    q.hold("credits", 10).unwrap();
    assert!(q.claim(&claim_opts(2_000)).unwrap().is_empty());
    let held = q.stats(2_000).unwrap().held.expect("held");
    assert!(held.reason.contains("token rejected"), "{held:?}");
    assert!(held.remaining_ms > 50_000, "{held:?}");
    // The hold ends when its key expires (here: is deleted).
    redis.execute("DEL", &[keys.hold().into()]).unwrap();
    let mut q = Queue::with_keys(&mut redis, keys);
    assert_eq!(q.stats(2_000).unwrap().held, None);

    // A renewed lease is not taken over when the original one would have run out.
    let job = q.claim(&claim_opts(2_000)).unwrap().remove(0);
    assert_eq!(
        q.extend_leases(std::slice::from_ref(&job), 20_000, 30_000)
            .unwrap(),
        vec![true]
    );
    assert!(
        q.claim(&claim_opts(33_000)).unwrap().is_empty(),
        "still leased"
    );
    // A webhook arrives during the try; then the worker dies and the lease runs out:
    // the job starts afresh instead of being charged (or dead-lettered) for the lost try.
    assert_eq!(
        q.enqueue(&id("1"), Action::Cancel, 40_000).unwrap(),
        Enqueued::Rerun
    );
    let options = ClaimOptions {
        max_tries: 1,
        ..claim_opts(60_000)
    };
    let again = q.claim(&options).unwrap();
    assert_eq!(again.len(), 1, "requeued, not dead");
    assert_eq!((again[0].attempts, again[0].action), (0, Action::Cancel));
    // A stale claim renews nothing.
    assert_eq!(
        q.extend_leases(std::slice::from_ref(&job), 60_000, 30_000)
            .unwrap(),
        vec![false]
    );
    assert_eq!(q.stats(60_000).unwrap().dead, 0);
}

#[test]
fn a_legacy_non_numeric_job_ends_failed_instead_of_stalling_claims() {
    let (mut redis, keys) = NativeRedis::isolated("legacyid");
    // Queued by an older version, which took "TEST123" for an id (`Keys::job` takes
    // only real ids, so the legacy job key is spelled out under the prefix).
    redis
        .execute(
            "ZADD",
            &[keys.due().into(), 1_000i64.into(), "TEST123".into()],
        )
        .unwrap();
    let legacy_job = format!("{}job:TEST123", keys.prefix());
    redis
        .execute(
            "HSET",
            &[
                legacy_job.into(),
                "state".into(),
                JobState::Waiting.as_str().into(),
            ],
        )
        .unwrap();
    let mut q = Queue::with_keys(&mut redis, keys);
    q.enqueue(&id("42"), Action::Modify, 1_000).unwrap();
    let jobs = q.claim(&claim_opts(2_000)).unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].booking_id.as_str(), "42");
    let stats = q.stats(2_000).unwrap();
    assert_eq!((stats.waiting, stats.failed), (0, 1));
    let history = q.history(true, 10).unwrap();
    assert!(format!("{history:?}").contains("TEST123"), "{history:?}");
}
