//! A redis-server of our own (free port, temp dir), so tests can stop and restart it freely.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;

pub struct RedisServer {
    pub port: u16,
    appendonly: bool,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// AOF on (fsync always) and expiry events on, like production with `scripts/run`.
    pub fn start() -> Self {
        Self::start_with(true)
            .expect("redis-server must be installed (scripts/services installs it)")
    }

    pub fn start_with(appendonly: bool) -> anyhow::Result<Self> {
        let mut server = RedisServer {
            port: crate::free_port(),
            appendonly,
            dir: tempfile::tempdir()?,
            child: None,
        };
        server.launch()?;
        Ok(server)
    }

    fn launch(&mut self) -> anyhow::Result<()> {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args([
                "--appendonly",
                if self.appendonly { "yes" } else { "no" },
                "--appendfsync",
                "always",
            ])
            .args(["--notify-keyspace-events", "Ex"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("redis-server must be installed (scripts/services installs it)")?;
        self.child = Some(child);
        crate::wait_for("redis-server to answer", Duration::from_secs(10), || {
            self.connection(0).ok()
        });
        Ok(())
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn connection(&self, db: u8) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(format!("{}/{db}", self.url()))?
            .get_connection_with_timeout(Duration::from_secs(2))
    }

    /// `INFO memory` → `used_memory` in bytes.
    pub fn used_memory(&self) -> anyhow::Result<u64> {
        let info: String = redis::cmd("INFO")
            .arg("memory")
            .query(&mut self.connection(0)?)?;
        info.lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse().ok())
            .context("INFO memory has no used_memory")
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stop and start again on the same port and data directory (AOF replays the data).
    pub fn restart(&mut self) {
        self.stop();
        self.launch().expect("redis-server restarts");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
