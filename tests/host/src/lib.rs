//! spin-test-host: a small Spin-compatible host on wasmtime that runs our spin-sdk 5.2 components in CI.
//!
//! It reads spin.toml and a runtime config, compiles every component once,
//! serves the HTTP trigger with hyper and runs the Redis trigger with Redis
//! pub/sub, reproducing the Spin 4.0.2 behaviours our tests depend on.

pub mod allowed_hosts;
pub mod bindings;
pub mod guest_log;
pub mod host;
pub mod http_trigger;
pub mod manifest;
pub mod redis_trigger;
pub mod routes;
pub mod runtime;
pub mod variables;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::http_trigger::HttpTrigger;
use crate::manifest::App;
use crate::redis_trigger::RedisTrigger;
use crate::runtime::Runtime;

/// Command-line options (see `--help`).
#[derive(Debug, Clone, clap::Parser)]
#[command(version, about = "Runs a Spin app (spin.toml) on wasmtime, for tests")]
pub struct Options {
    /// Path to spin.toml.
    #[arg(long)]
    pub manifest: PathBuf,
    /// Runtime config file (key-value stores), like `spin up --runtime-config-file`.
    #[arg(long)]
    pub runtime_config: Option<PathBuf>,
    /// Address for the HTTP trigger; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// Load each component from `<wasm-dir>/<file name of its source>`
    /// instead of its `source` path relative to the manifest.
    #[arg(long)]
    pub wasm_dir: Option<PathBuf>,
    /// Run only these components and their triggers, like Spin's (experimental)
    /// `spin up --component-id`; repeatable. Default: all.
    #[arg(long = "component-id")]
    pub component_ids: Vec<String>,
}

/// Runs the app until a trigger fails (e.g. the Redis connection drops).
pub async fn run(opts: Options) -> Result<()> {
    let mut app = App::load(
        &opts.manifest,
        opts.runtime_config.as_deref(),
        opts.wasm_dir.as_deref(),
    )?;
    if !opts.component_ids.is_empty() {
        app.retain_components(&opts.component_ids)?;
    }
    let runtime = Arc::new(Runtime::load(&app)?);
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.listen))?;
    runtime.set_self_origin(listener.local_addr()?);
    let http = Arc::new(HttpTrigger::new(&app, runtime.clone())?);
    let redis = Arc::new(RedisTrigger::new(&app, runtime)?);

    let subscribers = redis.subscribe().await?;
    let addr = listener.local_addr()?;
    for (route, component) in app.router.list() {
        log!("route http://{addr}{route} -> {component}");
    }
    // The one line on stdout: tests wait for it before sending anything.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "spin-test-host: listening on http://{addr}")?;
    stdout.flush()?;
    drop(stdout);

    tokio::select! {
        r = http.serve(listener) => r,
        r = redis.run(subscribers) => r,
    }
}
