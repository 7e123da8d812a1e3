//! Benchmark 4: Redis memory over many processed jobs (queue scripts, pipelined), host peak RSS, app Redis growth.

use anyhow::{ensure, Result};
use beds24_sync_core::queue::policy::COMPLETED_HISTORY;
use beds24_sync_core::queue::{scripts, ClaimOptions, Completion, Enqueued, HistoryRecord, Queue};
use beds24_sync_core::{Action, BookingId};
use beds24_testkit::{NativeRedis, RedisServer};

use crate::counters::info_field;
use crate::native::Recorder;
use crate::report::{Row, Status};
use crate::sync::AppMemory;

/// Jobs per round: enqueued in one pipeline, claimed in one script call, completed in one script call.
const ROUND: u64 = 1_000;
/// "Flat": growth from a full history to the end stays under this.
const MAX_GROWTH_BYTES: i64 = 128 * 1024;

const WHY_APP: &str = "something the app keeps per synced booking outlives its job: compare the \
queue keys (job hashes carry their records) before and after.";
const WHY_QUEUE: &str =
    "something the queue scripts keep per job is not removed when the job completes.";

fn kib(bytes: u64) -> String {
    format!("{:.0} KiB", bytes as f64 / 1024.0)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1024.0 / 1024.0)
}

/// `used_memory` less what client connections hold (`mem_clients_normal`: query and reply
/// buffers, which depend on the last pipeline and shrink only on Redis's cron), read on the
/// connection already open. Waits a little first so the cron can shrink the hash tables the
/// last round grew.
pub(crate) fn used_memory(conn: &mut redis::Connection) -> Result<u64> {
    std::thread::sleep(std::time::Duration::from_millis(300));
    let info: String = redis::cmd("INFO").arg("memory").query(conn)?;
    let used: u64 = info_field(&info, "used_memory")?;
    Ok(used.saturating_sub(info_field(&info, "mem_clients_normal")?))
}

/// What pushing jobs through the queue left behind.
struct QueueMemory {
    /// used_memory once the history is full, and the jobs done by then.
    at_mark: u64,
    mark_jobs: u64,
    /// used_memory halfway, and the jobs done by then.
    at_half: u64,
    half_jobs: u64,
    end: u64,
    /// Keys left in the end (the queue's fixed keys only, when nothing leaks).
    keys: u64,
}

/// Push `jobs` jobs through enqueue → claim → complete on a private redis-server.
fn queue_memory(jobs: u64) -> Result<QueueMemory> {
    let server = RedisServer::start_with(false)?;
    let mut conn = server.connection(0)?;
    let mut native = NativeRedis(server.connection(0)?);
    // The pipeline below replays recorded EVALSHA calls: the server must know the script.
    redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(scripts::ENQUEUE.source())
        .exec(&mut conn)?;
    // The completed history is full after COMPLETED_HISTORY jobs; measure from ten times that.
    let mark = (COMPLETED_HISTORY as u64 * 10).min(jobs);
    let half = (jobs / 2).max(mark);
    let mut at_mark = None;
    let mut at_half = None;
    let mut done = 0;
    while done < jobs {
        let n = ROUND.min(jobs - done);
        let now = chrono::Utc::now().timestamp_millis();
        // The canned reply is what Queue::enqueue reads for a new job; the real ones are
        // checked below: n replies, each `queued` (then whether it woke), and n distinct
        // due jobs for the claim.
        let mut enqueue = Recorder::new("queued");
        for id in done + 1..=done + n {
            Queue::new(&mut enqueue).enqueue(
                &BookingId::parse(&id.to_string())?,
                Action::Modify,
                now,
            )?;
        }
        let replies = enqueue.flush(&mut conn)?;
        ensure!(
            replies.len() as u64 == n,
            "{} enqueue replies for {n} jobs",
            replies.len()
        );
        ensure!(
            replies
                .iter()
                .all(|r| r.split(' ').next().map(str::parse) == Some(Ok(Enqueued::Queued))),
            "an enqueue did not queue a new job: {replies:?}"
        );
        let options = ClaimOptions {
            clock: now.into(),
            lease_ms: 30_000,
            batch: n as usize,
            max_tries: 4,
        };
        let claimed = Queue::new(&mut native).claim(&options)?;
        // Every enqueue made a new job (none coalesced or failed), or fewer would be due.
        ensure!(
            claimed.len() as u64 == n,
            "enqueue did not queue every job: claimed {} of {n}",
            claimed.len()
        );
        let records: Vec<HistoryRecord> = claimed
            .iter()
            .map(|job| HistoryRecord {
                booking_id: job.booking_id.clone(),
                action: job.action,
                outcome: Completion::Completed.as_str(),
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
            verdicts.iter().all(|v| *v == Completion::Completed),
            "complete did not finish every job"
        );
        done += n;
        if at_mark.is_none() && done >= mark {
            at_mark = Some((used_memory(&mut conn)?, done));
        }
        if at_half.is_none() && done >= half {
            at_half = Some((used_memory(&mut conn)?, done));
        }
    }
    let (at_mark, mark_jobs) = at_mark.unwrap_or((0, 0));
    let (at_half, half_jobs) = at_half.unwrap_or((0, 0));
    Ok(QueueMemory {
        at_mark,
        mark_jobs,
        at_half,
        half_jobs,
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
        at_half,
        half_jobs,
        end,
        keys,
    } = queue_memory(jobs)?;
    // Redis's own bookkeeping grows for a while under a new load and then stops (bounded, not
    // per job); a leak keeps growing. So: judge the second half, report both.
    let warming = at_half as i64 - at_mark as i64;
    let growth = end as i64 - at_half as i64;
    rows.push(Row {
        key: "4a.redis.queue".into(),
        what: format!(
            "Redis `used_memory` less client buffers, {jobs} jobs through the queue scripts"
        ),
        measured: format!(
            "{} after {mark_jobs} jobs (history full) → {} after {half_jobs} ({:+.1} KiB) → {} \
             after {jobs}; {keys} keys left",
            kib(at_mark),
            kib(at_half),
            warming as f64 / 1024.0,
            kib(end)
        ),
        reference: format!("after {half_jobs} jobs"),
        ratio: format!(
            "{:+.1} KiB ({:+.2} B/job)",
            growth as f64 / 1024.0,
            growth as f64 / (jobs - half_jobs).max(1) as f64
        ),
        target: format!(
            "flat: growth over the second half ≤ {} KiB",
            MAX_GROWTH_BYTES / 1024
        ),
        status: Status::from_check(growth <= MAX_GROWTH_BYTES),
        why_not: Some(WHY_QUEUE),
    });
    Ok(())
}

/// Row 4b: peak RSS of the test host's HTTP and worker processes after every run above.
pub fn host_row(peaks_kib: [Option<u64>; 2], rows: &mut Vec<Row>) {
    let show = |peak: Option<u64>| peak.map_or("unavailable".into(), |k| mib(k * 1024));
    rows.push(Row {
        key: "4b.host.rss".into(),
        what: "Peak RSS of the test host processes (`VmHWM`) after benchmarks 1–3 and 5".into(),
        measured: format!(
            "HTTP process {}, worker process {}",
            show(peaks_kib[0]),
            show(peaks_kib[1])
        ),
        reference: "–".into(),
        ratio: "–".into(),
        target: "– (no target)".into(),
        status: Status::Info,
        why_not: None,
    });
}

/// Row 4c: what the app's own Redis keeps per synced booking, once warm.
pub fn app_row(memory: &AppMemory, rows: &mut Vec<Row>) {
    let [before, after_first, after_second] = memory.used;
    let [first_n, second_n] = memory.bookings;
    let first = after_first as i64 - before as i64;
    let second = after_second as i64 - after_first as i64;
    let [k0, k1, k2] = memory.queue_keys;
    rows.push(Row {
        key: "4c.redis.e2e".into(),
        what: format!(
            "App Redis `used_memory` over the 200 ms end-to-end run ({second_n} bookings), after the production runs ({first_n} bookings)"
        ),
        measured: format!(
            "{} → {} → {}: {:+.0} B per booking over the first run (one-time growth), {:+.1} B per booking over the second; \
             queue keys {k0} → {k1} → {k2}",
            mib(before),
            mib(after_first),
            mib(after_second),
            first as f64 / first_n.max(1) as f64,
            second as f64 / second_n.max(1) as f64,
        ),
        reference: "after the first run".into(),
        ratio: format!("{:+.0} KiB", second as f64 / 1024.0),
        target: format!("flat once warm: growth ≤ {} KiB", MAX_GROWTH_BYTES / 1024),
        status: Status::from_check(second <= MAX_GROWTH_BYTES),
        why_not: Some(WHY_APP),
    });
}
