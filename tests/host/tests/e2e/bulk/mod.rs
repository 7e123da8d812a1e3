//! Sync Masivo end to end: the admin routes and readings the bulk tests share.
//!
//! `runs`: a reconciliation brings changes no webhook announced, a backfill imports every
//! listing page once and waits out a spent credit budget by itself. `interruptions`: a
//! backfill survives a worker kill and a Redis restart, and obeys pause, resume and cancel.

mod interruptions;
mod runs;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mock_beds24::Endpoint;
use serde_json::{json, Value};

use crate::harness::{wait_for, AppConfig};
use crate::{keys, Env};

/// Everything from the first arrival date Beds24 can list.
const ALL_HISTORY: &str = r#"{"arrivalFrom":"2000-01-01"}"#;

impl Env {
    /// After an app restart: wait until the new worker listens (see `settle_subscriptions`).
    fn wait_worker(&self) {
        crate::settle_subscriptions(&self.redis);
    }

    /// 60 generated bookings in pages of 10, each call 300 ms: start the backfill and
    /// return (bookings, pages) once two pages are stored and a third is being listed.
    fn backfill_until_a_page_is_in_flight(&self) -> (u64, i64) {
        let n = 60;
        self.mock.seed_generated(n);
        self.mock.set_page_size(10);
        self.mock.set_latency(Duration::from_millis(300));
        self.start_backfill();
        self.wait_pages(2, Duration::from_secs(20));
        wait_for("a listing call in flight", Duration::from_secs(20), || {
            self.mock
                .call_log()
                .iter()
                .any(|c| c.endpoint == Endpoint::Bookings && c.status.is_none())
                .then_some(())
        });
        (n, 6)
    }

    /// Wait until no worker holds the bulk lock: the slice in progress has ended.
    fn wait_slice_over(&self) {
        wait_for("the slice to end", Duration::from_secs(20), || {
            let held: bool = redis::cmd("EXISTS")
                .arg(keys().bulk_lock())
                .query(&mut self.redis())
                .unwrap();
            (!held).then_some(())
        });
    }

    /// The backfill's progress, as the admin API answers it.
    fn backfill(&self) -> Value {
        let (status, body) = self.admin_get("/api/admin/backfill");
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Start a backfill of all history; it answers 202 with its progress.
    fn start_backfill(&self) -> Value {
        let (status, body) = self.admin_post_json("/api/admin/backfill", ALL_HISTORY);
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["state"], json!("running"), "{body}");
        body
    }

    /// Wait until the backfill's progress passes `check`, failing at once if it failed;
    /// on a timeout the panic shows the last progress and the app's log.
    fn wait_progress(
        &self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = Instant::now();
        loop {
            let progress = self.backfill();
            if check(&progress) {
                return progress;
            }
            assert!(
                progress["state"] != json!("failed"),
                "the backfill failed: {progress}\n{}",
                self.app.log_text()
            );
            assert!(
                start.elapsed() < timeout,
                "timed out after {timeout:?} waiting for {what}: {progress}\n{}",
                self.app.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until the backfill is `state`.
    fn wait_backfill(&self, state: &str, timeout: Duration) -> Value {
        self.wait_progress(&format!("backfill {state}"), timeout, |p| {
            p["state"] == json!(state)
        })
    }

    /// Wait until the backfill has stored `pages` pages.
    fn wait_pages(&self, pages: i64, timeout: Duration) -> Value {
        self.wait_progress(&format!("{pages} pages"), timeout, |p| {
            int(p, "pagesDone") >= pages
        })
    }

    /// The backfill's Redis hash, read straight from Redis (while no app runs).
    fn backfill_hash(&self) -> BTreeMap<String, String> {
        redis::cmd("HGETALL")
            .arg(keys().backfill())
            .query(&mut self.redis())
            .unwrap()
    }

    /// Every stored `bookingId` with how many rows it has, ascending by id.
    fn rows_per_booking(&self) -> BTreeMap<u64, i64> {
        self.db
            .client()
            .query(
                "SELECT \"bookingId\", count(*) FROM \"Booking\" GROUP BY \"bookingId\"",
                &[],
            )
            .unwrap()
            .iter()
            .map(|row| {
                let id: String = row.get(0);
                (id.parse().expect("a numeric booking id"), row.get(1))
            })
            .collect()
    }

    /// Every booking of the mock stored exactly once, and nothing else.
    fn assert_every_booking_once(&self) {
        let rows = self.rows_per_booking();
        let expected: BTreeMap<u64, i64> = self
            .mock
            .booking_ids()
            .into_iter()
            .map(|id| (id, 1))
            .collect();
        assert_eq!(rows.len(), expected.len(), "rows per booking: {rows:?}");
        assert_eq!(rows, expected);
    }
}

fn int(progress: &Value, field: &str) -> i64 {
    progress[field]
        .as_i64()
        .unwrap_or_else(|| panic!("{field} is not a number: {progress}"))
}

/// Listing calls the backfill made: none of them names a booking (no per-booking fetch).
fn listing_calls(env: &Env) -> usize {
    let requested = env.mock.requested_ids(Endpoint::Bookings);
    assert!(
        requested.iter().all(Vec::is_empty),
        "a backfill lists pages, it does not fetch bookings by id: {requested:?}"
    );
    requested.len()
}
