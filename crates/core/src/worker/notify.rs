//! Making sure Redis announces expired keys: retry and lease timers wake workers that way.

use crate::keys::Keys;
use crate::store::{RedisExec, RedisValue};

/// Retry and lease timers wake workers through expiry events: make sure Redis emits
/// them (checked at most once a minute; managed Redis may refuse CONFIG, then the
/// README's settings apply and the tick route covers the gap).
pub fn ensure_expiry_events(redis: &mut impl RedisExec, keys: &Keys) {
    let fresh = redis.execute(
        "SET",
        &[
            keys.notify_checked().into(),
            "1".into(),
            "NX".into(),
            "EX".into(),
            60i64.into(),
        ],
    );
    if !matches!(fresh.as_deref(), Ok([RedisValue::Status(s)]) if s == "OK") {
        return;
    }
    let current = redis
        .execute("CONFIG", &["GET".into(), "notify-keyspace-events".into()])
        .ok()
        .and_then(|r| r.get(1).and_then(RedisValue::as_text))
        .unwrap_or_default();
    if let Some(wanted) = with_expiry_events(&current) {
        let _ = redis.execute(
            "CONFIG",
            &["SET".into(), "notify-keyspace-events".into(), wanted.into()],
        );
    }
}

/// The `notify-keyspace-events` value that adds keyevent (`E`) expiry (`x`) events to
/// `current`, or `None` when it already has them (`A` includes `x`).
fn with_expiry_events(current: &str) -> Option<String> {
    let has_events = current.contains('E');
    let has_expired = current.contains('x') || current.contains('A');
    if has_events && has_expired {
        return None;
    }
    Some(format!(
        "{current}{}{}",
        if has_events { "" } else { "E" },
        if has_expired { "" } else { "x" }
    ))
}

#[cfg(test)]
mod tests {
    use super::with_expiry_events;

    #[test]
    fn adds_only_what_is_missing() {
        assert_eq!(with_expiry_events("").as_deref(), Some("Ex"));
        assert_eq!(with_expiry_events("Kg").as_deref(), Some("KgEx"));
        assert_eq!(with_expiry_events("Ex"), None);
        assert_eq!(with_expiry_events("EA"), None);
        assert_eq!(with_expiry_events("x").as_deref(), Some("xE"));
    }
}
