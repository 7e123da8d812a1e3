//! End-to-end harness: a private redis-server, a fresh Postgres database, the mock
//! Beds24 and the test host running the real built components, all on loopback.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

pub use beds24_testkit::{wait_for, Database, RedisServer};
use mock_beds24::MockBeds24;

pub const WEBHOOK_TOKEN: &str = "hook-secret-for-tests";
pub const ADMIN_TOKEN: &str = "admin-secret-for-tests";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Directory holding the built components; fails loudly when they are missing or stale.
pub fn wasm_dir() -> PathBuf {
    let dir = std::env::var("SPIN_TEST_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target/wasm32-wasip2/release"));
    for name in ["webhook", "worker", "worker-http", "admin"] {
        let wasm = dir.join(format!("beds24_{}.wasm", name.replace('-', "_")));
        let built = std::fs::metadata(&wasm)
            .and_then(|m| m.modified())
            .unwrap_or_else(|_| {
                panic!(
                    "{} is missing: run scripts/build-components (or scripts/test)",
                    wasm.display()
                )
            });
        // What goes into the component: its own sources, the core, the glue, the SQL.
        let inputs = [
            format!("components/{name}/src"),
            "crates/core/src".into(),
            "crates/spin-glue/src".into(),
            "migrations".into(),
        ];
        let sources = newest_source(&repo_root(), &inputs);
        assert!(
            built >= sources,
            "{} is older than its sources: run scripts/build-components",
            wasm.display()
        );
    }
    dir
}

fn newest_source(root: &Path, dirs: &[String]) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    let mut stack: Vec<PathBuf> = dirs.iter().map(|d| root.join(d)).collect();
    while let Some(path) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .is_some_and(|e| e == "rs" || e == "sql" || e == "html")
            {
                newest = newest.max(
                    entry
                        .metadata()
                        .and_then(|m| m.modified())
                        .unwrap_or(newest),
                );
            }
        }
    }
    newest
}

/// Which manifest the app is served from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Manifest {
    /// `spin.toml`: the Redis-trigger worker beside the HTTP components.
    Main,
    /// `deploy/cloud/spin.toml`: HTTP triggers only (Fermyon Cloud, Akamai Functions),
    /// the worker behind `/api/worker/run`.
    Cloud,
}

impl Manifest {
    /// Its path inside the repository.
    pub fn relative_path(self) -> &'static str {
        match self {
            Manifest::Main => "spin.toml",
            Manifest::Cloud => "deploy/cloud/spin.toml",
        }
    }

    /// Whether it has a Redis-trigger worker.
    pub fn has_redis_worker(self) -> bool {
        self == Manifest::Main
    }
}

/// Settings of one app instance; tests adjust the defaults.
#[derive(Clone)]
pub struct AppConfig {
    /// The manifest served.
    pub manifest: Manifest,
    pub webhook_token: String,
    pub retry_delays: String,
    pub lease_seconds: String,
    pub beds24_origin: Option<String>,
    pub token: Option<String>,
    pub refresh_token: Option<String>,
    pub batch_size: String,
    /// Run only these components (`spin up --component-id …`); empty = all.
    pub components: Vec<&'static str>,
    /// Reach Postgres through this local port (a `TcpProxy`) instead of 5432.
    pub pg_port: Option<u16>,
    /// Further `SPIN_VARIABLE_*` settings, e.g. ("BEDS24_TIMEOUT_SECONDS", "1").
    pub extra_env: Vec<(&'static str, String)>,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            manifest: Manifest::Main,
            webhook_token: String::new(),
            retry_delays: "5,25,125".into(),
            lease_seconds: "30".into(),
            beds24_origin: None,
            token: None,
            refresh_token: None,
            batch_size: "50".into(),
            components: Vec::new(),
            pg_port: None,
            extra_env: Vec::new(),
        }
    }
}

/// One running test host (`spin up` stand-in) with its captured log lines.
pub struct App {
    pub base: String,
    child: Child,
    pub logs: Arc<Mutex<Vec<String>>>,
    _app_dir: Option<tempfile::TempDir>,
}

/// `E2E_SPIN=/path/to/spin`: run the suite under a real Spin CLI instead of the test
/// host (CI has no Spin; this is how a release is checked on Spin 4.0.x and 3.6.x).
fn real_spin() -> Option<PathBuf> {
    std::env::var_os("E2E_SPIN").map(PathBuf::from)
}

/// A directory Spin can load the app from: the manifest at its place in the repository,
/// with `target/wasm32-wasip2/release` pointing at the built components (which may
/// live in a target dir outside the checkout).
fn spin_app_dir(manifest: Manifest) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join(manifest.relative_path());
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(repo_root().join(manifest.relative_path()), copy).unwrap();
    let target = dir.path().join("target/wasm32-wasip2");
    std::fs::create_dir_all(&target).unwrap();
    std::os::unix::fs::symlink(wasm_dir(), target.join("release")).unwrap();
    dir
}

impl App {
    pub fn start(redis: &RedisServer, db: &Database, mock: &MockBeds24, config: &AppConfig) -> App {
        let spin = real_spin();
        let app_dir = spin.as_ref().map(|_| spin_app_dir(config.manifest));
        let mut command = match (&spin, &app_dir) {
            (Some(spin), Some(dir)) => {
                let mut command = Command::new(spin);
                // `spin up` runs each trigger as a child process: a group of its own lets
                // `kill` end them all, as a crash or a supervisor's stop would.
                std::os::unix::process::CommandExt::process_group(&mut command, 0);
                command
                    .arg("up")
                    .arg("--from")
                    .arg(dir.path().join(config.manifest.relative_path()));
                command
            }
            _ => {
                let mut command = Command::new(env!("CARGO_BIN_EXE_spin-test-host"));
                command
                    .arg("--manifest")
                    .arg(repo_root().join(config.manifest.relative_path()))
                    .arg("--wasm-dir")
                    .arg(wasm_dir())
                    .args(["--listen", "127.0.0.1:0"]);
                command
            }
        };
        let http_served = config.components.is_empty()
            || config
                .components
                .iter()
                .any(|c| matches!(*c, "webhook" | "admin" | "worker-http"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "HOME",
                std::env::var("HOME").unwrap_or_else(|_| "/tmp".into()),
            )
            .env(
                "SPIN_VARIABLE_DATABASE_URL",
                format!("{}?sslmode=disable", db.url_via(config.pg_port)),
            )
            .env("SPIN_VARIABLE_REDIS_URL", redis.url())
            .env(
                "SPIN_VARIABLE_REDIS_HOST",
                format!("127.0.0.1:{}", redis.port),
            )
            .env(
                "SPIN_VARIABLE_POSTGRES_HOST",
                format!("127.0.0.1:{}", config.pg_port.unwrap_or(5432)),
            )
            .env("SPIN_VARIABLE_BEDS24_API_URL", mock.base_url())
            .env(
                "SPIN_VARIABLE_BEDS24_API_ORIGIN",
                config
                    .beds24_origin
                    .clone()
                    .unwrap_or_else(|| mock.origin()),
            )
            .env(
                "SPIN_VARIABLE_BEDS24_TOKEN",
                config
                    .token
                    .clone()
                    .unwrap_or_else(|| mock.long_life_token()),
            )
            .env(
                "SPIN_VARIABLE_BEDS24_WRITE_REFRESH_TOKEN",
                config.refresh_token.clone().unwrap_or_default(),
            )
            .env("SPIN_VARIABLE_BEDS24_WEBHOOK_TOKEN", &config.webhook_token)
            .env("SPIN_VARIABLE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("SPIN_VARIABLE_RETRY_DELAYS", &config.retry_delays)
            .env("SPIN_VARIABLE_JOB_LEASE_SECONDS", &config.lease_seconds)
            .env("SPIN_VARIABLE_BATCH_SIZE", &config.batch_size)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for id in &config.components {
            command.args(["--component-id", id]);
        }
        if spin.is_some() {
            // `spin up` hands its options to every trigger and the Redis trigger refuses
            // `--listen`: the HTTP trigger reads its address from this variable too.
            command.env(
                "SPIN_HTTP_LISTEN_ADDR",
                format!("127.0.0.1:{}", beds24_testkit::free_port()),
            );
        }
        for (name, value) in &config.extra_env {
            command.env(format!("SPIN_VARIABLE_{name}"), value);
        }
        let mut child = command.spawn().expect("spawn spin-test-host");
        let logs = Arc::new(Mutex::new(Vec::new()));
        // Keep draining both pipes for the whole run: a closed pipe breaks later writes.
        let (tx, rx) = std::sync::mpsc::channel();
        let worker_only_ready = tx.clone();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for (stream, tx) in [
            (Box::new(stdout) as Box<dyn std::io::Read + Send>, Some(tx)),
            (Box::new(stderr), None),
        ] {
            let logs = Arc::clone(&logs);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    // The test host's ready line, or Spin's "Serving http://…".
                    let ready = line
                        .strip_prefix("spin-test-host: listening on ")
                        .or_else(|| line.trim().strip_prefix("Serving "));
                    if let (Some(tx), Some(url)) = (&tx, ready) {
                        let _ = tx.send(url.trim().trim_end_matches('/').to_owned());
                    }
                    if std::env::var_os("E2E_ECHO").is_some() {
                        eprintln!("{line}");
                    }
                    logs.lock().unwrap().push(line);
                }
            });
        }
        if spin.is_some() && !http_served {
            // A worker-only Spin prints no ready line: give its subscription a moment.
            std::thread::sleep(Duration::from_secs(2));
            let _ = worker_only_ready.send(String::new());
        }
        let base = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| {
                panic!(
                    "test host did not start; its output:\n{}",
                    logs.lock().unwrap().join("\n")
                )
            });
        App {
            base,
            child,
            logs,
            _app_dir: app_dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn log_text(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Has the host process exited (Spin exits when its Redis connection drops)?
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    pub fn kill(&mut self) {
        if real_spin().is_some() {
            let group = format!("-{}", self.child.id());
            let _ = Command::new("kill").args(["-9", "--", &group]).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.kill();
    }
}
