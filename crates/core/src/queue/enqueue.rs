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
        let record = [String::new(), String::new(), String::new()];
        Ok(self
            .store_job(id, action, clock.into(), counter, record)?
            .verdict)
    }

    /// Store a webhook's job and its record (source, arrival, size) in one round trip.
    pub fn enqueue_job(
        &mut self,
        job: &JobRecord,
        clock: impl Into<Clock>,
    ) -> Result<Accepted, StoreError> {
        let record = [
            job.source.as_str().to_owned(),
            job.received_at.timestamp_millis().to_string(),
            job.body_bytes.to_string(),
        ];
        let counter = Counter::Received(job.action);
        self.store_job(&job.booking_id, job.action, clock.into(), counter, record)
    }

    fn store_job(
        &mut self,
        id: &BookingId,
        action: Action,
        clock: Clock,
        counter: Counter,
        [source, received_at, body_bytes]: [String; 3],
    ) -> Result<Accepted, StoreError> {
        let args = vec![
            self.prefix_arg(),
            id.as_str().into(),
            action.as_str().into(),
            clock.into(),
            counter.field().as_ref().into(),
            WAKE_CHANNEL.into(),
            source.into(),
            received_at.into(),
            body_bytes.into(),
        ];
        let k = &self.keys;
        let keys = [k.due(), k.active(), k.dead(), k.stats(), k.wake_pending()];
        let reply = scripts::ENQUEUE.run(self.redis, &keys, args)?;
        let verdict = Self::first_text(reply.clone(), &scripts::ENQUEUE)?
            .parse()
            .map_err(|e: UnknownReply| StoreError::Reply(e.to_string()))?;
        let woke = reply.get(1).and_then(RedisValue::as_i64) == Some(1);
        Ok(Accepted { verdict, woke })
    }
}
