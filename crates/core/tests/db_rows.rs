//! Every query of `db` against a real Postgres: one result row in every state (the
//! testkit's `NativePg` panics on zero rows, as Spin 4.0.0–4.0.2 would hang), the
//! upsert guard, NUL cleaning, bad-row isolation and errors free of guest data.

use std::collections::HashMap;

use beds24_sync_core::db;
use beds24_sync_core::mapping::{map_booking, BookingRow, MappingContext, SyncState};
use beds24_sync_core::store::{SqlExec, StoreError};
use beds24_sync_core::BookingId;
use beds24_testkit::NativePg;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

const BOOKINGS: &str = include_str!("fixtures/bookings-response.json");
const GUEST: &str = "Zoë Secretguest";

fn row(id: &str, modified: Option<&str>) -> BookingRow {
    let mut booking = serde_json::from_str::<Value>(BOOKINGS).unwrap()["data"][0].clone();
    booking["id"] = json!(id);
    let names = HashMap::from([("125517".to_owned(), "Casa Azul".to_owned())]);
    let ctx = MappingContext {
        property_names: &names,
        messages: Some(vec![json!({"id": 1, "message": "hello"})]),
        now: Utc::now(),
        state: SyncState::Synced,
    };
    let mut row = map_booking(&booking, ctx).unwrap().0;
    row.guest_name = Some(GUEST.into());
    row.modified_date = modified.map(|m| m.parse::<DateTime<Utc>>().unwrap());
    row
}

fn migrated(tag: &str) -> NativePg {
    let mut pg = NativePg::fresh(tag);
    db::migrate(&mut pg).unwrap();
    pg
}

fn id(s: &str) -> BookingId {
    BookingId::parse(s).unwrap()
}

fn stored(pg: &mut NativePg, booking: &str) -> Value {
    db::booking_json(pg, &id(booking))
        .unwrap()
        .expect("a stored row")
}

fn ids(list: &[&str]) -> Vec<BookingId> {
    list.iter().map(|s| id(s)).collect()
}

#[test]
#[should_panic(expected = "spinframework/spin#3671")]
fn the_testkit_refuses_a_zero_row_query_like_the_test_host() {
    let mut pg = NativePg::fresh("zerorow");
    let _ = pg.query("SELECT 1 WHERE false", &[]);
}

#[test]
fn every_query_returns_a_row_in_every_state() {
    let mut pg = NativePg::fresh("onerow");
    // No migrations table at all, then an empty one, then a current one.
    assert_eq!(db::applied_version(&mut pg).unwrap(), 0);
    pg.client
        .batch_execute("CREATE TABLE \"_beds24_migrations\" (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        .unwrap();
    assert_eq!(db::applied_version(&mut pg).unwrap(), 0);
    db::migrate(&mut pg).unwrap();
    assert_eq!(db::applied_version(&mut pg).unwrap(), db::latest_version());
    // No row for the booking; an empty batch; a batch of nothing but stale rows.
    assert_eq!(db::booking_json(&mut pg, &id("404404")).unwrap(), None);
    assert!(db::upsert_rows(&mut pg, &[]).unwrap().is_empty());
    let newer = row("7001", Some("2026-02-16T08:00:00Z"));
    assert_eq!(db::upsert_rows(&mut pg, &[newer]).unwrap(), ids(&["7001"]));
    let older = row("7001", Some("2026-01-01T00:00:00Z"));
    assert!(db::upsert_rows(&mut pg, std::slice::from_ref(&older))
        .unwrap()
        .is_empty());
    let report = db::upsert_isolating(&mut pg, &[older]).unwrap();
    assert_eq!(report, db::UpsertReport::default());
    assert_eq!(db::mark_missing(&mut pg, &ids(&["404404"])).unwrap(), 0);
}

#[test]
fn the_guard_keeps_the_newest_snapshot_and_never_lets_an_undated_one_win() {
    let mut pg = migrated("guard");
    let mut first = row("7002", Some("2026-02-16T08:00:00Z"));
    first.status = Some("confirmed".into());
    db::upsert_rows(&mut pg, &[first]).unwrap();

    let mut undated = row("7002", None);
    undated.status = Some("undated".into());
    assert!(db::upsert_rows(&mut pg, &[undated]).unwrap().is_empty());
    let mut older = row("7002", Some("2026-02-16T07:59:59Z"));
    older.status = Some("older".into());
    assert!(db::upsert_rows(&mut pg, &[older]).unwrap().is_empty());
    assert_eq!(stored(&mut pg, "7002")["status"], json!("confirmed"));

    // As new as the stored row: written only when the data differs (a backfill or
    // reconciliation meeting an unchanged booking writes nothing).
    let mut same = row("7002", Some("2026-02-16T08:00:00Z"));
    same.status = Some("same time".into());
    same.raw["status"] = json!("same time");
    assert_eq!(
        db::upsert_rows(&mut pg, std::slice::from_ref(&same)).unwrap(),
        ids(&["7002"])
    );
    assert_eq!(stored(&mut pg, "7002")["status"], json!("same time"));
    assert!(db::upsert_rows(&mut pg, &[same]).unwrap().is_empty());
    let mut newer = row("7002", Some("2026-02-17T08:00:00Z"));
    newer.status = Some("newer".into());
    assert_eq!(db::upsert_rows(&mut pg, &[newer]).unwrap(), ids(&["7002"]));
    assert_eq!(stored(&mut pg, "7002")["status"], json!("newer"));

    // A row stored without a date is replaced by anything, dated or not.
    db::upsert_rows(&mut pg, &[row("7003", None)]).unwrap();
    let mut again = row("7003", None);
    again.status = Some("undated again".into());
    assert_eq!(db::upsert_rows(&mut pg, &[again]).unwrap(), ids(&["7003"]));
    assert_eq!(stored(&mut pg, "7003")["status"], json!("undated again"));
}

#[test]
fn unknown_messages_and_property_keep_the_stored_ones() {
    let mut pg = migrated("keep");
    db::upsert_rows(&mut pg, &[row("7004", Some("2026-02-16T08:00:00Z"))]).unwrap();
    let mut blind = row("7004", Some("2026-02-17T08:00:00Z"));
    blind.messages = None;
    blind.property_name = None;
    blind.status = Some("cancelled".into());
    // A new booking whose messages are unknown starts with none.
    let mut new = row("7005", Some("2026-02-17T08:00:00Z"));
    new.messages = None;
    assert_eq!(
        db::upsert_rows(&mut pg, &[blind, new]).unwrap(),
        ids(&["7004", "7005"])
    );
    let kept = stored(&mut pg, "7004");
    assert_eq!(kept["status"], json!("cancelled"));
    assert_eq!(kept["messages"], json!([{"id": 1, "message": "hello"}]));
    assert_eq!(kept["propertyName"], json!("Casa Azul"));
    assert_eq!(stored(&mut pg, "7005")["messages"], json!([]));
    // Known messages, even none, replace the stored ones.
    let mut cleared = row("7004", Some("2026-02-18T08:00:00Z"));
    cleared.messages = Some(json!([]));
    db::upsert_rows(&mut pg, &[cleared]).unwrap();
    assert_eq!(stored(&mut pg, "7004")["messages"], json!([]));
}

#[test]
fn nul_characters_are_removed_before_postgres_sees_them() {
    let mut pg = migrated("nul");
    let mut dirty = row("7006", Some("2026-02-16T08:00:00Z"));
    dirty.guest_name = Some("Zoë\u{0}Secretguest".into());
    dirty.notes = Some("late\u{0} arrival".into());
    dirty.raw["lastName"] = json!("Secret\u{0}guest");
    dirty.messages = Some(json!([{"message": "hi\u{0}"}]));
    assert_eq!(db::upsert_rows(&mut pg, &[dirty]).unwrap(), ids(&["7006"]));
    let row = stored(&mut pg, "7006");
    assert_eq!(row["guestName"], json!("ZoëSecretguest"));
    assert_eq!(row["notes"], json!("late arrival"));
    assert_eq!(row["raw"]["lastName"], json!("Secretguest"));
    assert_eq!(row["messages"], json!([{"message": "hi"}]));
}

#[test]
fn a_refused_row_is_isolated_and_reported_without_guest_data() {
    let mut pg = migrated("isolate");
    let mut rows: Vec<BookingRow> = (7010..7017)
        .map(|id| row(&id.to_string(), Some("2026-02-16T08:00:00Z")))
        .collect();
    // An integer column cannot hold it: SQLSTATE 22003, one row of seven.
    rows[4].total_persons = Some(3_000_000_000);
    // A whole batch refused at once fails as a refusal of the data, naming no guest.
    let whole = db::upsert_rows(&mut pg, &rows).unwrap_err();
    assert!(whole.is_data_error(), "{whole:?}");
    assert!(!format!("{whole:?}").contains("Secretguest"), "{whole:?}");

    let report = db::upsert_isolating(&mut pg, &rows).unwrap();
    let written: Vec<&str> = report.written.iter().map(BookingId::as_str).collect();
    assert_eq!(written, ["7010", "7011", "7012", "7013", "7015", "7016"]);
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    let (rejected, reason) = &report.rejected[0];
    assert_eq!(rejected, &id("7014"));
    assert!(reason.contains("22003"), "{reason}");
    assert!(
        !reason.contains("Secretguest") && !reason.contains("3000000000"),
        "{reason}"
    );
    assert_eq!(report.rejection(&id("7014")), Some(reason.as_str()));
    assert_eq!(db::booking_json(&mut pg, &id("7014")).unwrap(), None);
    assert_eq!(stored(&mut pg, "7016")["guestName"], json!(GUEST));
}

#[test]
fn a_failure_that_is_not_about_the_data_fails_the_whole_call() {
    // No table: not the rows' fault, so no row is blamed and the batch is retried whole.
    let mut pg = NativePg::fresh("nodata");
    let rows = [row("7020", None), row("7021", None)];
    let error = db::upsert_isolating(&mut pg, &rows).unwrap_err();
    assert!(
        matches!(&error, StoreError::Rejected { sqlstate, .. } if sqlstate == "42P01"),
        "{error:?}"
    );
    assert!(!error.is_data_error());
}

#[test]
fn duplicate_rows_of_one_booking_in_a_batch_keep_the_newest() {
    let mut pg = migrated("dupes");
    let mut old = row("7030", Some("2026-02-16T08:00:00Z"));
    old.status = Some("old".into());
    let mut new = row("7030", Some("2026-02-17T08:00:00Z"));
    new.status = Some("new".into());
    assert_eq!(
        db::upsert_rows(&mut pg, &[new, old]).unwrap(),
        ids(&["7030"])
    );
    assert_eq!(stored(&mut pg, "7030")["status"], json!("new"));
}

#[test]
fn listed_messages_merge_into_their_rows_replacing_by_id() {
    let mut pg = migrated("mergemsg");
    let mut first = row("7020", Some("2026-02-16T08:00:00Z"));
    first.messages = Some(json!([{"id": 1, "time": "2026-02-16T08:00:00Z", "read": false}]));
    db::upsert_rows(&mut pg, &[first]).unwrap();
    let listed = vec![
        json!({"id": 2, "bookingId": 7020, "time": "2026-02-17T09:00:00Z"}),
        json!({"id": 1, "bookingId": 7020, "time": "2026-02-16T08:00:00Z", "read": true}),
    ];
    let merge = |pg: &mut NativePg, id: &str, messages: Vec<Value>| {
        db::merge_messages(pg, &[(BookingId::parse(id).unwrap(), messages)]).unwrap()
    };
    assert_eq!(merge(&mut pg, "7020", listed.clone()), 1);
    let messages = stored(&mut pg, "7020")["messages"].clone();
    assert_eq!(messages.as_array().unwrap().len(), 2, "{messages}");
    assert_eq!(messages[0]["id"], json!(1));
    assert_eq!(messages[0]["read"], json!(true), "the listed copy wins");
    assert_eq!(messages[1]["id"], json!(2), "time order");
    // The same page again changes nothing; a booking without a row is skipped.
    assert_eq!(merge(&mut pg, "7020", listed), 0);
    assert_eq!(merge(&mut pg, "7021", vec![json!({"id": 9})]), 0);
}
