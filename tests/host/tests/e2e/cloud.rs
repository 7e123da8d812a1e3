//! The HTTP-only deployment (Fermyon Cloud, Akamai Functions): `deploy/cloud/spin.toml`, no Redis trigger, no key-value store, the worker behind `/api/worker/run`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use beds24_sync_core::queue::JobState;
use mock_beds24::{Endpoint, Fault, Times};
use serde_json::{json, Value};

use crate::harness::{wait_for, AppConfig, Manifest};
use crate::Env;

pub const WORKER_TOKEN: &str = "worker-secret-for-tests";

/// Calls the worker route every `every`, as `spin aka cron` would (path and query only).
pub struct Ticker {
    stop: Arc<AtomicBool>,
    answers: Arc<Mutex<Vec<Value>>>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(base: String, every: Duration) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        let answers = Arc::new(Mutex::new(Vec::new()));
        let (flag, seen) = (stop.clone(), answers.clone());
        let thread = std::thread::spawn(move || {
            let http = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(40))
                .build()
                .unwrap();
            let url = format!("{base}/api/worker/run?token={WORKER_TOKEN}");
            while !flag.load(Ordering::Relaxed) {
                if let Ok(response) = http.get(&url).send() {
                    let body = response.json::<Value>().unwrap_or(Value::Null);
                    seen.lock().unwrap().push(body);
                }
                std::thread::sleep(every);
            }
        });
        Ticker {
            stop,
            answers,
            thread: Some(thread),
        }
    }

    /// Jobs the ticks ran, by the route's own answers.
    pub fn jobs_run(&self) -> u64 {
        let answers = self.answers.lock().unwrap();
        answers.iter().filter_map(|a| a["jobs"].as_u64()).sum()
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The Cloud manifest with a worker token and, unless a test turns it back on, no kick:
/// only the worker route's callers move the queue.
pub fn cloud_config() -> AppConfig {
    AppConfig {
        manifest: Manifest::Cloud,
        extra_env: vec![
            ("WORKER_TOKEN", WORKER_TOKEN.into()),
            ("DRAIN_URL", String::new()),
        ],
        ..AppConfig::default()
    }
}

/// Start the app with `config`, and a ticker calling the worker route every `tick`.
pub fn start(tag: &str, config: AppConfig, tick: Option<Duration>) -> Env {
    let mut env = Env::start_with(tag, config);
    env.ticker = tick.map(|every| Ticker::start(env.app.base.clone(), every));
    env
}

impl Env {
    /// One call of the worker route with the bearer token.
    pub fn run_worker_route(&self) -> (u16, Value) {
        let response = reqwest::blocking::Client::new()
            .post(self.app.url("/api/worker/run"))
            .bearer_auth(WORKER_TOKEN)
            .timeout(Duration::from_secs(40))
            .send()
            .expect("worker route");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }
}

fn subscribers(env: &Env) -> Vec<(String, i64)> {
    redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(beds24_sync_core::keys::WAKE_CHANNEL)
        .arg("__keyevent@0__:expired")
        .query(&mut env.redis())
        .unwrap()
}

fn redis_now_ms(env: &Env) -> i64 {
    let (secs, micros): (i64, i64) = redis::cmd("TIME").query(&mut env.redis()).unwrap();
    secs * 1000 + micros / 1000
}

#[test]
fn the_cloud_manifest_syncs_the_seed_webhook_driven_only_by_the_worker_route() {
    let env = start(
        "cloudseed",
        cloud_config(),
        Some(Duration::from_millis(300)),
    );
    assert!(
        subscribers(&env).iter().all(|(_, n)| *n == 0),
        "no Redis trigger here"
    );
    crate::sync::seed_webhook_syncs(&env);
    assert!(env.ticker.as_ref().unwrap().jobs_run() >= 1);
}

#[test]
fn the_worker_route_needs_its_token_and_runs_only_due_work() {
    let env = start("cloudauth", cloud_config(), None);
    env.mock.booking_from_fixture(4401u64, |_| {});
    assert_eq!(env.webhook(r#"{"bookingId":4401}"#, None).0, 202);
    // No kick, no cron: the job waits.
    std::thread::sleep(Duration::from_millis(800));
    assert!(env.booking("4401").is_none());
    let get = |path: &str| env.get_raw(path, None);
    let refused = get("/api/worker/run");
    assert_eq!(refused.status().as_u16(), 401);
    let body: Value = refused.json().unwrap();
    assert_eq!(body["error"], json!("unauthorized"), "{body}");
    assert_eq!(get("/api/worker/run?token=wrong").status().as_u16(), 401);
    assert!(env.booking("4401").is_none(), "a refused call ran nothing");
    let wrong_method = reqwest::blocking::Client::new()
        .put(env.app.url("/api/worker/run"))
        .bearer_auth(WORKER_TOKEN)
        .send()
        .unwrap();
    assert_eq!(wrong_method.status().as_u16(), 405);

    // The cron's way: the token in the query.
    let ran: Value = get(&format!("/api/worker/run?token={WORKER_TOKEN}"))
        .json()
        .unwrap();
    assert_eq!(
        (ran["ran"].clone(), ran["jobs"].clone()),
        (json!(true), json!(1)),
        "{ran}"
    );
    assert!(env.booking("4401").is_some());
    // Nothing due: the answer says so, and no Beds24 call goes out.
    let calls = env.mock.total_calls();
    let (status, idle) = env.run_worker_route();
    assert_eq!((status, idle["jobs"].clone()), (200, json!(0)), "{idle}");
    assert_eq!(env.mock.total_calls(), calls);
}

#[test]
fn a_webhook_kicks_a_drain_so_its_row_does_not_wait_for_the_cron() {
    let mut config = cloud_config();
    config.extra_env.retain(|(name, _)| *name != "DRAIN_URL");
    let env = start("cloudkick", config, None);
    let mut latencies = Vec::new();
    for n in 0..8u64 {
        let id = 4501 + n;
        env.mock.booking_from_fixture(id, |_| {});
        let sent = Instant::now();
        assert_eq!(
            env.webhook(json!({ "bookingId": id }).to_string(), None).0,
            202
        );
        env.wait_booking(&id.to_string(), Duration::from_secs(5), |_| true);
        latencies.push(sent.elapsed());
    }
    latencies.sort();
    eprintln!(
        "webhook → row with the kick, no cron: median {:?}, max {:?}",
        latencies[latencies.len() / 2],
        latencies.last().unwrap()
    );
    assert!(
        *latencies.last().unwrap() < Duration::from_secs(3),
        "{latencies:?}"
    );
}

#[test]
fn two_callers_of_the_worker_route_never_run_a_job_twice() {
    let mut config = cloud_config();
    config.batch_size = "5".into();
    config.extra_env.push(("WORKER_CONCURRENCY", "4".into()));
    let env = start("cloudtwice", config, None);
    env.mock.set_latency(Duration::from_millis(20));
    let ids: Vec<u64> = (0..120).map(|n| 4600 + n).collect();
    for &id in &ids {
        env.mock.booking_from_fixture(id, |_| {});
        assert_eq!(
            env.webhook(json!({ "bookingId": id }).to_string(), None).0,
            202
        );
    }
    let answers: Vec<Value> = std::thread::scope(|scope| {
        let callers: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| (0..3).map(|_| env.run_worker_route().1).collect::<Vec<_>>()))
            .collect();
        callers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect()
    });
    let working = answers
        .iter()
        .filter(|a| a["jobs"].as_u64() > Some(0))
        .count();
    assert!(working >= 2, "callers ran side by side: {answers:?}");
    let stats = env.wait_idle(Duration::from_secs(20));
    assert_eq!(env.row_count(), 120);
    for &id in &ids {
        assert_eq!(
            env.mock.fetches_of(Endpoint::Bookings, id),
            1,
            "booking {id}"
        );
    }
    assert_eq!(stats["totals"]["processed"], json!(120), "{stats}");
    assert_eq!(
        stats["totals"]["stalled"].as_i64().unwrap_or(0),
        0,
        "{stats}"
    );

    // Every place taken (the app runs with four): a caller runs nothing and says why.
    let drains = crate::keys().drains();
    let mut redis = env.redis();
    let far = redis_now_ms(&env) + 60_000;
    for n in 1..=4 {
        redis::cmd("ZADD")
            .arg(&drains)
            .arg(far)
            .arg(format!("held-by-test-{n}"))
            .exec(&mut redis)
            .unwrap();
    }
    let (status, busy) = env.run_worker_route();
    assert_eq!(
        (status, busy["ran"].clone(), busy["running"].clone()),
        (200, json!(false), json!(4)),
        "{busy}"
    );
}

/// The retry schedule as the worker applies it, whichever way it is driven: the first
/// try fails, the job waits 5 s (±10 %) and runs again, then is set to wait 25 s.
pub(crate) fn assert_default_schedule(env: &Env, id: u64) {
    env.mock.booking_from_fixture(id, |_| {});
    env.mock
        .set_fault(Some(id), Fault::Status(503), Times::Always);
    assert_eq!(
        env.webhook(json!({ "bookingId": id }).to_string(), None).0,
        202
    );
    let delay_after = |tries: u32| {
        let job = wait_for("the failed try", Duration::from_secs(40), || {
            env.job(id)
                .filter(|j| j.state == JobState::Delayed && j.attempts == tries)
        });
        let failed_at = Instant::now();
        (job.due_at.unwrap() - redis_now_ms(env), failed_at)
    };
    let (first, failed_at) = delay_after(1);
    assert!(
        (4_300..=5_500).contains(&first),
        "first retry in {first} ms"
    );
    let (second, _) = delay_after(2);
    let waited = failed_at.elapsed();
    assert!(
        waited >= Duration::from_millis(4_300),
        "retried after {waited:?}"
    );
    assert!(waited <= Duration::from_secs(9), "retried late: {waited:?}");
    assert!(
        (22_000..=27_500).contains(&second),
        "second retry in {second} ms"
    );
    assert_eq!(env.mock.fetches_of(Endpoint::Bookings, id), 2);
}

/// A short schedule to the end: three retries on their timers, then the dead letters.
pub(crate) fn assert_dead_letter_after_retries(env: &Env, id: u64) {
    env.mock.booking_from_fixture(id, |_| {});
    env.mock
        .set_fault(Some(id), Fault::Status(503), Times::Always);
    let sent = Instant::now();
    assert_eq!(
        env.webhook(json!({ "bookingId": id }).to_string(), None).0,
        202
    );
    wait_for("the dead letter", Duration::from_secs(30), || {
        (env.stats()["dead"] == json!(1)).then_some(())
    });
    let elapsed = sent.elapsed();
    // 1 + 2 + 3 s, each ±10 %.
    assert!(elapsed >= Duration::from_millis(5_400), "{elapsed:?}");
    assert!(elapsed <= Duration::from_secs(6 + 5), "{elapsed:?}");
    assert_eq!(
        env.mock.fetches_of(Endpoint::Bookings, id),
        4,
        "first try + 3 retries"
    );
    let job = env.job(id).expect("a dead job keeps its record");
    assert_eq!((job.state, job.attempts), (JobState::Dead, 4), "{job:?}");
}

#[test]
fn cloud_retries_follow_the_default_schedule() {
    let env = start(
        "cloudsched",
        cloud_config(),
        Some(Duration::from_millis(250)),
    );
    assert_default_schedule(&env, 4801);
}

#[test]
fn redis_trigger_retries_follow_the_default_schedule() {
    assert_default_schedule(&Env::start("mainsched"), 4802);
}

#[test]
fn cloud_retries_end_in_the_dead_letters() {
    let mut config = cloud_config();
    config.retry_delays = "1,2,3".into();
    let env = start("clouddead", config, Some(Duration::from_millis(250)));
    assert_dead_letter_after_retries(&env, 4803);
}
