//! The worker against Beds24's behaviours: tokens, credits, degradation, every error class.

use std::time::Duration;

use mock_beds24::{CreditsConfig, Endpoint, Fault, Times};
use serde_json::json;

use crate::harness::AppConfig;
use crate::Env;

const WAIT: Duration = Duration::from_secs(20);

fn job_fields(env: &Env, id: &str) -> std::collections::HashMap<String, String> {
    redis::Commands::hgetall(&mut env.redis(), format!("b24:job:{id}")).unwrap()
}

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
fn a_rejected_token_is_final_and_turns_readiness_red() {
    let env = Env::start_with(
        "badtoken",
        AppConfig {
            token: Some("not-a-valid-token".into()),
            ..AppConfig::default()
        },
    );
    env.mock.booking_from_fixture(200u64, |_| {});
    assert_eq!(env.webhook(r#"{"bookingId":200}"#, None).0, 202);
    let stats = env.wait_idle(WAIT);
    assert_eq!(
        (stats["failed"].clone(), stats["dead"].clone()),
        (json!(1), json!(0)),
        "{stats}"
    );
    assert!(
        stats["lastError"]["error"]
            .as_str()
            .unwrap()
            .contains("token invalid"),
        "{stats}"
    );
    assert_eq!(
        env.mock.fetches_of(Endpoint::Bookings, 200u64),
        1,
        "no retries of a 401"
    );
    assert_eq!(env.admin_post("/api/admin/tick").0, 202);
    let (status, ready) = env.admin_get("/api/health/ready");
    assert_eq!(status, 503, "{ready}");
    assert!(
        ready["checks"]["beds24Token"]["error"]
            .as_str()
            .unwrap()
            .contains("rejects"),
        "{ready}"
    );
}

#[test]
fn a_spent_budget_pauses_work_until_the_reset_without_using_tries() {
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
    // The budget is now spent; a full v2 webhook newer than the (missing) row is
    // written from its own data while the real fetch waits for the reset.
    let mut body = env.mock.webhook_v2_body(301u64).unwrap();
    // (A different status than the API's, only to tell the two writes apart.)
    body["booking"]["status"] = json!("request");
    assert_eq!(env.webhook(body.to_string(), None).0, 202);
    let row = env.wait_booking("301", WAIT, |_| true);
    assert_eq!(
        (row["BDStatus"].clone(), row["status"].clone()),
        (json!("webhook"), json!("request")),
        "{row}"
    );
    let stats = env.stats();
    assert!(
        stats["delayed"].as_i64() == Some(1) || stats["waiting"].as_i64() == Some(1),
        "{stats}"
    );
    // After the reset the authoritative fetch replaces it.
    let row = env.wait_booking("301", WAIT, |r| r["BDStatus"] == json!("synced"));
    assert_eq!(row["status"], json!("confirmed"));
    let stats = env.wait_idle(WAIT);
    assert_eq!(
        (
            stats["dead"].clone(),
            stats["failed"].clone(),
            stats["totals"]["retried"].clone()
        ),
        (json!(0), json!(0), serde_json::Value::Null),
        "{stats}"
    );
    assert!(stats["totals"]["delayed"].as_i64().unwrap() >= 1, "{stats}");
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
    let cases: [(u64, Fault, Times); 6] = [
        (
            401,
            Fault::BadRequest("id 401 is malformed".into()),
            Times::Always,
        ),
        (402, Fault::Status(429), Times::Once),
        (403, Fault::InvalidJson, Times::Once),
        (404, Fault::ConnectionReset, Times::Once),
        (405, Fault::Delay(Duration::from_secs(3)), Times::Once),
        (406, Fault::Status(502), Times::N(2)),
    ];
    for (id, fault, times) in cases {
        env.mock.booking_from_fixture(id, |_| {});
        env.mock.set_fault(Some(id), fault, times);
    }
    env.mock
        .booking_from_fixture(407u64, |b| b["status"] = json!("cancelled"));
    for id in 401..=407u64 {
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
    // 429: waits for the credit window to reset (the mock says 300 s), no try used.
    let limited = job_fields(&env, "402");
    assert_eq!(
        (limited["state"].as_str(), limited["attempts"].as_str()),
        ("delayed", "0"),
        "{limited:?}"
    );
    assert!(limited["lastError"].contains("rate limit"), "{limited:?}");
    let due_in = limited["dueAt"].parse::<i64>().unwrap() - chrono::Utc::now().timestamp_millis();
    assert!((200_000..=301_000).contains(&due_in), "due in {due_in} ms");
    let failed: Vec<String> =
        redis::Commands::lrange(&mut env.redis(), "b24:history:failed", 0, -1).unwrap();
    assert!(
        failed
            .iter()
            .any(|r| r.contains("\"401\"") && r.contains("id 401 is malformed")),
        "{failed:?}"
    );
    for id in 403..=407u64 {
        assert!(
            env.booking(&id.to_string()).is_some(),
            "booking {id} synced after its fault"
        );
        assert!(job_fields(&env, &id.to_string()).is_empty());
    }
    assert_eq!(env.booking("407").unwrap()["status"], json!("cancelled"));
    assert!(
        stats["totals"]["delayed"].as_i64().unwrap() >= 1,
        "429 delays: {stats}"
    );
    // 5xx, invalid JSON, a reset connection and a timeout each cost a try, then succeed.
    let completed: Vec<String> =
        redis::Commands::lrange(&mut env.redis(), "b24:history:completed", 0, -1).unwrap();
    for id in 403..=406u64 {
        let record = completed
            .iter()
            .map(|r| serde_json::from_str::<serde_json::Value>(r).unwrap())
            .find(|r| r["bookingId"] == json!(id.to_string()))
            .unwrap_or_else(|| panic!("no completion of {id}: {completed:?}"));
        assert!(
            record["attempts"].as_i64().unwrap() >= 2,
            "{id} was not retried: {record}"
        );
    }
}
