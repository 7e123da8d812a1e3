//! `RedisExec` on Spin's outbound Redis (`fermyon:spin/redis@2.0.0`).

use beds24_sync_core::store::{RedisArg, RedisExec, RedisValue, StoreError};
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

pub struct SpinRedis(Connection);

impl SpinRedis {
    /// Outbound Redis fails fast when the server is down (unlike key-value calls, which hang).
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Connection::open(url)
            .map(SpinRedis)
            .map_err(|e| StoreError::new(format!("redis unreachable: {e}")))
    }
}

impl RedisExec for SpinRedis {
    fn execute(&mut self, command: &str, args: &[RedisArg]) -> Result<Vec<RedisValue>, StoreError> {
        let params: Vec<RedisParameter> = args
            .iter()
            .map(|a| match a {
                RedisArg::Int(n) => RedisParameter::Int64(*n),
                RedisArg::Bytes(b) => RedisParameter::Binary(b.clone()),
            })
            .collect();
        let results = self
            .0
            .execute(command, &params)
            .map_err(|e| StoreError::new(format!("redis {command}: {e}")))?;
        Ok(results
            .into_iter()
            .map(|r| match r {
                RedisResult::Nil => RedisValue::Nil,
                RedisResult::Status(s) => RedisValue::Status(s),
                RedisResult::Int64(n) => RedisValue::Int(n),
                RedisResult::Binary(b) => RedisValue::Bytes(b),
            })
            .collect())
    }
}
