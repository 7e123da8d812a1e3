//! Native implementations of the core's store traits, against the real Redis and Postgres.

#![allow(dead_code)]

use beds24_sync_core::store::{
    RedisArg, RedisExec, RedisValue, SqlExec, SqlParam, SqlValue, StoreError,
};

/// A Redis connection on its own database number, emptied first, so tests in
/// parallel do not see each other's keys.
pub struct NativeRedis(pub redis::Connection);

impl NativeRedis {
    pub fn fresh(db: u8) -> Self {
        let base = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let client =
            redis::Client::open(format!("{}/{db}", base.trim_end_matches('/'))).expect("redis url");
        let mut conn = client
            .get_connection()
            .expect("Redis must be running (scripts/services start it)");
        redis::cmd("FLUSHDB").exec(&mut conn).unwrap();
        NativeRedis(conn)
    }
}

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
    fn execute(&mut self, command: &str, args: &[RedisArg]) -> Result<Vec<RedisValue>, StoreError> {
        let mut cmd = redis::cmd(command);
        for arg in args {
            match arg {
                RedisArg::Int(n) => cmd.arg(*n),
                RedisArg::Bytes(b) => cmd.arg(b.as_slice()),
            };
        }
        let value: redis::Value = cmd
            .query(&mut self.0)
            .map_err(|e| StoreError::new(e.to_string()))?;
        let mut out = Vec::new();
        flatten(value, &mut out);
        Ok(out)
    }
}

/// A fresh Postgres database per test, dropped at the end.
pub struct NativePg {
    pub client: postgres::Client,
    admin_url: String,
    name: String,
}

impl NativePg {
    pub fn fresh(tag: &str) -> Self {
        let admin_url = std::env::var("TEST_DATABASE_ADMIN_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("b24_core_{tag}_{}", std::process::id());
        let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls)
            .expect("Postgres must be running (scripts/services start it)");
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
        let client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        NativePg {
            client,
            admin_url,
            name,
        }
    }
}

impl Drop for NativePg {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
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

impl SqlExec for NativePg {
    fn execute(&mut self, sql: &str, p: &[SqlParam]) -> Result<u64, StoreError> {
        let owned = params(p);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            owned.iter().map(|b| b.as_ref()).collect();
        self.client
            .execute(sql, &refs)
            .map_err(|e| StoreError::new(format!("{e:?}")))
    }

    fn query(&mut self, sql: &str, p: &[SqlParam]) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        let owned = params(p);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            owned.iter().map(|b| b.as_ref()).collect();
        let rows = self
            .client
            .query(sql, &refs)
            .map_err(|e| StoreError::new(format!("{e:?}")))?;
        Ok(rows
            .iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        if let Ok(v) = row.try_get::<_, Option<String>>(i) {
                            return v.map(SqlValue::Text).unwrap_or(SqlValue::Null);
                        }
                        if let Ok(v) = row.try_get::<_, Option<i64>>(i) {
                            return v.map(SqlValue::Int).unwrap_or(SqlValue::Null);
                        }
                        if let Ok(v) = row.try_get::<_, Option<i32>>(i) {
                            return v.map(|n| SqlValue::Int(n.into())).unwrap_or(SqlValue::Null);
                        }
                        SqlValue::Other
                    })
                    .collect()
            })
            .collect())
    }
}
