//! Where rows go: one Postgres session per worker invocation, opened on first use.

use crate::db::{self, UpsertReport};
use crate::mapping::BookingRow;
use crate::store::{SqlExec, StoreError};
use crate::BookingId;

/// Opens Postgres sessions (Spin's outbound Postgres, or a native client in tests).
pub trait SqlConnect {
    /// The session type.
    type Conn: SqlExec;
    /// Open a new session.
    fn connect(&mut self) -> Result<Self::Conn, StoreError>;
}

impl<F, C> SqlConnect for F
where
    F: FnMut() -> Result<C, StoreError>,
    C: SqlExec,
{
    type Conn = C;
    fn connect(&mut self) -> Result<C, StoreError> {
        self()
    }
}

/// One Postgres session for all the batches of an invocation, opened on first use
/// (each `open` is a checkout from Spin 4's per-process pool, or a new session on the
/// test host and older Spins: a burst of batches should pay for one, not one each) and
/// dropped after any error so the next batch starts on a fresh one.
/// Each new session first checks the database's schema version (one query), so a
/// new or restored database is migrated before the first row is written to it.
pub struct PgSession<C: SqlConnect> {
    connect: C,
    connection: Option<C::Conn>,
}

impl<C: SqlConnect> PgSession<C> {
    /// A session that opens its connection with `connect` when first needed.
    pub fn new(connect: C) -> Self {
        PgSession {
            connect,
            connection: None,
        }
    }

    /// Upsert `rows` (only where newer than the stored row) and mark `missing`
    /// bookings. Rows Postgres refuses are reported one by one, the others written.
    pub fn store(
        &mut self,
        rows: &[BookingRow],
        missing: &[BookingId],
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

    /// Merge listed messages into their bookings' rows (see `db::merge_messages`).
    pub fn merge_messages(
        &mut self,
        by_booking: &[(BookingId, Vec<serde_json::Value>)],
    ) -> Result<u64, StoreError> {
        let reused = self.connection.is_some();
        let mut result = self.merge_once(by_booking);
        if result.is_err() && reused {
            result = self.merge_once(by_booking);
        }
        result
    }

    fn merge_once(
        &mut self,
        by_booking: &[(BookingId, Vec<serde_json::Value>)],
    ) -> Result<u64, StoreError> {
        let result = self
            .connection()
            .and_then(|pg| db::merge_messages(pg, by_booking));
        if result.is_err() {
            self.connection = None;
        }
        result
    }

    /// One attempt; the session is dropped after any error.
    fn write(
        &mut self,
        rows: &[BookingRow],
        missing: &[BookingId],
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

    fn connection(&mut self) -> Result<&mut C::Conn, StoreError> {
        if self.connection.is_none() {
            let mut pg = self.connect.connect()?;
            db::ensure_schema(&mut pg)?;
            self.connection = Some(pg);
        }
        self.connection
            .as_mut()
            .ok_or_else(|| StoreError::Other("no Postgres session".into()))
    }
}
