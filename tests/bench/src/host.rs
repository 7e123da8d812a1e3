//! The processes serving the app: the test host or a real `spin`, in the production shape (HTTP process + worker process).
//!
//! Redis servers, databases and the native store adapters come from `beds24-testkit`.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use beds24_testkit::RedisServer;

use crate::batches::BatchTimes;
use crate::cpu;

/// Token the bench sends with every webhook (the app is configured to require it).
pub const WEBHOOK_TOKEN: &str = "bench-webhook-token";
const ADMIN_TOKEN: &str = "bench-admin-token";
/// Log lines kept for error messages (the app logs every job: keep memory bounded).
const LOG_TAIL: usize = 200;
/// The HTTP process serves these (the bench manifest adds `noop`), as `scripts/run` does.
const HTTP_COMPONENTS: [&str; 3] = ["webhook", "admin", "noop"];
const WORKER_COMPONENTS: [&str; 1] = ["worker"];
/// The worker process's `nice` level in the production shape (`scripts/run`, systemd unit).
pub const WORKER_NICE: i32 = 10;

/// What serves the components.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// `spin-test-host` (wasmtime), CI's stand-in for Spin.
    TestHost(PathBuf),
    /// A real Spin CLI (`spin up`).
    Spin(PathBuf),
}

impl Runtime {
    /// Row-key prefix: test-host rows keep the plain keys, Spin rows start with `spin.`.
    pub fn key_prefix(&self) -> &'static str {
        match self {
            Runtime::TestHost(_) => "",
            Runtime::Spin(_) => "spin.",
        }
    }

    /// "test host" or "Spin 4.0.2", for the table.
    pub fn label(&self) -> String {
        match self {
            Runtime::TestHost(_) => "test host".into(),
            Runtime::Spin(bin) => spin_version(bin).unwrap_or_else(|| "Spin".into()),
        }
    }
}

/// `spin --version` → "Spin 4.0.2".
pub fn spin_version(bin: &Path) -> Option<String> {
    let out = Command::new(bin).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split_whitespace().nth(1)?;
    Some(format!("Spin {version}"))
}

/// Where the processes find things, and what they talk to.
pub struct HostSetup<'a> {
    pub runtime: &'a Runtime,
    /// A directory holding `spin.toml` (the bench manifest) with
    /// `target/wasm32-wasip2/release` pointing at the built components.
    pub app_dir: &'a Path,
    pub wasm_dir: &'a Path,
    pub redis: &'a RedisServer,
    pub database_url: String,
    pub beds24_base_url: String,
    pub beds24_origin: String,
    pub beds24_token: String,
}

/// Every variable the end-to-end tests set, as `SPIN_VARIABLE_<NAME>` pairs.
fn variables(setup: &HostSetup<'_>) -> Vec<(String, String)> {
    [
        (
            "DATABASE_URL",
            format!("{}?sslmode=disable", setup.database_url),
        ),
        ("REDIS_URL", setup.redis.url()),
        ("REDIS_HOST", format!("127.0.0.1:{}", setup.redis.port)),
        ("POSTGRES_HOST", "127.0.0.1:5432".into()),
        ("BEDS24_API_URL", setup.beds24_base_url.clone()),
        ("BEDS24_API_ORIGIN", setup.beds24_origin.clone()),
        ("BEDS24_TOKEN", setup.beds24_token.clone()),
        ("BEDS24_WRITE_REFRESH_TOKEN", String::new()),
        ("BEDS24_WEBHOOK_TOKEN", WEBHOOK_TOKEN.into()),
        ("ADMIN_TOKEN", ADMIN_TOKEN.into()),
        ("RETRY_DELAYS", "5,25,125".into()),
        ("JOB_LEASE_SECONDS", "30".into()),
        ("BATCH_SIZE", "50".into()),
    ]
    .into_iter()
    .map(|(name, value)| (format!("SPIN_VARIABLE_{name}"), value))
    .collect()
}

/// Under Spin, the variables go in a file for its static provider, as `scripts/run` and the
/// systemd unit deploy them (`scripts/variables-file`): the production shape.
fn write_variables_file(setup: &HostSetup<'_>) -> Result<PathBuf> {
    let path = setup.app_dir.join("variables.toml");
    let status = Command::new(repo_root().join("scripts/variables-file"))
        .arg(&path)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(variables(setup))
        .status()
        .context("running scripts/variables-file")?;
    if !status.success() {
        bail!("scripts/variables-file failed ({status})");
    }
    Ok(path)
}

/// The app as deployed: an HTTP process and a worker process of the same manifest.
pub struct Host {
    pub base: String,
    pub http: Process,
    pub worker: Process,
}

impl Host {
    pub fn start(setup: &HostSetup<'_>) -> Result<Host> {
        if matches!(setup.runtime, Runtime::Spin(_)) {
            write_variables_file(setup)?;
        }
        let http = Process::start(setup, "http", &HTTP_COMPONENTS, 0)?;
        // At a lower CPU priority, as `scripts/run` and the systemd unit start it: on shared
        // cores the acknowledgements go first and the worker catches up after a burst.
        let worker = Process::start(setup, "worker", &WORKER_COMPONENTS, WORKER_NICE)?;
        wait_subscribed(setup.redis)?;
        Ok(Host {
            base: http
                .base
                .clone()
                .context("the HTTP process named no address")?,
            http,
            worker,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The worker's batch timings logged since the last call.
    pub fn take_batches(&self) -> Vec<BatchTimes> {
        std::mem::take(
            &mut *self
                .worker
                .batches
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }

    /// Fails when either process has exited (the worker exits when its Redis connection drops).
    pub fn check_alive(&mut self) -> Result<()> {
        self.http.check_alive()?;
        self.worker.check_alive()
    }

    /// Wait until both processes have used under 10 % of a core for two 200 ms windows in a
    /// row, so that leftover work does not leak into the next measurement.
    pub fn wait_quiet(&self, timeout: Duration) {
        let start = Instant::now();
        let mut quiet = 0;
        let ticks = || self.http.cpu_ticks() + self.worker.cpu_ticks();
        let mut last = ticks();
        while quiet < 2 && start.elapsed() < timeout {
            std::thread::sleep(Duration::from_millis(200));
            let now = ticks();
            quiet = if now.saturating_sub(last) <= 2 {
                quiet + 1
            } else {
                0
            };
            last = now;
        }
    }
}

/// The worker process subscribes after it starts: wait until Redis counts its subscriber.
fn wait_subscribed(redis: &RedisServer) -> Result<()> {
    let mut conn = redis.connection(0)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply: Vec<redis::Value> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg("beds24-sync")
            .query(&mut conn)?;
        if matches!(reply.get(1), Some(redis::Value::Int(n)) if *n > 0) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the worker process did not subscribe to beds24-sync within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One `spin up` / `spin-test-host` process (with its children) and the tail of its output.
pub struct Process {
    pub role: &'static str,
    /// `http://127.0.0.1:port` of an HTTP process.
    pub base: Option<String>,
    child: Child,
    tail: Arc<Mutex<VecDeque<String>>>,
    batches: Arc<Mutex<Vec<BatchTimes>>>,
}

impl Process {
    fn command(setup: &HostSetup<'_>, components: &[&str], nice: i32) -> Command {
        let manifest = setup.app_dir.join("spin.toml");
        // `nice -n N program …` execs the program: the child is still the runtime itself.
        let program = |bin: &Path| {
            let mut command = Command::new("nice");
            command.arg("-n").arg(nice.to_string()).arg(bin);
            command
        };
        let mut command = match setup.runtime {
            Runtime::TestHost(bin) => {
                let mut command = program(bin);
                command
                    .arg("--manifest")
                    .arg(&manifest)
                    .arg("--wasm-dir")
                    .arg(setup.wasm_dir)
                    .args(["--listen", "127.0.0.1:0"]);
                command
            }
            Runtime::Spin(bin) => {
                let mut command = program(bin);
                command
                    .arg("up")
                    .arg("--from")
                    .arg(&manifest)
                    .arg("--variable")
                    .arg(format!(
                        "@{}",
                        setup.app_dir.join("variables.toml").display()
                    ));
                // `spin up` hands its options to every trigger, and the Redis trigger refuses
                // `--listen`: the HTTP trigger reads its address from this variable too.
                command.env(
                    "SPIN_HTTP_LISTEN_ADDR",
                    format!("127.0.0.1:{}", beds24_testkit::free_port()),
                );
                command
            }
        };
        for id in components {
            command.args(["--component-id", id]);
        }
        command
    }

    /// Start one process serving `components`, with every variable the end-to-end tests set,
    /// and wait until an HTTP process listens.
    fn start(
        setup: &HostSetup<'_>,
        role: &'static str,
        components: &[&str],
        nice: i32,
    ) -> Result<Process> {
        let mut command = Self::command(setup, components, nice);
        // `spin up` runs its triggers as child processes: a group of their own lets the CPU
        // accounting find them and the drop end them.
        command.process_group(0);
        let mut child = command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "HOME",
                std::env::var("HOME").unwrap_or_else(|_| "/tmp".into()),
            )
            .envs(variables(setup))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start the {role} process ({:?})", setup.runtime))?;
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let batches = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().context("stdout")?;
        let stderr = child.stderr.take().context("stderr")?;
        // Keep draining both pipes for the whole run: a full pipe would stall the process.
        for stream in [
            Box::new(stdout) as Box<dyn std::io::Read + Send>,
            Box::new(stderr),
        ] {
            let (tail, batches, tx) = (Arc::clone(&tail), Arc::clone(&batches), tx.clone());
            std::thread::spawn(move || {
                let echo = std::env::var_os("BENCH_ECHO").is_some();
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    // The test host's ready line, or Spin's "Serving http://…".
                    let ready = line
                        .strip_prefix("spin-test-host: listening on ")
                        .or_else(|| line.trim().strip_prefix("Serving "));
                    if let Some(url) = ready {
                        let _ = tx.send(url.trim().trim_end_matches('/').to_owned());
                    }
                    if echo {
                        eprintln!("[{role}] {line}");
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
        let mut process = Process {
            role,
            base: None,
            child,
            tail,
            batches,
        };
        // A worker-only Spin prints no address; the caller waits for its subscription.
        let serves_http = components.iter().any(|c| HTTP_COMPONENTS.contains(c));
        if serves_http || matches!(setup.runtime, Runtime::TestHost(_)) {
            match rx.recv_timeout(Duration::from_secs(180)) {
                Ok(base) => process.base = Some(base),
                Err(_) => bail!(
                    "the {role} process did not start; its output:\n{}",
                    process.log_tail()
                ),
            }
        }
        process.check_alive()?;
        Ok(process)
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

    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "the {} process exited ({status}); its output:\n{}",
                self.role,
                self.log_tail()
            );
        }
        Ok(())
    }

    /// CPU time (user + system) of the process and its children, in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        cpu::group_ticks(self.child.id())
    }

    /// Largest `VmHWM` (peak resident set) among the process and its children, in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        cpu::group_peak_rss_kib(self.child.id())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // The whole group: `spin up`'s trigger processes too.
        let _ = Command::new("kill")
            .args(["-9", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The repository root (this crate lives in `tests/bench`).
pub fn repo_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    dir.canonicalize().unwrap_or(dir)
}
