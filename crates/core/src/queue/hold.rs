//! Holding claims while Beds24 cannot take calls, renewing a slow batch's leases, ending jobs a bulk page made redundant.

use super::{scripts, ClaimedJob, Clock, Queue};
use crate::store::{RedisExec, RedisValue, StoreError};
use crate::BookingId;

impl<R: RedisExec> Queue<'_, R> {
    /// Renew the leases of jobs still held with their claims; returns, per job, whether
    /// it still is (a job taken over by another worker must not be settled by this one).
    pub fn extend_leases(
        &mut self,
        jobs: &[ClaimedJob],
        clock: impl Into<Clock>,
        lease_ms: i64,
    ) -> Result<Vec<bool>, StoreError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec![self.prefix_arg(), clock.into().into(), lease_ms.into()];
        for job in jobs {
            args.push(job.booking_id.as_str().into());
            args.push(job.claim.as_str().into());
        }
        let reply = scripts::EXTEND.run(self.redis, &[self.keys.active()], args)?;
        Ok(reply.iter().map(|v| v.as_i64() == Some(1)).collect())
    }

    /// Stop claims for `for_ms` (the account or its credit window cannot take calls);
    /// a later, longer hold is never shortened by a shorter one.
    pub fn hold(&mut self, reason: &str, for_ms: i64) -> Result<(), StoreError> {
        let current = self.redis.execute("PTTL", &[self.keys.hold().into()])?;
        if current.first().and_then(RedisValue::as_i64).unwrap_or(-2) >= for_ms {
            return Ok(());
        }
        self.redis
            .execute(
                "SET",
                &[
                    self.keys.hold().into(),
                    reason.into(),
                    "PX".into(),
                    for_ms.max(1).into(),
                ],
            )
            .map(drop)
    }

    /// End the waiting (or delayed) jobs of `ids` untouched since `listed_at` (ms, Redis
    /// clock): a bulk page stored those bookings as Beds24 listed them then. Returns the
    /// ids whose jobs ended.
    pub fn satisfy(
        &mut self,
        ids: &[BookingId],
        listed_at: i64,
    ) -> Result<Vec<BookingId>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec![self.prefix_arg(), listed_at.into()];
        args.extend(ids.iter().map(|id| id.as_str().into()));
        let keys = [self.keys.due(), self.keys.stats()];
        let reply = scripts::SATISFY.run(self.redis, &keys, args)?;
        Ok(reply
            .iter()
            .filter_map(|v| BookingId::parse(&v.as_text()?).ok())
            .collect())
    }

    /// Redis's clock in ms (the queue's times are on it).
    pub fn redis_time(&mut self) -> Result<i64, StoreError> {
        let reply = self.redis.execute("TIME", &[])?;
        let part = |i: usize| reply.get(i).and_then(RedisValue::as_i64);
        match (part(0), part(1)) {
            (Some(s), Some(us)) => Ok(s * 1000 + us / 1000),
            _ => Err(StoreError::Reply("TIME answered no time".into())),
        }
    }
}
