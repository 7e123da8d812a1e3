//! Apply migrations when the database lacks them, asking the database itself, so no psql is needed.

use beds24_sync_core::db;
use beds24_sync_core::logging::Level;
use beds24_sync_core::store::{SqlExec, StoreError};
use serde_json::json;

/// One query per Postgres session when the schema is current; otherwise migrates
/// under the advisory lock. The answer is never cached outside the database: a
/// new or restored database must be migrated by the next session that opens it.
pub fn ensure(pg: &mut impl SqlExec) -> Result<i32, StoreError> {
    let latest = db::latest_version();
    let applied = db::applied_version(pg)?;
    if applied >= latest {
        return Ok(applied);
    }
    db::migrate(pg)?;
    crate::log(
        Level::Info,
        "migrations applied",
        &[("from", json!(applied)), ("version", json!(latest))],
    );
    Ok(latest)
}
