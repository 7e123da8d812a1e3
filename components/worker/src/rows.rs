//! Where rows go: the invocation's Postgres session.

use beds24_spin_glue::{pg::SpinPg, schema};
use beds24_sync_core::db::{self, UpsertReport};
use beds24_sync_core::mapping::BookingRow;
use beds24_sync_core::store::StoreError;

/// One Postgres session for all the batches of an invocation, opened on first use
/// (Spin opens a new session on every `open`; a burst of batches should not pay for
/// one each) and dropped after any error so the next batch starts on a fresh one.
/// Each new session first checks the database's schema version (one query), so a
/// new or restored database is migrated before the first row is written to it.
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
    /// bookings. Rows Postgres refuses are reported one by one, the others written.
    pub fn store(
        &mut self,
        rows: &[BookingRow],
        missing: &[String],
    ) -> Result<UpsertReport, StoreError> {
        if rows.is_empty() && missing.is_empty() {
            return Ok(UpsertReport::default());
        }
        // A reused session may have died since the last batch (Postgres restarted):
        // one more go on a fresh session then, so that costs no job a try.
        let reused = self.connection.is_some();
        let mut result = self.write(rows, missing);
        if result.is_err() && reused {
            result = self.write(rows, missing);
        }
        result
    }

    /// One attempt; the session is dropped after any error.
    fn write(
        &mut self,
        rows: &[BookingRow],
        missing: &[String],
    ) -> Result<UpsertReport, StoreError> {
        let result = self.connection().and_then(|pg| {
            let report = db::upsert_isolating(pg, rows)?;
            db::mark_missing(pg, missing)?;
            Ok(report)
        });
        if result.is_err() {
            self.connection = None;
        }
        result
    }

    fn connection(&mut self) -> Result<&mut SpinPg, StoreError> {
        if self.connection.is_none() {
            let mut pg = SpinPg::open(&self.url)?;
            schema::ensure(&mut pg)?;
            self.connection = Some(pg);
        }
        Ok(self.connection.as_mut().expect("opened above"))
    }
}
