//! The batched upsert that survives a row Postgres refuses: bisect, write the rest, report the culprit.

use crate::mapping::BookingRow;
use crate::store::{SqlExec, StoreError};
use crate::BookingId;

use super::upsert_rows;

/// What one isolating upsert did. Stale rows (older than the stored one) are in
/// neither list: nothing was wrong with them, there was just nothing to write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpsertReport {
    /// Rows written (new, or newer than the stored row).
    pub written: Vec<BookingId>,
    /// Rows Postgres refused, each with a reason safe to log (SQLSTATE and names only).
    pub rejected: Vec<(BookingId, String)>,
}

impl UpsertReport {
    /// Why the row of `id` was refused, if it was.
    pub fn rejection(&self, id: &BookingId) -> Option<&str> {
        self.rejected
            .iter()
            .find(|(rejected, _)| rejected == id)
            .map(|(_, reason)| reason.as_str())
    }
}

/// Upsert `rows` in one statement; if Postgres refuses the data (SQLSTATE class 22
/// or 23), halve the batch and try each half, down to the rows it refuses alone,
/// so one bad booking costs about 2·log₂ n statements and the others are written.
/// Any other failure (connection, protocol, schema) fails the whole call: the same
/// batch may well succeed when retried.
pub fn upsert_isolating(
    db: &mut impl SqlExec,
    rows: &[BookingRow],
) -> Result<UpsertReport, StoreError> {
    let mut report = UpsertReport::default();
    isolate(db, rows, &mut report)?;
    Ok(report)
}

fn isolate(
    db: &mut impl SqlExec,
    rows: &[BookingRow],
    report: &mut UpsertReport,
) -> Result<(), StoreError> {
    match upsert_rows(db, rows) {
        Ok(written) => {
            report.written.extend(written);
            Ok(())
        }
        Err(e) if e.is_data_error() && rows.len() > 1 => {
            let (left, right) = rows.split_at(rows.len() / 2);
            isolate(db, left, report)?;
            isolate(db, right, report)
        }
        Err(e) if e.is_data_error() => {
            if let Some(row) = rows.first() {
                report
                    .rejected
                    .push((row.booking_id.clone(), e.to_string()));
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}
