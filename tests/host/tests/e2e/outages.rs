//! Outages: Redis restarts with jobs queued, the worker process dies, Spin exits when Redis drops.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{wait_for, App, AppConfig};
use crate::proxy::TcpProxy;
use crate::Env;

#[test]
fn host_exits_when_redis_drops_and_queued_jobs_survive_a_redis_restart() {
    let mut env = Env::start("redisrestart");
    for id in 8000..8010u64 {
        env.mock.booking_from_fixture(id, |_| {});
    }
    env.set_paused_key(true);
    for id in 8000..8010u64 {
        assert_eq!(
            env.webhook(json!({"bookingId": id}).to_string(), None).0,
            202
        );
    }
    env.redis.restart();
    // Like `spin up`, the host ends when its Redis trigger connection drops.
    let status = wait_for("the host to exit", Duration::from_secs(10), || {
        env.app.exited()
    });
    assert!(!status.success());
    // AOF kept every accepted job; the supervisor (here: the test) starts the app again.
    env.set_paused_key(false);
    env.app = App::start(&env.redis, &env.db, &env.mock, &AppConfig::default());
    assert_eq!(env.admin_post("/api/admin/tick").0, 202);
    let stats = env.wait_idle(Duration::from_secs(30));
    assert_eq!(stats["totals"]["processed"], json!(10), "{stats}");
    assert_eq!(env.row_count(), 10);
}

/// Production runs the HTTP components and the worker as two supervised `spin up
/// --component-id …` processes, so the webhook stays up (and says 503) while Redis is down.
#[test]
fn webhook_answers_503_fast_while_redis_is_down_and_loses_nothing() {
    let http_only = AppConfig {
        components: vec!["webhook", "admin"],
        ..AppConfig::default()
    };
    let worker_only = AppConfig {
        components: vec!["worker"],
        ..AppConfig::default()
    };
    let mut env = Env::start_with("redisdown", http_only);
    let mut worker = App::start(&env.redis, &env.db, &env.mock, &worker_only);
    for id in [9001u64, 9002] {
        env.mock.booking_from_fixture(id, |_| {});
    }
    assert_eq!(env.webhook(r#"{"bookingId":9001}"#, None).0, 202);
    env.wait_booking("9001", Duration::from_secs(20), |_| true);

    env.redis.stop();
    let started = Instant::now();
    let (status, body) = env.webhook(r#"{"bookingId":9002}"#, None);
    let took = started.elapsed();
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("unavailable")),
        "{body}"
    );
    assert!(took < Duration::from_secs(2), "503 took {took:?}");
    assert!(env.app.exited().is_none(), "the HTTP process stays up");
    // At once when idle; if Redis went away while the worker was deleting a job
    // record, that key-value call first waits out the store's reconnect backoff
    // (about 13 s) and the host exits after the invocation.
    wait_for(
        "the worker process to exit",
        Duration::from_secs(30),
        || worker.exited(),
    );

    // Redis is back (AOF): Beds24 delivers again, the supervisor restarts the worker.
    env.redis.restart();
    wait_for(
        "the webhook to be accepted again",
        Duration::from_secs(10),
        || (env.webhook(r#"{"bookingId":9002}"#, None).0 == 202).then_some(()),
    );
    worker = App::start(&env.redis, &env.db, &env.mock, &worker_only);
    assert_eq!(env.admin_post("/api/admin/tick").0, 202);
    env.wait_booking("9002", Duration::from_secs(20), |_| true);
    let stats = env.wait_idle(Duration::from_secs(10));
    assert_eq!(stats["totals"]["processed"], json!(2), "{stats}");
    drop(worker);
}

#[test]
fn jobs_retry_while_postgres_is_down_and_complete_when_it_returns() {
    let proxy = TcpProxy::start(5432);
    let config = AppConfig {
        pg_port: Some(proxy.port),
        retry_delays: "1,2,30".into(),
        ..AppConfig::default()
    };
    let env = Env::start_with("pgdown", config);
    env.mock.booking_from_fixture(9100u64, |_| {});
    proxy.set_up(false);
    assert_eq!(env.webhook(r#"{"bookingId":9100}"#, None).0, 202);
    wait_for("a failed try", Duration::from_secs(10), || {
        (env.stats()["totals"]["retried"].as_i64() >= Some(1)).then_some(())
    });
    let job = env.job(9100).expect("a job for 9100");
    assert!(
        job.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("postgres"),
        "{job:?}"
    );
    proxy.set_up(true);
    env.wait_booking("9100", Duration::from_secs(20), |_| true);
    let stats = env.wait_idle(Duration::from_secs(10));
    assert_eq!(
        (stats["dead"].clone(), stats["failed"].clone()),
        (json!(0), json!(0)),
        "{stats}"
    );
    assert_eq!(stats["totals"]["processed"], json!(1));
}

#[test]
fn an_invocation_keeps_one_postgres_session_and_a_cut_one_costs_no_try() {
    let proxy = TcpProxy::start(5432);
    let config = AppConfig {
        pg_port: Some(proxy.port),
        batch_size: "5".into(),
        ..AppConfig::default()
    };
    let env = Env::start_with("pgsession", config);
    let ids = 9300..9315u64;
    for id in ids.clone() {
        env.mock.booking_from_fixture(id, |_| {});
    }
    // Slow Beds24 answers leave time to cut the session between two batches.
    env.mock.set_latency(Duration::from_millis(700));
    let before = proxy.connections();
    env.enqueue_as_one_batch(ids);
    wait_for("the first batch's rows", Duration::from_secs(20), || {
        (env.row_count() >= 5).then_some(())
    });
    assert!(env.row_count() < 15, "all batches done before the cut");
    // Postgres drops the session (a restart, a proxy timeout): the next batch's
    // write fails on it and goes again on a fresh one.
    proxy.set_up(false);
    proxy.set_up(true);
    let stats = env.wait_idle(Duration::from_secs(30));
    assert_eq!(env.row_count(), 15);
    assert_eq!(stats["totals"]["processed"], json!(15), "{stats}");
    assert_eq!(
        stats["totals"]["retried"].as_i64().unwrap_or(0),
        0,
        "{stats}"
    );
    assert_eq!(
        proxy.connections() - before,
        2,
        "three batches: one session, then one after the cut"
    );
}
