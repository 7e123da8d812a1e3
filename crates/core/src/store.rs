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
        /// The five-character SQLSTATE code (e.g. `23505` unique violation).
        sqlstate: String,
        /// The constraint concerned, when Postgres names one.
        constraint: Option<String>,
        /// The column concerned, when Postgres names one.
        column: Option<String>,
        /// The table concerned, when Postgres names one.
        table: Option<String>,
    },
    /// The conversation broke off or could not be understood (closed session, conversion).
    #[error("protocol: {0}")]
    Protocol(String),
    /// Redis refused a command or a script raised an error (a bug, or a server that
    /// lacks a command).
    #[error("redis: {0}")]
    Command(String),
    /// Redis does not have the script asked for by digest (`NOSCRIPT`): send its text.
    #[error("redis: script not cached (NOSCRIPT)")]
    NoScript,
    /// A reply of a shape the caller did not expect.
    #[error("unexpected reply: {0}")]
    Reply(String),
    /// Anything else (serialisation, a key-value store).
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
    /// An error of no more specific kind.
    pub fn new(message: impl Into<String>) -> Self {
        StoreError::Other(message.into())
    }

    /// A failed Redis command, by the text the client gives: a `NOSCRIPT` answer is
    /// told apart (the caller resends the script's text), everything else is a refusal.
    /// The redis crate (ours in tests, Spin's in production) renders that answer as
    /// `NoScriptError: No matching script…`, without the server's `NOSCRIPT` code.
    pub fn redis_command(message: impl Into<String>) -> Self {
        let message = message.into();
        if ["NOSCRIPT", "NoScriptError", "No matching script"]
            .iter()
            .any(|mark| message.contains(mark))
        {
            StoreError::NoScript
        } else {
            StoreError::Command(message)
        }
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
    /// An integer (scores, counts, millisecond times).
    Int(i64),
    /// A binary-safe string: key names, script text, member values.
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
    /// A nil reply (missing key, Lua `false`).
    Nil,
    /// An integer reply.
    Int(i64),
    /// A bulk string reply.
    Bytes(Vec<u8>),
    /// A simple status reply such as `OK`.
    Status(String),
}

impl RedisValue {
    /// The reply as text (integers in decimal, bytes decoded lossily as UTF-8); `None`
    /// for nil.
    pub fn as_text(&self) -> Option<String> {
        match self {
            RedisValue::Nil => None,
            RedisValue::Int(n) => Some(n.to_string()),
            RedisValue::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
            RedisValue::Status(s) => Some(s.clone()),
        }
    }

    /// The reply as an integer: an integer reply, or text that parses as one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            RedisValue::Int(n) => Some(*n),
            other => other.as_text()?.parse().ok(),
        }
    }
}

/// Runs one Redis command (`EVALSHA`, `HGETALL`, …) on a connection: Spin's outbound
/// Redis in the components, a native client in tests.
pub trait RedisExec {
    /// Send `command` with `args` and return its reply, flattened (see [`RedisValue`]).
    fn execute(&mut self, command: &str, args: &[RedisArg]) -> Result<Vec<RedisValue>, StoreError>;
}

/// One SQL parameter. Rows travel as JSONB (see `db`), so few kinds are needed.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlParam {
    /// A `text` parameter.
    Text(String),
    /// A `bigint` parameter.
    Int(i64),
    /// A `jsonb` parameter (the upsert's rows travel this way).
    Json(Value),
    /// SQL `NULL`.
    Null,
}

/// One SQL result cell, as far as our queries need it.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// SQL `NULL`.
    Null,
    /// A `boolean`.
    Bool(bool),
    /// Any integer column (`smallint`, `integer`, `bigint`).
    Int(i64),
    /// Text, and what arrives as text: `numeric` (exact decimal) and `jsonb`.
    Text(String),
    /// A type our queries never read (dates, floats, …): present but not decoded.
    Other,
}

impl SqlValue {
    /// The cell's text, when it is text (or `numeric`/`jsonb` delivered as text).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            SqlValue::Text(s) => Some(s),
            _ => None,
        }
    }
    /// The cell as an integer: an integer column, or text that parses as one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            SqlValue::Int(n) => Some(*n),
            SqlValue::Text(s) => s.parse().ok(),
            _ => None,
        }
    }
}

/// Runs SQL on one Postgres connection: Spin's outbound Postgres in the components, a
/// native client in tests. Parameters are `$1`, `$2`, … in `sql`.
pub trait SqlExec {
    /// Run a statement that returns no rows; the number of rows it affected.
    fn execute(&mut self, sql: &str, params: &[SqlParam]) -> Result<u64, StoreError>;
    /// Run a query; its rows, each a list of cells in column order.
    fn query(&mut self, sql: &str, params: &[SqlParam]) -> Result<Vec<Vec<SqlValue>>, StoreError>;
}

/// The SQLSTATE of a Postgres error known only by its message. Spin 3.6.x hands a
/// `query` that failed while reading rows back as the error's display text (`db error:
/// ERROR: value "…" is out of range for type integer`), without the code; these are the
/// data errors (classes 22 and 23) an upsert can meet, by Postgres's own wording.
pub fn sqlstate_of_message(text: &str) -> Option<&'static str> {
    const KNOWN: [(&str, &str); 10] = [
        ("out of range for type", "22003"),
        ("value too long for type", "22001"),
        ("invalid input syntax", "22P02"),
        ("invalid byte sequence", "22021"),
        ("unsupported Unicode escape", "22P05"),
        ("date/time field value out of range", "22008"),
        ("violates not-null constraint", "23502"),
        ("violates foreign key constraint", "23503"),
        ("violates unique constraint", "23505"),
        ("violates check constraint", "23514"),
    ];
    let message = text.strip_prefix("db error: ")?;
    KNOWN
        .iter()
        .find(|(wording, _)| message.contains(wording))
        .map(|(_, code)| *code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_messages_name_their_data_errors() {
        let spin_3_6 = "db error: ERROR: value \"3000000000\" is out of range for type integer\n\nCaused by:\n    ERROR: value";
        assert_eq!(sqlstate_of_message(spin_3_6), Some("22003"));
        assert_eq!(
            sqlstate_of_message(
                "db error: ERROR: duplicate key value violates unique constraint \"x\""
            ),
            Some("23505")
        );
        assert_eq!(
            sqlstate_of_message("db error: ERROR: relation \"nope\" does not exist"),
            None
        );
        assert_eq!(sqlstate_of_message("connection closed"), None);
    }

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
