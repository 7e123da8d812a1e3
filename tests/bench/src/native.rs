//! A `RedisExec` that records the core's queue commands into one pipeline, to push many jobs fast.

use beds24_sync_core::store::{RedisArg, RedisExec, RedisValue, StoreError};

/// Records every command and answers it with `canned`, so that the core's `Queue` builds the
/// real script calls; `flush` then sends them in one pipeline and returns each real reply's
/// first element as text, for the caller to check.
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
        Ok(replies.into_iter().map(text).collect())
    }
}

fn text(value: redis::Value) -> String {
    match value {
        redis::Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
        redis::Value::SimpleString(s) => s,
        redis::Value::Okay => "OK".into(),
        redis::Value::Int(n) => n.to_string(),
        // Flat, as Spin's `execute` would hand it over: the values in order.
        redis::Value::Array(items) => items.into_iter().map(text).collect::<Vec<_>>().join(" "),
        other => format!("{other:?}"),
    }
}

impl RedisExec for Recorder {
    fn execute(&mut self, name: &str, args: &[RedisArg]) -> Result<Vec<RedisValue>, StoreError> {
        let mut cmd = redis::cmd(name);
        for arg in args {
            match arg {
                RedisArg::Int(n) => cmd.arg(*n),
                RedisArg::Bytes(b) => cmd.arg(b.as_slice()),
            };
        }
        self.pipeline.add_command(cmd);
        Ok(vec![RedisValue::Status(self.canned.to_owned())])
    }
}
