//! Queue statistics as read from Redis: counts by state plus never-trimmed counters.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Counter;
use crate::store::RedisValue;

/// Counts by state, the hold, and every counter.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStats {
    /// Jobs due now.
    pub waiting: i64,
    /// Jobs claimed by a worker.
    pub active: i64,
    /// Jobs due later (retries, delays).
    pub delayed: i64,
    /// Records in the completed history (bounded).
    pub completed: i64,
    /// Records in the failed history (bounded).
    pub failed: i64,
    /// Dead jobs.
    pub dead: i64,
    /// An operator paused claiming.
    pub paused: bool,
    /// Age in ms of the job that has waited longest (0 when none waits).
    pub oldest_waiting_ms: i64,
    /// Why claims are held (Beds24 account unusable, credit window spent), while they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<Held>,
    /// Counters since the queue was created (`received:<ACTION>`, `processed`, `failed`, …).
    pub totals: BTreeMap<String, i64>,
}

/// A hold on claims: why, and for how much longer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Held {
    /// Why claims are held.
    pub reason: String,
    /// For how much longer (ms).
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

    /// A counter's value (0 when never counted).
    pub fn total(&self, counter: Counter) -> i64 {
        self.totals
            .get(counter.field().as_ref())
            .copied()
            .unwrap_or(0)
    }
}
