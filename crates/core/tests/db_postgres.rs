//! Migrations and the guarded batch upsert against a real Postgres, plus the whole
//! core flow: webhook parsed → job stored in Redis → claimed → row upserted → completed.

use std::collections::HashMap;

use beds24_sync_core::mapping::{map_booking, MappingContext, SyncState};
use beds24_sync_core::queue::{ClaimOptions, Completion, Counter, HistoryRecord, Queue};
use beds24_sync_core::sync::{plan_batch, Fetched, JobResult};
use beds24_sync_core::webhook::{parse_delivery, Delivery};
use beds24_sync_core::{db, Action, BookingId};
use beds24_testkit::{NativePg, NativeRedis};
use http::Method;
use rust_decimal::Decimal;
use serde_json::{json, Value};

const BOOKINGS: &str = include_str!("fixtures/bookings-response.json");

fn sample() -> Value {
    serde_json::from_str::<Value>(BOOKINGS).unwrap()["data"][0].clone()
}

fn id(s: &str) -> BookingId {
    BookingId::parse(s).unwrap()
}

fn row_for(booking: &Value, state: SyncState) -> beds24_sync_core::mapping::BookingRow {
    let names = HashMap::from([("125517".to_owned(), "Casa Azul".to_owned())]);
    let ctx = MappingContext {
        property_names: &names,
        messages: Some(vec![]),
        now: chrono::Utc::now(),
        state,
    };
    map_booking(booking, ctx).unwrap().0
}

#[test]
fn migrations_are_idempotent_and_tracked() {
    let mut pg = NativePg::fresh("migrate");
    assert_eq!(db::applied_version(&mut pg).unwrap(), 0);
    assert_eq!(db::migrate(&mut pg).unwrap(), db::latest_version());
    assert_eq!(db::migrate(&mut pg).unwrap(), db::latest_version());
    assert_eq!(db::applied_version(&mut pg).unwrap(), db::latest_version());
    let count: i64 = pg
        .client
        .query_one("SELECT count(*) FROM \"_beds24_migrations\"", &[])
        .unwrap()
        .get(0);
    assert_eq!(count, db::MIGRATIONS.len() as i64);
}

#[test]
fn upsert_inserts_then_updates_the_same_row() {
    let mut pg = NativePg::fresh("upsert");
    db::migrate(&mut pg).unwrap();
    let mut booking = sample();
    assert_eq!(
        db::upsert_rows(&mut pg, &[row_for(&booking, SyncState::Synced)]).unwrap(),
        vec![id("82279106")]
    );
    booking["status"] = json!("cancelled");
    booking["modifiedTime"] = json!("2026-02-16T08:00:00Z");
    booking["invoiceItems"][0]["lineTotal"] = json!(59.13);
    db::upsert_rows(&mut pg, &[row_for(&booking, SyncState::Synced)]).unwrap();
    let rows = pg
        .client
        .query("SELECT \"status\", \"totalCharges\", \"propertyName\", \"numNights\" FROM \"Booking\" WHERE \"bookingId\" = '82279106'", &[])
        .unwrap();
    assert_eq!(rows.len(), 1, "one row per booking");
    assert_eq!(rows[0].get::<_, String>(0), "cancelled");
    assert_eq!(rows[0].get::<_, Decimal>(1).to_string(), "272.13");
    assert_eq!(rows[0].get::<_, String>(2), "Casa Azul");
    assert_eq!(rows[0].get::<_, i32>(3), 1);
}

#[test]
fn an_older_snapshot_never_overwrites_a_newer_row() {
    let mut pg = NativePg::fresh("stale");
    db::migrate(&mut pg).unwrap();
    let mut newer = sample();
    newer["modifiedTime"] = json!("2026-02-16T08:00:00Z");
    newer["status"] = json!("cancelled");
    db::upsert_rows(&mut pg, &[row_for(&newer, SyncState::Synced)]).unwrap();
    let older = sample();
    assert!(
        db::upsert_rows(&mut pg, &[row_for(&older, SyncState::Synced)])
            .unwrap()
            .is_empty()
    );
    let status: String = pg
        .client
        .query_one("SELECT \"status\" FROM \"Booking\"", &[])
        .unwrap()
        .get(0);
    assert_eq!(status, "cancelled");
}

#[test]
fn missing_bookings_are_marked_not_invented() {
    let mut pg = NativePg::fresh("missing");
    db::migrate(&mut pg).unwrap();
    db::upsert_rows(&mut pg, &[row_for(&sample(), SyncState::Synced)]).unwrap();
    assert_eq!(
        db::mark_missing(&mut pg, &[id("82279106"), id("404404")]).unwrap(),
        1
    );
    let rows = pg
        .client
        .query("SELECT \"bookingId\", \"BDStatus\" FROM \"Booking\"", &[])
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, String>(1), "missing");
    let stored = db::booking_json(&mut pg, &id("82279106")).unwrap().unwrap();
    assert_eq!(stored["BDStatus"], json!("missing"));
    assert_eq!(db::booking_json(&mut pg, &id("404404")).unwrap(), None);
}

#[test]
fn webhook_to_row_through_redis_and_postgres() {
    let (mut redis, keys) = NativeRedis::isolated("flow");
    let mut pg = NativePg::fresh("flow");
    db::migrate(&mut pg).unwrap();
    let body =
        br#"{"booking":{"id":"7123","status":"confirmed","arrival":"2025-08-20"},"messages":[]}"#;
    let now = chrono::Utc::now();
    let Delivery::Job(job) = parse_delivery(&Method::POST, "", body, now)
        .unwrap()
        .remove(0)
    else {
        panic!("skipped")
    };
    let mut queue = Queue::with_keys(&mut redis, keys);
    queue
        .enqueue(&job.booking_id, job.action, now.timestamp_millis())
        .unwrap();
    let options = ClaimOptions {
        clock: now.timestamp_millis().into(),
        lease_ms: 30_000,
        batch: 10,
        max_tries: 4,
    };
    let claimed = queue.claim(&options).unwrap();
    assert_eq!(claimed.len(), 1);
    let beds24 = [
        json!({"id": "7123", "status": "confirmed", "arrival": "2025-08-20", "departure": "2025-08-22",
        "numAdult": 2, "numChild": 1, "price": 150, "firstName": "Test", "lastName": "Guest",
        "modifiedTime": "2025-08-15T14:38:32Z"}),
    ];
    let names = HashMap::new();
    let plan = plan_batch(
        &claimed,
        &Fetched {
            bookings: &beds24,
            messages: Some(&[]),
            property_names: &names,
        },
        now,
    );
    let rows: Vec<_> = plan
        .iter()
        .filter_map(|(_, r)| {
            if let JobResult::Row(r, _) = r {
                Some((**r).clone())
            } else {
                None
            }
        })
        .collect();
    db::upsert_rows(&mut pg, &rows).unwrap();
    let record = HistoryRecord {
        booking_id: id("7123"),
        action: Action::Modify,
        outcome: Completion::Completed.as_str(),
        attempts: 1,
        started_at: 0,
        finished_at: 0,
        duration_ms: 0,
        error: None,
    };
    assert_eq!(
        queue
            .complete_many(&[(&claimed[0], &record)], options.clock)
            .unwrap()[0],
        Completion::Completed
    );
    let row = pg
        .client
        .query_one("SELECT \"guestName\", \"numNights\", \"totalPersons\", \"basePrice\", \"arrivalDate\"::text FROM \"Booking\" WHERE \"bookingId\" = '7123'", &[])
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "Test Guest");
    assert_eq!(row.get::<_, i32>(1), 2);
    assert_eq!(row.get::<_, i32>(2), 3);
    assert_eq!(row.get::<_, Decimal>(3), Decimal::from(150));
    assert_eq!(row.get::<_, String>(4), "2025-08-20");
    assert_eq!(
        queue
            .stats(options.clock)
            .unwrap()
            .total(Counter::Processed),
        1
    );
}
