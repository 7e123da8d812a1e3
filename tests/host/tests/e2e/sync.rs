//! Webhook → worker → Beds24 → "Booking" row, through the real components.

use std::time::Duration;

use beds24_sync_core::queue::JobState;
use mock_beds24::{Endpoint, Fault, Times};
use serde_json::json;

use crate::harness::AppConfig;
use crate::Env;

/// The seed's curl example with a Beds24 id (its own `TEST123` is acknowledged, never queued).
const SEED_CURL: &str =
    r#"{"booking":{"id":"7123","status":"confirmed","arrival":"2025-08-20"},"messages":[]}"#;
const WAIT: Duration = Duration::from_secs(20);

#[test]
fn seed_curl_payload_ends_as_a_booking_row() {
    seed_webhook_syncs(&Env::start("seed"));
}

/// The seed's curl webhook, sent to `env`, ends as the row the seed describes.
pub(crate) fn seed_webhook_syncs(env: &Env) {
    env.mock.upsert_booking(json!({
        "id": 7123, "status": "confirmed", "arrival": "2025-08-20", "departure": "2025-08-22",
        "numAdult": 2, "numChild": 1, "firstName": "Test", "lastName": "Guest", "phone": "", "mobile": "+1 555 0100",
        "email": "guest@example.com", "propertyId": 125517, "channel": "booking", "apiReference": "BDC-1",
        "price": 150, "bookingTime": "2025-08-15T14:00:00Z", "modifiedTime": "2025-08-15T14:38:32Z",
        "invoiceItems": [
            {"id": 1, "bookingId": 7123, "type": "charge", "qty": 2, "amount": 75, "lineTotal": 150},
            {"id": 2, "bookingId": 7123, "type": "payment", "qty": 1, "amount": 50.5, "lineTotal": -50.5}
        ],
        "infoItems": [{"code": "CHECKIN", "text": "late"}]
    }));
    let (status, body) = env.webhook(SEED_CURL, None);
    assert_eq!(status, 202, "{body}");
    let row = env.wait_booking("7123", WAIT, |_| true);
    assert_eq!(row["guestName"], json!("Test Guest"));
    assert_eq!(row["phone"], json!("+1 555 0100"));
    assert_eq!(row["status"], json!("confirmed"));
    assert_eq!(row["propertyName"], json!("Casa Azul"));
    assert_eq!(
        (row["arrivalDate"].clone(), row["departureDate"].clone()),
        (json!("2025-08-20"), json!("2025-08-22"))
    );
    assert_eq!(
        (row["numNights"].clone(), row["totalPersons"].clone()),
        (json!(2), json!(3))
    );
    assert_eq!(row["totalCharges"], json!(150));
    assert_eq!(row["totalPayments"], json!(50.5));
    assert_eq!(row["balance"], json!(99.5));
    assert_eq!(row["basePrice"], json!(150));
    assert_eq!(row["channel"], json!("booking"));
    assert_eq!(row["apiReference"], json!("BDC-1"));
    assert_eq!(row["BDStatus"], json!("synced"));
    assert_eq!(
        row["infoItems"],
        json!([{"code": "CHECKIN", "text": "late"}])
    );
    assert_eq!(row["payments"].as_array().unwrap().len(), 1);
    assert!(
        row["modifiedDate"]
            .as_str()
            .unwrap()
            .starts_with("2025-08-15T14:38:32"),
        "{row}"
    );
    let stats = env.wait_idle(WAIT);
    assert_eq!(stats["totals"]["processed"], json!(1), "{stats}");
    // The webhook's job record (in the job's hash) lives only as long as its job.
    assert_eq!(env.job(7123), None);
}

#[test]
fn two_webhooks_for_one_booking_leave_one_row_with_the_latest_data() {
    let env = Env::start("twice");
    env.mock.booking_from_fixture(82279106u64, |_| {});
    let body = env.mock.webhook_v2_body(82279106u64).unwrap();
    assert_eq!(env.webhook(body.to_string(), None).0, 202);
    env.wait_booking("82279106", WAIT, |row| row["status"] == json!("confirmed"));
    env.mock.update_booking(82279106u64, |b| {
        b["status"] = json!("cancelled");
        b["cancelTime"] = json!("2026-02-15T11:00:00Z");
    });
    let body = env.mock.webhook_v2_body(82279106u64).unwrap();
    assert_eq!(env.webhook(body.to_string(), None).0, 202);
    let row = env.wait_booking("82279106", WAIT, |row| row["status"] == json!("cancelled"));
    assert_eq!(row["totalCharges"], json!(713));
    assert_eq!(env.row_count(), 1);
    assert_eq!(env.wait_idle(WAIT)["totals"]["received:CANCEL"], json!(1));
}

#[test]
fn a_beds24_host_outside_allowed_outbound_hosts_is_denied() {
    // The worker may only call beds24_api_origin; point that elsewhere and the call
    // to the mock must be refused by the host, as Spin refuses it.
    let config = AppConfig {
        beds24_origin: Some("http://127.0.0.1:9".into()),
        retry_delays: "60".into(),
        ..AppConfig::default()
    };
    let env = Env::start_with("denied", config);
    env.mock.booking_from_fixture(82279106u64, |_| {});
    assert_eq!(env.webhook(r#"{"bookingId": 82279106}"#, None).0, 202);
    let stats = crate::harness::wait_for("a recorded failure", WAIT, || {
        let stats = env.stats();
        (stats["totals"]["retried"].as_i64() == Some(1)).then_some(stats)
    });
    assert_eq!(
        env.mock.calls(Endpoint::Bookings),
        0,
        "the request never left the host"
    );
    let error = env
        .job(82279106)
        .and_then(|job| job.last_error)
        .unwrap_or_default();
    assert!(
        error.to_lowercase().contains("denied") || error.contains("not allowed"),
        "{error} / {stats}"
    );
    assert!(env.app.log_text().contains("82279106"));
    assert!(env.booking("82279106").is_none());
}

#[test]
fn fifty_queued_bookings_sync_with_at_most_three_api_calls() {
    let env = Env::start_with(
        "batch",
        AppConfig {
            batch_size: "50".into(),
            ..AppConfig::default()
        },
    );
    let ids: Vec<u64> = (1000..1050).collect();
    for id in &ids {
        env.mock.booking_from_fixture(*id, |_| {});
    }
    // Enqueue all 50 while the worker is held off by a pause, so they form one batch.
    env.set_paused_key(true);
    for id in &ids {
        assert_eq!(
            env.webhook(json!({"bookingId": id}).to_string(), None).0,
            202
        );
    }
    env.set_paused_key(false);
    assert_eq!(env.admin_post("/api/admin/tick").0, 202);
    let stats = env.wait_idle(Duration::from_secs(30));
    assert_eq!(stats["totals"]["processed"], json!(50), "{stats}");
    assert_eq!(env.row_count(), 50);
    let calls = env.mock.calls(Endpoint::Bookings)
        + env.mock.calls(Endpoint::Messages)
        + env.mock.calls(Endpoint::Properties);
    assert!(calls <= 3, "{calls} API calls for 50 bookings");
    assert_eq!(env.mock.requested_ids(Endpoint::Bookings)[0].len(), 50);
}

#[test]
fn bookings_and_messages_are_read_across_pages() {
    let env = Env::start("paging");
    env.mock.set_page_size(4);
    for id in 2000..2010u64 {
        env.mock.booking_from_fixture(id, |_| {});
        env.mock.add_message(json!({"id": id * 10, "bookingId": id, "message": "m", "source": "guest", "time": "2026-02-13T08:00:00Z", "read": false}));
    }
    env.set_paused_key(true);
    for id in 2000..2010u64 {
        assert_eq!(
            env.webhook(json!({"bookingId": id}).to_string(), None).0,
            202
        );
    }
    assert_eq!(env.admin_post("/api/admin/queues/resume").0, 200);
    let stats = env.wait_idle(WAIT);
    assert_eq!(stats["totals"]["processed"], json!(10), "{stats}");
    assert_eq!(
        env.mock.calls(Endpoint::Bookings),
        3,
        "10 bookings in pages of 4"
    );
    assert_eq!(env.mock.calls(Endpoint::Messages), 3);
    for id in 2000..2010u64 {
        let row = env.booking(&id.to_string()).unwrap();
        assert_eq!(row["messages"].as_array().unwrap().len(), 1, "{row}");
    }
}

/// A booking's job state and failed tries, `None` when it has no job.
fn job_state(env: &Env, id: u64) -> Option<(JobState, u32)> {
    env.job(id).map(|job| (job.state, job.attempts))
}

#[test]
fn one_booking_beds24_fails_on_does_not_hold_back_its_batch() {
    // Retries far away: everything below happens in each batch's first round.
    let config = AppConfig {
        batch_size: "20".into(),
        retry_delays: "60".into(),
        ..AppConfig::default()
    };
    let env = Env::start_with("isolate", config);
    for id in (3000..3006).chain(3100..3105).chain(3200..3216) {
        env.mock.booking_from_fixture(id, |_| {});
    }
    // Beds24 answers 500 to any request naming 3000, the first of the batch.
    env.mock
        .set_fault(Some(3000), Fault::Status(500), Times::Always);
    env.enqueue_as_one_batch(3000..3006);
    let stats = crate::harness::wait_for("the five good bookings", WAIT, || {
        let stats = env.stats();
        (stats["totals"]["processed"] == json!(5) && stats["delayed"] == json!(1)).then_some(stats)
    });
    assert_eq!(stats["dead"], json!(0), "{stats}");
    for id in 3001..3006u64 {
        assert!(env.booking(&id.to_string()).is_some(), "{id} not synced");
    }
    assert!(env.booking("3000").is_none());
    assert_eq!(job_state(&env, 3000), Some((JobState::Delayed, 1)));
    // Bisected: the batch, its halves (3000-3002 fails, 3003-3005 syncs), then the
    // failing half's halves (3000 alone fails, 3001-3002 syncs).
    let batches = env.mock.requested_ids(Endpoint::Bookings);
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![6, 3, 3, 1, 2], "{batches:?}");

    // Wherever the culprit sits, isolating it costs about 2·log₂ n requests, not 2n.
    env.mock.reset_counters();
    env.mock
        .set_fault(Some(3209), Fault::Status(500), Times::Always);
    env.enqueue_as_one_batch(3200..3216);
    crate::harness::wait_for("the fifteen good bookings", WAIT, || {
        (env.stats()["totals"]["processed"] == json!(20)).then_some(())
    });
    assert!(env.booking("3209").is_none());
    let calls = env.mock.calls(Endpoint::Bookings);
    assert!(calls <= 1 + 2 * 4, "{calls} requests for a batch of 16");

    // A general outage is not taken apart one booking at a time: the batch and two
    // probes, then every job waits for its retry.
    env.mock.reset_counters();
    env.mock.set_fault(None, Fault::Status(503), Times::Always);
    env.enqueue_as_one_batch(3100..3105);
    crate::harness::wait_for("the outage batch to be delayed", WAIT, || {
        (env.stats()["delayed"] == json!(7)).then_some(())
    });
    assert_eq!(env.mock.calls(Endpoint::Bookings), 3);
    for id in 3100..3105u64 {
        assert_eq!(job_state(&env, id), Some((JobState::Delayed, 1)));
        assert!(env.booking(&id.to_string()).is_none());
    }
}

/// The queue's scripts run by digest (EVALSHA); a Redis that lost its script cache
/// (restart, failover, `SCRIPT FLUSH`) must cost nothing but one EVAL per script.
#[test]
fn a_redis_that_forgot_the_scripts_still_takes_and_syncs_webhooks() {
    let env = Env::start("noscript");
    for id in [82279106u64, 82279107] {
        env.mock.booking_from_fixture(id, |_| {});
    }
    let first = env.mock.webhook_v2_body(82279106u64).unwrap();
    assert_eq!(env.webhook(first.to_string(), None).0, 202);
    env.wait_booking("82279106", WAIT, |_| true);
    env.wait_idle(WAIT);
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query(&mut env.redis())
        .unwrap();
    let second = env.mock.webhook_v2_body(82279107u64).unwrap();
    let (status, body) = env.webhook(second.to_string(), None);
    assert_eq!(status, 202, "{body}");
    env.wait_booking("82279107", WAIT, |_| true);
    let stats = env.wait_idle(WAIT);
    assert_eq!(stats["totals"]["processed"], json!(2), "{stats}");
    let cached: Vec<i64> = redis::cmd("SCRIPT")
        .arg("EXISTS")
        .arg(beds24_sync_core::queue::scripts::ENQUEUE.sha1())
        .query(&mut env.redis())
        .unwrap();
    assert_eq!(cached, [1], "the fallback EVAL cached the script again");
}
