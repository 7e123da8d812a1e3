//! Sync Masivo: reconciliation (bookings modified since a cursor) and backfill (all history), run by workers in bounded slices.
//!
//! Webhooks do not cover every change (payments, invoice lines, contact details edited by
//! staff) nor a webhook lost while we were down, so a periodic reconciliation lists the
//! bookings Beds24 reports modified since a cursor and writes them straight from the
//! listing pages. The backfill lists all history once, by arrival date. Both keep their
//! state in Redis (one hash each), run a few pages per worker invocation under one lock,
//! after the queue's webhook jobs, and store every page before moving past it.

mod config;
mod control;
mod redundant;
mod rows;
mod schedule;
mod slice;
mod state;

pub use config::{BulkConfig, SliceOutcome};
pub use control::{
    backfill_progress, cancel_backfill, pause_backfill, reconcile_status, request_reconcile,
    resume_backfill, start_backfill, BackfillRange, BulkError,
};
pub use slice::run_slice;
pub use state::{BackfillProgress, BackfillState, ReconcileStatus};
