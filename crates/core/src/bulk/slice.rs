//! One bulk slice: under the bulk lock, a few listing pages of the backfill or the reconciliation, each stored before the next.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

mod messages;
mod reconcile;
mod setbacks;

use messages::MESSAGES_PHASE;

use super::config::{BulkConfig, SliceOutcome};
use super::control::{move_state, set_if};
use super::redundant::end_redundant_jobs;
use super::rows::rows;
use super::schedule::{due, lock};
use super::state::{int, read_hash, text, BackfillState};
use crate::beds24::fetch::property_names;
use crate::beds24::urls::ListQuery;
use crate::beds24::{ApiFailure, Client, ClientConfig, Endpoint, HttpGet};
use crate::keys::Keys;
use crate::logging::now_ms;
use crate::mapping::booking_id_of;
use crate::queue::{scripts, Queue};
use crate::store::{RedisExec, StoreError};
use crate::worker::{PgSession, SqlConnect};
use crate::BookingId;

/// Which run a slice works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Run {
    /// The backfill.
    Backfill,
    /// The reconciliation.
    Reconcile,
}

impl Run {
    fn key(self, keys: &Keys) -> String {
        match self {
            Run::Backfill => keys.backfill(),
            Run::Reconcile => keys.reconcile(),
        }
    }
}

/// Errors in a row before a backfill stops as failed.
const MAX_ERRORS: i64 = 5;

/// Run one slice of whichever bulk run is due, if any and if no other worker is.
pub fn run_slice<R: RedisExec, H: HttpGet, C: SqlConnect>(
    client: &ClientConfig,
    bulk: &BulkConfig,
    keys: &Keys,
    redis: &mut R,
    http: &mut H,
    pg: &mut PgSession<C>,
) -> Result<SliceOutcome, StoreError> {
    let now = now_ms();
    let Some((run, run_id)) = due(bulk, keys, redis, now)? else {
        return Ok(SliceOutcome::Idle);
    };
    let Some(owner) = lock(bulk, keys, redis)? else {
        return Ok(SliceOutcome::Idle);
    };
    let outcome = Slice {
        client,
        bulk,
        keys,
        redis: &mut *redis,
        http,
        pg,
        run,
        run_id,
        owner: owner.clone(),
    }
    .pages();
    scripts::RELEASE_LOCK.run(redis, &[keys.bulk_lock()], vec![owner.into()])?;
    outcome
}

struct Slice<'a, R, H, C: SqlConnect> {
    client: &'a ClientConfig,
    bulk: &'a BulkConfig,
    keys: &'a Keys,
    redis: &'a mut R,
    http: &'a mut H,
    pg: &'a mut PgSession<C>,
    run: Run,
    /// The backfill run this slice works for (progress goes to that run only).
    run_id: String,
    /// This slice's hold on the bulk lock.
    owner: String,
}

/// What a slice lists next.
enum Step {
    /// A bookings listing page with this filter.
    Bookings(ListQuery),
    /// A page of the account's messages (the backfill's second phase).
    Messages,
}

/// What one stored page brought.
struct Page {
    bookings: i64,
    written: i64,
    next_page: bool,
}

impl<R: RedisExec, H: HttpGet, C: SqlConnect> Slice<'_, R, H, C> {
    fn client(&mut self) -> Client<'_, R, H> {
        Client::new(self.client, self.keys, &mut *self.redis, &mut *self.http)
    }

    fn fields(&mut self) -> Result<BTreeMap<String, String>, StoreError> {
        read_hash(self.redis, &self.run.key(self.keys))
    }

    /// Record progress. A backfill's goes only to the run this slice started for: one
    /// cancelled (or cancelled and started again) meanwhile gets nothing from it.
    fn set(&mut self, pairs: &[(&str, String)]) -> Result<(), StoreError> {
        if self.run == Run::Backfill {
            let run_id = [self.run_id.as_str()];
            return set_if(self.redis, self.keys, "runId", &run_id, pairs).map(drop);
        }
        let mut args = vec![self.run.key(self.keys).into()];
        for (field, value) in pairs {
            args.push((*field).into());
            args.push(value.as_str().into());
        }
        self.redis.execute("HSET", &args).map(drop)
    }

    fn pages(mut self) -> Result<SliceOutcome, StoreError> {
        const STOP: SliceOutcome = SliceOutcome::Worked { more: false };
        for _ in 0..self.bulk.pages_per_slice.max(1) {
            // The run's hash, read once per page: every decision below works on it.
            let mut fields = self.fields()?;
            if self.run == Run::Backfill && !self.still_ours(&fields)? {
                return Ok(STOP);
            }
            if !self.renew_lock()? {
                return Ok(STOP);
            }
            if let Some(until) = self.client().credits_wait_until() {
                self.wait_for_credits(until)?;
                return Ok(STOP);
            }
            if self.run == Run::Backfill {
                let waiting = [BackfillState::WaitingForCredits];
                move_state(self.redis, self.keys, &waiting, BackfillState::Running)?;
            }
            let page = int(&fields, "page").unwrap_or(1).max(1) as u32;
            let step = self.next_step(&mut fields)?;
            let result = match &step {
                Step::Messages => self.messages_page(page),
                Step::Bookings(query) => self.page(query, page),
            };
            let more = match (result, &step) {
                (Ok(stored), Step::Messages) => self.advance_messages(page, &stored, &fields)?,
                (Ok(stored), Step::Bookings(_)) => self.advance(page, &stored, &fields)?,
                (Err(failure), _) => {
                    self.failed(&failure, &fields)?;
                    false
                }
            };
            if !more {
                return Ok(STOP);
            }
        }
        Ok(SliceOutcome::Worked { more: true })
    }

    /// The backfill is still live and still the run this slice started for (an operator
    /// may have paused to a stop, cancelled, or cancelled and started again meanwhile).
    fn still_ours(&self, fields: &BTreeMap<String, String>) -> Result<bool, StoreError> {
        let live = match fields.get("state") {
            Some(state) => state.parse::<BackfillState>()?.is_active(),
            None => false, // cancelled meanwhile
        };
        Ok(live && fields.get("runId") == Some(&self.run_id))
    }

    /// Keep the bulk lock for one more page; false when this slice lost it.
    fn renew_lock(&mut self) -> Result<bool, StoreError> {
        let renewed = scripts::RENEW_LOCK.run(
            self.redis,
            &[self.keys.bulk_lock()],
            vec![self.owner.as_str().into(), self.bulk.lock_ms.into()],
        )?;
        Ok(renewed.first().and_then(|v| v.as_i64()) == Some(1))
    }

    /// What the run lists next: a bookings page (by arrival for the backfill, by
    /// modification for the reconciliation, which starts its run here) or, in the
    /// backfill's second phase, a messages page.
    fn next_step(&mut self, fields: &mut BTreeMap<String, String>) -> Result<Step, StoreError> {
        match self.run {
            Run::Backfill if fields.get("phase").map(String::as_str) == Some(MESSAGES_PHASE) => {
                Ok(Step::Messages)
            }
            Run::Backfill => {
                let date = |name| text(fields, name).and_then(|d| d.parse::<NaiveDate>().ok());
                Ok(Step::Bookings(ListQuery {
                    arrival_from: date("arrivalFrom"),
                    arrival_to: date("arrivalTo"),
                    ..ListQuery::default()
                }))
            }
            Run::Reconcile => {
                let from = self.reconcile_from(fields)?;
                Ok(Step::Bookings(ListQuery {
                    modified_from: DateTime::<Utc>::from_timestamp_millis(from),
                    ..ListQuery::default()
                }))
            }
        }
    }

    /// Fetch one listing page with its bookings' messages, map it and store it.
    fn page(&mut self, query: &ListQuery, page: u32) -> Result<Page, ApiFailure> {
        let url = self.client.api.booking_list(query, page);
        let listed_at = Queue::with_keys(&mut *self.redis, self.keys.clone())
            .redis_time()
            .map_err(|e| ApiFailure::Transient(format!("redis: {e}")))?;
        let envelope = self.client().get_page(Endpoint::Bookings, &url)?;
        // A backfill lists messages in a phase of their own (see `messages`): rows keep
        // what they have until then, new ones start empty.
        let messages = match self.run {
            Run::Backfill => None,
            Run::Reconcile => self.messages_of(&envelope.data),
        };
        let names = property_names(&mut self.client());
        let rows = rows(&envelope.data, messages.as_deref(), &names);
        let report = self
            .pg
            .store(&rows, &[])
            .map_err(|e| ApiFailure::Transient(format!("postgres: {e}")))?;
        // A row Postgres refused is not stored: its job stays, to fail with the reason.
        let stored: Vec<BookingId> = rows
            .iter()
            .map(|r| r.booking_id.clone())
            .filter(|id| report.rejection(id).is_none())
            .collect();
        end_redundant_jobs(self.redis, self.keys, &stored, listed_at);
        Ok(Page {
            bookings: envelope.data.len() as i64,
            written: report.written.len() as i64,
            next_page: envelope.next_page,
        })
    }

    /// The messages of a page's bookings (one batched call), `None` when that call failed.
    fn messages_of(&mut self, bookings: &[serde_json::Value]) -> Option<Vec<serde_json::Value>> {
        let ids: Vec<BookingId> = bookings
            .iter()
            .filter_map(|b| booking_id_of(b).ok())
            .collect();
        if ids.is_empty() {
            return Some(Vec::new());
        }
        let api = self.client.api.clone();
        self.client()
            .get_all(Endpoint::Messages, |p| api.messages(&ids, p))
            .ok()
    }

    /// Record a stored page and move on; false when the run is finished.
    fn advance(
        &mut self,
        page: u32,
        stored: &Page,
        fields: &BTreeMap<String, String>,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        match self.run {
            Run::Backfill => {
                let add = |name: &str, by: i64| (int(fields, name).unwrap_or(0) + by).to_string();
                let mut pairs = vec![
                    ("page", (page + 1).to_string()),
                    ("pagesDone", add("pagesDone", 1)),
                    ("bookingsDone", add("bookingsDone", stored.bookings)),
                    ("rowsWritten", add("rowsWritten", stored.written)),
                    ("errors", "0".into()),
                    ("updatedAt", now.to_string()),
                ];
                if !stored.next_page {
                    // Every bookings page is stored: now the messages, from their page 1.
                    pairs[0] = ("page", "1".into());
                    pairs.push(("phase", MESSAGES_PHASE.into()));
                }
                self.set(&pairs)?;
                return Ok(true);
            }
            Run::Reconcile => {
                let bookings = int(fields, "bookings").unwrap_or(0) + stored.bookings;
                self.set(&[
                    ("page", (page + 1).to_string()),
                    ("bookings", bookings.to_string()),
                    ("lastError", String::new()),
                ])?;
                if !stored.next_page {
                    self.finish_reconcile(fields, bookings, now)?;
                }
            }
        }
        Ok(stored.next_page)
    }
}
