//! Postgres edge cases through the real components: no zero-row query anywhere (the test
//! host traps on one, as Spin 4.0.0–4.0.2 would hang), rows Postgres refuses, a new database.

use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{wait_for, AppConfig};
use crate::Env;

const WAIT: Duration = Duration::from_secs(20);
/// The test host's trap text for a zero-row query (tests/host/src/host/postgres.rs).
const ZERO_ROW_TRAP: &str = "spinframework/spin#3671";

fn assert_no_zero_row_query(env: &Env) {
    let log = env.app.log_text();
    assert!(!log.contains(ZERO_ROW_TRAP), "a zero-row query ran:\n{log}");
}

fn history(env: &Env, kind: &str) -> Vec<Value> {
    let (status, body) = env.admin_get(&format!("/api/admin/queues/history?kind={kind}"));
    assert_eq!(status, 200, "{body}");
    body["records"].as_array().cloned().unwrap_or_default()
}

fn runs_of(records: &[Value], id: &str) -> usize {
    records
        .iter()
        .filter(|r| r["bookingId"] == json!(id))
        .count()
}

#[test]
fn job_detail_of_a_booking_without_a_row_answers() {
    let env = Env::start("pgdetail");
    // The tick migrates, so the lookup below runs against an existing, empty table.
    assert_eq!(env.admin_post("/api/admin/tick").0, 202);
    let (status, body) = env.admin_get("/api/admin/queues/jobs/55555");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["booking"], Value::Null, "{body}");
    assert_eq!(body["job"], Value::Null, "{body}");
    assert_no_zero_row_query(&env);
}

#[test]
fn an_older_snapshot_from_beds24_neither_wedges_the_worker_nor_overwrites() {
    let env = Env::start("pgstale");
    env.mock.booking_from_fixture(7001u64, |b| {
        b["status"] = json!("cancelled");
        b["modifiedTime"] = json!("2026-02-16T08:00:00Z");
    });
    assert_eq!(env.webhook(r#"{"bookingId": 7001}"#, None).0, 202);
    env.wait_booking("7001", WAIT, |row| row["status"] == json!("cancelled"));
    env.wait_idle(WAIT);

    // Beds24 (a lagging replica, a cache) answers with the older snapshot: the upsert
    // writes nothing, which must not be a query without rows.
    env.mock.update_booking(7001u64, |b| {
        b["status"] = json!("confirmed");
        b["modifiedTime"] = json!("2026-02-15T10:07:22Z");
    });
    assert_eq!(env.webhook(r#"{"bookingId": 7001}"#, None).0, 202);
    wait_for("the stale sync of 7001 to complete", WAIT, || {
        (runs_of(&history(&env, "completed"), "7001") == 2).then_some(())
    });
    env.mock.booking_from_fixture(7002u64, |_| {});
    assert_eq!(env.webhook(r#"{"bookingId": 7002}"#, None).0, 202);
    env.wait_booking("7002", WAIT, |_| true);
    let stats = env.wait_idle(WAIT);
    assert_eq!(stats["totals"]["processed"], json!(3), "{stats}");
    assert_eq!(env.booking("7001").unwrap()["status"], json!("cancelled"));
    assert_no_zero_row_query(&env);
}

#[test]
fn a_row_postgres_refuses_fails_alone_and_names_no_guest() {
    let env = Env::start_with(
        "pgrefuse",
        AppConfig {
            retry_delays: "60".into(),
            ..AppConfig::default()
        },
    );
    for id in 7101..7106u64 {
        env.mock.booking_from_fixture(id, |b| {
            b["firstName"] = json!("Ann");
            b["lastName"] = json!(format!("Guest{id}"));
        });
    }
    // NUL characters: Postgres refuses them in text and jsonb alike; they are dropped.
    env.mock.update_booking(7102u64, |b| {
        b["firstName"] = json!("Nul\u{0}a");
        b["notes"] = json!("ring\u{0} twice");
    });
    // An integer column cannot hold this many guests: only this booking can fail.
    env.mock.update_booking(7104u64, |b| {
        b["lastName"] = json!("Secretguest");
        b["numAdult"] = json!(3_000_000_000u64);
    });
    env.enqueue_as_one_batch(7101..7106);
    let stats = env.wait_idle(WAIT);
    assert_eq!(stats["totals"]["processed"], json!(4), "{stats}");
    assert_eq!(stats["totals"]["failed"], json!(1), "{stats}");
    for id in [7101, 7102, 7103, 7105] {
        assert!(env.booking(&id.to_string()).is_some(), "row {id}");
    }
    let cleaned = env.booking("7102").unwrap();
    assert_eq!(cleaned["guestName"], json!("Nula Guest7102"), "{cleaned}");
    assert_eq!(cleaned["notes"], json!("ring twice"), "{cleaned}");
    assert_eq!(cleaned["raw"]["firstName"], json!("Nula"), "{cleaned}");
    assert!(env.booking("7104").is_none());

    let failed = history(&env, "failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["bookingId"], json!("7104"));
    let error = failed[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("22003"), "{error}");
    let (status, detail) = env.admin_get("/api/admin/queues/jobs/7104");
    assert_eq!(status, 200, "{detail}");
    for (place, text) in [
        ("logs", env.app.log_text()),
        ("failed history", Value::from(failed).to_string()),
        ("job detail", detail.to_string()),
        ("stats", stats.to_string()),
    ] {
        for secret in ["Secretguest", "3000000000", "Nula", "Nul\\u0000a"] {
            assert!(!text.contains(secret), "{secret} in the {place}: {text}");
        }
    }
    assert_no_zero_row_query(&env);
}

#[test]
fn a_new_database_behind_the_same_url_is_migrated_and_synced() {
    let env = Env::start("pgnewdb");
    env.mock.booking_from_fixture(7201u64, |_| {});
    env.mock.booking_from_fixture(7202u64, |_| {});
    assert_eq!(env.webhook(r#"{"bookingId": 7201}"#, None).0, 202);
    env.wait_booking("7201", WAIT, |_| true);
    env.wait_idle(WAIT);

    // Restored from an empty dump, recreated by an operator: same URL, no tables.
    let admin_url = std::env::var("TEST_DATABASE_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into());
    let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls).unwrap();
    let name = &env.db.name;
    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    assert_eq!(env.row_count(), 0);

    assert_eq!(env.webhook(r#"{"bookingId": 7202}"#, None).0, 202);
    env.wait_booking("7202", WAIT, |_| true);
    let stats = env.wait_idle(WAIT);
    assert_eq!(stats["totals"]["processed"], json!(2), "{stats}");
    assert_eq!(stats["dead"], json!(0), "{stats}");
    let (status, ready) = env.admin_get("/api/health/ready");
    assert_eq!(
        ready["checks"]["postgres"]["details"]["schemaVersion"],
        json!(1),
        "{status} {ready}"
    );
    assert_no_zero_row_query(&env);
}
