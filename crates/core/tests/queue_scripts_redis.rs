//! Scripts run by digest against a real Redis, and fall back to their text when Redis lacks them.

use beds24_sync_core::queue::{scripts, Enqueued, Queue};
use beds24_sync_core::store::{RedisExec, StoreError};
use beds24_sync_core::{Action, BookingId};
use beds24_testkit::NativeRedis;

/// Redis's script cache is server-wide: the tests here that load or flush it take turns,
/// or one test's enqueue could cache the script between the other's FLUSH and its probe.
static SCRIPT_CACHE: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn a_flushed_script_cache_costs_one_eval_and_nothing_else() {
    let _turn = SCRIPT_CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let (mut redis, keys) = NativeRedis::isolated("noscript");
    // Another process (or a restart) may empty the cache at any time.
    redis.execute("SCRIPT", &["FLUSH".into()]).unwrap();
    let sha = scripts::ENQUEUE.sha1();
    let cached = |redis: &mut NativeRedis| {
        redis
            .execute("SCRIPT", &["EXISTS".into(), sha.clone().into()])
            .unwrap()[0]
            .as_i64()
    };
    // EVALSHA alone is refused, as a NOSCRIPT the store layer names.
    let probe = redis.execute("EVALSHA", &[sha.clone().into(), 0i64.into()]);
    assert_eq!(probe, Err(StoreError::NoScript));

    let id = BookingId::parse("4242").unwrap();
    let mut queue = Queue::with_keys(&mut redis, keys.clone());
    assert_eq!(
        queue.enqueue(&id, Action::Created, 1_000).unwrap(),
        Enqueued::Queued
    );
    assert_eq!(cached(&mut redis), Some(1), "the fallback EVAL cached it");
    let mut queue = Queue::with_keys(&mut redis, keys.clone());
    assert_eq!(
        queue.enqueue(&id, Action::Modify, 1_001).unwrap(),
        Enqueued::Coalesced
    );
    assert_eq!(queue.stats(1_002).unwrap().waiting, 1);
}

#[test]
fn a_script_error_names_the_script() {
    let _turn = SCRIPT_CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let (mut redis, keys) = NativeRedis::isolated("scripterr");
    // A stats key of the wrong type makes the enqueue script fail inside Redis.
    let id = BookingId::parse("77").unwrap();
    redis
        .execute("SET", &[keys.stats().into(), "not a hash".into()])
        .unwrap();
    let error = Queue::with_keys(&mut redis, keys.clone())
        .enqueue(&id, Action::Created, 1_000)
        .unwrap_err();
    match error {
        StoreError::Command(message) => {
            assert!(message.starts_with("script enqueue:"), "{message}")
        }
        other => panic!("expected a command error, got {other:?}"),
    }
}
