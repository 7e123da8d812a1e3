//! Places for HTTP-driven worker runs (drains): how many run at once, and leaving without losing a kick.

use super::{scripts, Clock, Queue};
use crate::store::{RedisExec, RedisValue, StoreError};

/// What asking for a drain place gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainPlace {
    /// A place, held under this owner until left or until its lease runs out.
    Taken(i64),
    /// Every place is held by a running drain (this many): it claims again before it
    /// leaves, so the caller's work is not lost.
    Full(i64),
}

/// What a drain with nothing to claim does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leave {
    /// It gave its place back.
    Left,
    /// A job came due: claim again.
    More,
    /// A job comes due in this many ms, within the drain's time: wait, then claim.
    Wait(i64),
}

impl<R: RedisExec> Queue<'_, R> {
    /// Take one of `slots` drain places for `lease_ms` (longer than a run may last).
    pub fn enter_drain(
        &mut self,
        clock: impl Into<Clock>,
        lease_ms: i64,
        slots: u32,
    ) -> Result<DrainPlace, StoreError> {
        let keys = [self.keys.drains(), self.keys.drain_seq()];
        let args = vec![
            clock.into().into(),
            lease_ms.into(),
            i64::from(slots).into(),
        ];
        let reply = scripts::DRAIN_ENTER.run(self.redis, &keys, args)?;
        match reply.first().and_then(RedisValue::as_i64) {
            Some(owner) if owner > 0 => Ok(DrainPlace::Taken(owner)),
            Some(0) => Ok(DrainPlace::Full(
                reply.get(1).and_then(RedisValue::as_i64).unwrap_or(0),
            )),
            _ => Err(StoreError::Reply(format!(
                "script drain_enter: unexpected reply {reply:?}"
            ))),
        }
    }

    /// Give the place back, unless a claimable job is due (claim again) or comes due
    /// within `wait_limit_ms` (wait for it). `force` leaves whatever is due.
    pub fn leave_drain(
        &mut self,
        clock: impl Into<Clock>,
        owner: i64,
        force: bool,
        wait_limit_ms: i64,
    ) -> Result<Leave, StoreError> {
        let k = &self.keys;
        let keys = [k.drains(), k.due(), k.paused(), k.hold()];
        let args = vec![
            clock.into().into(),
            owner.into(),
            if force { "1" } else { "0" }.into(),
            wait_limit_ms.into(),
        ];
        let reply = scripts::DRAIN_LEAVE.run(self.redis, &keys, args)?;
        let wait = reply.get(1).and_then(RedisValue::as_i64);
        match (reply.first().and_then(RedisValue::as_text).as_deref(), wait) {
            (Some("left"), _) => Ok(Leave::Left),
            (Some("more"), _) => Ok(Leave::More),
            (Some("wait"), Some(ms)) => Ok(Leave::Wait(ms)),
            _ => Err(StoreError::Reply(format!(
                "script drain_leave: unexpected reply {reply:?}"
            ))),
        }
    }
}
