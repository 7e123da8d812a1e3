//! One bulk slice: under the bulk lock, a few listing pages of the backfill or the reconciliation, each stored before the next.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

mod messages;

use messages::MESSAGES_PHASE;

use super::config::{BulkConfig, SliceOutcome};
use super::control::{credits_spent, move_state, set_if};
use super::redundant::end_redundant_jobs;
use super::rows::rows;
use super::schedule::{due, lock, schedule_reconcile};
use super::state::{int, read_hash, text, BackfillState};
use crate::beds24::fetch::property_names;
use crate::beds24::urls::ListQuery;
use crate::beds24::{ApiFailure, Client, ClientConfig, Endpoint, HttpGet};
use crate::keys::Keys;
use crate::logging::{emit, now_ms, Level};
use crate::mapping::booking_id_of;
use crate::queue::{scripts, Queue};
use crate::store::{RedisExec, StoreError};
use crate::worker::{JobRecords, PgSession, SqlConnect};
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
pub fn run_slice<R: RedisExec, H: HttpGet, C: SqlConnect, J: JobRecords>(
    client: &ClientConfig,
    bulk: &BulkConfig,
    keys: &Keys,
    redis: &mut R,
    http: &mut H,
    pg: &mut PgSession<C>,
    records: &mut J,
) -> Result<SliceOutcome, StoreError> {
    let now = now_ms();
    let Some(run) = due(bulk, keys, redis, now)? else {
        return Ok(SliceOutcome::Idle);
    };
    let Some(owner) = lock(bulk, keys, redis)? else {
        return Ok(SliceOutcome::Idle);
    };
    let run_id = read_hash(redis, &keys.backfill())?
        .get("runId")
        .cloned()
        .unwrap_or_default();
    let outcome = Slice {
        client,
        bulk,
        keys,
        redis: &mut *redis,
        http,
        pg,
        records,
        run,
        run_id,
        owner: owner.clone(),
    }
    .pages();
    scripts::RELEASE_LOCK.run(redis, &[keys.bulk_lock()], vec![owner.into()])?;
    outcome
}

struct Slice<'a, R, H, C: SqlConnect, J> {
    client: &'a ClientConfig,
    bulk: &'a BulkConfig,
    keys: &'a Keys,
    redis: &'a mut R,
    http: &'a mut H,
    pg: &'a mut PgSession<C>,
    /// The webhook's job records, for jobs a page made redundant.
    records: &'a mut J,
    run: Run,
    /// The backfill run this slice works for (progress goes to that run only).
    run_id: String,
    /// This slice's hold on the bulk lock.
    owner: String,
}

/// What one stored page brought.
struct Page {
    bookings: i64,
    written: i64,
    next_page: bool,
}

impl<R: RedisExec, H: HttpGet, C: SqlConnect, J: JobRecords> Slice<'_, R, H, C, J> {
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
        for _ in 0..self.bulk.pages_per_slice.max(1) {
            if self.run == Run::Backfill {
                let fields = self.fields()?;
                let live = match fields.get("state") {
                    Some(state) => state.parse::<BackfillState>()?.is_active(),
                    None => false, // cancelled meanwhile
                };
                if !live || fields.get("runId") != Some(&self.run_id) {
                    return Ok(SliceOutcome::Worked { more: false });
                }
            }
            // A slow slice keeps the lock; one that lost it stops.
            let renewed = scripts::RENEW_LOCK.run(
                self.redis,
                &[self.keys.bulk_lock()],
                vec![self.owner.as_str().into(), self.bulk.lock_ms.into()],
            )?;
            if renewed.first().and_then(|v| v.as_i64()) != Some(1) {
                return Ok(SliceOutcome::Worked { more: false });
            }
            if let Some(until) = self.client().credits_wait_until() {
                self.wait_for_credits(until)?;
                return Ok(SliceOutcome::Worked { more: false });
            }
            if self.run == Run::Backfill {
                let waiting = [BackfillState::WaitingForCredits];
                move_state(self.redis, self.keys, &waiting, BackfillState::Running)?;
            }
            let (query, page) = self.position()?;
            let listing_messages = self.run == Run::Backfill
                && self.fields()?.get("phase").map(String::as_str) == Some(MESSAGES_PHASE);
            let result = if listing_messages {
                self.messages_page(page)
            } else {
                self.page(&query, page)
            };
            match result {
                Ok(stored) => {
                    let more = if listing_messages {
                        self.advance_messages(page, &stored)?
                    } else {
                        self.advance(page, &stored)?
                    };
                    if !more {
                        return Ok(SliceOutcome::Worked { more: false });
                    }
                }
                Err(failure) => {
                    self.failed(&failure)?;
                    return Ok(SliceOutcome::Worked { more: false });
                }
            }
        }
        Ok(SliceOutcome::Worked { more: true })
    }

    /// The listing query and page the run is at; a reconciliation starts its run here.
    fn position(&mut self) -> Result<(ListQuery, u32), StoreError> {
        let fields = self.fields()?;
        let page = int(&fields, "page").unwrap_or(1).max(1) as u32;
        let query = match self.run {
            Run::Backfill => {
                let date = |name| text(&fields, name).and_then(|d| d.parse::<NaiveDate>().ok());
                ListQuery {
                    arrival_from: date("arrivalFrom"),
                    arrival_to: date("arrivalTo"),
                    ..ListQuery::default()
                }
            }
            Run::Reconcile => {
                let from = match int(&fields, "runFrom") {
                    Some(from) => from,
                    None => {
                        let now = now_ms();
                        let from = int(&fields, "cursor").unwrap_or(now - self.bulk.look_back_ms);
                        self.set(&[
                            ("runFrom", from.to_string()),
                            ("runStartedAt", now.to_string()),
                            ("page", "1".into()),
                            ("bookings", "0".into()),
                        ])?;
                        from
                    }
                };
                ListQuery {
                    modified_from: DateTime::<Utc>::from_timestamp_millis(from),
                    ..ListQuery::default()
                }
            }
        };
        Ok((query, page))
    }

    /// Fetch one listing page with its bookings' messages, map it and store it.
    fn page(&mut self, query: &ListQuery, page: u32) -> Result<Page, ApiFailure> {
        let url = self.client.api.booking_list(query, page);
        let listed_at = Queue::with_keys(&mut *self.redis, self.keys.clone())
            .redis_time()
            .map_err(|e| ApiFailure::Transient(format!("redis: {e}")))?;
        let envelope = self.client().get_page(Endpoint::Bookings, &url)?;
        let ids: Vec<BookingId> = envelope
            .data
            .iter()
            .filter_map(|b| booking_id_of(b).ok())
            .collect();
        let api = self.client.api.clone();
        // A backfill lists messages in a phase of their own (see `messages`): rows keep
        // what they have until then, new ones start empty.
        let messages = if self.run == Run::Backfill {
            None
        } else if ids.is_empty() {
            Some(Vec::new())
        } else {
            self.client()
                .get_all(Endpoint::Messages, |p| api.messages(&ids, p))
                .ok()
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
        end_redundant_jobs(self.redis, self.keys, self.records, &stored, listed_at);
        Ok(Page {
            bookings: envelope.data.len() as i64,
            written: report.written.len() as i64,
            next_page: envelope.next_page,
        })
    }

    /// Record a stored page and move on; false when the run is finished.
    fn advance(&mut self, page: u32, stored: &Page) -> Result<bool, StoreError> {
        let fields = self.fields()?;
        let now = now_ms();
        match self.run {
            Run::Backfill => {
                let add = |name: &str, by: i64| (int(&fields, name).unwrap_or(0) + by).to_string();
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
                let bookings = int(&fields, "bookings").unwrap_or(0) + stored.bookings;
                self.set(&[
                    ("page", (page + 1).to_string()),
                    ("bookings", bookings.to_string()),
                    ("lastError", String::new()),
                ])?;
                if !stored.next_page {
                    self.finish_reconcile(&fields, bookings, now)?;
                }
            }
        }
        Ok(stored.next_page)
    }

    /// Credits spent since the run started, as the progress shows them once it is done.
    fn credits_spent_by_run(&mut self, fields: &BTreeMap<String, String>) -> String {
        let spent = credits_spent(self.redis, self.keys)
            - super::state::float(fields, "creditsAtStart").unwrap_or(0.0);
        spent.max(0.0).to_string()
    }

    /// A finished run moves the cursor to its own start, less the overlap: whatever
    /// changed while it listed is listed again by the next run.
    fn finish_reconcile(
        &mut self,
        fields: &BTreeMap<String, String>,
        bookings: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let started = int(fields, "runStartedAt").unwrap_or(now);
        let cursor = started - self.bulk.overlap_ms;
        self.set(&[
            ("cursor", cursor.to_string()),
            ("lastRunAt", now.to_string()),
            ("lastBookings", bookings.to_string()),
        ])?;
        self.redis.execute(
            "HDEL",
            &[
                self.run.key(self.keys).into(),
                "runFrom".into(),
                "runStartedAt".into(),
                "page".into(),
                "bookings".into(),
            ],
        )?;
        schedule_reconcile(self.bulk, self.keys, self.redis, now)?;
        emit(
            Level::Info,
            "reconciliation done",
            &[("bookings", json!(bookings)), ("cursor", json!(cursor))],
        );
        Ok(())
    }

    /// The credit window is spent: hold the queue until it resets (its expiry wakes a
    /// worker, which takes webhook jobs first and then this run again).
    fn wait_for_credits(&mut self, until: i64) -> Result<(), StoreError> {
        if self.run == Run::Backfill {
            let running = [BackfillState::Running];
            move_state(
                self.redis,
                self.keys,
                &running,
                BackfillState::WaitingForCredits,
            )?;
        }
        let wait = (until - now_ms()).max(1_000);
        Queue::with_keys(&mut *self.redis, self.keys.clone())
            .hold("Beds24 credit budget spent", wait)
    }

    /// A page failed: remember why and try again after a pause (the bulk timer's
    /// expiry wakes a worker); a backfill failing five times in a row stops as failed.
    fn failed(&mut self, failure: &ApiFailure) -> Result<(), StoreError> {
        if let ApiFailure::RateLimited(_, after) = failure {
            let until = now_ms() + after.unwrap_or(60) as i64 * 1000;
            return self.wait_for_credits(until);
        }
        let errors = int(&self.fields()?, "errors").unwrap_or(0) + 1;
        self.set(&[
            ("errors", errors.to_string()),
            ("lastError", failure.to_string()),
            ("updatedAt", now_ms().to_string()),
        ])?;
        emit(
            Level::Warn,
            "bulk page failed",
            &[
                ("run", json!(format!("{:?}", self.run))),
                ("error", json!(failure.to_string())),
            ],
        );
        if self.run == Run::Backfill && errors >= MAX_ERRORS {
            let active = [BackfillState::Running];
            move_state(self.redis, self.keys, &active, BackfillState::Failed)?;
            return Ok(());
        }
        let delay = (errors.min(10) * 10_000).max(1_000);
        self.redis
            .execute(
                "SET",
                &[
                    self.keys.bulk_timer().into(),
                    "1".into(),
                    "PX".into(),
                    delay.into(),
                ],
            )
            .map(drop)
    }

    fn log(&self, msg: &str, fields: &BTreeMap<String, String>, last: &Page) {
        emit(
            Level::Info,
            msg,
            &[
                ("pages", json!(int(fields, "pagesDone").unwrap_or(0) + 1)),
                (
                    "bookings",
                    json!(int(fields, "bookingsDone").unwrap_or(0) + last.bookings),
                ),
            ],
        );
    }
}
