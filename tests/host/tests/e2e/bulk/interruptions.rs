//! Backfills interrupted: a worker kill, a Redis restart, a kill mid-page, pause, resume and cancel.

use mock_beds24::{Fault, Times};

use super::*;
use crate::harness::App;

/// The worker dies while it syncs a webhook in the middle of a backfill (between two
/// slices: no bulk lock is held), then Redis restarts; the supervisor starts the app
/// again and ticks, and the backfill goes on from the page it had stored.
#[test]
fn a_backfill_survives_a_worker_kill_and_a_redis_restart() {
    let mut env = Env::start("bulkrestart");
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
    let mut env = Env::start_with("bulkmidpage", config);
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
fn pause_resume_and_cancel_a_backfill() {
    let env = Env::start("bulkcontrol");
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
    let env = Env::start("bulkrestart2");
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
