//! Postgres: embedded migrations (tracked, under an advisory lock) and the batched, guarded upsert.
//!
//! Every `query` here returns exactly one row, whatever the data: Spin 4.0.0–4.0.2
//! never return from a `query` whose result has zero rows (spinframework/spin#3671),
//! and one such call ends all work of a worker process. Aggregates and scalar
//! subqueries always yield a row; statements with nothing to return use `execute`.

use serde_json::Value;

use crate::mapping::BookingRow;
use crate::store::{SqlExec, SqlParam, StoreError};
use crate::BookingId;

#[path = "db_isolate.rs"]
mod isolate;
pub use isolate::{upsert_isolating, UpsertReport};

/// Migrations, in order, embedded so hosts without psql can apply them.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[(
    1,
    "0001_create_booking",
    include_str!("../../../migrations/0001_create_booking.sql"),
)];

/// Highest migration version this build knows.
pub fn latest_version() -> i32 {
    MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0)
}

/// Arbitrary but fixed key for `pg_advisory_xact_lock`: two processes starting
/// together apply each migration once.
const MIGRATION_LOCK: i64 = 0x6265_6473_3234; // "beds24"

/// One self-contained statement applying migration `version` if not yet applied.
/// A DO block is one transaction, so the lock, the DDL and the bookkeeping commit together.
fn migration_statement(version: i32, name: &str, sql: &str) -> String {
    format!(
        "DO $migrate$ BEGIN
  PERFORM pg_advisory_xact_lock({MIGRATION_LOCK});
  CREATE TABLE IF NOT EXISTS \"_beds24_migrations\" (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
  IF NOT EXISTS (SELECT 1 FROM \"_beds24_migrations\" WHERE version = {version}) THEN
{sql}
    INSERT INTO \"_beds24_migrations\" (version, name) VALUES ({version}, '{name}');
  END IF;
END $migrate$"
    )
}

/// Apply every migration not yet applied. Idempotent; safe to run concurrently.
pub fn migrate(db: &mut impl SqlExec) -> Result<i32, StoreError> {
    for (version, name, sql) in MIGRATIONS {
        db.execute(&migration_statement(*version, name, sql), &[])?;
    }
    Ok(latest_version())
}

/// SQLSTATE undefined_table: no migration ever ran in this database.
const UNDEFINED_TABLE: &str = "42P01";

/// Make sure the database has our schema: one query per Postgres session when it is
/// current, else the migrations under the advisory lock. The answer is never cached
/// outside the database: a new or restored database is migrated by the next session.
pub fn ensure_schema(db: &mut impl SqlExec) -> Result<i32, StoreError> {
    let latest = latest_version();
    let applied = applied_version(db)?;
    if applied >= latest {
        return Ok(applied);
    }
    migrate(db)?;
    crate::logging::emit(
        crate::logging::Level::Info,
        "migrations applied",
        &[
            ("from", serde_json::json!(applied)),
            ("version", serde_json::json!(latest)),
        ],
    );
    Ok(latest)
}

/// Version applied in this database (0 when none). One query, cheap enough to run
/// once per Postgres session: a new or restored database is then migrated at once.
pub fn applied_version(db: &mut impl SqlExec) -> Result<i32, StoreError> {
    let rows = match db.query(
        "SELECT COALESCE(max(version), 0)::bigint FROM \"_beds24_migrations\"",
        &[],
    ) {
        Ok(rows) => rows,
        Err(e) if e.sqlstate() == Some(UNDEFINED_TABLE) => return Ok(0),
        Err(e) => return Err(e),
    };
    Ok(rows
        .first()
        .and_then(|r| r.first())
        .and_then(|v| v.as_i64())
        .unwrap_or(0) as i32)
}

/// Columns written by the upsert, with their SQL types for `jsonb_to_recordset`.
const COLUMNS: &[(&str, &str)] = &[
    ("bookingId", "text"),
    ("phone", "text"),
    ("guestName", "text"),
    ("status", "text"),
    ("propertyName", "text"),
    ("arrivalDate", "date"),
    ("departureDate", "date"),
    ("numNights", "integer"),
    ("totalPersons", "integer"),
    ("totalCharges", "numeric"),
    ("totalPayments", "numeric"),
    ("balance", "numeric"),
    ("basePrice", "numeric"),
    ("channel", "text"),
    ("email", "text"),
    ("apiReference", "text"),
    ("notes", "text"),
    ("modifiedDate", "timestamptz"),
    ("lastUpdatedBD", "timestamptz"),
    ("BDStatus", "text"),
    ("charges", "jsonb"),
    ("payments", "jsonb"),
    ("messages", "jsonb"),
    ("infoItems", "jsonb"),
    ("raw", "jsonb"),
];

/// The batched upsert: all rows travel as one JSONB array (one statement, one round
/// trip, exact NUMERIC parsing by Postgres). Guarded by `modifiedDate`: a newer snapshot
/// overwrites the stored row, one as new only when its data differs (messages and
/// property names change without touching `modifiedTime`; a backfill or reconciliation
/// that meets an unchanged booking writes nothing), an older one never does, and one
/// without a `modifiedDate` only replaces a row that has none either. Always returns
/// one row: the JSON array of the bookingIds written.
fn upsert_sql() -> String {
    let names = COLUMNS
        .iter()
        .map(|(n, _)| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let typed = COLUMNS
        .iter()
        .map(|(n, t)| format!("\"{n}\" {t}"))
        .collect::<Vec<_>>()
        .join(", ");
    // A new row needs messages (NOT NULL); an update without them (the messages
    // call failed) keeps the stored ones, which EXCLUDED cannot tell apart from an
    // empty list, so the update reads the incoming value from the input again.
    let inserted = COLUMNS
        .iter()
        .map(|(n, _)| match *n {
            "messages" => format!("COALESCE(\"{n}\", '[]'::jsonb)"),
            _ => format!("\"{n}\""),
        })
        .collect::<Vec<_>>()
        .join(", ");
    // A missing property name (cache cold) keeps the stored one.
    let updates = COLUMNS[1..]
        .iter()
        .map(|(n, _)| match *n {
            "propertyName" => format!("\"{n}\" = COALESCE(EXCLUDED.\"{n}\", \"Booking\".\"{n}\")"),
            "messages" => format!(
                "\"{n}\" = COALESCE((SELECT i.\"{n}\" FROM input i WHERE i.\"bookingId\" = EXCLUDED.\"bookingId\"), \"Booking\".\"{n}\")"
            ),
            _ => format!("\"{n}\" = EXCLUDED.\"{n}\""),
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "WITH input AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r({typed})), \
         written AS (INSERT INTO \"Booking\" ({names}) SELECT {inserted} FROM input \
         ON CONFLICT (\"bookingId\") DO UPDATE SET {updates} \
         WHERE \"Booking\".\"modifiedDate\" IS NULL \
            OR EXCLUDED.\"modifiedDate\" > \"Booking\".\"modifiedDate\" \
            OR (EXCLUDED.\"modifiedDate\" = \"Booking\".\"modifiedDate\" AND ( \
                EXCLUDED.\"raw\" IS DISTINCT FROM \"Booking\".\"raw\" \
                OR EXCLUDED.\"propertyName\" IS DISTINCT FROM \"Booking\".\"propertyName\" \
                OR COALESCE((SELECT i.\"messages\" FROM input i WHERE i.\"bookingId\" = EXCLUDED.\"bookingId\"), \"Booking\".\"messages\") \
                   IS DISTINCT FROM \"Booking\".\"messages\")) \
         RETURNING \"bookingId\") \
         SELECT COALESCE(json_agg(\"bookingId\"), '[]')::text FROM written"
    )
}

/// Upsert a batch of rows; returns the bookingIds actually written (stale ones are
/// not). The whole batch is one statement: one row Postgres refuses fails it all
/// (see `upsert_isolating`).
pub fn upsert_rows(
    db: &mut impl SqlExec,
    rows: &[BookingRow],
) -> Result<Vec<BookingId>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut json = serde_json::to_value(latest_per_booking(rows))
        .map_err(|e| StoreError::new(format!("serialising rows: {e}")))?;
    strip_nul(&mut json);
    let result = db.query(&upsert_sql(), &[SqlParam::Json(json)])?;
    let text = result
        .first()
        .and_then(|r| r.first())
        .and_then(|v| v.as_text())
        .ok_or_else(|| StoreError::Protocol("upsert returned no id list".into()))?;
    serde_json::from_str(text)
        .map_err(|e| StoreError::Protocol(format!("upsert id list unreadable: {e}")))
}

/// One row per booking (the newest snapshot; the later one on a tie): one statement
/// cannot update the same row twice, and such a refusal would fail every retry.
fn latest_per_booking(rows: &[BookingRow]) -> Vec<&BookingRow> {
    let mut kept: Vec<&BookingRow> = Vec::with_capacity(rows.len());
    for row in rows {
        match kept.iter_mut().find(|k| k.booking_id == row.booking_id) {
            Some(k) if row.modified_date >= k.modified_date => *k = row,
            Some(_) => {}
            None => kept.push(row),
        }
    }
    kept
}

/// Remove every NUL character from the strings (and keys) of `value`: Postgres
/// refuses `\u0000` in `text` and `jsonb` alike, and one such character anywhere in
/// a booking would otherwise fail its row for good.
pub fn strip_nul(value: &mut Value) {
    match value {
        Value::String(s) if s.contains('\0') => s.retain(|c| c != '\0'),
        Value::Array(items) => items.iter_mut().for_each(strip_nul),
        Value::Object(map) => {
            if map.keys().any(|k| k.contains('\0')) {
                *map = std::mem::take(map)
                    .into_iter()
                    .map(|(k, v)| (k.replace('\0', ""), v))
                    .collect();
            }
            map.values_mut().for_each(strip_nul);
        }
        _ => {}
    }
}

/// Merge listed messages into the stored rows of their bookings: a message already
/// stored (same `id`) is replaced by the listed one (its `read` flag may have changed),
/// the others are added, and the list is kept in time order. Bookings without a row are
/// skipped. Returns how many rows changed.
pub fn merge_messages(
    db: &mut impl SqlExec,
    by_booking: &[(BookingId, Vec<Value>)],
) -> Result<u64, StoreError> {
    if by_booking.is_empty() {
        return Ok(0);
    }
    let mut input: Value = by_booking
        .iter()
        .map(|(id, messages)| serde_json::json!({"bookingId": id, "msgs": messages}))
        .collect();
    strip_nul(&mut input);
    let sql = "WITH input AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(\"bookingId\" text, msgs jsonb)), \
         merged AS (SELECT b.\"bookingId\", \
           (SELECT COALESCE(jsonb_agg(x.e ORDER BY x.e->>'time', x.e->>'id'), '[]'::jsonb) \
              FROM (SELECT DISTINCT ON (COALESCE(a.e->>'id', a.e::text)) a.e \
                      FROM jsonb_array_elements(b.messages || i.msgs) WITH ORDINALITY AS a(e, n) \
                     ORDER BY COALESCE(a.e->>'id', a.e::text), a.n DESC) x) AS messages \
           FROM input i JOIN \"Booking\" b ON b.\"bookingId\" = i.\"bookingId\") \
         UPDATE \"Booking\" b SET messages = m.messages FROM merged m \
          WHERE b.\"bookingId\" = m.\"bookingId\" AND b.messages IS DISTINCT FROM m.messages";
    db.execute(sql, &[SqlParam::Json(input)])
}

/// Mark rows whose booking Beds24 no longer returns. No row is invented.
pub fn mark_missing(db: &mut impl SqlExec, ids: &[BookingId]) -> Result<u64, StoreError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let sql = "UPDATE \"Booking\" SET \"BDStatus\" = 'missing', \"lastUpdatedBD\" = now() \
               WHERE \"bookingId\" IN (SELECT jsonb_array_elements_text($1::jsonb))";
    let ids: Vec<&str> = ids.iter().map(BookingId::as_str).collect();
    db.execute(sql, &[SqlParam::Json(Value::from(ids))])
}

/// The stored row as JSON text (admin detail view), or None. A scalar subquery, so
/// a booking without a row still yields one row (NULL).
pub fn booking_json(db: &mut impl SqlExec, id: &BookingId) -> Result<Option<Value>, StoreError> {
    let sql = "SELECT (SELECT row_to_json(b)::text FROM \"Booking\" b WHERE \"bookingId\" = $1)";
    let rows = db.query(sql, &[SqlParam::Text(id.to_string())])?;
    Ok(rows
        .first()
        .and_then(|r| r.first())
        .and_then(|v| v.as_text())
        .and_then(|text| serde_json::from_str(text).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_statement_is_guarded_and_tracked() {
        let sql = migration_statement(1, "0001_x", "CREATE TABLE t (a int);");
        assert!(sql.contains("pg_advisory_xact_lock"));
        assert!(sql.contains("WHERE version = 1"));
        assert!(sql.contains("CREATE TABLE t (a int);"));
        assert_eq!(latest_version(), 1);
    }

    #[test]
    fn upsert_writes_every_column_and_guards_staleness() {
        let sql = upsert_sql();
        for (name, _) in COLUMNS {
            assert!(sql.contains(&format!("\"{name}\"")), "{name}");
        }
        assert!(sql.contains("ON CONFLICT (\"bookingId\")"));
        assert!(sql.contains("EXCLUDED.\"modifiedDate\" > \"Booking\".\"modifiedDate\""));
        assert!(sql.contains("EXCLUDED.\"raw\" IS DISTINCT FROM \"Booking\".\"raw\""));
        // Never zero rows (spin#3671): the written ids come back as one aggregate.
        assert!(sql.ends_with("SELECT COALESCE(json_agg(\"bookingId\"), '[]')::text FROM written"));
    }

    #[test]
    fn nul_characters_are_removed_from_every_string_and_key() {
        let mut value = serde_json::json!({
            "guestName": "Ann\u{0}e",
            "n": 1,
            "raw": {"notes": ["a\u{0}", null, {"k\u{0}ey": "\u{0}\u{0}"}]},
        });
        strip_nul(&mut value);
        assert_eq!(
            value,
            serde_json::json!({
                "guestName": "Anne",
                "n": 1,
                "raw": {"notes": ["a", null, {"key": ""}]},
            })
        );
        assert!(!value.to_string().contains("\\u0000"));
    }
}
