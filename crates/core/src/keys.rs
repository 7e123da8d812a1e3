//! Every Redis key beds24-sync uses, derived from one prefix: the only place key names are spelled.
//!
//! All processes of one deployment share the prefix (`b24:` unless configured), so they
//! share one queue; tests give each case its own prefix and never see each other's keys.
//! The Lua scripts derive per-booking keys (`<prefix>job:<id>`, `<prefix>timer:…`,
//! `<prefix>claimseq`) from the prefix they are passed, following [`Keys::job`].

use crate::BookingId;

/// The prefix of a deployment that sets none.
pub const DEFAULT_PREFIX: &str = "b24:";

/// Channel the webhook publishes on to wake a worker (`[[trigger.redis]]` in spin.toml).
/// Not prefixed: the trigger subscribes by name in the manifest.
pub const WAKE_CHANNEL: &str = "beds24-sync";

/// The key names of one deployment (one prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

impl Default for Keys {
    fn default() -> Self {
        Keys::new(DEFAULT_PREFIX)
    }
}

impl Keys {
    /// Keys under `prefix` (conventionally ending in `:`).
    pub fn new(prefix: impl Into<String>) -> Self {
        Keys {
            prefix: prefix.into(),
        }
    }

    /// The prefix itself (scripts derive per-booking keys from it).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Sorted set of waiting and delayed jobs, scored by due time (ms).
    pub fn due(&self) -> String {
        self.key("due")
    }
    /// Sorted set of claimed jobs, scored by lease expiry (ms).
    pub fn active(&self) -> String {
        self.key("active")
    }
    /// Sorted set of dead jobs, scored by the time they died (ms).
    pub fn dead(&self) -> String {
        self.key("dead")
    }
    /// Hash of never-trimmed counters (see [`crate::queue::Counter`]).
    pub fn stats(&self) -> String {
        self.key("stats")
    }
    /// Present while an operator has paused claiming.
    pub fn paused(&self) -> String {
        self.key("paused")
    }
    /// Present while the Beds24 account or its credit window cannot take calls (value:
    /// why); claims stop until it expires, and its expiry event wakes a worker.
    pub fn hold(&self) -> String {
        self.key("hold")
    }
    /// Present while a wake-up is published and not yet answered by a claim.
    pub fn wake_pending(&self) -> String {
        self.key("wake-pending")
    }
    /// List of recent completion records, newest first, bounded.
    pub fn completed_history(&self) -> String {
        self.key("history:completed")
    }
    /// List of recent failure records, newest first, bounded.
    pub fn failed_history(&self) -> String {
        self.key("history:failed")
    }
    /// Hash of one booking's job.
    pub fn job(&self, id: &BookingId) -> String {
        self.key(&format!("job:{id}"))
    }
    /// Hash of the reconciliation: its cursor, the run in progress, the last run.
    pub fn reconcile(&self) -> String {
        self.key("reconcile")
    }
    /// Key that exists only to expire when the next reconciliation is due (its expiry
    /// event wakes a worker even when no webhook comes).
    pub fn reconcile_timer(&self) -> String {
        self.key("timer:reconcile")
    }
    /// Hash of the backfill: state, range, page, progress.
    pub fn backfill(&self) -> String {
        self.key("backfill")
    }
    /// Lock held by the one worker running a reconciliation or backfill slice.
    pub fn bulk_lock(&self) -> String {
        self.key("bulk-lock")
    }
    /// Counter handing out unique owners for the bulk lock.
    pub fn bulk_lock_seq(&self) -> String {
        self.key("bulk-lock:seq")
    }
    /// Key that exists only to expire when a bulk run should try again (after an error).
    pub fn bulk_timer(&self) -> String {
        self.key("timer:bulk")
    }
    /// Sorted set of the HTTP-driven worker runs in progress, scored by lease end.
    pub fn drains(&self) -> String {
        self.key("drains")
    }
    /// Counter handing out unique owners for drain places.
    pub fn drain_seq(&self) -> String {
        self.key("drains:seq")
    }
    /// Set for a minute once a worker checked that Redis emits expiry events.
    pub fn notify_checked(&self) -> String {
        self.key("notify-checked")
    }
    /// The refreshed Beds24 access token shared by every worker (expires before Beds24's).
    pub fn beds24_token(&self) -> String {
        self.key("beds24:token")
    }
    /// Lock held by the one worker refreshing the token (value: its owner).
    pub fn beds24_token_lock(&self) -> String {
        self.key("beds24:token-lock")
    }
    /// Counter handing out unique owners for the token lock.
    pub fn beds24_token_lock_seq(&self) -> String {
        self.key("beds24:token-lock:seq")
    }
    /// Hash of the account's credit window as Beds24 last reported it.
    pub fn beds24_credits(&self) -> String {
        self.key("beds24:credits")
    }
    /// Set while Beds24 rejects our token (value: since when and why).
    pub fn beds24_auth_failed(&self) -> String {
        self.key("beds24:auth-failed")
    }
    /// Set for an hour once the token's scopes were found sufficient.
    pub fn beds24_scopes_ok(&self) -> String {
        self.key("beds24:scopes-ok")
    }
    /// Hash of property id → name, cached for an hour.
    pub fn beds24_properties(&self) -> String {
        self.key("beds24:properties")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_carries_the_prefix() {
        let keys = Keys::new("t1:");
        let id = BookingId::parse("42").unwrap();
        for key in [
            keys.due(),
            keys.active(),
            keys.dead(),
            keys.stats(),
            keys.paused(),
            keys.hold(),
            keys.wake_pending(),
            keys.completed_history(),
            keys.failed_history(),
            keys.job(&id),
            keys.notify_checked(),
            keys.beds24_token(),
            keys.beds24_token_lock(),
            keys.beds24_token_lock_seq(),
            keys.beds24_credits(),
            keys.beds24_auth_failed(),
            keys.beds24_scopes_ok(),
            keys.beds24_properties(),
            keys.reconcile(),
            keys.reconcile_timer(),
            keys.backfill(),
            keys.bulk_lock(),
            keys.bulk_lock_seq(),
            keys.bulk_timer(),
            keys.drains(),
            keys.drain_seq(),
        ] {
            assert!(key.starts_with("t1:"), "{key}");
        }
        assert_eq!(keys.job(&id), "t1:job:42");
        assert_eq!(Keys::default().due(), "b24:due");
    }
}
