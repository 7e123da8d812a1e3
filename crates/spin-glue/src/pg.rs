//! `SqlExec` on Spin's outbound Postgres (`spin:postgres/postgres@4.0.0`).

use beds24_sync_core::store::{SqlExec, SqlParam, SqlValue, StoreError};
use spin_sdk::pg4::{Connection, DbValue, ParameterValue};

pub struct SpinPg(Connection);

impl SpinPg {
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Connection::open(url)
            .map(SpinPg)
            .map_err(|e| StoreError::new(format!("postgres unreachable: {e}")))
    }
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
        self.0
            .execute(sql, &params)
            .map_err(|e| StoreError::new(format!("postgres: {e}")))
    }

    fn query(&mut self, sql: &str, params: &[SqlParam]) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        let params: Vec<_> = params.iter().map(param).collect();
        let set = self
            .0
            .query(sql, &params)
            .map_err(|e| StoreError::new(format!("postgres: {e}")))?;
        Ok(set
            .rows
            .into_iter()
            .map(|row| row.into_iter().map(value).collect())
            .collect())
    }
}
