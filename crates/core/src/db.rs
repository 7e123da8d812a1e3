//! Postgres: embedded migrations (tracked, under an advisory lock) and the batched, guarded upsert.

use serde_json::Value;

use crate::mapping::BookingRow;
use crate::store::{SqlExec, SqlParam, StoreError};

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
pub fn migration_statement(version: i32, name: &str, sql: &str) -> String {
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

/// Version applied in this database (0 when none).
pub fn applied_version(db: &mut impl SqlExec) -> Result<i32, StoreError> {
    let exists = db.query("SELECT to_regclass('\"_beds24_migrations\"')::text", &[])?;
    if exists
        .first()
        .and_then(|r| r.first())
        .and_then(|v| v.as_text())
        .is_none()
    {
        return Ok(0);
    }
    let rows = db.query(
        "SELECT COALESCE(max(version), 0)::bigint FROM \"_beds24_migrations\"",
        &[],
    )?;
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
/// trip, exact NUMERIC parsing by Postgres). Guarded by `modifiedDate`: an older
/// snapshot never overwrites a newer row, and webhook-sourced data only replaces
/// strictly older rows. Returns one row per written booking.
pub fn upsert_sql() -> String {
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
    // A missing property name (cache cold, webhook data) keeps the stored one.
    let updates = COLUMNS[1..]
        .iter()
        .map(|(n, _)| match *n {
            "propertyName" => format!("\"{n}\" = COALESCE(EXCLUDED.\"{n}\", \"Booking\".\"{n}\")"),
            _ => format!("\"{n}\" = EXCLUDED.\"{n}\""),
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO \"Booking\" ({names}) SELECT {names} FROM jsonb_to_recordset($1::jsonb) AS r({typed}) \
         ON CONFLICT (\"bookingId\") DO UPDATE SET {updates} \
         WHERE \"Booking\".\"modifiedDate\" IS NULL OR EXCLUDED.\"modifiedDate\" IS NULL \
            OR EXCLUDED.\"modifiedDate\" > \"Booking\".\"modifiedDate\" \
            OR (EXCLUDED.\"modifiedDate\" = \"Booking\".\"modifiedDate\" AND EXCLUDED.\"BDStatus\" <> 'webhook') \
         RETURNING \"bookingId\""
    )
}

/// Upsert a batch of rows; returns the bookingIds actually written (stale ones are not).
pub fn upsert_rows(db: &mut impl SqlExec, rows: &[BookingRow]) -> Result<Vec<String>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let json = serde_json::to_value(rows).map_err(|e| StoreError::new(e.to_string()))?;
    let written = db.query(&upsert_sql(), &[SqlParam::Json(json)])?;
    Ok(written
        .into_iter()
        .filter_map(|r| r.first().and_then(|v| v.as_text()).map(str::to_owned))
        .collect())
}

/// Mark rows whose booking Beds24 no longer returns. No row is invented.
pub fn mark_missing(db: &mut impl SqlExec, ids: &[String]) -> Result<u64, StoreError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let sql = "UPDATE \"Booking\" SET \"BDStatus\" = 'missing', \"lastUpdatedBD\" = now() \
               WHERE \"bookingId\" IN (SELECT jsonb_array_elements_text($1::jsonb))";
    db.execute(sql, &[SqlParam::Json(Value::from(ids.to_vec()))])
}

/// Current `modifiedDate` (RFC 3339) of rows, for deciding whether webhook data is newer.
pub fn modified_dates(
    db: &mut impl SqlExec,
    ids: &[String],
) -> Result<Vec<(String, Option<String>)>, StoreError> {
    let sql = "SELECT \"bookingId\", to_char(\"modifiedDate\" AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
               FROM \"Booking\" WHERE \"bookingId\" IN (SELECT jsonb_array_elements_text($1::jsonb))";
    let rows = db.query(sql, &[SqlParam::Json(Value::from(ids.to_vec()))])?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some((
                r.first()?.as_text()?.to_owned(),
                r.get(1).and_then(|v| v.as_text()).map(str::to_owned),
            ))
        })
        .collect())
}

/// The stored row as JSON text (admin detail view), or None.
pub fn booking_json(db: &mut impl SqlExec, id: &str) -> Result<Option<Value>, StoreError> {
    let sql = "SELECT row_to_json(b)::text FROM \"Booking\" b WHERE \"bookingId\" = $1";
    let rows = db.query(sql, &[SqlParam::Text(id.to_owned())])?;
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
    }
}
