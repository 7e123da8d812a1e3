//! The two narrow doors to storage: run a Redis command, run a SQL statement.
//!
//! Components implement them on Spin's outbound Redis and Postgres; tests implement
//! them on native clients against real servers. Everything above them is shared.

use serde_json::Value;

/// A storage call failed, by kind. Postgres's own message, detail and context can
/// quote row values (guest data), so a refusal keeps only its SQLSTATE and the
/// names of what it concerns: this text goes to logs, `lastError` and history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No session to the server (refused, DNS, TLS, authentication).
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The server refused the statement.
    #[error("rejected: SQLSTATE {sqlstate}{}", names(.table, .column, .constraint))]
    Rejected {
        sqlstate: String,
        constraint: Option<String>,
        column: Option<String>,
        table: Option<String>,
    },
    /// The conversation broke off or could not be understood (closed session, conversion).
    #[error("protocol: {0}")]
    Protocol(String),
    /// Anything else (every Redis failure, serialisation).
    #[error("{0}")]
    Other(String),
}

fn names(table: &Option<String>, column: &Option<String>, constraint: &Option<String>) -> String {
    [
        ("table", table),
        ("column", column),
        ("constraint", constraint),
    ]
    .into_iter()
    .filter_map(|(kind, name)| name.as_ref().map(|n| format!(" {kind} {n}")))
    .collect()
}

impl StoreError {
    pub fn new(message: impl Into<String>) -> Self {
        StoreError::Other(message.into())
    }

    /// A refusal for `sqlstate` with no names attached.
    pub fn rejected(sqlstate: impl Into<String>) -> Self {
        StoreError::Rejected {
            sqlstate: sqlstate.into(),
            constraint: None,
            column: None,
            table: None,
        }
    }

    /// The server refused the data itself (SQLSTATE class 22 data exception or
    /// 23 integrity violation): the same rows will be refused again, other rows
    /// of the same statement may well be fine.
    pub fn is_data_error(&self) -> bool {
        matches!(self, StoreError::Rejected { sqlstate, .. }
            if sqlstate.starts_with("22") || sqlstate.starts_with("23"))
    }

    /// The SQLSTATE of a refusal.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            StoreError::Rejected { sqlstate, .. } => Some(sqlstate),
            _ => None,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_shows_its_sqlstate_and_names_only() {
        let error = StoreError::Rejected {
            sqlstate: "23505".into(),
            constraint: Some("Booking_bookingId_key".into()),
            column: None,
            table: Some("Booking".into()),
        };
        assert_eq!(
            error.to_string(),
            "rejected: SQLSTATE 23505 table Booking constraint Booking_bookingId_key"
        );
        assert!(error.is_data_error());
        assert!(StoreError::rejected("22P05").is_data_error());
        assert!(!StoreError::rejected("42P01").is_data_error());
        assert!(!StoreError::Unreachable("refused".into()).is_data_error());
        assert_eq!(StoreError::new("redis down").to_string(), "redis down");
    }
}
