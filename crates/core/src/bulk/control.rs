//! What operators do with bulk runs: start, pause, resume and cancel the backfill, run a reconciliation now, read both.

use chrono::NaiveDate;

use super::state::{float, read_hash, BackfillProgress, BackfillState, ReconcileStatus};
use crate::keys::Keys;
use crate::queue::{scripts, Queue};
use crate::store::{RedisExec, StoreError};

/// Why an operator's bulk command was refused.
#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    /// Redis failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The command does not apply in the backfill's current state.
    #[error("the backfill is {state}: {what}")]
    Conflict {
        /// The state it is in.
        state: &'static str,
        /// What cannot be done.
        what: &'static str,
    },
    /// The arrival range cannot be imported.
    #[error("invalid range: {0}")]
    BadRange(String),
}

/// The arrival dates a backfill imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackfillRange {
    /// First arrival date (Beds24 needs a date filter to list past stays).
    pub from: NaiveDate,
    /// Last arrival date, or open-ended.
    pub to: Option<NaiveDate>,
}

impl BackfillRange {
    /// From `from` (default 2000-01-01: all history) to `to`, both `YYYY-MM-DD`.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Self, BulkError> {
        let date = |name: &str, text: &str| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|e| BulkError::BadRange(format!("{name} must be YYYY-MM-DD: {e}")))
        };
        let from = match from {
            Some(text) => date("arrivalFrom", text)?,
            None => NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid date"),
        };
        let to = to.map(|text| date("arrivalTo", text)).transpose()?;
        if to.is_some_and(|to| to < from) {
            return Err(BulkError::BadRange(
                "arrivalTo is before arrivalFrom".into(),
            ));
        }
        Ok(BackfillRange { from, to })
    }
}

fn state_of(redis: &mut impl RedisExec, keys: &Keys) -> Result<BackfillState, StoreError> {
    let reply = redis.execute("HGET", &[keys.backfill().into(), "state".into()])?;
    match reply.first().and_then(|v| v.as_text()) {
        Some(text) => text.parse(),
        None => Ok(BackfillState::Idle),
    }
}

/// The account's running total of credits spent (see the Beds24 client).
pub(super) fn credits_spent(redis: &mut impl RedisExec, keys: &Keys) -> f64 {
    read_hash(redis, &keys.beds24_credits())
        .ok()
        .and_then(|fields| float(&fields, "spent"))
        .unwrap_or(0.0)
}

/// Set `pairs` on the backfill hash if its state is one of `states` now. True when it was.
pub(super) fn set_if_state(
    redis: &mut impl RedisExec,
    keys: &Keys,
    states: &[BackfillState],
    pairs: &[(&str, String)],
) -> Result<bool, StoreError> {
    let mut allowed: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
    if states.contains(&BackfillState::Idle) {
        allowed.push(""); // a backfill never started, or cancelled, has no hash
    }
    set_if(redis, keys, "state", &allowed, pairs)
}

/// Set `pairs` on the backfill hash if its field `guard` is one of `allowed` now.
pub(super) fn set_if(
    redis: &mut impl RedisExec,
    keys: &Keys,
    guard: &str,
    allowed: &[&str],
    pairs: &[(&str, String)],
) -> Result<bool, StoreError> {
    let mut args = vec![guard.into(), (allowed.len() as i64).into()];
    args.extend(allowed.iter().map(|a| (*a).into()));
    for (field, value) in pairs {
        args.push((*field).into());
        args.push(value.as_str().into());
    }
    let reply = scripts::HSET_IF.run(redis, &[keys.backfill()], args)?;
    Ok(reply.first().and_then(|v| v.as_i64()) == Some(1))
}

/// Set the backfill's state to `to` if it is one of `from` now. True when it was.
pub(super) fn move_state(
    redis: &mut impl RedisExec,
    keys: &Keys,
    from: &[BackfillState],
    to: BackfillState,
) -> Result<bool, StoreError> {
    set_if_state(redis, keys, from, &[("state", to.as_str().to_owned())])
}

/// Start a backfill of `range`. Refused while one is running, waiting for credits or
/// paused (resume or cancel that one first); a finished or failed one is replaced.
pub fn start_backfill(
    redis: &mut impl RedisExec,
    keys: &Keys,
    range: BackfillRange,
    now_ms: i64,
) -> Result<BackfillProgress, BulkError> {
    let spent = credits_spent(redis, keys);
    let startable = [
        BackfillState::Idle,
        BackfillState::Done,
        BackfillState::Failed,
    ];
    let what = "pause, resume or cancel it first";
    transition(redis, keys, &startable, BackfillState::Running, what)?;
    // Each run has its own id: a slice of an earlier (cancelled) run still in flight
    // records nothing into this one.
    let run_id = redis
        .execute("INCR", &[keys.bulk_lock_seq().into()])?
        .first()
        .and_then(|v| v.as_i64())
        .unwrap_or_default();
    let mut args = vec![keys.backfill().into()];
    let to = range.to.map(|d| d.to_string()).unwrap_or_default();
    for (field, value) in [
        ("runId", run_id.to_string()),
        ("arrivalFrom", range.from.to_string()),
        ("arrivalTo", to),
        ("phase", "bookings".into()),
        ("page", "1".into()),
        ("pagesDone", "0".into()),
        ("messagePagesDone", "0".into()),
        ("messageRowsChanged", "0".into()),
        ("bookingsDone", "0".into()),
        ("rowsWritten", "0".into()),
        ("errors", "0".into()),
        ("creditsAtStart", spent.to_string()),
        ("creditsSpent", "0".into()),
        ("startedAt", now_ms.to_string()),
        ("updatedAt", now_ms.to_string()),
        ("lastError", String::new()),
    ] {
        args.push(field.into());
        args.push(value.into());
    }
    redis.execute("HSET", &args)?;
    Queue::with_keys(redis, keys.clone()).publish_wakeup()?;
    Ok(backfill_progress(redis, keys, now_ms)?)
}

/// Move the state from one of `from` to `to`, or refuse saying `what` is allowed.
fn transition(
    redis: &mut impl RedisExec,
    keys: &Keys,
    from: &[BackfillState],
    to: BackfillState,
    what: &'static str,
) -> Result<(), BulkError> {
    if move_state(redis, keys, from, to)? {
        return Ok(());
    }
    Err(BulkError::Conflict {
        state: state_of(redis, keys)?.as_str(),
        what,
    })
}

/// Pause a running (or credit-waiting) backfill; it keeps its place.
pub fn pause_backfill(
    redis: &mut impl RedisExec,
    keys: &Keys,
    now_ms: i64,
) -> Result<BackfillProgress, BulkError> {
    let active = [BackfillState::Running, BackfillState::WaitingForCredits];
    let what = "only a running backfill can be paused";
    transition(redis, keys, &active, BackfillState::Paused, what)?;
    Ok(backfill_progress(redis, keys, now_ms)?)
}

/// Resume a paused or failed backfill where it stopped.
pub fn resume_backfill(
    redis: &mut impl RedisExec,
    keys: &Keys,
    now_ms: i64,
) -> Result<BackfillProgress, BulkError> {
    let stopped = [BackfillState::Paused, BackfillState::Failed];
    let what = "only a paused or failed backfill can be resumed";
    transition(redis, keys, &stopped, BackfillState::Running, what)?;
    redis.execute(
        "HSET",
        &[keys.backfill().into(), "errors".into(), 0i64.into()],
    )?;
    Queue::with_keys(redis, keys.clone()).publish_wakeup()?;
    Ok(backfill_progress(redis, keys, now_ms)?)
}

/// Forget the backfill (rows already written stay): it is idle again.
pub fn cancel_backfill(
    redis: &mut impl RedisExec,
    keys: &Keys,
    now_ms: i64,
) -> Result<BackfillProgress, BulkError> {
    redis.execute("DEL", &[keys.backfill().into()])?;
    Ok(backfill_progress(redis, keys, now_ms)?)
}

/// The backfill's progress.
pub fn backfill_progress(
    redis: &mut impl RedisExec,
    keys: &Keys,
    now_ms: i64,
) -> Result<BackfillProgress, StoreError> {
    let fields = read_hash(redis, &keys.backfill())?;
    let spent = credits_spent(redis, keys);
    BackfillProgress::from_fields(&fields, spent, now_ms)
}

/// Make the reconciliation due now and wake a worker.
pub fn request_reconcile(
    redis: &mut impl RedisExec,
    keys: &Keys,
) -> Result<ReconcileStatus, StoreError> {
    redis.execute(
        "HSET",
        &[keys.reconcile().into(), "nextAt".into(), 0i64.into()],
    )?;
    Queue::with_keys(redis, keys.clone()).publish_wakeup()?;
    reconcile_status(redis, keys)
}

/// The reconciliation's cursor, run in progress and last run.
pub fn reconcile_status(
    redis: &mut impl RedisExec,
    keys: &Keys,
) -> Result<ReconcileStatus, StoreError> {
    Ok(ReconcileStatus::from_fields(&read_hash(
        redis,
        &keys.reconcile(),
    )?))
}
