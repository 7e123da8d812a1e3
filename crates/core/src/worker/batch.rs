//! One claimed batch through the worker: fetched (its first requests perhaps sent while the previous batch was stored), stored, settled.

use serde_json::json;

use super::outcome::{self, outcomes, Outcomes};
use super::{settle, Run, SqlConnect};
use crate::beds24::fetch::{finish_batch, start_batch, BatchData, StartedBatch};
use crate::beds24::http::HttpGet;
use crate::beds24::ApiFailure;
use crate::logging::{emit, now_ms, Level};
use crate::queue::{ClaimOptions, ClaimedJob, Clock, Queue};
use crate::store::{RedisExec, StoreError};
use crate::sync::{plan_batch, recover, BatchAttempt};
use crate::BookingId;

/// A claimed batch on its way through the run loop.
pub(super) struct Batch<P> {
    pub(super) jobs: Vec<ClaimedJob>,
    /// Its leases (and its jobs' history durations) run from here.
    claimed_at: i64,
    /// Its first requests, when they went out while the previous batch was stored.
    sent: Option<Sent<P>>,
}

/// A batch's first requests sent ahead, or why none could go out (credits, scopes, token).
struct Sent<P> {
    requests: Result<StartedBatch<P>, ApiFailure>,
    at: i64,
}

/// When a stored batch was claimed and how long its fetch held the worker up.
#[derive(Debug, Clone, Copy)]
struct Timing {
    claimed_at: i64,
    /// Time the worker spent fetching, not counting `overlap_ms`.
    fetch_ms: i64,
    /// Time its requests were in flight while the previous batch was stored and settled.
    overlap_ms: i64,
}

impl<R: RedisExec, H: HttpGet, C: SqlConnect> BatchAttempt for Run<'_, '_, R, H, C> {
    /// Fetch, map, upsert and settle one group of claimed jobs; a failed Beds24 request
    /// settles nothing and is handed back for batch recovery to decide.
    async fn attempt(&mut self, jobs: &[ClaimedJob]) -> Result<(), ApiFailure> {
        let started = now_ms();
        let data = self.fetch(jobs)?;
        let timing = Timing {
            claimed_at: started,
            fetch_ms: now_ms() - started,
            overlap_ms: 0,
        };
        let mut leased_at = started;
        self.renew_leases_if_slow(jobs, &mut leased_at);
        self.store_and_settle(jobs, &data, timing);
        Ok(())
    }

    fn fail(&mut self, jobs: &[ClaimedJob], failure: ApiFailure) {
        let failure = self.queue_failure(failure);
        let schedule = &self.config.schedule;
        let mut queue = Queue::with_keys(&mut *self.platform.redis, self.keys.clone());
        settle::hold_for(&mut queue, &failure);
        settle::settle_failures(&mut queue, schedule, jobs, &failure, now_ms());
    }
}

impl<R: RedisExec, H: HttpGet, C: SqlConnect> Run<'_, '_, R, H, C> {
    pub(super) fn claim(&mut self) -> Result<Option<Batch<H::Pending>>, StoreError> {
        let options = ClaimOptions {
            clock: Clock::Redis,
            lease_ms: self.config.lease_ms,
            batch: self.config.batch,
            max_tries: self.config.schedule.max_tries(),
        };
        let jobs = self.queue().claim(&options)?;
        Ok((!jobs.is_empty()).then(|| Batch {
            jobs,
            claimed_at: now_ms(),
            sent: None,
        }))
    }

    /// Claim the next batch and send its first requests without waiting for them.
    fn prefetch(&mut self) -> Result<Option<Batch<H::Pending>>, StoreError> {
        let Some(mut batch) = self.claim()? else {
            return Ok(None);
        };
        let requests = self.start(&batch.jobs);
        batch.sent = Some(Sent {
            requests,
            at: now_ms(),
        });
        Ok(Some(batch))
    }

    /// Sync one claimed batch. Once its answers are in, if it was full (more is likely
    /// due) and the run has time left (`prefetch_until`), the next batch is claimed and
    /// its requests sent before this one is stored, so Beds24 answers while Postgres
    /// writes: that batch is returned and must be synced next. A failed fetch goes to
    /// batch recovery, whose re-attempts fetch one after another, and claims nothing
    /// more. Only a queue that cannot be read is an error, and only once this batch is
    /// settled, with nothing more claimed.
    pub(super) async fn sync(
        &mut self,
        batch: Batch<H::Pending>,
        prefetch_until: i64,
    ) -> Result<Option<Batch<H::Pending>>, StoreError> {
        let Batch {
            jobs,
            claimed_at,
            sent,
        } = batch;
        let mut leased_at = claimed_at;
        let mut overlap_ms = 0;
        let fetched = match sent {
            None => self.fetch(&jobs),
            Some(sent) => {
                // Its leases ran while the previous batch was stored.
                self.renew_leases_if_slow(&jobs, &mut leased_at);
                overlap_ms = now_ms() - sent.at;
                sent.requests.and_then(|started| self.finish(started))
            }
        };
        let data = match fetched {
            Ok(data) => data,
            Err(failure) => {
                recover(self, &jobs, failure).await;
                return Ok(None);
            }
        };
        let timing = Timing {
            claimed_at,
            fetch_ms: now_ms() - claimed_at - overlap_ms,
            overlap_ms,
        };
        let next = if jobs.len() >= self.config.batch && now_ms() < prefetch_until {
            self.prefetch()
        } else {
            Ok(None)
        };
        self.renew_leases_if_slow(&jobs, &mut leased_at);
        self.store_and_settle(&jobs, &data, timing);
        next
    }

    fn fetch(&mut self, jobs: &[ClaimedJob]) -> Result<BatchData, ApiFailure> {
        let started = self.start(jobs)?;
        self.finish(started)
    }

    /// Send a batch's first requests, once the credit budget allows it and (first
    /// thing in an invocation) the token's scopes are known good.
    fn start(&mut self, jobs: &[ClaimedJob]) -> Result<StartedBatch<H::Pending>, ApiFailure> {
        let check_scopes = !self.scopes_checked;
        let mut client = self.client();
        if let Some(until) = client.credits_wait_until() {
            return Err(ApiFailure::RateLimited(
                "Beds24 credit budget spent".into(),
                Some(((until - now_ms()).max(0) / 1000) as u64 + 1),
            ));
        }
        if check_scopes {
            client.check_scopes()?;
        }
        let ids: Vec<BookingId> = jobs.iter().map(|j| j.booking_id.clone()).collect();
        let started = start_batch(&mut client, &ids);
        self.scopes_checked = true;
        Ok(started)
    }

    /// Wait for a started batch's answers (a 401 still refreshes the token once and
    /// retries) and fetch what else it needs.
    fn finish(&mut self, started: StartedBatch<H::Pending>) -> Result<BatchData, ApiFailure> {
        finish_batch(&mut self.client(), started)
    }

    /// A batch that spent a good part of its lease (fetching, or waiting for the batch
    /// before it to be stored) renews it, so it is not taken over (and its tries used)
    /// while its answers are read and its rows written. `leased_at` is when its leases
    /// were last set.
    fn renew_leases_if_slow(&mut self, jobs: &[ClaimedJob], leased_at: &mut i64) {
        let now = now_ms();
        if now - *leased_at < self.config.lease_ms / 4 {
            return;
        }
        let lease_ms = self.config.lease_ms;
        match self.queue().extend_leases(jobs, Clock::Redis, lease_ms) {
            Ok(_) => *leased_at = now,
            Err(e) => emit(
                Level::Warn,
                "could not renew leases",
                &[("error", json!(e.to_string()))],
            ),
        }
    }

    /// Map what one batch fetched, upsert the rows and settle every job.
    fn store_and_settle(&mut self, jobs: &[ClaimedJob], data: &BatchData, timing: Timing) {
        let store_began = now_ms();
        let plan = plan_batch(jobs, &data.as_input(), chrono::Utc::now());
        outcome::log_anomalies(&plan);
        let (rows, missing) = outcome::rows_and_missing(&plan);
        let stored = self.platform.pg.store(&rows, &missing);
        let stored_at = now_ms();
        let Outcomes { synced, failed } = outcomes(plan, &stored);
        let schedule = &self.config.schedule;
        let started = timing.claimed_at;
        let mut queue = Queue::with_keys(&mut *self.platform.redis, self.keys.clone());
        for (failure, jobs) in &failed {
            settle::settle_failures(&mut queue, schedule, jobs, failure, started);
        }
        settle::settle_successes(&mut queue, &synced, started);
        // Where a batch's time goes, for operators tuning batch_size or chasing a slow
        // phase; overlapMs is fetch time hidden behind the previous batch's store.
        emit(
            Level::Info,
            "batch done",
            &[
                ("jobs", json!(jobs.len())),
                ("synced", json!(synced.len())),
                ("fetchMs", json!(timing.fetch_ms)),
                ("overlapMs", json!(timing.overlap_ms)),
                ("storeMs", json!(stored_at - store_began)),
                ("settleMs", json!(now_ms() - stored_at)),
            ],
        );
    }
}
