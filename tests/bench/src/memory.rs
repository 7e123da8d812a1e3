//! Benchmark 4: Redis memory over many processed jobs (queue scripts, pipelined), host peak RSS, app Redis growth.

use anyhow::{ensure, Result};
use beds24_sync_core::queue::policy::COMPLETED_HISTORY;
use beds24_sync_core::queue::{ClaimOptions, HistoryRecord, Queue};
use beds24_sync_core::{Action, BookingId};

use crate::native::{NativeRedis, Recorder};
use crate::procs::RedisServer;
use crate::report::{Row, Status};
use crate::sync::AppMemory;

/// Jobs per round: enqueued in one pipeline, claimed in one script call, completed in one pipeline.
const ROUND: u64 = 1_000;
/// "Flat": growth from a full history to the end stays under this.
const MAX_GROWTH_BYTES: i64 = 64 * 1024;

const WHY_QUEUE: &str =
    "something the queue scripts keep per job is not removed when the job completes.";

fn kib(bytes: u64) -> String {
    format!("{:.0} KiB", bytes as f64 / 1024.0)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1024.0 / 1024.0)
}

/// Push `jobs` jobs through enqueue → claim → complete on a private redis-server.
/// Returns (used_memory once the history is full, used_memory at the end, jobs at the first mark).
fn queue_memory(jobs: u64) -> Result<(u64, u64, u64)> {
    let server = RedisServer::start(false)?;
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
        let mut complete = Recorder::new("completed");
        for job in &claimed {
            let record = HistoryRecord {
                booking_id: job.booking_id.to_string(),
                action: job.action,
                outcome: "completed".into(),
                attempts: job.attempts + 1,
                started_at: now,
                finished_at: now,
                duration_ms: 0,
                error: None,
            };
            Queue::new(&mut complete).complete(job, now, &record)?;
        }
        ensure!(
            complete.flush(&mut conn)?.iter().all(|r| r == "completed"),
            "complete did not finish every job"
        );
        done += n;
        if at_mark.is_none() && done >= mark {
            at_mark = Some((server.used_memory()?, done));
        }
    }
    let (at_mark, mark_jobs) = at_mark.unwrap_or((0, 0));
    Ok((at_mark, server.used_memory()?, mark_jobs))
}

/// Row 4a.
pub fn queue_row(jobs: u64, rows: &mut Vec<Row>) -> Result<()> {
    eprintln!("bench: 4a. Redis memory over {jobs} jobs through the queue scripts");
    let (at_mark, end, mark_jobs) = queue_memory(jobs)?;
    let growth = end as i64 - at_mark as i64;
    rows.push(Row {
        key: "4a.redis.queue".into(),
        what: format!("Redis `used_memory`, {jobs} jobs through the queue scripts"),
        measured: format!(
            "{} after {mark_jobs} jobs → {} after {jobs}",
            kib(at_mark),
            kib(end)
        ),
        reference: format!("after {mark_jobs} jobs (history full)"),
        ratio: format!("{:+.1} KiB", growth as f64 / 1024.0),
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
        reference: "–".into(),
        ratio: "–".into(),
        target: "– (no target; see 4a)".into(),
        status: Status::Info,
        why_not: None,
    });
}
