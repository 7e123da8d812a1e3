//! CPU accounting from /proc and Redis `INFO cpu`: what each process of a measurement burned.

use anyhow::Result;

use crate::counters::info_field;

/// Clock ticks per second of /proc's utime/stime (`getconf CLK_TCK`: 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// Fields after the parenthesised command name of `/proc/<pid>/stat` (the name may hold spaces).
fn stat_fields(pid: &str) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    )
}

/// Pids of every process in process group `pgid` (the group leader included).
fn group_pids(pgid: u32) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            // Field 5 of stat (index 2 after the name) is the process group.
            stat_fields(pid).and_then(|f| f.get(2)?.parse::<u32>().ok()) == Some(pgid)
        })
        .collect()
}

/// user + system ticks of one process (its exited, waited-for children included).
fn process_ticks(pid: &str) -> u64 {
    let Some(f) = stat_fields(pid) else { return 0 };
    // utime, stime, cutime, cstime are fields 14-17 (indices 11-14 after the name).
    (11..=14)
        .filter_map(|i| f.get(i)?.parse::<u64>().ok())
        .sum()
}

/// CPU ticks of a whole process group (`spin up` and its trigger processes).
pub fn group_ticks(pgid: u32) -> u64 {
    group_pids(pgid).iter().map(|p| process_ticks(p)).sum()
}

/// Largest `VmHWM` in the group, in KiB.
pub fn group_peak_rss_kib(pgid: u32) -> Option<u64> {
    group_pids(pgid)
        .iter()
        .filter_map(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()
        })
        .max()
}

/// CPU ticks of this process: the load generator and the in-process mock Beds24.
pub fn own_ticks() -> u64 {
    process_ticks("self")
}

/// Busy and total ticks of the whole machine (`/proc/stat`, all cores).
pub fn machine_ticks() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else {
        return (0, 0);
    };
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().take(8).sum();
    // idle and iowait.
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// `used_cpu_user + used_cpu_sys` of a Redis server, in seconds.
pub fn redis_seconds(conn: &mut redis::Connection) -> Result<f64> {
    let info: String = redis::cmd("INFO").arg("cpu").query(conn)?;
    Ok(info_field::<f64>(&info, "used_cpu_user")? + info_field::<f64>(&info, "used_cpu_sys")?)
}

/// Ticks → milliseconds.
pub fn ticks_ms(ticks: u64) -> f64 {
    ticks as f64 * 1000.0 / TICKS_PER_SECOND
}

/// One reading of every CPU counter a measurement reports.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reading {
    pub http: u64,
    pub worker: u64,
    pub own: u64,
    pub redis_s: f64,
    pub machine_busy: u64,
    pub machine_total: u64,
}

/// CPU each part used between two readings, in ms.
#[derive(Clone, Copy, Debug, Default)]
pub struct Spent {
    pub http_ms: f64,
    pub worker_ms: f64,
    pub own_ms: f64,
    pub redis_ms: f64,
    /// Busy CPU of all cores over the interval, every process counted (Postgres and the
    /// kernel's network work included), in ms.
    pub machine_ms: f64,
    /// Busy share of all cores over the interval (0..1).
    pub machine_busy: f64,
}

impl Reading {
    pub fn since(&self, before: &Reading) -> Spent {
        let total = self
            .machine_total
            .saturating_sub(before.machine_total)
            .max(1);
        Spent {
            http_ms: ticks_ms(self.http.saturating_sub(before.http)),
            worker_ms: ticks_ms(self.worker.saturating_sub(before.worker)),
            own_ms: ticks_ms(self.own.saturating_sub(before.own)),
            redis_ms: (self.redis_s - before.redis_s).max(0.0) * 1000.0,
            machine_ms: ticks_ms(self.machine_busy.saturating_sub(before.machine_busy)),
            machine_busy: self.machine_busy.saturating_sub(before.machine_busy) as f64
                / total as f64,
        }
    }
}

impl Spent {
    /// Machine CPU not burned by the processes counted one by one: Postgres's backends,
    /// the kernel's loopback network work, anything else running.
    pub fn other_ms(&self) -> f64 {
        (self.machine_ms - self.http_ms - self.worker_ms - self.own_ms - self.redis_ms).max(0.0)
    }

    /// "HTTP process 0.41 ms, worker process 0.20 ms, Redis 0.08 ms, bench 0.05 ms per webhook".
    pub fn per(&self, n: u64, unit: &str) -> String {
        let n = n.max(1) as f64;
        format!(
            "CPU per {unit}: HTTP process {:.3} ms, worker process {:.3} ms, Redis {:.3} ms, \
             load generator + mock Beds24 {:.3} ms, everything else (Postgres, kernel) {:.3} ms; \
             all cores {:.0} % busy",
            self.http_ms / n,
            self.worker_ms / n,
            self.redis_ms / n,
            self.own_ms / n,
            self.other_ms() / n,
            self.machine_busy * 100.0
        )
    }
}
