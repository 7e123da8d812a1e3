//! Glue between the Spin SDK and the core crate, shared by the components.
#![deny(missing_docs)]

pub mod body;
pub mod config;
pub mod pg;
pub mod redis;
pub mod respond;
pub mod schema;
pub mod send;
pub mod worker;

pub use beds24_sync_core::logging::{emit as log, now_ms};
