//! `RedisExec` on Spin's outbound Redis (`fermyon:spin/redis@2.0.0`).

use beds24_sync_core::store::{RedisArg, RedisExec, RedisValue, StoreError};
use spin_sdk::redis::{Connection, Error, RedisParameter, RedisResult};

/// One outbound Redis connection.
pub struct SpinRedis(Connection);

impl SpinRedis {
    /// Outbound Redis fails fast when the server is down (unlike key-value calls, which hang).
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Connection::open(url).map(SpinRedis).map_err(store_error)
    }
}

/// Spin's error by kind: a bad address or no connection is "unreachable"; a refused
/// command (`NOSCRIPT` told apart) carries Redis's text, which names no guest data
/// (we never send any to Redis).
fn store_error(e: Error) -> StoreError {
    match e {
        Error::InvalidAddress => StoreError::Unreachable("redis: invalid address".into()),
        Error::TooManyConnections => StoreError::Unreachable("redis: too many connections".into()),
        Error::TypeError => StoreError::Reply("redis: reply of an unexpected type".into()),
        Error::Other(text) => StoreError::redis_command(text),
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
        let results = self.0.execute(command, &params).map_err(store_error)?;
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
