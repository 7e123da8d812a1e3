//! Sync Masivo end to end: a reconciliation brings changes no webhook announced, a
//! backfill imports every listing page once, survives a worker kill and a Redis restart,
//! waits out a spent credit budget by itself, and obeys pause, resume and cancel.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mock_beds24::{CreditsConfig, Endpoint, Fault, Times};
use serde_json::{json, Value};

use crate::harness::{wait_for, App, AppConfig, ADMIN_TOKEN};
use crate::{keys, read, Env};

/// Everything from the first arrival date Beds24 can list.
const ALL_HISTORY: &str = r#"{"arrivalFrom":"2000-01-01"}"#;

impl Env {
    /// Start everything and wait until the worker listens (see [`Env::wait_worker`]).
    fn start_listening(tag: &str) -> Env {
        Env::start_listening_with(tag, AppConfig::default())
    }

    fn start_listening_with(tag: &str, config: AppConfig) -> Env {
        let env = Env::start_with(tag, config);
        env.wait_worker();
        env
    }

    /// After an app restart: wait until the new worker listens (see `settle_subscriptions`).
    fn wait_worker(&self) {
        crate::settle_subscriptions(&self.redis);
    }

    /// 60 generated bookings in pages of 10, each call 300 ms: start the backfill and
    /// return (bookings, pages) once two pages are stored and a third is being listed.
    fn backfill_until_a_page_is_in_flight(&self) -> (u64, i64) {
        let n = 60;
        self.mock.seed_generated(n);
        self.mock.set_page_size(10);
        self.mock.set_latency(Duration::from_millis(300));
        self.start_backfill();
        self.wait_pages(2, Duration::from_secs(20));
        wait_for("a listing call in flight", Duration::from_secs(20), || {
            self.mock
                .call_log()
                .iter()
                .any(|c| c.endpoint == Endpoint::Bookings && c.status.is_none())
                .then_some(())
        });
        (n, 6)
    }

    /// Wait until no worker holds the bulk lock: the slice in progress has ended.
    fn wait_slice_over(&self) {
        wait_for("the slice to end", Duration::from_secs(20), || {
            let held: bool = redis::cmd("EXISTS")
                .arg(keys().bulk_lock())
                .query(&mut self.redis())
                .unwrap();
            (!held).then_some(())
        });
    }

    /// POST an admin route with a JSON body and the admin token.
    fn admin_post_json(&self, path: &str, body: &str) -> (u16, Value) {
        read(
            self.http
                .post(self.app.url(path))
                .bearer_auth(ADMIN_TOKEN)
                .header("content-type", "application/json")
                .body(body.to_owned())
                .send()
                .expect("admin request"),
        )
    }

    /// The backfill's progress, as the admin API answers it.
    fn backfill(&self) -> Value {
        let (status, body) = self.admin_get("/api/admin/backfill");
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Start a backfill of all history; it answers 202 with its progress.
    fn start_backfill(&self) -> Value {
        let (status, body) = self.admin_post_json("/api/admin/backfill", ALL_HISTORY);
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["state"], json!("running"), "{body}");
        body
    }

    /// Wait until the backfill's progress passes `check`, failing at once if it failed;
    /// on a timeout the panic shows the last progress and the app's log.
    fn wait_progress(
        &self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = Instant::now();
        loop {
            let progress = self.backfill();
            if check(&progress) {
                return progress;
            }
            assert!(
                progress["state"] != json!("failed"),
                "the backfill failed: {progress}\n{}",
                self.app.log_text()
            );
            assert!(
                start.elapsed() < timeout,
                "timed out after {timeout:?} waiting for {what}: {progress}\n{}",
                self.app.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until the backfill is `state`.
    fn wait_backfill(&self, state: &str, timeout: Duration) -> Value {
        self.wait_progress(&format!("backfill {state}"), timeout, |p| {
            p["state"] == json!(state)
        })
    }

    /// Wait until the backfill has stored `pages` pages.
    fn wait_pages(&self, pages: i64, timeout: Duration) -> Value {
        self.wait_progress(&format!("{pages} pages"), timeout, |p| {
            int(p, "pagesDone") >= pages
        })
    }

    /// The backfill's Redis hash, read straight from Redis (while no app runs).
    fn backfill_hash(&self) -> BTreeMap<String, String> {
        redis::cmd("HGETALL")
            .arg(keys().backfill())
            .query(&mut self.redis())
            .unwrap()
    }

    /// Every stored `bookingId` with how many rows it has, ascending by id.
    fn rows_per_booking(&self) -> BTreeMap<u64, i64> {
        self.db
            .client()
            .query(
                "SELECT \"bookingId\", count(*) FROM \"Booking\" GROUP BY \"bookingId\"",
                &[],
            )
            .unwrap()
            .iter()
            .map(|row| {
                let id: String = row.get(0);
                (id.parse().expect("a numeric booking id"), row.get(1))
            })
            .collect()
    }

    /// Every booking of the mock stored exactly once, and nothing else.
    fn assert_every_booking_once(&self) {
        let rows = self.rows_per_booking();
        let expected: BTreeMap<u64, i64> = self
            .mock
            .booking_ids()
            .into_iter()
            .map(|id| (id, 1))
            .collect();
        assert_eq!(rows.len(), expected.len(), "rows per booking: {rows:?}");
        assert_eq!(rows, expected);
    }
}

fn int(progress: &Value, field: &str) -> i64 {
    progress[field]
        .as_i64()
        .unwrap_or_else(|| panic!("{field} is not a number: {progress}"))
}

/// Listing calls the backfill made: none of them names a booking (no per-booking fetch).
fn listing_calls(env: &Env) -> usize {
    let requested = env.mock.requested_ids(Endpoint::Bookings);
    assert!(
        requested.iter().all(Vec::is_empty),
        "a backfill lists pages, it does not fetch bookings by id: {requested:?}"
    );
    requested.len()
}

#[test]
fn a_reconciliation_brings_an_edit_and_a_cancellation_no_webhook_announced() {
    let env = Env::start_listening("bulkreconcile");
    let ids = [7101u64, 7102, 7103];
    for id in ids {
        env.mock.booking_from_fixture(id, |_| {});
        let (status, body) = env.webhook(json!({ "bookingId": id }).to_string(), None);
        assert_eq!(status, 202, "{body}");
    }
    for id in ids {
        env.wait_booking(&id.to_string(), Duration::from_secs(20), |r| {
            r["status"] == json!("confirmed")
        });
    }
    env.wait_idle(Duration::from_secs(10));
    // The worker's first look scheduled the first run one interval ahead: not due yet.
    let (status, before) = env.admin_get("/api/admin/reconcile");
    assert_eq!(status, 200, "{before}");
    assert!(before["nextAt"].as_i64().is_some(), "{before}");
    assert_eq!(before["cursor"], Value::Null, "{before}");
    let untouched = env.booking("7103").unwrap();

    // Staff edit one booking and cancel another in Beds24; no webhook comes.
    env.mock
        .update_booking(7101u64, |b| b["phone"] = json!("+34 600 000 001"));
    env.mock
        .update_booking(7102u64, |b| b["status"] = json!("cancelled"));
    env.mock.reset_counters();
    let (status, body) = env.admin_post("/api/admin/reconcile");
    assert_eq!(status, 202, "{body}");

    env.wait_booking("7101", Duration::from_secs(20), |r| {
        r["phone"] == json!("+34 600 000 001")
    });
    let cancelled = env.wait_booking("7102", Duration::from_secs(20), |r| {
        r["status"] == json!("cancelled")
    });
    assert_eq!(cancelled["BDStatus"], json!("synced"), "{cancelled}");
    let status = wait_for("the run to finish", Duration::from_secs(10), || {
        let (_, status) = env.admin_get("/api/admin/reconcile");
        status["lastRunAt"].as_i64().is_some().then_some(status)
    });
    // Listed by modification time: only the two changed bookings (the third was last
    // modified long before the first run's look-back), in one page, no fetch by id.
    assert_eq!(status["lastBookings"], json!(2), "{status}");
    assert!(status["cursor"].as_i64().is_some(), "{status}");
    assert_eq!(status["lastError"], Value::Null, "{status}");
    assert_eq!(listing_calls(&env), 1);
    assert_eq!(env.booking("7103").unwrap(), untouched);
    assert_eq!(env.row_count(), 3);
    assert_eq!(
        env.stats()["totals"]["processed"],
        json!(3),
        "no job was queued"
    );
}

#[test]
fn a_backfill_imports_every_page_once() {
    let env = Env::start_listening("bulkbackfill");
    let n = 250;
    env.mock.seed_generated(n);
    env.mock.set_page_size(50);
    let pages = 5;
    let started = env.start_backfill();
    assert_eq!(started["arrivalFrom"], json!("2000-01-01"), "{started}");
    let done = env.wait_backfill("done", Duration::from_secs(30));
    assert_eq!(int(&done, "pagesDone"), pages, "{done}");
    assert_eq!(int(&done, "bookingsDone"), n as i64, "{done}");
    assert_eq!(int(&done, "rowsWritten"), n as i64, "{done}");
    assert!(done["creditsSpent"].as_f64().unwrap() > 0.0, "{done}");
    assert_eq!(done["lastError"], Value::Null, "{done}");
    env.assert_every_booking_once();
    // One listing call per page, nothing per booking; the 25 generated messages come in
    // a listing of their own (one page of 50), merged into their rows.
    assert_eq!(listing_calls(&env), pages as usize);
    assert_eq!(env.mock.calls(Endpoint::Messages), 1);
    assert_eq!(int(&done, "messagePagesDone"), 1, "{done}");
    assert_eq!(
        env.booking("30").expect("row 30")["messages"][0]["bookingId"],
        json!(30)
    );
    assert_eq!(env.booking("31").expect("row 31")["messages"], json!([]));
    // Every 20th generated booking is cancelled: listed and stored all the same.
    assert_eq!(
        env.booking("20").expect("row 20")["status"],
        json!("cancelled")
    );

    // The same import again reads every page and writes nothing new.
    env.start_backfill();
    let again = env.wait_backfill("done", Duration::from_secs(30));
    assert_eq!(
        (int(&again, "bookingsDone"), int(&again, "rowsWritten")),
        (n as i64, 0),
        "{again}"
    );
    env.assert_every_booking_once();
}

/// The worker dies while it syncs a webhook in the middle of a backfill (between two
/// slices: no bulk lock is held), then Redis restarts; the supervisor starts the app
/// again and ticks, and the backfill goes on from the page it had stored.
#[test]
fn a_backfill_survives_a_worker_kill_and_a_redis_restart() {
    let mut env = Env::start_listening("bulkrestart");
    let n = 80;
    env.mock.seed_generated(n);
    env.mock.set_page_size(10);
    let pages = 8;
    // A webhook's booking outside the backfill's range (arrival before 2000) whose
    // fetch hangs: the worker is busy on it, not on a page, when it is killed.
    env.mock
        .booking_from_fixture(9999u64, |b| b["arrival"] = json!("1999-12-30"));
    env.mock.set_fault(
        Some(9999),
        Fault::Delay(Duration::from_secs(5)),
        Times::Once,
    );
    env.mock.set_latency(Duration::from_millis(100));
    env.start_backfill();
    env.wait_pages(2, Duration::from_secs(20));
    assert_eq!(env.webhook(r#"{"bookingId":9999}"#, None).0, 202);
    wait_for(
        "the webhook's fetch in flight",
        Duration::from_secs(20),
        || {
            env.mock
                .call_log()
                .iter()
                .any(|c| c.ids.iter().any(|id| id == "9999") && c.status.is_none())
                .then_some(())
        },
    );
    env.app.kill();
    let held: bool = redis::cmd("EXISTS")
        .arg(keys().bulk_lock())
        .query(&mut env.redis())
        .unwrap();
    assert!(!held, "killed in the middle of a slice");
    let at_kill = env.backfill_hash();
    let pages_at_kill: i64 = at_kill["pagesDone"].parse().unwrap();
    assert_eq!(at_kill["state"], "running", "{at_kill:?}");
    assert!(
        pages_at_kill < pages,
        "finished before the kill: {at_kill:?}"
    );
    assert_eq!(
        env.row_count(),
        at_kill["bookingsDone"].parse::<i64>().unwrap(),
        "rows are those of the stored pages"
    );

    // Redis restarts (AOF, fsync always): the backfill's place is kept.
    env.mock.set_latency(Duration::ZERO);
    env.redis.restart();
    assert_eq!(env.backfill_hash(), at_kill);
    env.app = App::start(&env.redis, &env.db, &env.mock, &AppConfig::default());
    env.wait_worker();
    // No lock of the dead worker to wait out: the tick's worker goes on at once.
    assert_eq!(env.admin_post("/api/admin/tick").0, 202);
    let done = env.wait_backfill("done", Duration::from_secs(15));
    assert_eq!(int(&done, "pagesDone"), pages, "{done}");
    assert_eq!(int(&done, "bookingsDone"), n as i64, "{done}");
    assert_eq!(int(&done, "rowsWritten"), n as i64, "{done}");
    // No page was listed twice.
    let listed = env
        .mock
        .requested_ids(Endpoint::Bookings)
        .iter()
        .filter(|ids| ids.is_empty())
        .count();
    assert_eq!(listed, pages as usize);
    let rows = env.rows_per_booking();
    let backfilled: BTreeMap<u64, i64> = rows.into_iter().filter(|(id, _)| *id <= n).collect();
    assert_eq!(backfilled, (1..=n).map(|id| (id, 1)).collect());
}

/// The worker is killed in the middle of a page (its listing call in flight, the bulk
/// lock held), then Redis restarts. The page is listed again once the dead worker's
/// lock has run out, and written rows are not counted twice.
#[test]
fn a_backfill_killed_mid_page_resumes_when_the_bulk_lock_runs_out() {
    // The bulk lock lasts a lease (at least 5 s) and is renewed before every page: with
    // a 6 s lease the killed worker's lock is gone 6 s after its last renewal.
    let config = AppConfig {
        lease_seconds: "6".into(),
        ..AppConfig::default()
    };
    let mut env = Env::start_listening_with("bulkmidpage", config);
    let (n, pages) = env.backfill_until_a_page_is_in_flight();
    env.app.kill();
    let at_kill = env.backfill_hash();
    assert_eq!(at_kill["state"], "running", "{at_kill:?}");
    env.redis.restart();
    let config = AppConfig {
        lease_seconds: "6".into(),
        ..AppConfig::default()
    };
    env.app = App::start(&env.redis, &env.db, &env.mock, &config);
    env.wait_worker();
    let restarted = Instant::now();
    let done = wait_for("the backfill to finish", Duration::from_secs(90), || {
        // The supervisor ticks periodically.
        assert_eq!(env.admin_post("/api/admin/tick").0, 202);
        std::thread::sleep(Duration::from_millis(500));
        let progress = env.backfill();
        (progress["state"] == json!("done")).then_some(progress)
    });
    eprintln!("backfill done {:?} after the restart", restarted.elapsed());
    assert_eq!(int(&done, "pagesDone"), pages, "{done}");
    assert_eq!(int(&done, "bookingsDone"), n as i64, "{done}");
    assert_eq!(int(&done, "rowsWritten"), n as i64, "{done}");
    env.assert_every_booking_once();
    // The page in flight at the kill was listed again, the others once.
    assert_eq!(listing_calls(&env), pages as usize + 1);
}

#[test]
fn a_spent_credit_budget_makes_the_backfill_wait_and_go_on_by_itself() {
    let env = Env::start_listening("bulkcredits");
    let n = 200;
    env.mock.seed_generated(n);
    env.mock.set_page_size(50);
    // A page of 50 and its messages cost about 4.75 credits: two pages leave less
    // than the reserve (5) of a budget of 14, which comes back every 2 s.
    env.mock.set_credits(CreditsConfig {
        budget: 14.0,
        window: Duration::from_secs(2),
        base_cost: 1.0,
        per_result_cost: 0.05,
    });
    env.start_backfill();
    let started = Instant::now();
    let mut seen = Vec::new();
    let done = wait_for("backfill done", Duration::from_secs(30), || {
        let progress = env.backfill();
        let state = progress["state"].as_str().unwrap_or_default().to_owned();
        assert_ne!(state, "failed", "{progress}");
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        (state == "done").then_some(progress)
    });
    assert!(
        seen.iter().any(|s| s == "waiting-for-credits"),
        "never waited for credits: {seen:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(1_500),
        "finished in {:?}: no window was waited out",
        started.elapsed()
    );
    assert_eq!(int(&done, "pagesDone"), 4, "{done}");
    assert_eq!(int(&done, "rowsWritten"), n as i64, "{done}");
    assert!(done["creditsSpent"].as_f64().unwrap() > 14.0, "{done}");
    env.assert_every_booking_once();
    // It waited for the window rather than running into it.
    let refused = env
        .mock
        .call_log()
        .iter()
        .filter(|c| c.status == Some(429))
        .count();
    assert_eq!(refused, 0, "requests refused for credits");
}

#[test]
fn pause_resume_and_cancel_a_backfill() {
    let env = Env::start_listening("bulkcontrol");
    let n = 100;
    env.mock.seed_generated(n);
    env.mock.set_page_size(10);
    env.mock.set_latency(Duration::from_millis(150));
    env.start_backfill();
    // One backfill at a time.
    let (status, body) = env.admin_post_json("/api/admin/backfill", ALL_HISTORY);
    assert_eq!(status, 409, "{body}");
    env.wait_pages(1, Duration::from_secs(20));

    let (status, body) = env.admin_post("/api/admin/backfill/pause");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], json!("paused"), "{body}");
    // The page in flight is stored and the slice ends; then nothing moves.
    env.wait_slice_over();
    let paused = env.backfill();
    let calls = env.mock.calls(Endpoint::Bookings);
    std::thread::sleep(Duration::from_millis(1_000));
    let still = env.backfill();
    assert_eq!(still["state"], json!("paused"), "{still}");
    assert_eq!(still["pagesDone"], paused["pagesDone"], "{still}");
    assert!(int(&still, "pagesDone") < 10, "{still}");
    assert_eq!(env.mock.calls(Endpoint::Bookings), calls);
    assert_eq!(env.row_count(), int(&still, "bookingsDone"));
    // Paused is not finished: a new one is refused, and so is a second pause.
    assert_eq!(
        env.admin_post_json("/api/admin/backfill", ALL_HISTORY).0,
        409
    );
    assert_eq!(env.admin_post("/api/admin/backfill/pause").0, 409);

    env.mock.set_latency(Duration::ZERO);
    let (status, body) = env.admin_post("/api/admin/backfill/resume");
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["state"], json!("running"), "{body}");
    let done = env.wait_backfill("done", Duration::from_secs(30));
    assert_eq!(int(&done, "pagesDone"), 10, "{done}");
    assert_eq!(int(&done, "bookingsDone"), n as i64, "{done}");
    assert_eq!(int(&done, "rowsWritten"), n as i64, "{done}");
    env.assert_every_booking_once();
    assert_eq!(
        listing_calls(&env),
        10,
        "the paused page was not listed twice"
    );
    assert_eq!(env.admin_post("/api/admin/backfill/resume").0, 409);
    assert_eq!(env.admin_post("/api/admin/backfill/pause").0, 409);

    // Cancelled mid-run: idle, no further page; the rows written stay.
    env.mock
        .update_booking(1u64, |b| b["lastName"] = json!("Changed"));
    env.mock.set_latency(Duration::from_millis(150));
    env.start_backfill();
    env.wait_pages(1, Duration::from_secs(20));
    wait_for("a listing call in flight", Duration::from_secs(20), || {
        let log = env.mock.call_log();
        let in_flight = log
            .iter()
            .any(|c| c.endpoint == Endpoint::Bookings && c.status.is_none());
        in_flight.then_some(())
    });
    let (status, body) = env.admin_post("/api/admin/backfill/cancel");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], json!("idle"), "{body}");
    env.wait_slice_over();
    let calls = env.mock.calls(Endpoint::Bookings);
    std::thread::sleep(Duration::from_millis(1_000));
    assert_eq!(
        env.mock.calls(Endpoint::Bookings),
        calls,
        "listing after cancel"
    );
    // The page in flight at the cancel was stored but records no progress: the
    // cancelled backfill is forgotten.
    let idle = env.backfill();
    assert_eq!(idle["state"], json!("idle"), "{idle}");
    assert_eq!(
        (int(&idle, "pagesDone"), idle["startedAt"].clone()),
        (0, Value::Null),
        "{idle}"
    );
    assert!(env.backfill_hash().is_empty(), "{:?}", env.backfill_hash());
    assert_eq!(env.row_count(), n as i64);
    assert!(env.booking("1").unwrap()["guestName"]
        .as_str()
        .unwrap_or_default()
        .contains("Changed"));
    // Idle again: a new backfill may start, and runs to the end.
    env.mock.set_latency(Duration::ZERO);
    env.start_backfill();
    let done = env.wait_backfill("done", Duration::from_secs(30));
    assert_eq!(int(&done, "bookingsDone"), n as i64, "{done}");
    assert_eq!(int(&done, "rowsWritten"), 0, "{done}");
}

/// A backfill cancelled while a page is in flight and started again at once: the
/// old slice's page must not count in the new run, which imports every page itself.
#[test]
fn a_backfill_started_again_right_after_a_cancel_imports_every_page() {
    let env = Env::start_listening("bulkrestart2");
    let (n, pages) = env.backfill_until_a_page_is_in_flight();
    let (status, body) = env.admin_post("/api/admin/backfill/cancel");
    assert_eq!(status, 200, "{body}");
    env.start_backfill();
    let done = env.wait_backfill("done", Duration::from_secs(30));
    assert_eq!(
        (int(&done, "pagesDone"), int(&done, "bookingsDone")),
        (pages, n as i64),
        "{done}"
    );
    env.assert_every_booking_once();
}
