//! Admin routes: liveness, readiness, stats and metrics reflect what happened; auth is enforced.

use std::time::Duration;

use mock_beds24::{Fault, Times};
use serde_json::json;

use crate::harness::{wait_for, AppConfig, ADMIN_TOKEN};
use crate::Env;

#[test]
fn health_and_stats_reflect_the_traffic() {
    let env = Env::start("admin");
    let live = env.get_raw("/api/health", None);
    assert_eq!(live.status().as_u16(), 200);
    let live: serde_json::Value = live.json().unwrap();
    assert_eq!(live["status"], json!("ok"));

    assert_eq!(
        env.get_raw("/api/admin/queues/stats", None)
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        env.get_raw("/api/admin/queues/stats", Some("nope"))
            .status()
            .as_u16(),
        401
    );
    assert_eq!(env.get_raw("/metrics", None).status().as_u16(), 401);
    // A probe without the token (Kubernetes' httpGet sends none) gets the verdict only.
    let probe = env.get_raw("/api/health/ready", None);
    assert_eq!(probe.status().as_u16(), 503);
    let verdict: serde_json::Value = probe.json().unwrap();
    assert_eq!(verdict["status"], json!("not_ready"), "{verdict}");
    assert!(
        verdict.get("checks").is_none(),
        "no details without the token: {verdict}"
    );
    assert_eq!(
        env.get_raw("/api/health/ready", Some("nope"))
            .status()
            .as_u16(),
        401
    );

    // Before any sync the schema is not there yet: not ready, and it says why.
    let (status, ready) = env.admin_get("/api/health/ready");
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["checks"]["redis"]["status"], json!("ok"), "{ready}");
    assert!(
        ready["checks"]["postgres"]["error"]
            .as_str()
            .unwrap()
            .contains("migrations"),
        "{ready}"
    );

    env.mock.booking_from_fixture(82279106u64, |_| {});
    env.mock.booking_from_fixture(82279107u64, |_| {});
    for body in [
        json!({"bookingId": 82279106, "action": "created"}),
        json!({"bookingId": 82279107}),
        json!({"nothing": 1}),
    ] {
        assert_eq!(env.webhook(body.to_string(), None).0, 202);
    }
    let stats = env.wait_idle(Duration::from_secs(20));
    assert_eq!(stats["completed"], json!(2), "{stats}");
    assert_eq!(stats["dead"], json!(0));
    assert_eq!(stats["totals"]["received:CREATED"], json!(1), "{stats}");
    assert_eq!(stats["totals"]["received:MODIFY"], json!(1), "{stats}");
    assert_eq!(stats["totals"]["skipped"], json!(1), "{stats}");
    assert_eq!(stats["totals"]["processed"], json!(2), "{stats}");
    assert!(
        stats["beds24CreditsRemaining"].as_f64().unwrap() < 100.0,
        "{stats}"
    );

    let (status, ready) = env.admin_get("/api/health?ready=1");
    assert_eq!(status, 200, "{ready}");
    assert_eq!(
        ready["checks"]["postgres"]["details"]["schemaVersion"],
        json!(1)
    );

    let metrics = env.get_raw("/metrics", Some(ADMIN_TOKEN)).text().unwrap();
    let scrape = prometheus_parse::Scrape::parse(metrics.lines().map(|l| Ok(l.to_owned())))
        .unwrap_or_else(|e| panic!("not Prometheus text: {e}\n{metrics}"));
    let value = |name: &str, label: (&str, &str)| -> f64 {
        let sample = scrape
            .samples
            .iter()
            .find(|s| s.metric == name && s.labels.get(label.0) == Some(label.1))
            .unwrap_or_else(|| panic!("no {name}{{{}={}}} in\n{metrics}", label.0, label.1));
        match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            ref other => panic!("{name}: unexpected {other:?}"),
        }
    };
    assert_eq!(
        value("beds24_webhooks_received_total", ("action", "CREATED")),
        1.0
    );
    assert_eq!(
        value("beds24_webhooks_received_total", ("action", "MODIFY")),
        1.0
    );
    assert_eq!(value("jobs_processed_total", ("type", "webhook")), 2.0);
    assert_eq!(value("jobs_failed_total", ("type", "webhook")), 0.0);
    assert_eq!(
        value("beds24_api_calls_total", ("endpoint", "bookings")),
        stats["totals"]["api:bookings"].as_f64().unwrap()
    );
    assert_eq!(value("jobs_queue_depth", ("state", "completed")), 2.0);
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "beds24_credits_remaining"),
        "{metrics}"
    );
    let histogram = scrape
        .samples
        .iter()
        .find(|s| s.metric == "jobs_duration_seconds")
        .expect("duration histogram");
    match &histogram.value {
        prometheus_parse::Value::Histogram(buckets) => {
            assert_eq!(buckets.last().unwrap().count, 2.0, "{buckets:?}");
        }
        other => panic!("jobs_duration_seconds is not a histogram: {other:?}"),
    }
}

#[test]
fn purging_dead_jobs_also_deletes_their_job_records() {
    let config = AppConfig {
        retry_delays: "0.1".into(),
        ..AppConfig::default()
    };
    let env = Env::start_with("purgedead", config);
    env.mock.booking_from_fixture(9401u64, |_| {});
    env.mock
        .set_fault(Some(9401), Fault::Status(503), Times::Always);
    let body = r#"{"booking":{"id":9401,"firstName":"Ana","status":"confirmed"}}"#;
    assert_eq!(env.webhook(body, None).0, 202);
    wait_for("the dead job", Duration::from_secs(20), || {
        (env.stats()["dead"] == json!(1)).then_some(())
    });
    // The webhook's record rides in the job's hash: where and when it came, no guest data.
    let job_key = crate::keys().job(&beds24_sync_core::BookingId::parse("9401").unwrap());
    let mut queue = env.redis.connection(0).unwrap();
    let record: std::collections::HashMap<String, String> =
        redis::Commands::hgetall(&mut queue, &job_key).unwrap();
    assert_eq!(
        record.get("source").map(String::as_str),
        Some("v2"),
        "{record:?}"
    );
    assert_eq!(
        record.get("bodyBytes"),
        Some(&body.len().to_string()),
        "{record:?}"
    );
    assert!(record.contains_key("receivedAt"), "{record:?}");
    assert!(
        !format!("{record:?}").contains("Ana"),
        "no guest data in it: {record:?}"
    );

    let (status, body) = env.admin_post("/api/admin/queues/purge/dead");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"purged": 1, "what": "dead"}));
    assert_eq!(env.stats()["dead"], json!(0));
    assert_eq!(env.job(9401), None);
    let left: bool = redis::Commands::exists(&mut queue, &job_key).unwrap();
    assert!(!left, "the record went with the job");
}

/// One raw HTTP/1.1 exchange: send `head` and then `body_part`, which may be less than
/// the head announces (a server that reads the body would wait for the rest), and
/// return what comes back within 10 s.
fn raw_exchange(env: &Env, head: &str, body_part: &[u8]) -> String {
    use std::io::{Read, Write};
    let address = env.app.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer and close before it has all of it: that is the point.
    let _ = stream.write_all(body_part);
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let complete = String::from_utf8_lossy(&received)
            .split_once("\r\n\r\n")
            .is_some_and(|(_, body)| body.contains('}'));
        if complete {
            break;
        }
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
        }
    }
    String::from_utf8_lossy(&received).into_owned()
}

#[test]
fn the_token_is_checked_before_the_body_is_read_and_bodies_are_capped() {
    let env = Env::start("admincap");
    // 10 MiB announced, 1 KiB sent: answered at once from the head.
    let head = |auth: &str| {
        format!(
            "POST /api/admin/queues/jobs HTTP/1.1\r\nHost: test\r\n{auth}\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            10 * 1024 * 1024
        )
    };
    let reply = raw_exchange(&env, &head(""), &[b' '; 1024]);
    assert!(reply.starts_with("HTTP/1.1 401"), "{reply:?}");
    assert!(reply.contains("\"error\":\"unauthorized\""), "{reply:?}");

    let bearer = format!("Authorization: Bearer {ADMIN_TOKEN}\r\n");
    let reply = raw_exchange(&env, &head(&bearer), &[b' '; 1024]);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply:?}");
    assert!(
        reply.contains("\"error\":\"payload_too_large\""),
        "{reply:?}"
    );

    // No length announced: refused once the stream passes the cap, not at its end.
    let chunked = format!(
        "POST /api/admin/queues/jobs HTTP/1.1\r\nHost: test\r\n{bearer}\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let mut chunks = Vec::new();
    for _ in 0..80 {
        chunks.extend_from_slice(b"400\r\n");
        chunks.extend_from_slice(&[b' '; 1024]);
        chunks.extend_from_slice(b"\r\n");
    }
    let reply = raw_exchange(&env, &chunked, &chunks);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply:?}");
    assert!(reply.contains("payload_too_large"), "{reply:?}");

    // Normal bodies still work; a non-numeric id is refused before it is queued.
    let enqueue = |body: &str| env.admin_post_json("/api/admin/queues/jobs", body);
    let (status, body) = enqueue(r#"{"bookingId":"TEST123"}"#);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_booking_id")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("whole number"),
        "{body}"
    );
    let (status, body) = enqueue(r#"{"bookingId":"082279106"}"#);
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["bookingId"], json!("82279106"), "{body}");
}

/// The Sync Masivo routes answer bad input, wrong states and wrong methods deliberately:
/// 400 with a code, 409 `conflict` naming the state, 405; never a 500.
#[test]
fn bulk_routes_refuse_bad_input_conflicts_and_wrong_methods() {
    let env = Env::start("adminbulk");
    // Its listing pages keep failing: a started backfill stays running (next try in 10 s).
    env.mock.booking_from_fixture(9501u64, |_| {});
    env.mock
        .set_fault(Some(9501), Fault::Status(503), Times::Always);
    let client = reqwest::blocking::Client::new();
    let send = |method: reqwest::Method, path: &str, body: &str| {
        let response = client
            .request(method, env.app.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .body(body.to_owned())
            .send()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json::<serde_json::Value>().unwrap())
    };
    let post = |path: &str, body: &str| env.admin_post_json(path, body);

    for (body, code) in [
        ("{", "invalid_json"),
        (r#"{"arrivalFrom":"2025-13-01"}"#, "invalid_range"),
        (
            r#"{"arrivalFrom":"2025-02-01","arrivalTo":"2025-01-01"}"#,
            "invalid_range",
        ),
        (r#"{"arrivalFrm":"2025-01-01"}"#, "invalid_body"),
        (r#"{"arrivalFrom":20250101}"#, "invalid_body"),
        ("[]", "invalid_body"),
    ] {
        let (status, answer) = post("/api/admin/backfill", body);
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some(code)),
            "{body}: {answer}"
        );
    }
    let (status, idle) = env.admin_get("/api/admin/backfill");
    assert_eq!((status, &idle["state"]), (200, &json!("idle")), "{idle}");
    for command in ["pause", "resume"] {
        let (status, answer) = env.admin_post(&format!("/api/admin/backfill/{command}"));
        assert_eq!(
            (status, answer["error"].as_str()),
            (409, Some("conflict")),
            "{answer}"
        );
        assert!(
            answer["message"].as_str().unwrap().contains("idle"),
            "{answer}"
        );
    }

    // An empty body imports all history; a second start is refused while it runs.
    let (status, started) = post("/api/admin/backfill", "");
    assert_eq!(status, 202, "{started}");
    assert_eq!(
        (
            &started["state"],
            &started["arrivalFrom"],
            &started["arrivalTo"]
        ),
        (&json!("running"), &json!("2000-01-01"), &json!(null)),
        "{started}"
    );
    let (status, again) = post("/api/admin/backfill", r#"{"arrivalFrom":"2025-01-01"}"#);
    assert_eq!(
        (status, again["error"].as_str()),
        (409, Some("conflict")),
        "{again}"
    );
    assert!(
        again["message"].as_str().unwrap().contains("running"),
        "{again}"
    );
    let (status, paused) = env.admin_post("/api/admin/backfill/pause");
    assert_eq!(
        (status, &paused["state"]),
        (200, &json!("paused")),
        "{paused}"
    );
    assert_eq!(env.admin_post("/api/admin/backfill/pause").0, 409);
    let (status, resumed) = env.admin_post("/api/admin/backfill/resume");
    assert_eq!(
        (status, &resumed["state"]),
        (202, &json!("running")),
        "{resumed}"
    );
    for _ in 0..2 {
        let (status, cancelled) = env.admin_post("/api/admin/backfill/cancel");
        assert_eq!(
            (status, &cancelled["state"]),
            (200, &json!("idle")),
            "{cancelled}"
        );
    }

    let (status, requested) = env.admin_post("/api/admin/reconcile");
    assert_eq!(status, 202, "{requested}");
    assert!(requested["reconcile"].is_object(), "{requested}");
    let (status, reconcile) = env.admin_get("/api/admin/reconcile");
    assert_eq!(status, 200, "{reconcile}");
    assert!(reconcile.get("cursor").is_some(), "{reconcile}");

    for (method, path) in [
        (reqwest::Method::GET, "/api/admin/backfill/pause"),
        (reqwest::Method::DELETE, "/api/admin/backfill"),
        (reqwest::Method::PUT, "/api/admin/reconcile"),
    ] {
        let (status, answer) = send(method.clone(), path, "");
        assert_eq!(
            (status, answer["error"].as_str()),
            (405, Some("method_not_allowed")),
            "{method} {path}: {answer}"
        );
    }

    let metrics = env.get_raw("/metrics", Some(ADMIN_TOKEN)).text().unwrap();
    for line in [
        "beds24_backfill_state{state=\"idle\"} 1",
        "beds24_backfill_state{state=\"running\"} 0",
        "beds24_backfill_pages_total ",
        "beds24_backfill_credits_spent_total ",
        "beds24_reconcile_last_bookings ",
    ] {
        assert!(metrics.contains(line), "no {line:?} in\n{metrics}");
    }
}
