//! `SqlExec` on Spin's outbound Postgres (`spin:postgres/postgres@4.0.0`).

use beds24_sync_core::store::{sqlstate_of_message, SqlExec, SqlParam, SqlValue, StoreError};
use spin_sdk::pg4::{Connection, DbValue, ParameterValue, PgError, QueryError};

/// One outbound Postgres connection (the database that holds the `"Booking"` table).
pub struct SpinPg(Connection);

impl SpinPg {
    /// Connect to the Postgres at `url` (the components' `database_url` variable); no
    /// session is [`StoreError::Unreachable`].
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Connection::open(url).map(SpinPg).map_err(store_error)
    }
}

/// Spin's error by kind. A database error keeps only its SQLSTATE and the names of
/// the table, column and constraint: its message, detail and `as-text` can quote
/// the row's values (guest data), and this error ends up in logs and job history.
fn store_error(e: PgError) -> StoreError {
    match e {
        PgError::ConnectionFailed(message) => StoreError::Unreachable(message),
        PgError::QueryFailed(QueryError::DbError(db)) => {
            let extra = |name: &str| {
                db.extras
                    .iter()
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value.clone())
            };
            StoreError::Rejected {
                sqlstate: db.code.clone(),
                constraint: extra("constraint"),
                column: extra("column"),
                table: extra("table"),
            }
        }
        // Spin 4.0.2 answers a failed `query` this way: the Debug text of the structured
        // error, message and row values included. Keep the SQLSTATE, drop the rest.
        PgError::QueryFailed(QueryError::Text(text)) => match sqlstate_in(&text) {
            Some(sqlstate) => StoreError::Rejected {
                sqlstate,
                constraint: None,
                column: None,
                table: None,
            },
            // Spin 3.6.x: the display text, no code; known data errors by their wording.
            None if text.starts_with("db error: ") => match sqlstate_of_message(&text) {
                Some(sqlstate) => StoreError::rejected(sqlstate),
                None => StoreError::Protocol(
                    "the database refused the statement (no SQLSTATE given; details withheld)"
                        .into(),
                ),
            },
            None if text.contains("DbError") => StoreError::Protocol(
                "the database refused the statement (no readable SQLSTATE; details withheld)"
                    .into(),
            ),
            None => StoreError::Protocol(text),
        },
        PgError::BadParameter(text) | PgError::ValueConversionFailed(text) => {
            StoreError::Protocol(format!("parameter: {text}"))
        }
        PgError::Other(text) => StoreError::Other(text),
    }
}

/// The SQLSTATE in an error's Debug text (`code: SqlState(E22003)`), if any.
fn sqlstate_in(text: &str) -> Option<String> {
    const MARK: &str = "SqlState(E";
    let start = text.find(MARK)? + MARK.len();
    let code: String = text[start..].chars().take(5).collect();
    (code.len() == 5 && code.chars().all(|c| c.is_ascii_alphanumeric())).then_some(code)
}

fn param(p: &SqlParam) -> ParameterValue {
    match p {
        SqlParam::Text(s) => ParameterValue::Str(s.clone()),
        SqlParam::Int(n) => ParameterValue::Int64(*n),
        SqlParam::Json(v) => ParameterValue::Jsonb(serde_json::to_vec(v).unwrap_or_default()),
        SqlParam::Null => ParameterValue::DbNull,
    }
}

fn value(v: DbValue) -> SqlValue {
    match v {
        DbValue::DbNull => SqlValue::Null,
        DbValue::Boolean(b) => SqlValue::Bool(b),
        DbValue::Int16(n) => SqlValue::Int(n.into()),
        DbValue::Int32(n) => SqlValue::Int(n.into()),
        DbValue::Int64(n) => SqlValue::Int(n),
        DbValue::Str(s) | DbValue::Decimal(s) => SqlValue::Text(s),
        DbValue::Jsonb(bytes) => SqlValue::Text(String::from_utf8_lossy(&bytes).into_owned()),
        _ => SqlValue::Other,
    }
}

impl SqlExec for SpinPg {
    fn execute(&mut self, sql: &str, params: &[SqlParam]) -> Result<u64, StoreError> {
        let params: Vec<_> = params.iter().map(param).collect();
        self.0.execute(sql, &params).map_err(store_error)
    }

    fn query(&mut self, sql: &str, params: &[SqlParam]) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        let params: Vec<_> = params.iter().map(param).collect();
        let set = self.0.query(sql, &params).map_err(store_error)?;
        Ok(set
            .rows
            .into_iter()
            .map(|row| row.into_iter().map(value).collect())
            .collect())
    }
}
