//! The queue's vocabulary: job states, what each script answers, the counters it keeps.
//!
//! The Lua scripts write and return these as text; Rust reads them only through the
//! types here, so no caller compares a state or a verdict as a string.

use std::borrow::Cow;
use std::str::FromStr;

use serde::Serialize;

use crate::beds24::Endpoint;
use crate::Action;

/// Where a job is. A booking has at most one job; its hash (`Keys::job`) holds the state.
///
/// - `Waiting`: due now. Entered by a webhook (`ENQUEUE`), a lease that ran out
///   (`CLAIM`), a webhook during a run (`rerun`, after `COMPLETE` / `FAIL`) or an
///   operator's retry (`REVIVE_DEAD`). Left by `CLAIM` (→ `Active`).
/// - `Delayed`: due later. Entered by `FAIL` with a retry or a delay. Becomes due by
///   time alone; a webhook makes it `Waiting` again at once (`ENQUEUE` coalesces).
/// - `Active`: claimed under a lease by one worker. Left by `COMPLETE` (job gone, or
///   `Waiting` on a rerun), `FAIL` (→ `Delayed`, `Dead`, gone) or lease expiry (→ `Waiting`,
///   or `Dead` when that was its last try).
/// - `Dead`: out of tries; kept with its last error until retried, replayed or purged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Due now, waiting for a worker.
    Waiting,
    /// Due later (a retry or a delay).
    Delayed,
    /// Claimed by a worker under a lease.
    Active,
    /// Out of tries, kept for an operator.
    Dead,
}

/// A script answered something this version does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unexpected {what} {text:?} from a queue script")]
pub struct UnknownReply {
    /// Which kind of answer was expected.
    pub what: &'static str,
    /// What came instead.
    pub text: String,
}

macro_rules! text_enum {
    ($ty:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// The text the scripts use.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }
        }
        impl FromStr for $ty {
            type Err = UnknownReply;
            fn from_str(text: &str) -> Result<Self, UnknownReply> {
                match text {
                    $($text => Ok($ty::$variant),)+
                    _ => Err(UnknownReply { what: $what, text: text.to_owned() }),
                }
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(JobState, "job state", {
    Waiting => "waiting", Delayed => "delayed", Active => "active", Dead => "dead",
});

/// What `ENQUEUE` did with a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Enqueued {
    /// A new job.
    Queued,
    /// The booking was already waiting: that job was refreshed.
    Coalesced,
    /// The booking is being synced right now: it will run once more after.
    Rerun,
}

text_enum!(Enqueued, "enqueue verdict", {
    Queued => "queued", Coalesced => "coalesced", Rerun => "rerun",
});

/// What `COMPLETE` did with one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Completion {
    /// Done: the job is gone and its record is in the completed history.
    Completed,
    /// Done, but a webhook came in meanwhile: the job is waiting again.
    Requeued,
    /// The claim was no longer this worker's (lease lost): nothing changed.
    Stale,
}

text_enum!(Completion, "completion verdict", {
    Completed => "completed", Requeued => "requeued", Stale => "stale",
});

/// What `FAIL` did with one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Settled {
    /// Delayed for a retry, one try used.
    Retry,
    /// Delayed without using a try (rate limit, unusable account).
    Delay,
    /// Out of tries: moved to the dead letters.
    Dead,
    /// Failed for good (a permanent failure): the job is gone, the record kept.
    Final,
    /// Failed, but a webhook came in meanwhile: the job is waiting again, afresh.
    Requeued,
    /// The claim was no longer this worker's (lease lost): nothing changed.
    Stale,
}

text_enum!(Settled, "failure verdict", {
    Retry => "retry", Delay => "delay", Dead => "dead", Final => "final",
    Requeued => "requeued", Stale => "stale",
});

impl Settled {
    /// The job is gone from the queue for good (its job record may go too).
    pub fn ends_job(self) -> bool {
        self == Settled::Final
    }
}

impl Completion {
    /// The job is gone from the queue (its job record may go too).
    pub fn ends_job(self) -> bool {
        self == Completion::Completed
    }
}

/// A never-trimmed counter in the stats hash (`Keys::stats`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counter {
    /// Webhooks accepted, by action.
    Received(Action),
    /// Jobs queued by an operator.
    Manual,
    /// Webhooks accepted but not queued (no Beds24 id).
    Skipped,
    /// Webhooks folded into a job already waiting or running.
    Coalesced,
    /// Jobs completed.
    Processed,
    /// Jobs that failed for good or died.
    Failed,
    /// Jobs that died (out of tries).
    Dead,
    /// Tries that failed and were scheduled again.
    Retried,
    /// Jobs delayed without using a try.
    Delayed,
    /// Leases that ran out.
    Stalled,
    /// Dead jobs sent back by an operator.
    Replayed,
    /// Waiting jobs ended because a bulk page had just stored their booking.
    Satisfied,
    /// Calls made to a Beds24 endpoint.
    ApiCall(Endpoint),
    /// Completions whose duration fell in the histogram bucket with this upper bound
    /// (seconds, as `policy::duration_bucket` names it: `0.05` … `+Inf`).
    DurationBucket(String),
    /// Sum of completion durations in ms.
    DurationMsSum,
}

impl Counter {
    /// The field name in the stats hash (also what `QueueStats::totals` is keyed by).
    pub fn field(&self) -> Cow<'static, str> {
        match self {
            Counter::Received(action) => Cow::Owned(format!("received:{action}")),
            Counter::Manual => "manual".into(),
            Counter::Skipped => "skipped".into(),
            Counter::Coalesced => "coalesced".into(),
            Counter::Processed => "processed".into(),
            Counter::Failed => "failed".into(),
            Counter::Dead => "dead".into(),
            Counter::Retried => "retried".into(),
            Counter::Delayed => "delayed".into(),
            Counter::Stalled => "stalled".into(),
            Counter::Replayed => "replayed".into(),
            Counter::Satisfied => "satisfied".into(),
            Counter::ApiCall(endpoint) => Cow::Owned(format!("api:{endpoint}")),
            Counter::DurationBucket(le) => Cow::Owned(format!("duration_bucket:{le}")),
            Counter::DurationMsSum => "duration_ms_sum".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_round_trip() {
        for state in [
            JobState::Waiting,
            JobState::Delayed,
            JobState::Active,
            JobState::Dead,
        ] {
            assert_eq!(state.as_str().parse::<JobState>(), Ok(state));
        }
        assert_eq!("requeued".parse::<Completion>(), Ok(Completion::Requeued));
        assert_eq!("final".parse::<Settled>(), Ok(Settled::Final));
        assert!("done".parse::<Completion>().is_err());
    }

    /// The text of every script that moves a job.
    fn transition_scripts() -> String {
        use super::super::scripts::{CLAIM, COMPLETE, ENQUEUE, FAIL, REVIVE_DEAD, SATISFY};
        [ENQUEUE, CLAIM, COMPLETE, FAIL, REVIVE_DEAD, SATISFY]
            .map(|s| s.source())
            .concat()
    }

    #[test]
    fn counters_the_scripts_keep_are_named_in_them() {
        let scripts = transition_scripts();
        for counter in [
            Counter::Coalesced,
            Counter::Processed,
            Counter::Failed,
            Counter::Dead,
            Counter::Retried,
            Counter::Delayed,
            Counter::Stalled,
            Counter::Replayed,
            Counter::Satisfied,
        ] {
            let quoted = format!("'{}'", counter.field());
            assert!(scripts.contains(&quoted), "no script counts {quoted}");
        }
        assert_eq!(Counter::Received(Action::Cancel).field(), "received:CANCEL");
        assert_eq!(Counter::ApiCall(Endpoint::Details).field(), "api:details");
    }

    #[test]
    fn states_and_verdicts_the_scripts_write_are_known() {
        let scripts = transition_scripts();
        for state in ["waiting", "delayed", "active", "dead"] {
            assert!(scripts.contains(&format!("'state', '{state}'")), "{state}");
        }
        for verdict in ["completed", "requeued", "stale", "final"] {
            assert!(scripts.contains(&format!("'{verdict}'")), "{verdict}");
        }
    }
}
