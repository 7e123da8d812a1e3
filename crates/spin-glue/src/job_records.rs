//! The webhook bodies stored with jobs (key-value store): deleting them when their jobs end.

use beds24_sync_core::job::JobRecord;
use beds24_sync_core::BookingId;
use spin_sdk::key_value::Store;

/// Delete the job records of these bookings. A record lives as long as its job: left
/// behind, Redis would keep every booking's last webhook (guest data) forever. Tries
/// every one; the error says how many could not be deleted.
pub fn forget<'a>(ids: impl IntoIterator<Item = &'a BookingId>) -> Result<(), String> {
    let mut ids = ids.into_iter().peekable();
    if ids.peek().is_none() {
        return Ok(());
    }
    let store = Store::open_default().map_err(|e| format!("key-value store: {e}"))?;
    let mut failed = 0;
    let mut last_error = String::new();
    for id in ids {
        if let Err(e) = store.delete(&JobRecord::kv_key(id)) {
            failed += 1;
            last_error = e.to_string();
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(format!("{n} job record(s) not deleted: {last_error}")),
    }
}
