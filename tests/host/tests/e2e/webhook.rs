//! The webhook route: auth, size cap, bad bodies, skipped deliveries, v1 form, no guest data in logs.

use std::time::Duration;

use beds24_sync_core::queue::Counter;
use beds24_sync_core::Action;
use redis::Commands;
use serde_json::json;

use crate::harness::{AppConfig, WEBHOOK_TOKEN};
use crate::Env;

const SEED_CURL: &str =
    r#"{"booking":{"id":"TEST123","status":"confirmed","arrival":"2025-08-20"},"messages":[]}"#;

#[test]
fn bearer_token_is_required_when_configured() {
    let env = Env::start_with(
        "auth",
        AppConfig {
            webhook_token: WEBHOOK_TOKEN.into(),
            ..AppConfig::default()
        },
    );
    let (status, body) = env.webhook(SEED_CURL, None);
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    let (status, body) = env.webhook(SEED_CURL, Some("wrong-token"));
    assert_eq!(status, 401, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("invalid"),
        "{body}"
    );
    let due: i64 = env.redis().zcard(crate::keys().due()).unwrap();
    assert_eq!(due, 0, "rejected deliveries enqueue nothing");
    let (status, body) = env.webhook(SEED_CURL, Some(WEBHOOK_TOKEN));
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["received"], json!(true));
    assert!(
        chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).is_ok(),
        "{body}"
    );
}

#[test]
fn bad_bodies_get_clear_json_errors_and_nothing_is_enqueued() {
    let env = Env::start("badbody");
    let (status, body) = env.webhook("{not json", None);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_json")),
        "{body}"
    );
    let (status, body) = env.webhook("\"just a string\"", None);
    assert_eq!(status, 400, "{body}");
    let big = format!(
        r#"{{"booking":{{"id":1}},"pad":"{}"}}"#,
        "x".repeat(1024 * 1024 + 10)
    );
    let (status, body) = env.webhook(big, None);
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );
    let (status, body) = env.webhook(r#"{"booking":{"status":"confirmed"}}"#, None);
    assert_eq!(status, 202, "{body}");
    assert!(
        body["skipped"]
            .as_str()
            .unwrap()
            .contains("missing bookingId"),
        "{body}"
    );
    let mut redis = env.redis();
    assert_eq!(redis.zcard::<_, i64>(crate::keys().due()).unwrap(), 0);
    assert_eq!(env.queue_stats().total(Counter::Skipped), 1);
    let response = env.get_raw("/api/webhooks/beds24", None);
    assert_eq!(response.status().as_u16(), 400);
    let wrong_method = reqwest::blocking::Client::new()
        .put(env.app.url("/api/webhooks/beds24"))
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(wrong_method.status().as_u16(), 405);
}

/// The webhook links with a 128 KiB stack (`components/webhook/build.rs`): the deepest
/// body serde_json parses (its recursion limit is 128) is still acknowledged, and a
/// deeper one is a clear 400, not a trap.
#[test]
fn deepest_parsable_body_fits_the_webhooks_small_stack() {
    let env = Env::start("deepbody");
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let body = format!(r#"{{"booking":{{"id":4242}},"extra":{}}}"#, nested(126));
    let (status, reply) = env.webhook(body, None);
    assert_eq!(
        (status, reply["bookingId"].as_str()),
        (202, Some("4242")),
        "{reply}"
    );
    let body = format!(r#"{{"booking":{{"id":4243}},"extra":{}}}"#, nested(10_000));
    let (status, reply) = env.webhook(body, None);
    assert_eq!(
        (status, reply["error"].as_str()),
        (400, Some("invalid_json")),
        "{reply}"
    );
    assert!(
        reply["message"].as_str().unwrap().contains("recursion"),
        "{reply}"
    );
}

#[test]
fn v1_query_and_array_bodies_become_jobs_and_logs_hold_no_guest_data() {
    let env = Env::start("forms");
    let response = env.get_raw("/api/webhooks/beds24?bookid=555&status=cancel", None);
    assert_eq!(response.status().as_u16(), 202);
    let mut body = env.mock.webhook_v2_body(82279106u64).unwrap_or_else(|| {
        env.mock.booking_from_fixture(82279106u64, |_| {});
        env.mock.webhook_v2_body(82279106u64).unwrap()
    });
    body["booking"]["firstName"] = json!("Zelda");
    body["booking"]["email"] = json!("zelda.secret@example.com");
    body["booking"]["phone"] = json!("+34 600 111 222");
    let (status, reply) = env.webhook(serde_json::to_vec(&json!([body])).unwrap(), None);
    assert_eq!(status, 202, "{reply}");
    assert_eq!(reply["bookingId"], json!("82279106"));
    let mut redis = env.redis();
    let due: Vec<String> = redis.zrange(crate::keys().due(), 0, -1).unwrap_or_default();
    let active: Vec<String> = redis
        .zrange(crate::keys().active(), 0, -1)
        .unwrap_or_default();
    let seen = [due, active].concat();
    // Either still queued or already picked up by the worker.
    let processed = env.queue_stats().total(Counter::Received(Action::Cancel));
    assert_eq!(processed, 1, "v1 cancel counted: {seen:?}");
    std::thread::sleep(Duration::from_millis(500));
    let logs = env.app.log_text();
    assert!(logs.contains("\"bookingId\":\"82279106\""), "{logs}");
    for secret in ["Zelda", "zelda.secret@example.com", "600 111 222"] {
        assert!(
            !logs.contains(secret),
            "guest data {secret:?} leaked into logs"
        );
    }
}

#[test]
fn non_numeric_ids_are_acknowledged_but_never_queued_or_sent_to_beds24() {
    let env = Env::start("textid");
    let (status, body) = env.webhook(SEED_CURL, None);
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["received"], json!(true), "{body}");
    assert!(
        body["skipped"]
            .as_str()
            .unwrap_or("")
            .contains("whole number"),
        "{body}"
    );
    assert!(body.get("queue").is_none(), "{body}");
    let response = env.get_raw("/api/webhooks/beds24?bookid=TEST123&status=new", None);
    assert_eq!(response.status().as_u16(), 202);
    let mut redis = env.redis();
    assert_eq!(redis.zcard::<_, i64>(crate::keys().due()).unwrap(), 0);
    assert_eq!(env.queue_stats().total(Counter::Skipped), 2);
    let (status, reply) = env.admin_post("/api/admin/tick");
    assert_eq!(status, 202, "{reply}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(env.mock.calls(mock_beds24::Endpoint::Bookings), 0);
    let logs = env.app.log_text();
    assert!(
        logs.contains("\"bookingId\":\"TEST123\"") && logs.contains("whole number"),
        "{logs}"
    );
}

#[test]
fn float_and_zero_padded_ids_queue_the_booking_beds24_knows() {
    let env = Env::start("floatid");
    env.set_paused_key(true);
    for body in [
        r#"{"booking":{"id":82279106.0}}"#,
        r#"{"bookingId":"082279106"}"#,
    ] {
        let (status, reply) = env.webhook(body, None);
        assert_eq!(status, 202, "{reply}");
        assert_eq!(reply["bookingId"], json!("82279106"), "{reply}");
    }
    let due: Vec<String> = env.redis().zrange(crate::keys().due(), 0, -1).unwrap();
    assert_eq!(due, ["82279106"]);
}

/// Every string inside a Redis reply, as text.
fn text(value: &redis::Value) -> String {
    match value {
        redis::Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        redis::Value::SimpleString(s) => s.clone(),
        redis::Value::Int(n) => n.to_string(),
        redis::Value::Array(items) | redis::Value::Set(items) => {
            items.iter().map(text).collect::<Vec<_>>().join(" ")
        }
        redis::Value::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| format!("{} {}", text(k), text(v)))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

#[test]
fn the_stored_job_record_holds_no_guest_data() {
    let env = Env::start("recordclean");
    // Paused: the job and its record stay in Redis, as a waiting job would.
    env.set_paused_key(true);
    let mut body = env.mock.booking_from_fixture(82279106u64, |_| {});
    body["firstName"] = json!("Zelda");
    body["email"] = json!("zelda.secret@example.com");
    body["phone"] = json!("+34 600 111 222");
    let delivery = json!({"booking": body, "messages": [{"message": "door code 4711"}]});
    let (status, reply) = env.webhook(delivery.to_string(), None);
    assert_eq!(status, 202, "{reply}");
    let job = env.job(82279106).expect("the job is stored");
    assert_eq!(job.source.as_deref(), Some("v2"), "{job:?}");
    let mut seen = String::new();
    // Nothing anywhere in the app's Redis holds the guest's data.
    let mut redis = env.redis();
    let keys: Vec<String> = redis.keys("*").unwrap();
    for key in keys {
        let kind: String = redis::cmd("TYPE").arg(&key).query(&mut redis).unwrap();
        let read = match kind.as_str() {
            "string" => redis::cmd("GET").arg(&key).clone(),
            "hash" => redis::cmd("HGETALL").arg(&key).clone(),
            "list" => redis::cmd("LRANGE").arg(&key).arg(0).arg(-1).clone(),
            "set" => redis::cmd("SMEMBERS").arg(&key).clone(),
            "zset" => redis::cmd("ZRANGE").arg(&key).arg(0).arg(-1).clone(),
            other => panic!("{key} is a {other}"),
        };
        let value = text(&read.query(&mut redis).unwrap());
        seen.push_str(&value);
        for secret in ["Zelda", "zelda.secret@example.com", "600 111 222", "4711"] {
            assert!(
                !value.contains(secret),
                "{secret:?} stored in {key}: {value}"
            );
        }
    }
    assert!(
        seen.contains("82279106") && seen.contains("v2"),
        "the values were read: {seen}"
    );
}
