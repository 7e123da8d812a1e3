//! When a slice cannot go on: the credit window is spent, or a page failed.

use std::collections::BTreeMap;

use serde_json::json;

use super::{Run, Slice, MAX_ERRORS};
use crate::beds24::{ApiFailure, HttpGet};
use crate::bulk::control::move_state;
use crate::bulk::state::{int, BackfillState};
use crate::logging::{emit, now_ms, Level};
use crate::queue::Queue;
use crate::store::{RedisExec, StoreError};
use crate::worker::SqlConnect;

impl<R: RedisExec, H: HttpGet, C: SqlConnect> Slice<'_, R, H, C> {
    /// The credit window is spent: hold the queue until it resets (its expiry wakes a
    /// worker, which takes webhook jobs first and then this run again).
    pub(super) fn wait_for_credits(&mut self, until: i64) -> Result<(), StoreError> {
        if self.run == Run::Backfill {
            let running = [BackfillState::Running];
            move_state(
                self.redis,
                self.keys,
                &running,
                BackfillState::WaitingForCredits,
            )?;
        }
        let wait = (until - now_ms()).max(1_000);
        Queue::with_keys(&mut *self.redis, self.keys.clone())
            .hold("Beds24 credit budget spent", wait)
    }

    /// A page failed: remember why and try again after a pause (the bulk timer's
    /// expiry wakes a worker); a backfill failing five times in a row stops as failed.
    pub(super) fn failed(
        &mut self,
        failure: &ApiFailure,
        fields: &BTreeMap<String, String>,
    ) -> Result<(), StoreError> {
        if let ApiFailure::RateLimited(_, after) = failure {
            let until = now_ms() + after.unwrap_or(60) as i64 * 1000;
            return self.wait_for_credits(until);
        }
        let errors = int(fields, "errors").unwrap_or(0) + 1;
        self.set(&[
            ("errors", errors.to_string()),
            ("lastError", failure.to_string()),
            ("updatedAt", now_ms().to_string()),
        ])?;
        emit(
            Level::Warn,
            "bulk page failed",
            &[
                ("run", json!(format!("{:?}", self.run))),
                ("error", json!(failure.to_string())),
            ],
        );
        if self.run == Run::Backfill && errors >= MAX_ERRORS {
            let active = [BackfillState::Running];
            move_state(self.redis, self.keys, &active, BackfillState::Failed)?;
            return Ok(());
        }
        let delay = (errors.min(10) * 10_000).max(1_000);
        self.redis
            .execute(
                "SET",
                &[
                    self.keys.bulk_timer().into(),
                    "1".into(),
                    "PX".into(),
                    delay.into(),
                ],
            )
            .map(drop)
    }
}
