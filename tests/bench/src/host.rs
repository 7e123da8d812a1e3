//! The test host process (`spin-test-host`, the `spin up` stand-in): start, log tail, CPU quiet, peak RSS.
//!
//! Redis servers, databases and the native store adapters come from `beds24-testkit`.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use beds24_testkit::RedisServer;

/// Token the bench sends with every webhook (the app is configured to require it).
pub const WEBHOOK_TOKEN: &str = "bench-webhook-token";
const ADMIN_TOKEN: &str = "bench-admin-token";
/// Host log lines kept for error messages (the host logs every job: keep memory bounded).
const LOG_TAIL: usize = 200;

/// Where the test host finds things, and what it talks to.
pub struct HostSetup<'a> {
    pub binary: &'a Path,
    pub manifest: &'a Path,
    pub wasm_dir: &'a Path,
    pub redis: &'a RedisServer,
    pub database_url: String,
    pub beds24_base_url: String,
    pub beds24_origin: String,
    pub beds24_token: String,
}

/// One running `spin-test-host` (the `spin up` stand-in) and the tail of its output.
pub struct Host {
    pub base: String,
    child: Child,
    tail: Arc<Mutex<VecDeque<String>>>,
    batches: Arc<Mutex<Vec<BatchTimes>>>,
}

impl Host {
    /// Start it with every variable `tests/host/tests/e2e/harness.rs` sets, and wait until it listens.
    pub fn start(setup: &HostSetup<'_>) -> Result<Host> {
        let mut child = Command::new(setup.binary)
            .arg("--manifest")
            .arg(setup.manifest)
            .arg("--wasm-dir")
            .arg(setup.wasm_dir)
            .args(["--listen", "127.0.0.1:0"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "SPIN_VARIABLE_DATABASE_URL",
                format!("{}?sslmode=disable", setup.database_url),
            )
            .env("SPIN_VARIABLE_REDIS_URL", setup.redis.url())
            .env(
                "SPIN_VARIABLE_REDIS_HOST",
                format!("127.0.0.1:{}", setup.redis.port),
            )
            .env("SPIN_VARIABLE_POSTGRES_HOST", "127.0.0.1:5432")
            .env("SPIN_VARIABLE_BEDS24_API_URL", &setup.beds24_base_url)
            .env("SPIN_VARIABLE_BEDS24_API_ORIGIN", &setup.beds24_origin)
            .env("SPIN_VARIABLE_BEDS24_TOKEN", &setup.beds24_token)
            .env("SPIN_VARIABLE_BEDS24_WRITE_REFRESH_TOKEN", "")
            .env("SPIN_VARIABLE_BEDS24_WEBHOOK_TOKEN", WEBHOOK_TOKEN)
            .env("SPIN_VARIABLE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("SPIN_VARIABLE_RETRY_DELAYS", "5,25,125")
            .env("SPIN_VARIABLE_JOB_LEASE_SECONDS", "30")
            .env("SPIN_VARIABLE_BATCH_SIZE", "50")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start the test host {}", setup.binary.display()))?;
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let batches = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().context("host stdout")?;
        let stderr = child.stderr.take().context("host stderr")?;
        // Keep draining both pipes for the whole run: a full pipe would stall the host.
        for (stream, tx) in [
            (Box::new(stdout) as Box<dyn std::io::Read + Send>, Some(tx)),
            (Box::new(stderr), None),
        ] {
            let tail = Arc::clone(&tail);
            let batches = Arc::clone(&batches);
            std::thread::spawn(move || {
                let echo = std::env::var_os("BENCH_ECHO").is_some();
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let (Some(tx), Some(url)) =
                        (&tx, line.strip_prefix("spin-test-host: listening on "))
                    {
                        let _ = tx.send(url.trim().to_owned());
                    }
                    if echo {
                        eprintln!("{line}");
                    }
                    if let Some(times) = BatchTimes::parse(&line) {
                        batches
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(times);
                    }
                    let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
                    if tail.len() == LOG_TAIL {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            });
        }
        let mut host = Host {
            base: String::new(),
            child,
            tail,
            batches,
        };
        match rx.recv_timeout(Duration::from_secs(180)) {
            Ok(base) => host.base = base,
            Err(_) => bail!(
                "the test host did not start; its output:\n{}",
                host.log_tail()
            ),
        }
        Ok(host)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The worker's batch timings logged since the last call.
    pub fn take_batches(&self) -> Vec<BatchTimes> {
        std::mem::take(&mut *self.batches.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn log_tail(&self) -> String {
        self.tail
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Fails when the host has exited (it exits when its Redis connection drops).
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "the test host exited ({status}); its output:\n{}",
                self.log_tail()
            );
        }
        Ok(())
    }

    /// CPU time (user + system) the host has used, in clock ticks.
    fn cpu_ticks(&self) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    }

    /// Wait until the host has used under 10 % of a core for two 200 ms windows in a row, so that
    /// leftover work (the worker's backlog of wake-up messages) does not leak into the next measurement.
    pub fn wait_quiet(&self, timeout: Duration) {
        let start = Instant::now();
        let mut quiet = 0;
        let mut last = self.cpu_ticks();
        while quiet < 2 && start.elapsed() < timeout {
            std::thread::sleep(Duration::from_millis(200));
            let now = self.cpu_ticks();
            quiet = match (last, now) {
                (Some(a), Some(b)) if b.saturating_sub(a) <= 2 => quiet + 1,
                _ => 0,
            };
            last = now;
        }
    }

    /// `VmHWM` (peak resident set) of the host, in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The repository root (this crate lives in `tests/bench`).
pub fn repo_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    dir.canonicalize().unwrap_or(dir)
}

/// One worker `batch done` log line: jobs and where their time went (ms).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchTimes {
    pub jobs: u64,
    pub fetch_ms: f64,
    pub store_ms: f64,
    pub settle_ms: f64,
}

impl BatchTimes {
    fn parse(line: &str) -> Option<BatchTimes> {
        let json = &line[line.find('{')?..];
        let value: serde_json::Value = serde_json::from_str(json).ok()?;
        if value["msg"] != "batch done" {
            return None;
        }
        Some(BatchTimes {
            jobs: value["jobs"].as_u64()?,
            fetch_ms: value["fetchMs"].as_f64()?,
            store_ms: value["storeMs"].as_f64()?,
            settle_ms: value["settleMs"].as_f64()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_workers_batch_line() {
        let line = r#"[worker] {"fetchMs":12,"jobs":50,"level":"info","msg":"batch done","settleMs":5,"storeMs":13,"synced":50,"timestamp":"2026-11-26T04:20:00.000Z"}"#;
        assert_eq!(
            BatchTimes::parse(line),
            Some(BatchTimes {
                jobs: 50,
                fetch_ms: 12.0,
                store_ms: 13.0,
                settle_ms: 5.0
            })
        );
        assert_eq!(
            BatchTimes::parse(r#"[worker] {"msg":"booking synced"}"#),
            None
        );
    }
}
