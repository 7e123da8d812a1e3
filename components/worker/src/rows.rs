//! Where rows come from and go: the invocation's Postgres session, and rows built from stored webhooks.

use std::collections::HashMap;

use beds24_spin_glue::{pg::SpinPg, redis::SpinRedis, schema};
use beds24_sync_core::db;
use beds24_sync_core::job::JobRecord;
use beds24_sync_core::mapping::{map_booking, BookingRow, MappingContext, SyncState};
use beds24_sync_core::queue::ClaimedJob;
use beds24_sync_core::store::StoreError;
use spin_sdk::key_value::Store;

/// One Postgres session for all the batches of an invocation, opened on first use
/// (Spin opens a new session on every `open`; a burst of batches should not pay for
/// one each) and dropped after any error so the next batch starts on a fresh one.
pub struct PgSession {
    url: String,
    connection: Option<SpinPg>,
}

impl PgSession {
    pub fn new(url: &str) -> Self {
        PgSession {
            url: url.to_owned(),
            connection: None,
        }
    }

    /// Upsert `rows` (only where newer than the stored row) and mark `missing`
    /// bookings; returns the ids of the rows written.
    pub fn store(
        &mut self,
        redis: &mut SpinRedis,
        rows: &[BookingRow],
        missing: &[String],
    ) -> Result<Vec<String>, StoreError> {
        if rows.is_empty() && missing.is_empty() {
            return Ok(Vec::new());
        }
        // A reused session may have died since the last batch (Postgres restarted):
        // one more go on a fresh session then, so that costs no job a try.
        let reused = self.connection.is_some();
        let mut result = self.write(redis, rows, missing);
        if result.is_err() && reused {
            result = self.write(redis, rows, missing);
        }
        result
    }

    /// One attempt; the session is dropped after any error.
    fn write(
        &mut self,
        redis: &mut SpinRedis,
        rows: &[BookingRow],
        missing: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let result = self.connection(redis).and_then(|pg| {
            let written = db::upsert_rows(pg, rows)?;
            db::mark_missing(pg, missing)?;
            Ok(written)
        });
        if result.is_err() {
            self.connection = None;
        }
        result
    }

    fn connection(&mut self, redis: &mut SpinRedis) -> Result<&mut SpinPg, StoreError> {
        if self.connection.is_none() {
            let mut pg = SpinPg::open(&self.url)?;
            schema::ensure(redis, &mut pg)?;
            self.connection = Some(pg);
        }
        Ok(self.connection.as_mut().expect("opened above"))
    }
}

/// Rows from the webhook bodies stored with the jobs, for when Beds24 cannot be
/// asked. Property names are not in webhooks: the upsert keeps the stored one.
pub fn webhook_rows(jobs: &[ClaimedJob]) -> Vec<BookingRow> {
    let Ok(store) = Store::open_default() else {
        return Vec::new();
    };
    let names = HashMap::new();
    jobs.iter()
        .filter_map(|job| {
            let bytes = store.get(&JobRecord::kv_key(&job.booking_id)).ok()??;
            let record: JobRecord = serde_json::from_slice(&bytes).ok()?;
            let (booking, messages) = record.webhook_snapshot()?;
            let ctx = MappingContext {
                property_names: &names,
                messages,
                now: chrono::Utc::now(),
                state: SyncState::FromWebhook,
            };
            map_booking(&booking, ctx).ok().map(|(row, _)| row)
        })
        .collect()
}
