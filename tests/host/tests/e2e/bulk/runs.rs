//! Bulk runs that go their whole way: a reconciliation, a multi-page backfill, one that waits for credits.

use mock_beds24::CreditsConfig;

use super::*;

#[test]
fn a_reconciliation_brings_an_edit_and_a_cancellation_no_webhook_announced() {
    let env = Env::start("bulkreconcile");
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
    let env = Env::start("bulkbackfill");
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

#[test]
fn a_spent_credit_budget_makes_the_backfill_wait_and_go_on_by_itself() {
    let env = Env::start("bulkcredits");
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
