//! Glue between the Spin SDK and the core crate, shared by the three components.

pub mod body;
pub mod config;
pub mod job_records;
pub mod pg;
pub mod redis;
pub mod respond;
pub mod schema;
pub mod send;

use beds24_sync_core::logging::{self, Level};
use serde_json::Value;

/// Milliseconds since the Unix epoch, the queue's clock.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Write one structured log line (stdout for info, stderr otherwise). Callers pass
/// only ids, actions and operational facts: never guest data.
pub fn log(level: Level, msg: &str, fields: &[(&str, Value)]) {
    let line = logging::line(level, msg, chrono::Utc::now(), fields);
    match level {
        Level::Info => println!("{line}"),
        _ => eprintln!("{line}"),
    }
}
