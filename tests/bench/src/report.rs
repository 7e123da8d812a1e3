//! The result table: rows with targets and MET / NOT MET, rendered as BENCHMARKS.md with date, machine, commit and command.

use std::fmt::Write as _;
use std::process::Command;

use crate::host::repo_root;
use crate::options::{Mode, Options};

/// Whether a row meets its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Met,
    NotMet,
    /// Measured for information; the issue sets no target.
    Info,
}

impl Status {
    pub fn from_check(met: bool) -> Status {
        if met {
            Status::Met
        } else {
            Status::NotMet
        }
    }

    fn label(self) -> &'static str {
        match self {
            Status::Met => "**MET**",
            Status::NotMet => "**NOT MET**",
            Status::Info => "info",
        }
    }
}

/// One line of the table.
#[derive(Clone, Debug)]
pub struct Row {
    /// Stable key (`1.ack.c8.throughput`, …): the smoke test looks rows up by it.
    pub key: String,
    pub what: String,
    pub measured: String,
    /// The same-run reference the ratio is taken against ("–" when the target is absolute).
    pub reference: String,
    pub ratio: String,
    pub target: String,
    pub status: Status,
    /// Likely reason, printed under the table when the target is not met.
    pub why_not: Option<&'static str>,
}

/// Every row key a run of `mode` must produce (`spin`: with the `--spin` rows).
pub fn expected_keys(mode: Mode, spin: bool) -> Vec<String> {
    let mut keys = Vec::new();
    let prefixes: &[&str] = if spin { &["", "spin."] } else { &[""] };
    for p in prefixes {
        for c in mode.sizes().concurrency {
            keys.push(format!("{p}1.ack.c{c}.throughput"));
            keys.push(format!("{p}1.ack.c{c}.p99"));
            keys.push(format!("{p}2.e2e.c{c}"));
        }
        keys.push(format!("{p}1.cost.webhook"));
        keys.push(format!("{p}2.cost.booking"));
        keys.push(format!("{p}1.budget"));
        keys.push(format!("{p}2.budget"));
    }
    for key in [
        "2.sync.200ms",
        "3a.burst",
        "3b.distinct.0ms",
        "3b.distinct.200ms",
    ] {
        keys.push(key.to_owned());
    }
    for key in ["5.backfill.calls", "5.backfill.rate"] {
        keys.push(key.to_owned());
    }
    for key in ["4a.redis.queue", "4b.host.rss", "4c.redis.e2e"] {
        keys.push(key.to_owned());
    }
    keys
}

/// Facts about the run printed above the table.
pub struct Header {
    pub date: String,
    pub machine: String,
    /// 1-minute load average when the run started: other processes share the cores.
    pub load: String,
    pub commit: String,
    pub command: String,
    pub mode: Mode,
    /// What served the components: the test host, and the Spin binary when `--spin` was given.
    pub runtimes: String,
}

impl Header {
    pub fn collect(options: &Options) -> Header {
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        let model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines().find_map(|l| {
                    l.strip_prefix("model name")
                        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
                })
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let mem_gib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| {
                t.lines().find_map(|l| {
                    l.strip_prefix("MemTotal:")
                        .map(|v| v.trim().trim_end_matches("kB").trim().to_owned())
                })
            })
            .and_then(|kib| kib.parse::<f64>().ok())
            .map_or(String::new(), |kib| {
                format!(", {:.0} GiB RAM", kib / 1024.0 / 1024.0)
            });
        Header {
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            machine: format!("nproc {cpus}, {model}{mem_gib}"),
            load: load_average(),
            commit: commit(),
            command: options.command.clone(),
            mode: options.mode,
            runtimes: match &options.spin {
                Some(spin) => format!(
                    "test host (`spin-test-host`, wasmtime) and {} (`{}`)",
                    crate::host::spin_version(spin).unwrap_or_else(|| "Spin".into()),
                    spin.display()
                ),
                None => "test host (`spin-test-host`, wasmtime) only: no `--spin`".into(),
            },
        }
    }
}

/// The 1-minute load average (`/proc/loadavg`).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

/// `git rev-parse --short HEAD`, marked when the work tree had uncommitted changes.
fn commit() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(repo_root())
            .output()
            .ok()
            .filter(|o| o.status.success())
    };
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]) else {
        return "unknown (not a git checkout)".into();
    };
    let head = String::from_utf8_lossy(&head.stdout).trim().to_owned();
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|o| !o.stdout.is_empty());
    if dirty {
        format!("{head} (plus uncommitted changes)")
    } else {
        head
    }
}

/// Render the whole file.
pub fn render(header: &Header, rows: &[Row], details: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "Written by `scripts/bench` (crate `tests/bench`): the real components in the production \
         shape (an HTTP process serving webhook, admin and the no-op; a worker process), on the test \
         host and, with `--spin`, under a real Spin, each with a private `redis-server` (AOF, fsync \
         every second), a fresh Postgres database and the mock Beds24, all on loopback. Rows whose \
         key starts with `spin.` ran under Spin; the others on the test host. Targets are ratios to a \
         reference measured in the same run on the same machine, served the same way. Not part of \
         the test suite's pass/fail.\n"
    );
    let _ = writeln!(out, "- Date: {}", header.date);
    let _ = writeln!(out, "- Machine: {}", header.machine);
    let _ = writeln!(out, "- Load average (1 min) at start: {}", header.load);
    let _ = writeln!(out, "- Commit: `{}`", header.commit);
    let _ = writeln!(out, "- Command: `{}`", header.command);
    let _ = writeln!(out, "- Runtimes: {}", header.runtimes);
    let _ = writeln!(out, "- Mode: {}\n", header.mode.name());
    let met = rows.iter().filter(|r| r.status == Status::Met).count();
    let judged = rows.iter().filter(|r| r.status != Status::Info).count();
    let _ = writeln!(out, "**{met} of {judged} targets met.**\n");
    let _ = writeln!(
        out,
        "| key | benchmark | measured | same-run reference | ratio | target | status |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for r in rows {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            r.key,
            r.what,
            r.measured,
            r.reference,
            r.ratio,
            r.target,
            r.status.label()
        );
    }
    // One paragraph per reason, naming every row it explains.
    let mut reasons: Vec<(&str, Vec<String>)> = Vec::new();
    for r in rows.iter().filter(|r| r.status == Status::NotMet) {
        let why = r.why_not.unwrap_or("not analysed yet.");
        let key = format!("`{}`", r.key);
        match reasons.iter_mut().find(|(w, _)| *w == why) {
            Some((_, keys)) => keys.push(key),
            None => reasons.push((why, vec![key])),
        }
    }
    if !reasons.is_empty() {
        let _ = writeln!(out, "\n## Targets not met: likely reasons\n");
        for (why, keys) in reasons {
            let _ = writeln!(out, "- {}: {why}", keys.join(", "));
        }
    }
    if !details.is_empty() {
        let _ = writeln!(out, "\n## Details of this run\n");
        for d in details {
            let _ = writeln!(out, "- {d}");
        }
    }
    let _ = writeln!(out, "\n## How each row is measured\n\n{METHOD}");
    out
}

const METHOD: &str = "\
- **1 (acknowledgement) and 2 (end to end)**, per runtime and per number of connections `c`: \
a tokio + reqwest load generator keeps `c` keep-alive connections busy POSTing realistic Beds24 v2 \
bodies (booking with personal data, invoice and info items, ~3 KiB), a new bookingId per request, \
with the bearer token; latencies go into an HDR histogram. First the no-op (`components/noop`, \
served by the same HTTP process from the bench manifest: `spin.toml` plus one route): a warm-up, \
then N requests. Then the production run: N bookings are loaded into the mock, a warm-up of \
webhooks is synced, and N distinct webhooks are sent with the worker process running; \
acknowledgement throughput and latency come from those N requests, and the end-to-end clock runs \
from the first webhook until the worker's `processed` counter in Redis has grown by N (polled \
every 50 ms; it grows once a batch's rows are committed; the row count is checked at the end). \
The Postgres reference is the same kind of booking mapped with `mapping::map_booking` and \
written with `db::upsert_rows` in batches of 50 over one native connection (upserts only timed). \
The cost rows come from a last run of N webhooks with the worker paused (its `paused` key set): \
CPU from `/proc/<pid>/stat` of each process group (`spin up` and its trigger processes), Redis \
CPU from `INFO cpu`, Redis connections and commands from `INFO stats`/`INFO commandstats`. \
The 200 ms run (test host) sends N webhooks at concurrency 32 with every mock request waiting \
200 ms first.
- **3 (economy)**: the mock's request counters. (a) 20 webhooks for one booking sent at once; \
fetches = `GET /bookings` requests naming it. (b) N distinct bookings sent at concurrency 32; all \
Beds24 calls (bookings, messages, properties) divided by N.
- **4 (memory)**: (a) a separate redis-server; jobs go through the core's queue scripts \
(`Queue::enqueue`, `claim` in batches, `complete`) over a native connection, pipelined; \
`INFO memory` `used_memory` less `mem_clients_normal` (connection buffers, sized by the last \
pipeline) once the bounded history is full (1,000 jobs), halfway and at the end; judged on the \
second half, since Redis's own bookkeeping grows by ~100-200 KiB over the first tens of thousands \
of script calls and then stops (no keys behind it), while a leak would keep growing. \
(b) `VmHWM` of the test host's HTTP and worker processes after all the runs above. (c) \
`used_memory` of the app's Redis (the host idle each time) before the production runs of \
benchmarks 1-2, after them, and after the 200 ms run. The first runs grow Redis's own tables once \
(hash tables resized for 20,000 queued jobs, allocator pages), which `used_memory` does not hand back; the second run shows whether anything \
stays per booking once warm, which is what decides whether memory creeps up in production.
- **Details**: Redis connections and commands come from `INFO stats` / `INFO commandstats` of the app's \
Redis (commands run inside the Lua scripts count too), Postgres sessions from `pg_stat_database`.";
