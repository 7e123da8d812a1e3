//! Queue statistics as read from Redis: counts by state plus never-trimmed counters.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::store::RedisValue;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStats {
    pub waiting: i64,
    pub active: i64,
    pub delayed: i64,
    pub completed: i64,
    pub failed: i64,
    pub dead: i64,
    pub paused: bool,
    /// Age in ms of the job that has waited longest (0 when none waits).
    pub oldest_waiting_ms: i64,
    /// Why claims are held (Beds24 account unusable, credit window spent), while they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<Held>,
    /// Counters since the queue was created (received:<ACTION>, processed, failed, …).
    pub totals: BTreeMap<String, i64>,
}

/// A hold on claims: why, and for how much longer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Held {
    pub reason: String,
    pub remaining_ms: i64,
}

impl QueueStats {
    pub(super) fn from_reply(reply: &[RedisValue]) -> Self {
        let int = |i: usize| reply.get(i).and_then(RedisValue::as_i64).unwrap_or(0);
        let held = reply
            .get(9)
            .and_then(RedisValue::as_text)
            .filter(|reason| !reason.is_empty())
            .map(|reason| Held {
                reason,
                remaining_ms: int(8).max(0),
            });
        let totals = reply
            .get(10..)
            .unwrap_or_default()
            .chunks(2)
            .filter_map(|pair| Some((pair.first()?.as_text()?, pair.get(1)?.as_i64()?)))
            .collect();
        QueueStats {
            waiting: int(0),
            delayed: int(1),
            active: int(2),
            completed: int(3),
            failed: int(4),
            dead: int(5),
            paused: int(6) == 1,
            oldest_waiting_ms: int(7).max(0),
            held,
            totals,
        }
    }

    pub fn total(&self, name: &str) -> i64 {
        self.totals.get(name).copied().unwrap_or(0)
    }
}
