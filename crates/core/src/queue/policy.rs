//! Queue policy: the retry schedule, jitter, history caps and what each failure leads to.

use std::time::Duration;

/// Completed job records kept for the dashboard (the seed's "remove: 100 completed").
pub const COMPLETED_HISTORY: usize = 100;
/// Failed job records kept (the seed's "50 failed"). The dead-letter queue is not trimmed.
pub const FAILED_HISTORY: usize = 50;
/// Default lease of a claimed job before another worker may take it over.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);
/// Default number of due jobs one worker invocation claims at once.
pub const DEFAULT_BATCH: usize = 50;

/// Upper bounds (seconds) of the job duration histogram's buckets (`+Inf` implied).
pub const DURATION_BUCKETS: [f64; 9] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The smallest bucket a job duration falls in, as its `le` label.
pub fn duration_bucket(duration_ms: i64) -> String {
    let seconds = duration_ms as f64 / 1000.0;
    DURATION_BUCKETS
        .iter()
        .find(|le| seconds <= **le)
        .map(|le| le.to_string())
        .unwrap_or_else(|| "+Inf".into())
}

/// When to try a failed job again: the seed's 5 s, 25 s, 125 s with ±10 % jitter.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
    jitter: f64,
}

/// The `retry_delays` setting is not a list of non-negative seconds; holds the text given.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("retry_delays must be a comma-separated list of seconds like \"5,25,125\", got {0:?}")]
pub struct ScheduleError(pub String);

impl Default for RetrySchedule {
    fn default() -> Self {
        Self {
            delays: [5, 25, 125].map(Duration::from_secs).to_vec(),
            jitter: 0.10,
        }
    }
}

impl RetrySchedule {
    /// Parse `"5,25,125"` (seconds, fractions allowed so tests can shorten it).
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let delays = text
            .split(',')
            .map(|part| part.trim().parse::<f64>())
            .map(|r| {
                r.ok()
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(Duration::from_secs_f64)
            })
            .collect::<Option<Vec<_>>>()
            .filter(|d| !d.is_empty())
            .ok_or_else(|| ScheduleError(text.to_owned()))?;
        Ok(Self {
            delays,
            ..Self::default()
        })
    }

    /// The base delays before each retry, in order, without jitter.
    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }

    /// Retries after the first try.
    pub fn retries(&self) -> u32 {
        self.delays.len() as u32
    }

    /// Total tries a job gets before the dead-letter queue.
    pub fn max_tries(&self) -> u32 {
        self.retries() + 1
    }

    /// Delay before retry number `retry` (1-based); `unit` in [0, 1) picks the jitter.
    pub fn delay(&self, retry: u32, unit: f64) -> Option<Duration> {
        let base = self.delays.get(retry.checked_sub(1)? as usize)?;
        let factor = 1.0 + self.jitter * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
        Some(base.mul_f64(factor))
    }
}

/// How long jobs wait while the Beds24 account cannot be used (token rejected, scopes
/// missing, no token) before one batch tries again. No try is used meanwhile.
pub const ACCOUNT_RECHECK: Duration = Duration::from_secs(30);

/// Why a try failed, as the worker classifies it.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Might work later (5xx, timeout, Postgres down, …): uses up a try.
    Transient(String),
    /// Beds24 said "not now" (429, credits spent): wait `retry_after_ms`, the time left in
    /// the shared credit window, without using up a try.
    RateLimited {
        /// How long to hold the job, in milliseconds.
        retry_after_ms: i64,
        /// What Beds24 answered, for `lastError` and the logs.
        reason: String,
    },
    /// The account cannot be used (token rejected, scopes missing, no token configured):
    /// hold the job without using up a try until a working token is in place.
    AccountBlocked(String),
    /// Retrying cannot help (booking gone, malformed data, a row Postgres refuses).
    Permanent(String),
}

impl Failure {
    /// The failure's text, as recorded in `lastError`, the history and the logs.
    pub fn message(&self) -> &str {
        match self {
            Failure::Transient(m) | Failure::Permanent(m) | Failure::AccountBlocked(m) => m,
            Failure::RateLimited { reason, .. } => reason,
        }
    }
}

/// What the queue does with a failed job. Delays are relative: the queue script adds
/// them to Redis's clock, the one clock every worker shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Try again after `delay_ms`, counting the failed try.
    Retry {
        /// Milliseconds from now (Redis's clock), jitter included.
        delay_ms: i64,
    },
    /// Try again after `delay_ms` without counting it (rounded up to a whole second
    /// so that jobs held for the same reason come due together, as one batch).
    Delay {
        /// Milliseconds from now (Redis's clock).
        delay_ms: i64,
    },
    /// Out of tries: dead-letter queue, until replayed or purged.
    Dead,
    /// Finished for good with an error; recorded in the failed history.
    Final,
}

impl Decision {
    /// The name the queue script and the job history use for the decision (`retry`,
    /// `delay`, `dead`, `final`).
    pub fn mode(self) -> &'static str {
        match self {
            Decision::Retry { .. } => "retry",
            Decision::Delay { .. } => "delay",
            Decision::Dead => "dead",
            Decision::Final => "final",
        }
    }

    /// The delay of a `Retry` or `Delay`; 0 for the others (passed to the queue script).
    pub fn delay_ms(self) -> i64 {
        match self {
            Decision::Retry { delay_ms } | Decision::Delay { delay_ms } => delay_ms,
            _ => 0,
        }
    }
}

/// Decide the fate of a job that failed after `failed_before` earlier failed tries.
pub fn decide(
    schedule: &RetrySchedule,
    failed_before: u32,
    failure: &Failure,
    unit: f64,
) -> Decision {
    match failure {
        Failure::Permanent(_) => Decision::Final,
        Failure::RateLimited { retry_after_ms, .. } => Decision::Delay {
            delay_ms: (*retry_after_ms).max(0),
        },
        Failure::AccountBlocked(_) => Decision::Delay {
            delay_ms: ACCOUNT_RECHECK.as_millis() as i64,
        },
        Failure::Transient(_) => match schedule.delay(failed_before + 1, unit) {
            Some(delay) => Decision::Retry {
                delay_ms: delay.as_millis() as i64,
            },
            None => Decision::Dead,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_fall_in_the_smallest_bucket_that_holds_them() {
        assert_eq!(duration_bucket(0), "0.05");
        assert_eq!(duration_bucket(50), "0.05");
        assert_eq!(duration_bucket(51), "0.1");
        assert_eq!(duration_bucket(2_000), "2.5");
        assert_eq!(duration_bucket(31_000), "+Inf");
    }

    #[test]
    fn default_schedule_is_the_seeds_5_25_125_seconds() {
        let s = RetrySchedule::default();
        assert_eq!(s.delays(), [5, 25, 125].map(Duration::from_secs));
        assert_eq!(s.max_tries(), 4);
        assert_eq!(s.delay(1, 0.5), Some(Duration::from_secs(5)));
        assert_eq!(s.delay(3, 0.5), Some(Duration::from_secs(125)));
        assert_eq!(s.delay(4, 0.5), None);
        assert_eq!(s.delay(0, 0.5), None);
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let s = RetrySchedule::default();
        assert_eq!(s.delay(2, 0.0), Some(Duration::from_millis(22_500)));
        assert_eq!(s.delay(2, 1.0), Some(Duration::from_millis(27_500)));
        for unit in [0.0, 0.13, 0.5, 0.77, 0.999] {
            let d = s.delay(1, unit).unwrap().as_millis();
            assert!((4_500..=5_500).contains(&d), "{d}");
        }
    }

    #[test]
    fn parses_configured_schedules() {
        assert_eq!(
            RetrySchedule::parse("0.2, 0.4,1").unwrap().delays()[0],
            Duration::from_millis(200)
        );
        assert!(RetrySchedule::parse("").is_err());
        assert!(RetrySchedule::parse("5,x").is_err());
        assert!(RetrySchedule::parse("-1").is_err());
    }

    #[test]
    fn decisions_follow_the_failure_kind() {
        let s = RetrySchedule::default();
        let transient = Failure::Transient("503".into());
        assert_eq!(
            decide(&s, 0, &transient, 0.5),
            Decision::Retry { delay_ms: 5_000 }
        );
        assert_eq!(
            decide(&s, 2, &transient, 0.5),
            Decision::Retry { delay_ms: 125_000 }
        );
        assert_eq!(decide(&s, 3, &transient, 0.5), Decision::Dead);
        let limited = Failure::RateLimited {
            retry_after_ms: 49_000,
            reason: "429".into(),
        };
        assert_eq!(
            decide(&s, 3, &limited, 0.5),
            Decision::Delay { delay_ms: 49_000 }
        );
        assert_eq!(
            decide(&s, 0, &Failure::Permanent("gone".into()), 0.5),
            Decision::Final
        );
    }

    #[test]
    fn an_unusable_account_holds_jobs_without_using_a_try_even_on_the_last_one() {
        let s = RetrySchedule::default();
        let blocked = Failure::AccountBlocked("token rejected".into());
        for failed_before in 0..=s.max_tries() {
            assert_eq!(
                decide(&s, failed_before, &blocked, 0.5),
                Decision::Delay {
                    delay_ms: ACCOUNT_RECHECK.as_millis() as i64
                }
            );
        }
    }
}
