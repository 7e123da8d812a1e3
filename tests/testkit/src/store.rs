//! The core's store traits on native Redis and Postgres clients.

use beds24_sync_core::store::{
    RedisArg, RedisExec, RedisValue, SqlExec, SqlParam, SqlValue, StoreError,
};

use beds24_sync_core::keys::Keys;

use crate::Database;

/// `RedisExec` on a native connection, replies flattened as Spin's `execute` does.
pub struct NativeRedis(pub redis::Connection);

impl NativeRedis {
    /// Database `db` of the shared Redis (`REDIS_URL`), emptied first, so tests in
    /// parallel that each take their own number do not see each other's keys.
    pub fn fresh(db: u8) -> Self {
        let base = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let client =
            redis::Client::open(format!("{}/{db}", base.trim_end_matches('/'))).expect("redis url");
        let mut conn = client
            .get_connection()
            .expect("Redis must be running (scripts/services starts it)");
        redis::cmd("FLUSHDB").exec(&mut conn).expect("FLUSHDB");
        NativeRedis(conn)
    }
}

impl NativeRedis {
    /// A connection to the shared Redis (`REDIS_URL`, database 0) and keys under a
    /// prefix no other test uses: tests isolate by prefix, not by database number.
    /// What an earlier run of the same test left under `t:<tag>:` is deleted first,
    /// so runs do not pile up keys.
    pub fn isolated(tag: &str) -> (Self, Keys) {
        let base = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let client = redis::Client::open(base).expect("redis url");
        let conn = client
            .get_connection()
            .expect("Redis must be running (scripts/services starts it)");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let mut redis = NativeRedis(conn);
        crate::delete_prefix(&mut redis, &format!("t:{tag}:"));
        let prefix = format!("t:{tag}:{}:{nanos}:", std::process::id());
        (redis, Keys::new(prefix))
    }
}

/// Build a command from store arguments.
pub fn command(name: &str, args: &[RedisArg]) -> redis::Cmd {
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
pub fn flatten(value: redis::Value, out: &mut Vec<RedisValue>) {
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
        let value: redis::Value = command(name, args).query(&mut self.0).map_err(|e| {
            if e.is_io_error() || e.is_connection_dropped() {
                StoreError::Unreachable(e.to_string())
            } else {
                StoreError::redis_command(e.to_string())
            }
        })?;
        let mut out = Vec::new();
        flatten(value, &mut out);
        Ok(out)
    }
}

/// `SqlExec` on a native (blocking) Postgres client, optionally owning a fresh database.
pub struct NativePg {
    pub client: postgres::Client,
    _database: Option<Database>,
}

impl NativePg {
    pub fn new(client: postgres::Client) -> Self {
        NativePg {
            client,
            _database: None,
        }
    }

    /// A client on a fresh database that is dropped with it.
    pub fn fresh(tag: &str) -> Self {
        let database = Database::create(tag);
        NativePg {
            client: database.client(),
            _database: Some(database),
        }
    }
}

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

/// Postgres's refusal by SQLSTATE and names, as the Spin adapter reports it; never
/// its message or detail (they quote row values).
pub fn store_error(e: postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Rejected {
            sqlstate: db.code().code().to_owned(),
            constraint: db.constraint().map(str::to_owned),
            column: db.column().map(str::to_owned),
            table: db.table().map(str::to_owned),
        },
        None if e.is_closed() => StoreError::Unreachable(e.to_string()),
        None => StoreError::Protocol(e.to_string()),
    }
}

impl SqlExec for NativePg {
    fn execute(&mut self, sql: &str, p: &[SqlParam]) -> Result<u64, StoreError> {
        let owned = params(p);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            owned.iter().map(|b| b.as_ref()).collect();
        self.client.execute(sql, &refs).map_err(store_error)
    }

    /// Panics on a result with zero rows, as the test host traps: Spin 4.0.0–4.0.2
    /// never return from such a query (spinframework/spin#3671), so every core test
    /// that runs a query checks our queries cannot produce one.
    fn query(&mut self, sql: &str, p: &[SqlParam]) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        let owned = params(p);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            owned.iter().map(|b| b.as_ref()).collect();
        let rows = self.client.query(sql, &refs).map_err(store_error)?;
        assert!(
            !rows.is_empty(),
            "query returned zero rows; Spin 4.0.0-4.0.2 would hang forever on it \
             (spinframework/spin#3671): {}",
            sql.chars().take(200).collect::<String>()
        );
        Ok(rows
            .iter()
            .map(|row| (0..row.len()).map(|i| cell(row, i)).collect())
            .collect())
    }
}
