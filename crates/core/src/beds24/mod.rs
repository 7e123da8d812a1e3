//! Beds24 API v2: request URLs, response envelopes, error classes and the credit budget.

pub mod credits;
pub mod response;
pub mod scopes;
pub mod urls;

pub use credits::{Credits, CreditsBudget};
pub use response::{classify, ApiFailure, Envelope};
