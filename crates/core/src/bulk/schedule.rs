//! When a bulk run is due, and the lock that lets only one worker run it.

use super::config::BulkConfig;
use super::slice::Run;
use super::state::BackfillState;
use crate::keys::Keys;
use crate::queue::scripts;
use crate::store::{RedisExec, RedisValue, StoreError};

/// The run a slice should work on now, with the backfill's run id (empty for the
/// reconciliation): an active backfill first, else a due reconciliation; none while
/// the queue is held (Beds24 cannot take calls). One round trip: every worker run whose
/// queue is drained asks this.
pub(super) fn due(
    bulk: &BulkConfig,
    keys: &Keys,
    redis: &mut impl RedisExec,
    now: i64,
) -> Result<Option<(Run, String)>, StoreError> {
    let reply = scripts::BULK_DUE.run(
        redis,
        &[keys.hold(), keys.backfill(), keys.reconcile()],
        Vec::new(),
    )?;
    let text = |i: usize| {
        reply
            .get(i)
            .and_then(RedisValue::as_text)
            .unwrap_or_default()
    };
    if reply.first().and_then(RedisValue::as_i64) == Some(1) {
        return Ok(None);
    }
    let state = text(1);
    if !state.is_empty() && state.parse::<BackfillState>()?.is_active() {
        return Ok(Some((Run::Backfill, text(2))));
    }
    match text(3).parse::<i64>().ok() {
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
