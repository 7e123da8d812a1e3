//! Command-line options of the bench and the sizes of each mode (full or smoke).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::host::repo_root;

/// How big the run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The numbers for BENCHMARKS.md.
    Full,
    /// A tiny run that proves every measurement works (the smoke test).
    Smoke,
}

/// Sizes of one mode.
#[derive(Clone, Debug)]
pub struct Sizes {
    /// Keep-alive connections of the acknowledgement and end-to-end runs.
    pub concurrency: Vec<usize>,
    /// Distinct webhooks per measured run, and per warm-up before it.
    pub ack_requests: u64,
    pub ack_warmup: u64,
    /// Rows of the Postgres reference (batched upserts over one native connection).
    pub postgres_rows: u64,
    /// Bookings of the end-to-end sync at 200 ms mock latency.
    pub sync_n_slow: u64,
    /// Distinct bookings arriving together (economy, case b).
    pub economy_n: u64,
    /// Jobs pushed through the queue scripts for the memory benchmark.
    pub memory_jobs: u64,
    /// Bookings the backfill benchmark imports.
    pub backfill_n: u64,
}

impl Mode {
    pub fn sizes(self) -> Sizes {
        match self {
            Mode::Full => Sizes {
                concurrency: vec![32, 64],
                ack_requests: 20_000,
                ack_warmup: 2_000,
                postgres_rows: 10_000,
                sync_n_slow: 3_000,
                economy_n: 1_000,
                memory_jobs: 100_000,
                backfill_n: 10_000,
            },
            Mode::Smoke => Sizes {
                concurrency: vec![8],
                ack_requests: 300,
                ack_warmup: 50,
                postgres_rows: 100,
                sync_n_slow: 50,
                economy_n: 100,
                memory_jobs: 2_000,
                backfill_n: 300,
            },
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Smoke => "smoke",
        }
    }
}

/// Everything a run needs to know.
#[derive(Clone, Debug)]
pub struct Options {
    pub mode: Mode,
    /// Where the table goes: BENCHMARKS.md (full) or a temporary file (smoke).
    pub out: PathBuf,
    pub wasm_dir: PathBuf,
    pub host_bin: PathBuf,
    /// A real `spin` to run benchmarks 1-2 under as well (`--spin`: the one on PATH).
    pub spin: Option<PathBuf>,
    /// The command line recorded in the report.
    pub command: String,
}

const USAGE: &str = "usage: beds24-bench [--smoke] [--spin | --spin-bin FILE] [--out FILE] [--wasm-dir DIR] [--host-bin FILE]
  --smoke        tiny run, one concurrency; writes to a temporary file unless --out is given
  --spin         also run benchmarks 1-2 under the `spin` on PATH (Spin 3.4+ / 4.x CLI)
  --spin-bin F   the same with this spin binary
  --out FILE     where to write the table (default BENCHMARKS.md at the repository root)
  --wasm-dir DIR built components (default $SPIN_TEST_WASM_DIR, else target/wasm32-wasip2/release)
  --host-bin F   spin-test-host binary (default $SPIN_TEST_HOST_BIN, else next to this binary)";

impl Options {
    /// Parse `args` (without the program name); env: SPIN_TEST_WASM_DIR, SPIN_TEST_HOST_BIN, BENCH_COMMAND.
    pub fn parse(args: &[String]) -> Result<Options> {
        let mut mode = Mode::Full;
        let (mut out, mut wasm_dir, mut host_bin, mut spin) = (None, None, None, None);
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = || {
                it.next()
                    .cloned()
                    .with_context(|| format!("{arg} needs a value\n{USAGE}"))
            };
            match arg.as_str() {
                "--smoke" => mode = Mode::Smoke,
                "--out" => out = Some(PathBuf::from(value()?)),
                "--wasm-dir" => wasm_dir = Some(PathBuf::from(value()?)),
                "--host-bin" => host_bin = Some(PathBuf::from(value()?)),
                "--spin" => spin = Some(spin_on_path()?),
                "--spin-bin" => spin = Some(PathBuf::from(value()?)),
                "-h" | "--help" => bail!("{USAGE}"),
                other => bail!("unknown argument {other:?}\n{USAGE}"),
            }
        }
        let out = match (out, mode) {
            (Some(path), _) => path,
            (None, Mode::Full) => repo_root().join("BENCHMARKS.md"),
            (None, Mode::Smoke) => {
                std::env::temp_dir().join(format!("beds24-bench-smoke-{}.md", std::process::id()))
            }
        };
        let command = std::env::var("BENCH_COMMAND").unwrap_or_else(|_| {
            std::iter::once("beds24-bench".to_owned())
                .chain(args.iter().cloned())
                .collect::<Vec<_>>()
                .join(" ")
        });
        Ok(Options {
            mode,
            out,
            wasm_dir: wasm_dir.unwrap_or_else(default_wasm_dir),
            host_bin: host_bin
                .or_else(|| std::env::var_os("SPIN_TEST_HOST_BIN").map(PathBuf::from))
                .unwrap_or_else(default_host_bin),
            spin,
            command,
        })
    }

    /// Fail early, with the fix, when the components or the host are missing.
    pub fn check_inputs(&self) -> Result<()> {
        for name in [
            "beds24_webhook",
            "beds24_worker",
            "beds24_admin",
            "noop_component",
        ] {
            let wasm = self.wasm_dir.join(format!("{name}.wasm"));
            if !wasm.is_file() {
                bail!(
                    "{} is missing: run scripts/build-components (or scripts/bench)",
                    wasm.display()
                );
            }
        }
        if let Some(spin) = self.spin.as_ref().filter(|s| !s.is_file()) {
            bail!("{} is not a file: pass a spin binary", spin.display());
        }
        if !self.host_bin.is_file() {
            bail!(
                "{} is missing: cargo build --release -p spin-test-host (or pass --host-bin)",
                self.host_bin.display()
            );
        }
        Ok(())
    }
}

/// The first `spin` on PATH.
fn spin_on_path() -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("spin"))
        .find(|candidate| candidate.is_file())
        .context("--spin: no `spin` on PATH (build Spin 3.4+ or 4.x, or pass --spin-bin FILE)")
}

fn default_wasm_dir() -> PathBuf {
    std::env::var_os("SPIN_TEST_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/wasm32-wasip2/release"))
}

/// `spin-test-host` next to this executable (both come out of the same `cargo build --release`).
fn default_host_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.with_file_name("spin-test-host")
}
