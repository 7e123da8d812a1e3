//! When a bulk run is due, and the lock that lets only one worker run it.

use super::config::BulkConfig;
use super::slice::Run;
use super::state::{int, read_hash, BackfillState};
use crate::keys::Keys;
use crate::store::{RedisExec, RedisValue, StoreError};

/// The run a slice should work on now, with the backfill's run id (empty for the
/// reconciliation): an active backfill first, else a due reconciliation.
pub(super) fn due(
    bulk: &BulkConfig,
    keys: &Keys,
    redis: &mut impl RedisExec,
    now: i64,
) -> Result<Option<(Run, String)>, StoreError> {
    let backfill = read_hash(redis, &keys.backfill())?;
    if let Some(state) = backfill.get("state") {
        if state.parse::<BackfillState>()?.is_active() {
            let run_id = backfill.get("runId").cloned().unwrap_or_default();
            return Ok(Some((Run::Backfill, run_id)));
        }
    }
    let reconcile = read_hash(redis, &keys.reconcile())?;
    match int(&reconcile, "nextAt") {
        Some(next_at) if next_at <= now => Ok(Some((Run::Reconcile, String::new()))),
        Some(_) => Ok(None),
        // First sight: the first run comes one interval from now (or at once on request).
        None => {
            schedule_reconcile(bulk, keys, redis, now)?;
            Ok(None)
        }
    }
}

pub(super) fn schedule_reconcile(
    bulk: &BulkConfig,
    keys: &Keys,
    redis: &mut impl RedisExec,
    now: i64,
) -> Result<(), StoreError> {
    let next_at = now + bulk.reconcile_every_ms;
    redis.execute(
        "HSET",
        &[keys.reconcile().into(), "nextAt".into(), next_at.into()],
    )?;
    redis.execute(
        "SET",
        &[
            keys.reconcile_timer().into(),
            "1".into(),
            "PX".into(),
            bulk.reconcile_every_ms.max(1).into(),
        ],
    )?;
    Ok(())
}

/// Take the bulk lock; its owner, or `None` when another worker holds it.
pub(super) fn lock(
    bulk: &BulkConfig,
    keys: &Keys,
    redis: &mut impl RedisExec,
) -> Result<Option<String>, StoreError> {
    let seq = redis.execute("INCR", &[keys.bulk_lock_seq().into()])?;
    let owner = seq
        .first()
        .and_then(RedisValue::as_i64)
        .unwrap_or_default()
        .to_string();
    let taken = redis.execute(
        "SET",
        &[
            keys.bulk_lock().into(),
            owner.as_str().into(),
            "NX".into(),
            "PX".into(),
            bulk.lock_ms.into(),
        ],
    )?;
    Ok(matches!(taken.as_slice(), [RedisValue::Status(s)] if s == "OK").then_some(owner))
}
