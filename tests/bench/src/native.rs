//! The core's store traits on native Redis and Postgres clients (as in crates/core/tests/support), plus a pipelining recorder.

use beds24_sync_core::store::{
    RedisArg, RedisExec, RedisValue, SqlExec, SqlParam, SqlValue, StoreError,
};

/// `RedisExec` on a native connection: one round trip per command.
pub struct NativeRedis(pub redis::Connection);

fn command(name: &str, args: &[RedisArg]) -> redis::Cmd {
    let mut cmd = redis::cmd(name);
    for arg in args {
        match arg {
            RedisArg::Int(n) => cmd.arg(*n),
            RedisArg::Bytes(b) => cmd.arg(b.as_slice()),
        };
    }
    cmd
}

/// Flatten a reply the way Spin's `execute` does (the queue scripts expect flat replies).
fn flatten(value: redis::Value, out: &mut Vec<RedisValue>) {
    match value {
        redis::Value::Nil => out.push(RedisValue::Nil),
        redis::Value::Int(n) => out.push(RedisValue::Int(n)),
        redis::Value::BulkString(b) => out.push(RedisValue::Bytes(b)),
        redis::Value::SimpleString(s) => out.push(RedisValue::Status(s)),
        redis::Value::Okay => out.push(RedisValue::Status("OK".into())),
        redis::Value::Array(items) | redis::Value::Set(items) => {
            items.into_iter().for_each(|v| flatten(v, out))
        }
        other => out.push(RedisValue::Bytes(format!("{other:?}").into_bytes())),
    }
}

impl RedisExec for NativeRedis {
    fn execute(&mut self, name: &str, args: &[RedisArg]) -> Result<Vec<RedisValue>, StoreError> {
        let value: redis::Value = command(name, args)
            .query(&mut self.0)
            .map_err(|e| StoreError::new(e.to_string()))?;
        let mut out = Vec::new();
        flatten(value, &mut out);
        Ok(out)
    }
}

/// A `RedisExec` that only records commands and answers each with `canned`, so that the core's
/// `Queue` builds the real script calls; `flush` then sends them in one pipeline and returns
/// the real replies (as text) for the caller to check.
pub struct Recorder {
    pipeline: redis::Pipeline,
    canned: &'static str,
}

impl Recorder {
    pub fn new(canned: &'static str) -> Self {
        Recorder {
            pipeline: redis::pipe(),
            canned,
        }
    }

    pub fn flush(&mut self, conn: &mut redis::Connection) -> Result<Vec<String>, StoreError> {
        let replies: Vec<redis::Value> = self
            .pipeline
            .query(conn)
            .map_err(|e| StoreError::new(e.to_string()))?;
        self.pipeline.clear();
        Ok(replies
            .into_iter()
            .map(|v| {
                let mut flat = Vec::new();
                flatten(v, &mut flat);
                flat.first()
                    .and_then(RedisValue::as_text)
                    .unwrap_or_default()
            })
            .collect())
    }
}

impl RedisExec for Recorder {
    fn execute(&mut self, name: &str, args: &[RedisArg]) -> Result<Vec<RedisValue>, StoreError> {
        self.pipeline.add_command(command(name, args));
        Ok(vec![RedisValue::Status(self.canned.to_owned())])
    }
}

/// `SqlExec` on a native (blocking) Postgres client.
pub struct NativePg(pub postgres::Client);

fn params(params: &[SqlParam]) -> Vec<Box<dyn postgres::types::ToSql + Sync>> {
    params
        .iter()
        .map(|p| -> Box<dyn postgres::types::ToSql + Sync> {
            match p {
                SqlParam::Text(s) => Box::new(s.clone()),
                SqlParam::Int(n) => Box::new(*n),
                SqlParam::Json(v) => Box::new(v.clone()),
                SqlParam::Null => Box::new(Option::<String>::None),
            }
        })
        .collect()
}

fn cell(row: &postgres::Row, i: usize) -> SqlValue {
    if let Ok(v) = row.try_get::<_, Option<String>>(i) {
        return v.map_or(SqlValue::Null, SqlValue::Text);
    }
    if let Ok(v) = row.try_get::<_, Option<i64>>(i) {
        return v.map_or(SqlValue::Null, SqlValue::Int);
    }
    if let Ok(v) = row.try_get::<_, Option<i32>>(i) {
        return v.map_or(SqlValue::Null, |n| SqlValue::Int(n.into()));
    }
    SqlValue::Other
}

impl SqlExec for NativePg {
    fn execute(&mut self, sql: &str, p: &[SqlParam]) -> Result<u64, StoreError> {
        let owned = params(p);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            owned.iter().map(|b| b.as_ref()).collect();
        self.0
            .execute(sql, &refs)
            .map_err(|e| StoreError::new(format!("{e:?}")))
    }

    fn query(&mut self, sql: &str, p: &[SqlParam]) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        let owned = params(p);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            owned.iter().map(|b| b.as_ref()).collect();
        let rows = self
            .0
            .query(sql, &refs)
            .map_err(|e| StoreError::new(format!("{e:?}")))?;
        Ok(rows
            .iter()
            .map(|row| (0..row.len()).map(|i| cell(row, i)).collect())
            .collect())
    }
}
