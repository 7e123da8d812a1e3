//! Apply migrations once per schema version (remembered in Redis), so no psql is needed.

use beds24_sync_core::db;
use beds24_sync_core::logging::Level;
use beds24_sync_core::store::{RedisExec, RedisValue, SqlExec, StoreError};
use serde_json::json;

const SCHEMA_KEY: &str = "b24:schema-version";

/// Cheap when already applied (one Redis GET); otherwise migrates under the advisory lock.
pub fn ensure(redis: &mut impl RedisExec, pg: &mut impl SqlExec) -> Result<i32, StoreError> {
    let latest = db::latest_version();
    let known = redis.execute("GET", &[SCHEMA_KEY.into()]).ok();
    if known
        .as_deref()
        .and_then(|r| r.first())
        .and_then(RedisValue::as_i64)
        == Some(latest.into())
    {
        return Ok(latest);
    }
    db::migrate(pg)?;
    redis.execute("SET", &[SCHEMA_KEY.into(), i64::from(latest).into()])?;
    crate::log(
        Level::Info,
        "migrations applied",
        &[("version", json!(latest))],
    );
    Ok(latest)
}
