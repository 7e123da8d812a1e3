//! A realistic mock of the Beds24 API v2 over real loopback HTTP, for end-to-end tests and benchmarks.
//!
//! ```no_run
//! use mock_beds24::{Endpoint, Fault, MockBeds24, Times};
//!
//! let mock = MockBeds24::start().unwrap();
//! mock.booking_from_fixture(1001, |b| b["status"] = "new".into());
//! mock.set_fault(Some(1001), Fault::Status(503), Times::Once);
//! mock.booking_from_fixture("TEST123", |_| {}); // text ids work too
//! // point the client at mock.base_url() with header `token: mock.long_life_token()`
//! assert_eq!(mock.calls(Endpoint::Bookings), 0);
//! ```
//!
//! Served (all `GET`, all but the token endpoint need header `token`):
//! `/v2/bookings`, `/v2/bookings/messages`, `/v2/properties`,
//! `/v2/authentication/token` (header `refreshToken`), `/v2/authentication/details`.
//!
//! Pipeline of every request: log it -> global latency -> token check (401) ->
//! credit check for data endpoints (429 when the budget is spent) -> compute the
//! answer (400 on bad parameters) -> fault rules (delays add up, the most specific
//! terminal fault replaces the answer) -> charge `base + per_result * items` for a
//! successful data answer -> reply with the `x-five-min-limit-*` / `x-request-cost`
//! headers.

mod api;
mod conn;
mod controls;
mod credits;
mod faults;
pub mod fixtures;
mod handle;
mod key;
mod query;
mod server;
mod state;
mod types;

pub use handle::MockBeds24;
pub use key::BookingKey;
pub use types::{CallRecord, CreditsConfig, Endpoint, Fault, FaultTarget, MockConfig, Times};
