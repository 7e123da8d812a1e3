//! Structured JSON log lines. Only ids, actions and operational facts go in: never guest data.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

/// How much a line matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Normal operation.
    Info,
    /// Something failed and will be retried, or was skipped.
    Warn,
    /// Something failed that needs attention.
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Build one log line: `{"level","msg","timestamp",...fields}`.
/// Fields are typed by the caller; nothing here reads a payload, so guest
/// data cannot leak by accident.
pub fn line(level: Level, msg: &str, now: DateTime<Utc>, fields: &[(&str, Value)]) -> String {
    let mut object = Map::new();
    object.insert("level".into(), level.as_str().into());
    object.insert("msg".into(), msg.into());
    for (key, value) in fields {
        object.insert((*key).into(), value.clone());
    }
    object.insert("timestamp".into(), rfc3339(now).into());
    Value::Object(object).to_string()
}

/// Write one log line: stdout for info, stderr otherwise (Spin keeps both per
/// component). Callers pass only ids, actions and operational facts: never guest data.
pub fn emit(level: Level, msg: &str, fields: &[(&str, Value)]) {
    let line = line(level, msg, Utc::now(), fields);
    match level {
        Level::Info => println!("{line}"),
        _ => eprintln!("{line}"),
    }
}

/// Milliseconds since the Unix epoch by this process's clock (durations, logs; queue
/// times come from Redis, see `queue::Clock`).
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// RFC 3339 UTC with milliseconds, as the seed's responses show.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_the_seed_shape() {
        let at = "2025-08-15T14:38:32.654Z".parse().unwrap();
        let text = line(
            Level::Info,
            "Beds24 webhook received",
            at,
            &[("bookingId", json!("12345")), ("action", json!("MODIFY"))],
        );
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            parsed,
            json!({"level":"info","msg":"Beds24 webhook received","bookingId":"12345","action":"MODIFY","timestamp":"2025-08-15T14:38:32.654Z"})
        );
    }
}
