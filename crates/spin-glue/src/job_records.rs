//! The webhook bodies stored with jobs (key-value store): deleting them when their jobs end.

use beds24_sync_core::job::JobRecord;
use beds24_sync_core::BookingId;
use spin_sdk::key_value::{Error, Store};

/// Why job records were left in the key-value store.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// The store could not be opened: no record was deleted.
    #[error("key-value store: {0}")]
    Open(Error),
    /// Some deletions failed (the others went through).
    #[error("{count} job record(s) not deleted: {last}")]
    NotDeleted {
        /// How many records are still there.
        count: usize,
        /// The error of the last deletion that failed.
        last: Error,
    },
}

/// Delete the job records of these bookings. A record lives as long as its job: left
/// behind, Redis would keep every booking's last webhook (guest data) forever. Tries
/// every one; the error says how many could not be deleted.
pub fn forget<'a>(ids: impl IntoIterator<Item = &'a BookingId>) -> Result<(), KvError> {
    let mut ids = ids.into_iter().peekable();
    if ids.peek().is_none() {
        return Ok(());
    }
    let store = Store::open_default().map_err(KvError::Open)?;
    let mut count = 0;
    let mut last = None;
    for id in ids {
        if let Err(e) = store.delete(&JobRecord::kv_key(id)) {
            count += 1;
            last = Some(e);
        }
    }
    match last {
        None => Ok(()),
        Some(last) => Err(KvError::NotDeleted { count, last }),
    }
}
