//! Taking a job in: the queue entry, the webhook's record and the wake-up, in one script.

use super::{scripts, Clock, Counter, Enqueued, Queue, UnknownReply, WAKE_CHANNEL};
use crate::job::JobRecord;
use crate::store::{RedisExec, RedisValue, StoreError};
use crate::{Action, BookingId};

/// What storing a webhook's job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// What became of the job.
    pub verdict: Enqueued,
    /// This call published the wake-up (none was pending): no worker had been told of
    /// work yet, so an HTTP-driven deployment starts a drain.
    pub woke: bool,
}

impl<R: RedisExec> Queue<'_, R> {
    /// Store the queue entry for a booking (coalescing per booking), without a webhook record.
    pub fn enqueue(
        &mut self,
        id: &BookingId,
        action: Action,
        clock: impl Into<Clock>,
    ) -> Result<Enqueued, StoreError> {
        self.enqueue_counted(id, action, clock, Counter::Received(action))
    }

    /// Enqueue counting under `counter` (operators' manual syncs are not webhooks).
    pub fn enqueue_counted(
        &mut self,
        id: &BookingId,
        action: Action,
        clock: impl Into<Clock>,
        counter: Counter,
    ) -> Result<Enqueued, StoreError> {
        Ok(self
            .store_job(id, action, clock.into(), counter, None)?
            .verdict)
    }

    /// Store a webhook's job and its record (source, arrival, size) in one round trip.
    pub fn enqueue_job(
        &mut self,
        job: &JobRecord,
        clock: impl Into<Clock>,
    ) -> Result<Accepted, StoreError> {
        let counter = Counter::Received(job.action);
        self.store_job(
            &job.booking_id,
            job.action,
            clock.into(),
            counter,
            Some(job),
        )
    }

    fn store_job(
        &mut self,
        id: &BookingId,
        action: Action,
        clock: Clock,
        counter: Counter,
        record: Option<&JobRecord>,
    ) -> Result<Accepted, StoreError> {
        let mut args = vec![
            self.prefix_arg(),
            id.as_str().into(),
            action.as_str().into(),
            clock.into(),
            counter.field().as_ref().into(),
            WAKE_CHANNEL.into(),
        ];
        match record {
            Some(job) => args.extend([
                job.source.as_str().into(),
                job.received_at.timestamp_millis().into(),
                (job.body_bytes as i64).into(),
            ]),
            None => args.extend(["".into(), "".into(), "".into()]),
        }
        let k = &self.keys;
        let keys = [k.due(), k.dead(), k.stats(), k.wake_pending()];
        let reply = scripts::ENQUEUE.run(self.redis, &keys, args)?;
        let woke = reply.get(1).and_then(RedisValue::as_i64) == Some(1);
        let verdict = Self::first_text(reply, &scripts::ENQUEUE)?
            .parse()
            .map_err(|e: UnknownReply| StoreError::Reply(e.to_string()))?;
        Ok(Accepted { verdict, woke })
    }
}
