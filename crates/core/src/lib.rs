//! beds24-sync core: the whole domain, free of any Spin dependency so it is tested natively.
//!
//! Components are thin shells around this crate: they parse a request, call in here
//! and render the result. Everything that talks to Redis or Postgres goes through the
//! small [`store`] traits so the same code runs on Spin's outbound APIs and, in tests,
//! on native clients against real servers.
#![deny(missing_docs)]

pub mod account;
pub mod action;
pub mod auth;
pub mod beds24;
pub mod booking_id;
pub mod bulk;
pub mod db;
pub mod error_body;
pub mod job;
pub mod keys;
pub mod logging;
pub mod mapping;
pub mod queue;
pub mod store;
pub mod sync;
pub mod webhook;
pub mod worker;

pub use action::Action;
pub use booking_id::BookingId;
