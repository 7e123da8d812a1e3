//! `MockBeds24` test controls: faults, latency, credits and request counters.

use std::time::{Duration, Instant};

use crate::credits::to_milli;
use crate::faults::Target;
use crate::handle::MockBeds24;
use crate::key::BookingKey;
use crate::state::endpoint_index;
use crate::types::{CallRecord, CreditsConfig, Endpoint, Fault, FaultTarget, Times};

impl MockBeds24 {
    // ---- faults ----

    /// Injects `fault` for requests naming booking `Some(id)` (bookings/messages), or
    /// for every data request (`None`). Replaces earlier faults on the same target.
    pub fn set_fault(&self, booking: Option<u64>, fault: Fault, times: Times) {
        let target = booking.map_or(Target::Any, |id| Target::Booking(id.into()));
        self.app.lock().faults.set(target, fault, times);
    }

    /// `set_fault` for a booking named by its id text (`Some("TEST123")`); numeric
    /// text (`Some("7")`) is the same target as `set_fault(Some(7), ..)`.
    pub fn set_fault_text(&self, booking: Option<&str>, fault: Fault, times: Times) {
        let target = booking.map_or(Target::Any, |id| Target::Booking(id.into()));
        self.app.lock().faults.set(target, fault, times);
    }

    /// Injects `fault` on every request to `endpoint` (the only way to break the
    /// token and details endpoints). Replaces earlier faults on that endpoint.
    pub fn set_endpoint_fault(&self, endpoint: Endpoint, fault: Fault, times: Times) {
        self.app
            .lock()
            .faults
            .set(Target::Endpoint(endpoint), fault, times);
    }

    /// Adds a fault rule without replacing others on the same target
    /// (e.g. a `Delay` together with a `Status`).
    pub fn add_fault(&self, target: FaultTarget, fault: Fault, times: Times) {
        self.app.lock().faults.add(target.into(), fault, times);
    }

    /// `add_fault` with a `FaultTarget::Booking` named by its id text (`"TEST123"`).
    pub fn add_fault_text(&self, booking: &str, fault: Fault, times: Times) {
        let target = Target::Booking(booking.into());
        self.app.lock().faults.add(target, fault, times);
    }

    pub fn clear_faults(&self) {
        self.app.lock().faults.clear();
    }

    /// Fault rules not yet used up (sticky ones included).
    pub fn armed_faults(&self) -> usize {
        self.app.lock().faults.armed()
    }

    /// Latency added to every request before it is handled (benchmarks).
    pub fn set_latency(&self, latency: Duration) {
        self.app.lock().latency = latency;
    }

    // ---- credits ----

    /// Replaces the credit settings and refills the budget (new window).
    pub fn set_credits(&self, config: CreditsConfig) {
        self.app.lock().ledger.reconfigure(config);
    }

    pub fn credits_config(&self) -> CreditsConfig {
        self.app.lock().ledger.config().clone()
    }

    /// Refills the budget now, as if the window had elapsed.
    pub fn reset_credits(&self) {
        let mut st = self.app.lock();
        let cfg = st.ledger.config().clone();
        st.ledger.reconfigure(cfg);
    }

    /// Credits left in the current window (never below 0), as the header reports.
    pub fn credits_remaining(&self) -> f64 {
        self.app.lock().ledger.remaining(Instant::now()) as f64 / 1000.0
    }

    /// Credits spent in the current window.
    pub fn credits_spent(&self) -> f64 {
        let mut st = self.app.lock();
        let budget = to_milli(st.ledger.config().budget);
        (budget - st.ledger.remaining(Instant::now())) as f64 / 1000.0
    }

    // ---- counters ----

    /// Requests received by `endpoint` (any outcome: 200, 401, faults, resets).
    pub fn calls(&self, endpoint: Endpoint) -> usize {
        self.app.lock().counts[endpoint_index(endpoint)]
    }

    /// Requests received by all endpoints.
    pub fn total_calls(&self) -> usize {
        self.app.lock().counts.iter().sum()
    }

    /// Per request to `endpoint`, the ids it named as sent (`id` for bookings and
    /// properties, `bookingId` for messages, empty for auth endpoints).
    pub fn requested_ids(&self, endpoint: Endpoint) -> Vec<Vec<String>> {
        self.app
            .lock()
            .calls
            .iter()
            .filter(|c| c.endpoint == endpoint)
            .map(|c| c.ids.clone())
            .collect()
    }

    /// How many requests to `endpoint` named `id` explicitly (`7`, `"TEST123"`);
    /// sent ids are compared by their text form, like the `id` filter does.
    pub fn fetches_of(&self, endpoint: Endpoint, id: impl Into<BookingKey>) -> usize {
        let id = id.into();
        self.app
            .lock()
            .calls
            .iter()
            .filter(|c| {
                c.endpoint == endpoint
                    && c.ids
                        .iter()
                        .any(|s| BookingKey::parse(s).as_ref() == Some(&id))
            })
            .count()
    }

    /// Every request so far, in arrival order.
    pub fn call_log(&self) -> Vec<CallRecord> {
        self.app.lock().calls.clone()
    }

    /// Forgets all recorded requests (faults and credits are untouched).
    pub fn reset_counters(&self) {
        self.app.lock().reset_calls();
    }
}
