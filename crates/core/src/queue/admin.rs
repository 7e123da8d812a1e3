//! Operator actions on the queue: revive dead jobs, purge, pause, list dead jobs and history.

use super::{scripts, Queue};
use crate::store::{RedisExec, RedisValue, StoreError};
use crate::BookingId;

/// What an operator may purge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purge {
    /// The dead letters (and their jobs).
    Dead,
    /// The completed history.
    Completed,
    /// The failed history.
    Failed,
}

impl Purge {
    /// `dead`, `completed` or `failed`.
    pub fn parse(text: &str) -> Option<Purge> {
        match text {
            "dead" => Some(Purge::Dead),
            "completed" => Some(Purge::Completed),
            "failed" => Some(Purge::Failed),
            _ => None,
        }
    }
}

impl<R: RedisExec> Queue<'_, R> {
    /// Send dead jobs back to the queue with fresh tries: one (`only`), or all dead since `since_ms`.
    pub fn revive_dead(
        &mut self,
        clock: impl Into<super::Clock>,
        since_ms: i64,
        only: Option<&BookingId>,
    ) -> Result<i64, StoreError> {
        let args = vec![
            self.prefix_arg(),
            clock.into().into(),
            since_ms.into(),
            only.map(|id| id.as_str()).unwrap_or("").into(),
        ];
        let k = &self.keys;
        let keys = [k.due(), k.dead(), k.stats()];
        let reply = scripts::REVIVE_DEAD.run(self.redis, &keys, args)?;
        Ok(reply.first().and_then(RedisValue::as_i64).unwrap_or(0))
    }

    /// Forget every dead job; returns their ids, whose job records (in the
    /// key-value store) the caller deletes too.
    pub fn purge_dead(&mut self) -> Result<Vec<BookingId>, StoreError> {
        let keys = [self.keys.dead()];
        let reply = scripts::PURGE_DEAD.run(self.redis, &keys, vec![self.prefix_arg()])?;
        Ok(reply
            .iter()
            .filter_map(|v| BookingId::parse(&v.as_text()?).ok())
            .collect())
    }

    /// Forget dead jobs, or the completed / failed history. Counters stay.
    pub fn purge(&mut self, what: Purge) -> Result<i64, StoreError> {
        match what {
            Purge::Dead => Ok(self.purge_dead()?.len() as i64),
            Purge::Completed | Purge::Failed => {
                let key = if what == Purge::Completed {
                    self.keys.completed_history()
                } else {
                    self.keys.failed_history()
                };
                let len = self
                    .redis
                    .execute("LLEN", &[key.as_str().into()])?
                    .first()
                    .and_then(RedisValue::as_i64)
                    .unwrap_or(0);
                self.redis.execute("DEL", &[key.into()])?;
                Ok(len)
            }
        }
    }

    /// Stop (or restart) claiming; webhooks are still accepted and queued.
    pub fn set_paused(&mut self, paused: bool) -> Result<(), StoreError> {
        if paused {
            self.redis
                .execute("SET", &[self.keys.paused().into(), "1".into()])
                .map(drop)
        } else {
            self.redis.execute("DEL", &[self.keys.paused().into()])?;
            self.publish_wakeup()
        }
    }

    /// Dead jobs, newest first: (bookingId, died_at_ms).
    pub fn dead_jobs(&mut self, limit: i64) -> Result<Vec<(BookingId, i64)>, StoreError> {
        let reply = self.redis.execute(
            "ZREVRANGE",
            &[
                self.keys.dead().into(),
                0i64.into(),
                (limit - 1).into(),
                "WITHSCORES".into(),
            ],
        )?;
        Ok(reply
            .chunks(2)
            .filter_map(|p| {
                let id = BookingId::parse(&p.first()?.as_text()?).ok()?;
                Some((id, p.get(1)?.as_i64()?))
            })
            .collect())
    }

    /// Recent records of the completed or failed history, newest first.
    pub fn history(
        &mut self,
        failed: bool,
        limit: i64,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        let key = if failed {
            self.keys.failed_history()
        } else {
            self.keys.completed_history()
        };
        let reply = self
            .redis
            .execute("LRANGE", &[key.into(), 0i64.into(), (limit - 1).into()])?;
        Ok(reply
            .iter()
            .filter_map(|v| serde_json::from_str(&v.as_text()?).ok())
            .collect())
    }
}
