//! The queue's operator side against a real Redis: reviving and purging dead jobs, pausing, wake-ups.

mod common;

use beds24_sync_core::queue::{Counter, Decision, Enqueued, JobState, Queue};
use beds24_sync_core::store::RedisExec;
use beds24_sync_core::Action;
use beds24_testkit::NativeRedis;
use common::{claim_opts, fail, id, job};
use serde_json::json;

#[test]
fn a_new_webhook_revives_a_dead_job() {
    let (mut redis, keys) = NativeRedis::isolated("revive");
    let mut q = Queue::with_keys(&mut redis, keys);
    q.enqueue(&id("4"), Action::Modify, 0).unwrap();
    let claimed = q.claim(&claim_opts(0)).unwrap().remove(0);
    fail(&mut q, &claimed, 0, Decision::Dead, "boom");
    assert_eq!(q.stats(1).unwrap().dead, 1);
    assert_eq!(job(&mut q, "4").map(|j| j.state), Some(JobState::Dead));
    assert_eq!(
        q.enqueue(&id("4"), Action::Modify, 10).unwrap(),
        Enqueued::Queued
    );
    let stats = q.stats(10).unwrap();
    assert_eq!((stats.dead, stats.waiting), (0, 1));
    assert_eq!(job(&mut q, "4").map(|j| j.state), Some(JobState::Waiting));
    assert_eq!(q.claim(&claim_opts(10)).unwrap()[0].attempts, 0);
}

#[test]
fn operators_can_revive_purge_and_pause() {
    use beds24_sync_core::queue::Purge;
    let (mut redis, keys) = NativeRedis::isolated("operators");
    let mut q = Queue::with_keys(&mut redis, keys);
    for (n, at) in [("11", 100), ("12", 200), ("13", 300)] {
        q.enqueue(&id(n), Action::Modify, at).unwrap();
        let claimed = q.claim(&claim_opts(at)).unwrap().remove(0);
        fail(&mut q, &claimed, at, Decision::Dead, "boom");
    }
    assert_eq!(
        q.dead_jobs(10)
            .unwrap()
            .iter()
            .map(|(i, _)| i.as_str())
            .collect::<Vec<_>>(),
        ["13", "12", "11"]
    );
    let dead = job(&mut q, "13").expect("a dead job keeps its record");
    assert_eq!(
        dead.timeline.last().map(|r| &r["outcome"]),
        Some(&json!(Decision::Dead.mode())),
        "{dead:?}"
    );
    assert_eq!(q.revive_dead(400, 0, Some(&id("11"))).unwrap(), 1);
    assert_eq!(q.revive_dead(400, 0, Some(&id("99"))).unwrap(), 0);
    assert_eq!(
        q.revive_dead(400, 250, None).unwrap(),
        1,
        "only those dead since 250"
    );
    let stats = q.stats(400).unwrap();
    assert_eq!(
        (stats.dead, stats.waiting, stats.total(Counter::Replayed)),
        (1, 2, 2)
    );
    q.set_paused(true).unwrap();
    assert!(
        q.claim(&claim_opts(500)).unwrap().is_empty(),
        "paused: nothing claimed"
    );
    assert!(q.stats(500).unwrap().paused);
    q.set_paused(false).unwrap();
    assert_eq!(q.claim(&claim_opts(500)).unwrap().len(), 2);
    assert_eq!(q.purge_dead().unwrap(), vec![id("12")]);
    assert_eq!(job(&mut q, "12"), None);
    assert_eq!(q.purge(Purge::Failed).unwrap(), 3);
    assert_eq!(q.history(true, 10).unwrap().len(), 0);
}

#[test]
fn a_burst_publishes_one_wake_up_until_a_worker_claims() {
    let (mut redis, keys) = NativeRedis::isolated("wakeup");
    let mut q = Queue::with_keys(&mut redis, keys.clone());
    assert!(!q.wake_pending().unwrap());
    q.enqueue(&id("1"), Action::Modify, 0).unwrap();
    assert!(
        q.wake_pending().unwrap(),
        "the first enqueue publishes and marks the wake-up"
    );
    q.enqueue(&id("2"), Action::Modify, 0).unwrap();
    let claimed = q.claim(&claim_opts(0)).unwrap();
    assert_eq!(claimed.len(), 2, "the one wake-up's claim takes both");
    assert!(
        !q.wake_pending().unwrap(),
        "a claim clears it, so the next enqueue publishes again"
    );
    q.enqueue(&id("3"), Action::Modify, 1).unwrap();
    assert!(q.wake_pending().unwrap());
    let ttl = redis
        .execute("PTTL", &[keys.wake_pending().into()])
        .unwrap()[0]
        .as_i64()
        .unwrap();
    assert!(
        (1..=1000).contains(&ttl),
        "expires on its own (its expiry event wakes a worker): {ttl}"
    );
}

#[test]
fn while_paused_a_claim_leaves_the_wake_up_pending() {
    let (mut redis, keys) = NativeRedis::isolated("pausedwake");
    let mut q = Queue::with_keys(&mut redis, keys);
    q.set_paused(true).unwrap();
    q.enqueue(&id("1"), Action::Modify, 0).unwrap();
    assert!(q.wake_pending().unwrap());
    assert!(q.claim(&claim_opts(0)).unwrap().is_empty());
    assert!(
        q.wake_pending().unwrap(),
        "a paused worker has nothing to claim: later webhooks need not wake it again"
    );
    q.set_paused(false).unwrap();
    assert_eq!(q.claim(&claim_opts(1)).unwrap().len(), 1);
    assert!(!q.wake_pending().unwrap(), "a real claim clears it");
}
