//! How bulk runs go (pages per slice, intervals, the lock) and what a slice reports.

/// How bulk runs go.
#[derive(Debug, Clone)]
pub struct BulkConfig {
    /// Time between reconciliation runs (ms).
    pub reconcile_every_ms: i64,
    /// How far back the first reconciliation looks (ms).
    pub look_back_ms: i64,
    /// How far before a finished run's start the next one begins again, for clock skew
    /// between Beds24 and us and for bookings modified while the run was listing (ms).
    pub overlap_ms: i64,
    /// Listing pages per slice (each up to 100 bookings, plus their messages).
    pub pages_per_slice: u32,
    /// How long the bulk lock is held at most (a slice that dies frees it by then).
    pub lock_ms: i64,
}

impl Default for BulkConfig {
    fn default() -> Self {
        BulkConfig {
            reconcile_every_ms: 5 * 60_000,
            look_back_ms: 24 * 3_600_000,
            overlap_ms: 120_000,
            pages_per_slice: 3,
            lock_ms: 30_000,
        }
    }
}

/// What a slice did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliceOutcome {
    /// Nothing due, or another worker holds the lock.
    Idle,
    /// Pages were stored (or tried); `more` when the run continues at once.
    Worked {
        /// Call again (after the queue's jobs): the run has pages left.
        more: bool,
    },
}
