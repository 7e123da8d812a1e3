//! Benchmark 4: Redis memory over many processed jobs (queue scripts, pipelined), host peak RSS, app Redis growth.

use anyhow::{ensure, Context, Result};
use beds24_sync_core::queue::policy::COMPLETED_HISTORY;
use beds24_sync_core::queue::{ClaimOptions, HistoryRecord, Queue};
use beds24_sync_core::{Action, BookingId};
use beds24_testkit::{NativeRedis, RedisServer};

use crate::native::Recorder;
use crate::report::{Row, Status};
use crate::sync::AppMemory;

/// Jobs per round: enqueued in one pipeline, claimed in one script call, completed in one script call.
const ROUND: u64 = 1_000;
/// "Flat": growth from a full history to the end stays under this.
const MAX_GROWTH_BYTES: i64 = 128 * 1024;

const WHY_APP: &str = "no per-booking data is left after the run: job records in the key-value \
store are deleted with their jobs (0 left) and the queue's per-job keys on completion (4a). The remaining \
growth is most likely Redis's own structures grown during the 10,000-job burst (hash tables resized, \
allocator pages), which `used_memory` does not hand back; it is not per booking that stays.";
const WHY_QUEUE: &str =
    "something the queue scripts keep per job is not removed when the job completes.";

fn kib(bytes: u64) -> String {
    format!("{:.0} KiB", bytes as f64 / 1024.0)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1024.0 / 1024.0)
}

/// `used_memory` read on the connection already open (a new client would add its own buffers).
/// Waits a little first so Redis's cron can shrink the hash tables the last round grew.
fn used_memory(conn: &mut redis::Connection) -> Result<u64> {
    std::thread::sleep(std::time::Duration::from_millis(300));
    let info: String = redis::cmd("INFO").arg("memory").query(conn)?;
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .context("INFO memory has no used_memory")
}

/// What pushing jobs through the queue left behind.
struct QueueMemory {
    /// used_memory once the history is full, and the jobs done by then.
    at_mark: u64,
    mark_jobs: u64,
    end: u64,
    /// Keys left in the end (the queue's fixed keys only, when nothing leaks).
    keys: u64,
}

/// Push `jobs` jobs through enqueue → claim → complete on a private redis-server.
fn queue_memory(jobs: u64) -> Result<QueueMemory> {
    let server = RedisServer::start_with(false)?;
    let mut conn = server.connection(0)?;
    let mut native = NativeRedis(server.connection(0)?);
    // The completed history is full after COMPLETED_HISTORY jobs; measure from ten times that.
    let mark = (COMPLETED_HISTORY as u64 * 10).min(jobs);
    let mut at_mark = None;
    let mut done = 0;
    while done < jobs {
        let n = ROUND.min(jobs - done);
        let now = chrono::Utc::now().timestamp_millis();
        let mut enqueue = Recorder::new("queued");
        for id in done + 1..=done + n {
            Queue::new(&mut enqueue).enqueue(
                &BookingId::parse(&id.to_string())?,
                Action::Modify,
                now,
            )?;
        }
        ensure!(
            enqueue.flush(&mut conn)?.iter().all(|r| r == "queued"),
            "enqueue did not queue every job"
        );
        let options = ClaimOptions {
            now_ms: now,
            lease_ms: 30_000,
            batch: n as usize,
            max_tries: 4,
        };
        let claimed = Queue::new(&mut native).claim(&options)?;
        ensure!(
            claimed.len() as u64 == n,
            "claimed {} of {n} jobs",
            claimed.len()
        );
        let records: Vec<HistoryRecord> = claimed
            .iter()
            .map(|job| HistoryRecord {
                booking_id: job.booking_id.to_string(),
                action: job.action,
                outcome: "completed".into(),
                attempts: job.attempts + 1,
                started_at: now,
                finished_at: now,
                duration_ms: 0,
                error: None,
            })
            .collect();
        let done_jobs: Vec<_> = claimed.iter().zip(&records).collect();
        // The worker's own settle call: one script call for the whole round.
        let verdicts = Queue::new(&mut native).complete_many(&done_jobs, now)?;
        ensure!(
            verdicts.iter().all(|r| r == "completed"),
            "complete did not finish every job"
        );
        done += n;
        if at_mark.is_none() && done >= mark {
            at_mark = Some((used_memory(&mut conn)?, done));
        }
    }
    let (at_mark, mark_jobs) = at_mark.unwrap_or((0, 0));
    Ok(QueueMemory {
        at_mark,
        mark_jobs,
        end: used_memory(&mut conn)?,
        keys: redis::cmd("DBSIZE").query(&mut conn)?,
    })
}

/// Row 4a.
pub fn queue_row(jobs: u64, rows: &mut Vec<Row>) -> Result<()> {
    eprintln!("bench: 4a. Redis memory over {jobs} jobs through the queue scripts");
    let QueueMemory {
        at_mark,
        mark_jobs,
        end,
        keys,
    } = queue_memory(jobs)?;
    let growth = end as i64 - at_mark as i64;
    rows.push(Row {
        key: "4a.redis.queue".into(),
        what: format!("Redis `used_memory`, {jobs} jobs through the queue scripts"),
        measured: format!(
            "{} after {mark_jobs} jobs → {} after {jobs}; {keys} keys left",
            kib(at_mark),
            kib(end)
        ),
        reference: format!("after {mark_jobs} jobs (history full)"),
        ratio: format!(
            "{:+.1} KiB ({:+.2} B/job)",
            growth as f64 / 1024.0,
            growth as f64 / (jobs - mark_jobs).max(1) as f64
        ),
        target: format!("flat: growth ≤ {} KiB", MAX_GROWTH_BYTES / 1024),
        status: Status::from_check(growth <= MAX_GROWTH_BYTES),
        why_not: Some(WHY_QUEUE),
    });
    Ok(())
}

/// Row 4b: peak RSS of the test host after every run above.
pub fn host_row(peak_kib: Option<u64>, rows: &mut Vec<Row>) {
    rows.push(Row {
        key: "4b.host.rss".into(),
        what: "Peak RSS of the test host (`VmHWM`) after benchmarks 1–3".into(),
        measured: peak_kib.map_or("unavailable".into(), |k| mib(k * 1024)),
        reference: "–".into(),
        ratio: "–".into(),
        target: "– (no target)".into(),
        status: Status::Info,
        why_not: None,
    });
}

/// Row 4c: what the app's own Redis keeps per synced booking.
pub fn app_row(memory: &AppMemory, rows: &mut Vec<Row>) {
    let growth = memory.after as i64 - memory.before as i64;
    rows.push(Row {
        key: "4c.redis.e2e".into(),
        what: format!(
            "App Redis `used_memory` across the 0 ms end-to-end run ({} bookings)",
            memory.bookings
        ),
        measured: format!(
            "{} → {} ({:+.0} B per synced booking); key-value db holds {} job records",
            mib(memory.before),
            mib(memory.after),
            growth as f64 / memory.bookings as f64,
            memory.kv_keys
        ),
        reference: "before the run (empty queue)".into(),
        ratio: format!("{:+.1} MiB", growth as f64 / 1024.0 / 1024.0),
        target: format!("flat as 4a: growth ≤ {} KiB", MAX_GROWTH_BYTES / 1024),
        status: Status::from_check(growth <= MAX_GROWTH_BYTES),
        why_not: Some(WHY_APP),
    });
}
