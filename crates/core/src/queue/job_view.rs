//! One job as stored in its hash, read back into types (state, tries, times, last error).

use std::collections::BTreeMap;

use super::JobState;
use crate::store::StoreError;
use crate::Action;

/// A job's stored fields, typed. Times are ms since the epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct JobView {
    /// Where the job is.
    pub state: JobState,
    /// Failed tries so far.
    pub attempts: u32,
    /// Why the booking is synced (the latest webhook's action).
    pub action: Action,
    /// When it is (or was) due.
    pub due_at: Option<i64>,
    /// When the job was created.
    pub enqueued_at: Option<i64>,
    /// Webhooks folded into this job (1 for a job from one webhook).
    pub webhooks: u32,
    /// A webhook came in while the job ran: it runs once more.
    pub rerun: bool,
    /// The latest webhook's version (`v2`, `v1`); `None` for a manual sync.
    pub source: Option<String>,
    /// When the latest webhook arrived (by the webhook's clock).
    pub received_at: Option<i64>,
    /// Size of the latest webhook's body.
    pub body_bytes: Option<i64>,
    /// Why the last try failed.
    pub last_error: Option<String>,
    /// The failure records of its recent tries, oldest first (at most 10).
    pub timeline: Vec<serde_json::Value>,
}

impl JobView {
    /// Read a job hash; `None` for an empty one (no job).
    pub fn from_fields(fields: &BTreeMap<String, String>) -> Result<Option<Self>, StoreError> {
        if fields.is_empty() {
            return Ok(None);
        }
        let number = |name: &str| fields.get(name).and_then(|v| v.parse::<i64>().ok());
        let state = fields
            .get("state")
            .map(String::as_str)
            .unwrap_or_default()
            .parse()
            .map_err(|e: super::UnknownReply| StoreError::Reply(e.to_string()))?;
        Ok(Some(JobView {
            state,
            attempts: number("attempts").unwrap_or(0).max(0) as u32,
            action: fields
                .get("action")
                .and_then(|a| Action::parse(a))
                .unwrap_or(Action::Modify),
            due_at: number("dueAt"),
            enqueued_at: number("enqueuedAt"),
            webhooks: number("webhooks").unwrap_or(0).max(0) as u32,
            rerun: number("rerun") == Some(1),
            source: fields.get("source").cloned(),
            received_at: number("receivedAt"),
            body_bytes: number("bodyBytes"),
            last_error: fields.get("lastError").cloned(),
            timeline: fields
                .get("log")
                .and_then(|log| serde_json::from_str(log).ok())
                .unwrap_or_default(),
        }))
    }
}
