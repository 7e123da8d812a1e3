//! The two narrow doors to storage: run a Redis command, run a SQL statement.
//!
//! Components implement them on Spin's outbound Redis and Postgres; tests implement
//! them on native clients against real servers. Everything above them is shared.

use serde_json::Value;

/// A storage call failed (connection, protocol, or the server said no).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

impl StoreError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// One argument of a Redis command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisArg {
    Int(i64),
    Bytes(Vec<u8>),
}

impl From<&str> for RedisArg {
    fn from(s: &str) -> Self {
        RedisArg::Bytes(s.as_bytes().to_vec())
    }
}
impl From<String> for RedisArg {
    fn from(s: String) -> Self {
        RedisArg::Bytes(s.into_bytes())
    }
}
impl From<i64> for RedisArg {
    fn from(n: i64) -> Self {
        RedisArg::Int(n)
    }
}

/// One element of a Redis reply, flattened the way Spin's `execute` returns it
/// (nested arrays become one flat list, so scripts return flat arrays).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisValue {
    Nil,
    Int(i64),
    Bytes(Vec<u8>),
    Status(String),
}

impl RedisValue {
    pub fn as_text(&self) -> Option<String> {
        match self {
            RedisValue::Nil => None,
            RedisValue::Int(n) => Some(n.to_string()),
            RedisValue::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
            RedisValue::Status(s) => Some(s.clone()),
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            RedisValue::Int(n) => Some(*n),
            other => other.as_text()?.parse().ok(),
        }
    }
}

pub trait RedisExec {
    fn execute(&mut self, command: &str, args: &[RedisArg]) -> Result<Vec<RedisValue>, StoreError>;
}

/// One SQL parameter. Rows travel as JSONB (see `db`), so few kinds are needed.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlParam {
    Text(String),
    Int(i64),
    Json(Value),
    Null,
}

/// One SQL result cell, as far as our queries need it.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Bool(bool),
    Int(i64),
    Text(String),
    Other,
}

impl SqlValue {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            SqlValue::Text(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            SqlValue::Int(n) => Some(*n),
            SqlValue::Text(s) => s.parse().ok(),
            _ => None,
        }
    }
}

pub trait SqlExec {
    fn execute(&mut self, sql: &str, params: &[SqlParam]) -> Result<u64, StoreError>;
    fn query(&mut self, sql: &str, params: &[SqlParam]) -> Result<Vec<Vec<SqlValue>>, StoreError>;
}
