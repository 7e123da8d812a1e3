//! The worker against Beds24's behaviours: tokens, scopes, credits, every error class.

use std::time::Duration;

use mock_beds24::{CreditsConfig, Endpoint, Fault, Times};
use serde_json::json;

use crate::harness::AppConfig;
use crate::Env;

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn refresh_token_is_exchanged_once_for_many_jobs_and_again_after_expiry() {
    let config = AppConfig {
        token: Some(String::new()),
        refresh_token: Some("mock-refresh-token".into()),
        ..AppConfig::default()
    };
    let env = Env::start_with("token", config);
    // expiresIn 302 s: cached for 2 s (refreshed 300 s early).
    env.mock.set_refresh_token("mock-refresh-token", 302);
    for id in 100..110u64 {
        env.mock.booking_from_fixture(id, |_| {});
        assert_eq!(
            env.webhook(json!({"bookingId": id}).to_string(), None).0,
            202
        );
    }
    let stats = env.wait_idle(WAIT);
    assert_eq!(stats["totals"]["processed"], json!(10), "{stats}");
    assert_eq!(env.mock.calls(Endpoint::Token), 1);
    assert_eq!(
        stats["totals"]["api:token"],
        json!(1),
        "token calls are counted"
    );
    std::thread::sleep(Duration::from_millis(2_300));
    assert_eq!(env.webhook(r#"{"bookingId":100}"#, None).0, 202);
    env.wait_idle(WAIT);
    assert_eq!(env.mock.calls(Endpoint::Token), 2, "refreshed after expiry");
    // Beds24 revokes the token early: one 401, one refresh, the job still completes.
    env.mock.expire_all_tokens();
    assert_eq!(env.webhook(r#"{"bookingId":101}"#, None).0, 202);
    let stats = env.wait_idle(WAIT);
    assert_eq!(env.mock.calls(Endpoint::Token), 3);
    assert_eq!(
        (
            stats["failed"].clone(),
            stats["totals"]["processed"].clone()
        ),
        (json!(0), json!(12)),
        "{stats}"
    );
}

#[test]
fn a_rejected_token_holds_jobs_without_tries_until_a_working_token_is_in_place() {
    let env = Env::start_with(
        "badtoken",
        AppConfig {
            token: Some("rotated-away".into()),
            ..AppConfig::default()
        },
    );
    for id in [200u64, 201, 202] {
        env.mock.booking_from_fixture(id, |_| {});
        assert_eq!(
            env.webhook(json!({ "bookingId": id }).to_string(), None).0,
            202
        );
    }
    // Beds24 answers 401: nothing is deleted, dead-lettered or charged a try.
    let stats = crate::harness::wait_for("queue held", WAIT, || {
        let stats = env.stats();
        stats["held"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("account"))
            .then_some(stats)
    });
    assert_eq!(
        (stats["failed"].clone(), stats["dead"].clone()),
        (json!(0), json!(0)),
        "{stats}"
    );
    // The jobs that were tried say why; the others were not even claimed (held).
    for id in ["200", "201", "202"] {
        let job = env.job(id).unwrap_or_else(|| panic!("{id} has a job"));
        assert_eq!(job.attempts, 0, "{id}: {job:?}");
        if let Some(error) = &job.last_error {
            assert!(error.contains("token"), "{id}: {job:?}");
        }
    }
    let (status, ready) = env.admin_get("/api/health/ready");
    assert_eq!(status, 503, "{ready}");
    assert!(
        ready["checks"]["beds24Token"]["error"]
            .as_str()
            .unwrap()
            .contains("rejects"),
        "{ready}"
    );
    let metrics = env
        .get_raw("/metrics", Some(crate::harness::ADMIN_TOKEN))
        .text()
        .unwrap();
    assert!(metrics.contains("beds24_sync_queue_held 1"), "{metrics}");
    // One call per recheck while held, not one per job or per wake-up.
    let calls = env.mock.calls(Endpoint::Bookings);
    assert!(calls <= 2, "{calls} bookings calls while held");
    // The operator puts a working token in place (here: Beds24 accepts it again).
    env.mock.set_long_life_token("rotated-away");
    let stats = crate::harness::wait_for("held jobs synced", Duration::from_secs(45), || {
        let stats = env.stats();
        (stats["totals"]["processed"] == json!(3)).then_some(stats)
    });
    assert_eq!(stats["dead"], json!(0), "{stats}");
    for id in ["200", "201", "202"] {
        assert!(env.booking(id).is_some(), "{id} synced");
    }
    let (status, ready) = env.admin_get("/api/health/ready");
    assert_eq!(status, 200, "{ready}");
}

#[test]
fn a_token_without_the_personal_or_financial_scope_holds_the_queue() {
    let env = Env::start("scopes");
    env.mock.set_scopes(&["read:bookings", "read:properties"]);
    env.mock.booking_from_fixture(210u64, |_| {});
    assert_eq!(env.webhook(r#"{"bookingId":210}"#, None).0, 202);
    let (status, ready) = crate::harness::wait_for("the token check red", WAIT, || {
        let (status, ready) = env.admin_get("/api/health/ready");
        (ready["checks"]["beds24Token"]["status"] == json!("error")).then_some((status, ready))
    });
    assert_eq!(status, 503, "{ready}");
    let reason = ready["checks"]["beds24Token"]["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        reason.contains("bookings-personal") && reason.contains("bookings-financial"),
        "{status} {ready}"
    );
    assert!(env.booking("210").is_none(), "no row with blanked fields");
    assert_eq!(env.mock.calls(Endpoint::Bookings), 0);
    assert_eq!(env.job(210).expect("a job for 210").attempts, 0);
}

#[test]
fn a_spent_budget_holds_work_until_the_reset_and_never_writes_webhook_data() {
    let config = AppConfig {
        extra_env: vec![("BEDS24_CREDIT_RESERVE", "0".into())],
        ..AppConfig::default()
    };
    let env = Env::start_with("credits", config);
    env.mock.set_credits(CreditsConfig {
        budget: 2.0,
        window: Duration::from_secs(4),
        ..CreditsConfig::default()
    });
    for id in [300u64, 301] {
        env.mock
            .booking_from_fixture(id, |b| b["modifiedTime"] = json!("2026-02-16T00:00:00Z"));
    }
    assert_eq!(env.webhook(r#"{"bookingId":300}"#, None).0, 202);
    env.wait_booking("300", WAIT, |_| true);
    // The budget is now spent. An unauthenticated body claiming a far-future change and
    // another guest must never reach the table: only Beds24's own answer is written.
    let mut body = env.mock.webhook_v2_body(301u64).unwrap();
    body["booking"]["modifiedTime"] = json!("2099-01-01T00:00:00Z");
    body["booking"]["firstName"] = json!("Mallory");
    body["booking"]["status"] = json!("request");
    assert_eq!(env.webhook(body.to_string(), None).0, 202);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        env.booking("301").is_none(),
        "nothing written from the webhook body"
    );
    let row = env.wait_booking("301", WAIT, |_| true);
    assert_eq!(
        (row["BDStatus"].clone(), row["status"].clone()),
        (json!("synced"), json!("confirmed")),
        "{row}"
    );
    assert!(!row.to_string().contains("Mallory"), "{row}");
    assert!(
        row["modifiedDate"]
            .as_str()
            .unwrap()
            .starts_with("2026-02-16"),
        "{row}"
    );
    // A made-up booking id is never invented into a row either.
    let mut fake = env.mock.webhook_v2_body(300u64).unwrap();
    fake["booking"]["id"] = json!(399);
    assert_eq!(env.webhook(fake.to_string(), None).0, 202);
    let stats = env.wait_idle(WAIT);
    assert!(env.booking("399").is_none());
    assert_eq!(
        (stats["dead"].clone(), stats["totals"]["retried"].clone()),
        (json!(0), serde_json::Value::Null),
        "{stats}"
    );
    assert!(stats["totals"]["delayed"].as_i64().unwrap() >= 1, "{stats}");
}

#[test]
fn after_a_rate_limit_the_backlog_goes_out_in_full_batches() {
    let config = AppConfig {
        extra_env: vec![("BEDS24_CREDIT_RESERVE", "0".into())],
        ..AppConfig::default()
    };
    let env = Env::start_with("backlog", config);
    // 4 credits per 4 s window: two batches (bookings + messages) per window.
    env.mock.set_credits(CreditsConfig {
        budget: 4.0,
        window: Duration::from_secs(4),
        ..CreditsConfig::default()
    });
    env.mock.set_properties(Vec::new());
    let ids: Vec<u64> = (500..520).collect();
    for &id in &ids {
        env.mock.booking_from_fixture(id, |_| {});
    }
    // Webhooks trickle in, so the first ones are claimed alone and spend the window.
    for &id in &ids {
        assert_eq!(
            env.webhook(json!({ "bookingId": id }).to_string(), None).0,
            202
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let stats = crate::harness::wait_for("backlog synced", Duration::from_secs(30), || {
        let stats = env.stats();
        (stats["totals"]["processed"] == json!(20)).then_some(stats)
    });
    assert_eq!(
        (stats["dead"].clone(), stats["failed"].clone()),
        (json!(0), json!(0)),
        "{stats}"
    );
    let batches = env.mock.requested_ids(Endpoint::Bookings);
    let largest = batches.iter().map(Vec::len).max().unwrap_or(0);
    assert!(
        largest >= 10,
        "after the reset the waiting jobs go out together: {batches:?}"
    );
    assert!(
        batches.len() <= 8,
        "{} bookings calls: {batches:?}",
        batches.len()
    );
}

#[test]
fn each_error_class_lands_where_it_should() {
    // One job per Beds24 call, so each fault hits only the booking it is set on.
    let config = AppConfig {
        batch_size: "1".into(),
        retry_delays: "0.3,0.3,0.3".into(),
        extra_env: vec![("BEDS24_TIMEOUT_SECONDS", "1".into())],
        ..AppConfig::default()
    };
    let env = Env::start_with("errors", config);
    // (A 429 holds the whole account: see the credit tests.)
    let cases: [(u64, Fault, Times); 5] = [
        (
            401,
            Fault::BadRequest("id 401 is malformed".into()),
            Times::Always,
        ),
        // A try sends the bookings and the messages request together, both naming the
        // id: N(2) makes the whole first try fail (a failed messages call alone would
        // keep the stored messages and let the booking sync on its first try).
        (403, Fault::InvalidJson, Times::N(2)),
        (404, Fault::ConnectionReset, Times::N(2)),
        (405, Fault::Delay(Duration::from_secs(3)), Times::N(2)),
        (406, Fault::Status(502), Times::N(2)),
    ];
    for (id, fault, times) in cases {
        env.mock.booking_from_fixture(id, |_| {});
        env.mock.set_fault(Some(id), fault, times);
    }
    env.mock
        .booking_from_fixture(407u64, |b| b["status"] = json!("cancelled"));
    for id in [401u64, 403, 404, 405, 406, 407] {
        assert_eq!(
            env.webhook(json!({"bookingId": id}).to_string(), None).0,
            202
        );
    }
    let stats = crate::harness::wait_for("every job settled", Duration::from_secs(30), || {
        let stats = env.stats();
        (stats["totals"]["processed"] == json!(5) && stats["failed"] == json!(1)).then_some(stats)
    });
    assert_eq!(stats["dead"], json!(0), "{stats}");
    let failed = env.history(true);
    assert!(
        failed.iter().any(
            |r| r["bookingId"] == json!("401") && r.to_string().contains("id 401 is malformed")
        ),
        "{failed:?}"
    );
    for id in 403..=407u64 {
        assert!(
            env.booking(&id.to_string()).is_some(),
            "booking {id} synced after its fault"
        );
        assert_eq!(env.job(id), None, "{id} has no job left");
    }
    assert_eq!(env.booking("407").unwrap()["status"], json!("cancelled"));
    // 5xx, invalid JSON, a reset connection and a timeout each cost a try, then succeed.
    let completed = env.history(false);
    for id in 403..=406u64 {
        let record = completed
            .iter()
            .find(|r| r["bookingId"] == json!(id.to_string()))
            .unwrap_or_else(|| panic!("no completion of {id}: {completed:?}"));
        assert!(
            record["attempts"].as_i64().unwrap() >= 2,
            "{id} was not retried: {record}"
        );
    }
}
