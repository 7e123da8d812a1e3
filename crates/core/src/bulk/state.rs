//! What a backfill and a reconciliation look like from outside: states and progress, read from their Redis hashes.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::Serialize;

use crate::store::{RedisExec, StoreError};

/// Where the backfill is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackfillState {
    /// Never started, or cancelled.
    Idle,
    /// Importing: workers take a few pages per invocation.
    Running,
    /// Stopped by an operator; resumes where it stopped.
    Paused,
    /// The credit window is spent: continues by itself when it resets.
    WaitingForCredits,
    /// Every page was stored.
    Done,
    /// Beds24 or Postgres failed too many times in a row; resume to try again.
    Failed,
}

impl BackfillState {
    /// Every state (metrics label each one).
    pub const ALL: [BackfillState; 6] = [
        BackfillState::Idle,
        BackfillState::Running,
        BackfillState::Paused,
        BackfillState::WaitingForCredits,
        BackfillState::Done,
        BackfillState::Failed,
    ];

    /// The text kept in Redis and shown by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            BackfillState::Idle => "idle",
            BackfillState::Running => "running",
            BackfillState::Paused => "paused",
            BackfillState::WaitingForCredits => "waiting-for-credits",
            BackfillState::Done => "done",
            BackfillState::Failed => "failed",
        }
    }

    /// A worker has work to do in this state.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            BackfillState::Running | BackfillState::WaitingForCredits
        )
    }
}

impl FromStr for BackfillState {
    type Err = StoreError;
    fn from_str(text: &str) -> Result<Self, StoreError> {
        BackfillState::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| StoreError::Reply(format!("unknown backfill state {text:?}")))
    }
}

/// The backfill's progress, as `GET /api/admin/backfill` answers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackfillProgress {
    /// Where it is.
    pub state: BackfillState,
    /// First arrival date imported (`YYYY-MM-DD`).
    pub arrival_from: Option<String>,
    /// Last arrival date imported, when the range is bounded.
    pub arrival_to: Option<String>,
    /// `bookings` while bookings pages are imported, then `messages` while the account's
    /// messages are listed and merged into the rows.
    pub phase: Option<String>,
    /// Bookings pages stored.
    pub pages_done: i64,
    /// Messages pages merged.
    pub message_pages_done: i64,
    /// Bookings read from those pages.
    pub bookings_done: i64,
    /// Rows written (new or newer than the stored row).
    pub rows_written: i64,
    /// Bookings in the range, when Beds24 said (it usually does not).
    pub total: Option<i64>,
    /// Beds24 credits spent by the import so far (from `x-request-cost`).
    pub credits_spent: f64,
    /// When it started (ms since the epoch).
    pub started_at: Option<i64>,
    /// When it last changed (ms since the epoch).
    pub updated_at: Option<i64>,
    /// Estimated ms left, when the total is known.
    pub eta_ms: Option<i64>,
    /// Why the last page failed, if it did.
    pub last_error: Option<String>,
}

/// The reconciliation's state, for the admin API and the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileStatus {
    /// Bookings modified since this time (ms) are listed by the next run.
    pub cursor: Option<i64>,
    /// A run is in progress since this time (ms); it resumes at `page`.
    pub running_since: Option<i64>,
    /// The next page of the run in progress.
    pub page: Option<i64>,
    /// When the next run is due (ms).
    pub next_at: Option<i64>,
    /// When the last run finished (ms).
    pub last_run_at: Option<i64>,
    /// Bookings the last run wrote or confirmed.
    pub last_bookings: Option<i64>,
    /// Why the last page failed, if it did.
    pub last_error: Option<String>,
}

/// A hash's fields.
pub(super) fn read_hash(
    redis: &mut impl RedisExec,
    key: &str,
) -> Result<BTreeMap<String, String>, StoreError> {
    let reply = redis.execute("HGETALL", &[key.into()])?;
    Ok(reply
        .chunks(2)
        .filter_map(|pair| Some((pair.first()?.as_text()?, pair.get(1)?.as_text()?)))
        .collect())
}

pub(super) fn int(fields: &BTreeMap<String, String>, name: &str) -> Option<i64> {
    fields
        .get(name)
        .and_then(|v| v.parse::<f64>().ok())
        .map(|f| f as i64)
}

pub(super) fn float(fields: &BTreeMap<String, String>, name: &str) -> Option<f64> {
    fields.get(name).and_then(|v| v.parse().ok())
}

pub(super) fn text(fields: &BTreeMap<String, String>, name: &str) -> Option<String> {
    fields.get(name).filter(|v| !v.is_empty()).cloned()
}

impl BackfillProgress {
    /// Read from the backfill hash; `credits_spent_now` is the account's running total.
    pub(super) fn from_fields(
        fields: &BTreeMap<String, String>,
        credits_spent_now: f64,
        now_ms: i64,
    ) -> Result<Self, StoreError> {
        let state = match fields.get("state") {
            Some(s) => s.parse()?,
            None => BackfillState::Idle,
        };
        let bookings_done = int(fields, "bookingsDone").unwrap_or(0);
        let total = int(fields, "total");
        let started_at = int(fields, "startedAt");
        let eta_ms = match (total, started_at, state) {
            (Some(total), Some(started), BackfillState::Running) if bookings_done > 0 => {
                let per_booking = (now_ms - started) as f64 / bookings_done as f64;
                Some(((total - bookings_done).max(0) as f64 * per_booking) as i64)
            }
            _ => None,
        };
        let spent_at_start = float(fields, "creditsAtStart").unwrap_or(credits_spent_now);
        let credits_spent = match state {
            BackfillState::Running | BackfillState::WaitingForCredits | BackfillState::Paused => {
                (credits_spent_now - spent_at_start).max(0.0)
            }
            _ => float(fields, "creditsSpent").unwrap_or(0.0),
        };
        Ok(BackfillProgress {
            state,
            arrival_from: text(fields, "arrivalFrom"),
            arrival_to: text(fields, "arrivalTo"),
            phase: text(fields, "phase"),
            pages_done: int(fields, "pagesDone").unwrap_or(0),
            message_pages_done: int(fields, "messagePagesDone").unwrap_or(0),
            bookings_done,
            rows_written: int(fields, "rowsWritten").unwrap_or(0),
            total,
            credits_spent,
            started_at,
            updated_at: int(fields, "updatedAt"),
            eta_ms,
            last_error: text(fields, "lastError"),
        })
    }
}

impl ReconcileStatus {
    pub(super) fn from_fields(fields: &BTreeMap<String, String>) -> Self {
        ReconcileStatus {
            cursor: int(fields, "cursor"),
            running_since: int(fields, "runStartedAt"),
            page: int(fields, "page"),
            next_at: int(fields, "nextAt"),
            last_run_at: int(fields, "lastRunAt"),
            last_bookings: int(fields, "lastBookings"),
            last_error: text(fields, "lastError"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_progress_reads_its_hash() {
        for s in [
            "idle",
            "running",
            "paused",
            "waiting-for-credits",
            "done",
            "failed",
        ] {
            assert_eq!(s.parse::<BackfillState>().unwrap().as_str(), s);
        }
        let fields: BTreeMap<String, String> = [
            ("state", "running"),
            ("bookingsDone", "250"),
            ("total", "1000"),
            ("startedAt", "0"),
            ("creditsAtStart", "10"),
            ("pagesDone", "3"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let progress = BackfillProgress::from_fields(&fields, 25.5, 1_000).unwrap();
        assert_eq!(progress.eta_ms, Some(3_000));
        assert_eq!(progress.credits_spent, 15.5);
        assert_eq!(progress.pages_done, 3);
        let empty = BackfillProgress::from_fields(&BTreeMap::new(), 0.0, 0).unwrap();
        assert_eq!(empty.state, BackfillState::Idle);
    }
}
