//! The reconciliation's side of a slice: where a run starts listing, and what finishing one moves.

use std::collections::BTreeMap;

use serde_json::json;

use super::Slice;
use crate::beds24::HttpGet;
use crate::bulk::schedule::schedule_reconcile;
use crate::bulk::state::int;
use crate::logging::{emit, now_ms, Level};
use crate::store::{RedisExec, StoreError};
use crate::worker::SqlConnect;

impl<R: RedisExec, H: HttpGet, C: SqlConnect> Slice<'_, R, H, C> {
    /// The time the run lists modifications from: the run in progress keeps its own; a
    /// new run starts at the cursor (or the look-back on the very first run) and is
    /// recorded, in Redis and in `fields`, so a slice that stops half way resumes it.
    pub(super) fn reconcile_from(
        &mut self,
        fields: &mut BTreeMap<String, String>,
    ) -> Result<i64, StoreError> {
        if let Some(from) = int(fields, "runFrom") {
            return Ok(from);
        }
        let now = now_ms();
        let from = int(fields, "cursor").unwrap_or(now - self.bulk.look_back_ms);
        let start = [
            ("runFrom", from.to_string()),
            ("runStartedAt", now.to_string()),
            ("page", "1".to_owned()),
            ("bookings", "0".to_owned()),
        ];
        self.set(&start)?;
        fields.extend(start.map(|(k, v)| (k.to_owned(), v)));
        Ok(from)
    }

    /// A finished run moves the cursor to its own start, less the overlap: whatever
    /// changed while it listed is listed again by the next run.
    pub(super) fn finish_reconcile(
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
}
