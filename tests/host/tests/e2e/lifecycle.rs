//! Job lifecycle end to end: retries on timers, dead letters, coalescing, leases, several workers.

use std::time::{Duration, Instant};

use beds24_sync_core::queue::JobState;
use mock_beds24::{Endpoint, Fault, Times};
use serde_json::json;

use crate::harness::{wait_for, App, AppConfig};
use crate::Env;

#[test]
fn retries_run_on_their_timers_then_dead_letter() {
    let config = AppConfig {
        retry_delays: "1,1,1".into(),
        ..AppConfig::default()
    };
    let env = Env::start_with("retries", config);
    env.mock.booking_from_fixture(4242u64, |_| {});
    env.mock
        .set_fault(Some(4242), Fault::Status(503), Times::Always);
    let sent = Instant::now();
    assert_eq!(env.webhook(r#"{"bookingId":4242}"#, None).0, 202);
    // No further traffic: only the retry timers (key expiry events) wake the worker.
    let stats = wait_for(
        "the job to be dead-lettered",
        Duration::from_secs(20),
        || {
            let stats = env.stats();
            (stats["dead"] == json!(1)).then_some(stats)
        },
    );
    let elapsed = sent.elapsed();
    assert!(
        elapsed >= Duration::from_millis(2_700),
        "three ~1 s retries took only {elapsed:?}"
    );
    assert!(
        elapsed <= Duration::from_secs(3 + 3 * 2),
        "timers fired late: {elapsed:?}"
    );
    assert_eq!(
        env.mock.fetches_of(Endpoint::Bookings, 4242u64),
        4,
        "first try + 3 retries"
    );
    assert_eq!(stats["totals"]["retried"], json!(3), "{stats}");
    assert_eq!(stats["failed"], json!(1), "{stats}");
    let job = env.job(4242).expect("a dead job keeps its record");
    assert_eq!((job.state, job.attempts), (JobState::Dead, 4), "{job:?}");
    let error = job.last_error.as_deref().unwrap_or_default();
    assert!(
        error.contains("503") || error.contains("temporarily"),
        "{job:?}"
    );
    assert!(env.booking("4242").is_none());
}

#[test]
fn permanent_errors_end_at_once_and_deleted_bookings_mark_the_row() {
    let env = Env::start("final");
    env.mock.booking_from_fixture(777u64, |_| {});
    assert_eq!(env.webhook(r#"{"bookingId":777}"#, None).0, 202);
    env.wait_booking("777", Duration::from_secs(20), |r| {
        r["BDStatus"] == json!("synced")
    });
    env.mock.remove_booking(777u64);
    assert_eq!(env.webhook(r#"{"bookingId":777}"#, None).0, 202);
    env.wait_booking("777", Duration::from_secs(20), |r| {
        r["BDStatus"] == json!("missing")
    });
    // Never seen before and not in Beds24: no row is invented.
    assert_eq!(env.webhook(r#"{"bookingId":778}"#, None).0, 202);
    // (A 403, a token lacking a scope, holds the queue instead: see beds24_api.rs.)
    let stats = env.wait_idle(Duration::from_secs(20));
    assert_eq!(
        (stats["dead"].clone(), stats["failed"].clone()),
        (json!(0), json!(2)),
        "{stats}"
    );
    assert!(env.booking("778").is_none());
}

#[test]
fn a_burst_of_webhooks_for_one_booking_costs_at_most_two_fetches() {
    let env = Env::start("burst");
    env.mock.booking_from_fixture(31337u64, |_| {});
    env.mock.set_latency(Duration::from_millis(300));
    for _ in 0..20 {
        assert_eq!(env.webhook(r#"{"bookingId":31337}"#, None).0, 202);
    }
    let stats = env.wait_idle(Duration::from_secs(20));
    let fetches = env.mock.fetches_of(Endpoint::Bookings, 31337u64);
    assert!(
        (1..=2).contains(&fetches),
        "{fetches} fetches for a burst of 20"
    );
    assert_eq!(stats["totals"]["received:MODIFY"], json!(20));
    assert!(
        stats["totals"]["coalesced"].as_i64().unwrap() >= 18,
        "{stats}"
    );
    assert_eq!(env.row_count(), 1);
}

#[test]
fn a_job_whose_worker_died_completes_after_its_lease() {
    let config = AppConfig {
        // Beds24 calls are bounded by a quarter of the lease (3 s here): the worker is
        // killed while its call is still in flight.
        lease_seconds: "12".into(),
        ..AppConfig::default()
    };
    let mut env = Env::start_with("lease", config.clone());
    env.mock.booking_from_fixture(5150u64, |_| {});
    env.mock.set_fault(
        Some(5150),
        Fault::Delay(Duration::from_secs(10)),
        Times::Once,
    );
    assert_eq!(env.webhook(r#"{"bookingId":5150}"#, None).0, 202);
    // Killed while its (slow) Beds24 call is in flight.
    wait_for(
        "the job's fetch to be in flight",
        Duration::from_secs(10),
        || {
            (env.stats()["active"] == json!(1) && env.mock.calls(Endpoint::Bookings) >= 1)
                .then_some(())
        },
    );
    env.app.kill();
    env.app = App::start(&env.redis, &env.db, &env.mock, &config);
    // What the supervisor does after every start: expiry events fired while no worker
    // listened are lost, the tick sweeps whatever came due meanwhile.
    // The supervisor then ticks periodically (scripts/run every 30 s), here every second.
    let row = wait_for("row 5150", Duration::from_secs(45), || {
        assert_eq!(env.admin_post("/api/admin/tick").0, 202);
        std::thread::sleep(Duration::from_millis(1000));
        env.booking("5150")
    });
    assert_eq!(row["status"], json!("confirmed"));
    let stats = env.wait_idle(Duration::from_secs(10));
    assert_eq!(stats["totals"]["stalled"], json!(1), "{stats}");
    assert_eq!(stats["totals"]["processed"], json!(1), "{stats}");
}

#[test]
fn three_workers_run_each_job_exactly_once() {
    let env = Env::start("workers");
    let second = App::start(&env.redis, &env.db, &env.mock, &AppConfig::default());
    let third = App::start(&env.redis, &env.db, &env.mock, &AppConfig::default());
    let ids: Vec<u64> = (6000..6040).collect();
    for id in &ids {
        env.mock.booking_from_fixture(*id, |_| {});
    }
    env.mock.set_latency(Duration::from_millis(50));
    for (n, id) in ids.iter().enumerate() {
        let app = [&env.app, &second, &third][n % 3];
        let response = reqwest::blocking::Client::new()
            .post(app.url("/api/webhooks/beds24"))
            .body(json!({"bookingId": id}).to_string())
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 202);
    }
    let stats = env.wait_idle(Duration::from_secs(30));
    assert_eq!(stats["totals"]["processed"], json!(40), "{stats}");
    for id in &ids {
        assert_eq!(
            env.mock.fetches_of(Endpoint::Bookings, *id),
            1,
            "booking {id} fetched more than once"
        );
    }
    assert_eq!(env.row_count(), 40);
}
