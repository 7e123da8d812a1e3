//! Beds24 API v2: request URLs, response envelopes, error classes, the credit budget and the client.

pub mod client;
pub mod credits;
pub mod endpoint;
pub mod fetch;
pub mod http;
pub mod response;
pub mod scopes;
mod token;
pub mod urls;

pub use client::{Client, ClientConfig, StartedLists};
pub use credits::{Credits, CreditsBudget};
pub use endpoint::Endpoint;
pub use fetch::{fetch_batch, finish_batch, start_batch, BatchData, StartedBatch};
pub use http::{Answer, HttpError, HttpGet, Request};
pub use response::{classify, ApiFailure, Envelope};
