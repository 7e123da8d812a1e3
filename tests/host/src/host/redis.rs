//! fermyon:spin/redis@2.0.0 (outbound Redis) like Spin's outbound-redis factor, incl. `execute`'s flattening.

use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, FromRedisValue, Value};
use wasmtime::component::Resource;

use crate::bindings::fermyon::spin2_0_0::redis::{self as v2, Error, RedisParameter, RedisResult};
use crate::runtime::HostState;

/// The `connection` resource: one connection per `open`, as in Spin.
pub struct RedisConnection(MultiplexedConnection);

fn other(e: impl std::fmt::Display) -> Error {
    Error::Other(e.to_string())
}

type RResult<T> = anyhow::Result<Result<T, Error>>;

impl HostState {
    fn redis_conn(&self, c: &Resource<RedisConnection>) -> anyhow::Result<MultiplexedConnection> {
        Ok(self.table.get(c)?.0.clone())
    }
}

impl v2::Host for HostState {}

impl v2::HostConnection for HostState {
    async fn open(&mut self, address: String) -> RResult<Resource<RedisConnection>> {
        // Spin answers invalid-address for a destination that is not allowed.
        if !self
            .env
            .allowed_hosts
            .check(&self.env.id, &address, "redis")
        {
            return Ok(Err(Error::InvalidAddress));
        }
        let Ok(client) = redis::Client::open(address.as_str()) else {
            return Ok(Err(Error::InvalidAddress));
        };
        // One attempt, no retry loop: an unreachable Redis fails at once.
        match client.get_multiplexed_async_connection().await {
            Ok(conn) => Ok(Ok(self.table.push(RedisConnection(conn))?)),
            Err(e) => Ok(Err(other(e))),
        }
    }

    async fn publish(
        &mut self,
        c: Resource<RedisConnection>,
        channel: String,
        payload: Vec<u8>,
    ) -> RResult<()> {
        let mut conn = self.redis_conn(&c)?;
        Ok(conn
            .publish::<_, _, ()>(&channel, &payload)
            .await
            .map_err(other))
    }

    async fn get(&mut self, c: Resource<RedisConnection>, key: String) -> RResult<Option<Vec<u8>>> {
        let mut conn = self.redis_conn(&c)?;
        Ok(conn.get::<_, Option<Vec<u8>>>(&key).await.map_err(other))
    }

    async fn set(
        &mut self,
        c: Resource<RedisConnection>,
        key: String,
        value: Vec<u8>,
    ) -> RResult<()> {
        let mut conn = self.redis_conn(&c)?;
        Ok(conn.set::<_, _, ()>(&key, &value).await.map_err(other))
    }

    async fn incr(&mut self, c: Resource<RedisConnection>, key: String) -> RResult<i64> {
        let mut conn = self.redis_conn(&c)?;
        Ok(conn.incr::<_, _, i64>(&key, 1).await.map_err(other))
    }

    async fn del(&mut self, c: Resource<RedisConnection>, keys: Vec<String>) -> RResult<u32> {
        let mut conn = self.redis_conn(&c)?;
        Ok(conn.del::<_, u32>(&keys).await.map_err(other))
    }

    async fn sadd(
        &mut self,
        c: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> RResult<u32> {
        let mut conn = self.redis_conn(&c)?;
        Ok(conn.sadd::<_, _, u32>(&key, &values).await.map_err(|e| {
            if e.kind() == redis::ErrorKind::TypeError {
                Error::TypeError
            } else {
                other(e)
            }
        }))
    }

    async fn smembers(
        &mut self,
        c: Resource<RedisConnection>,
        key: String,
    ) -> RResult<Vec<String>> {
        let mut conn = self.redis_conn(&c)?;
        Ok(conn.smembers::<_, Vec<String>>(&key).await.map_err(other))
    }

    async fn srem(
        &mut self,
        c: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> RResult<u32> {
        let mut conn = self.redis_conn(&c)?;
        Ok(conn.srem::<_, _, u32>(&key, &values).await.map_err(other))
    }

    async fn execute(
        &mut self,
        c: Resource<RedisConnection>,
        command: String,
        arguments: Vec<RedisParameter>,
    ) -> RResult<Vec<RedisResult>> {
        let mut conn = self.redis_conn(&c)?;
        let mut cmd = redis::cmd(&command);
        for arg in arguments {
            match arg {
                RedisParameter::Int64(v) => cmd.arg(v),
                RedisParameter::Binary(v) => cmd.arg(v),
            };
        }
        Ok(cmd
            .query_async::<Flattened>(&mut conn)
            .await
            .map(|f| f.0)
            .map_err(other))
    }

    async fn drop(&mut self, c: Resource<RedisConnection>) -> anyhow::Result<()> {
        self.table.delete(c)?;
        Ok(())
    }
}

/// A reply converted the way Spin does: nested arrays (and sets) are
/// flattened into one list; maps and other RESP3-only shapes are errors.
struct Flattened(Vec<RedisResult>);

impl FromRedisValue for Flattened {
    fn from_redis_value(value: &Value) -> redis::RedisResult<Self> {
        fn unsupported(what: &str) -> redis::RedisError {
            redis::RedisError::from((
                redis::ErrorKind::TypeError,
                "Could not convert Redis response",
                format!("Redis {what} type is not supported"),
            ))
        }
        fn append(out: &mut Vec<RedisResult>, value: &Value) -> redis::RedisResult<()> {
            match value {
                Value::Nil => out.push(RedisResult::Nil),
                Value::Int(v) => out.push(RedisResult::Int64(*v)),
                Value::BulkString(b) => out.push(RedisResult::Binary(b.clone())),
                Value::SimpleString(s) => out.push(RedisResult::Status(s.clone())),
                Value::Okay => out.push(RedisResult::Status("OK".to_string())),
                Value::Array(items) | Value::Set(items) => {
                    for item in items {
                        append(out, item)?;
                    }
                }
                Value::Double(v) => out.push(RedisResult::Binary(v.to_string().into_bytes())),
                Value::Boolean(v) => out.push(RedisResult::Int64(i64::from(*v))),
                Value::BigNumber(v) => out.push(RedisResult::Binary(v.to_string().into_bytes())),
                Value::Map(_) => return Err(unsupported("Map")),
                Value::Attribute { .. } => return Err(unsupported("Attribute")),
                Value::VerbatimString { .. } => {
                    return Err(unsupported("string with format attribute"))
                }
                Value::Push { .. } => return Err(unsupported("Pub/Sub")),
                Value::ServerError(e) => {
                    return Err(redis::RedisError::from((
                        redis::ErrorKind::ResponseError,
                        "Server error",
                        format!("{e:?}"),
                    )))
                }
            }
            Ok(())
        }
        let mut out = Vec::new();
        append(&mut out, value)?;
        Ok(Flattened(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execute_replies_are_flattened_like_spin() {
        let reply = Value::Array(vec![
            Value::Int(1),
            Value::Array(vec![Value::BulkString(b"x".to_vec()), Value::Nil]),
            Value::Okay,
            Value::SimpleString("QUEUED".into()),
        ]);
        let flat = Flattened::from_redis_value(&reply).unwrap().0;
        let expected = [
            RedisResult::Int64(1),
            RedisResult::Binary(b"x".to_vec()),
            RedisResult::Nil,
            RedisResult::Status("OK".into()),
            RedisResult::Status("QUEUED".into()),
        ];
        // The generated types have no PartialEq: compare their Debug text.
        assert_eq!(format!("{flat:?}"), format!("{expected:?}"));
        assert!(Flattened::from_redis_value(&Value::Map(vec![])).is_err());
    }
}
