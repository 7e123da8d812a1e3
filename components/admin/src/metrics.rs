//! Prometheus text exposition of the counters and gauges kept in Redis (shared by all replicas).

use std::fmt::Write;

use beds24_sync_core::account;
use beds24_sync_core::beds24::Endpoint;
use beds24_sync_core::bulk::{self, BackfillProgress, BackfillState, ReconcileStatus};
use beds24_sync_core::keys::Keys;
use beds24_sync_core::queue::policy::DURATION_BUCKETS;
use beds24_sync_core::queue::{Clock, Counter, Queue, QueueStats};
use beds24_sync_core::Action;
use spin_sdk::http::Response;

use beds24_spin_glue::{now_ms, redis::SpinRedis};

use crate::jobs::JobsError;

/// `/metrics`: the Prometheus text exposition.
pub fn render() -> Result<Response, JobsError> {
    let mut redis = crate::redis::<JobsError>()?;
    let stats = Queue::new(&mut redis).stats(Clock::Redis)?;
    let credits = credits(&mut redis);
    let mut text = exposition(&stats, credits);
    // Best effort, like the credits: the queue's metrics are scraped even if these cannot be read.
    let keys = Keys::default();
    let backfill = bulk::backfill_progress(&mut redis, &keys, now_ms()).ok();
    let reconcile = bulk::reconcile_status(&mut redis, &keys).ok();
    bulk_exposition(&mut text, backfill.as_ref(), reconcile.as_ref());
    Ok(Response::builder()
        .status(200)
        .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
        .body(text)
        .build())
}

/// One metric family: its HELP and TYPE lines, then its samples (labels, value).
fn write_family(out: &mut String, name: &str, kind: &str, help: &str, samples: Vec<(String, f64)>) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

fn exposition(stats: &QueueStats, credits: Option<f64>) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, samples: Vec<(String, f64)>| {
        write_family(&mut out, name, kind, help, samples)
    };
    family(
        "beds24_webhooks_received_total",
        "counter",
        "Webhooks accepted, by action.",
        Action::ALL
            .iter()
            .map(|a| {
                (
                    format!("{{action=\"{a}\"}}"),
                    stats.total(Counter::Received(*a)) as f64,
                )
            })
            .collect(),
    );
    family(
        "beds24_webhooks_skipped_total",
        "counter",
        "Webhooks without a usable bookingId.",
        vec![(String::new(), stats.total(Counter::Skipped) as f64)],
    );
    family(
        "jobs_processed_total",
        "counter",
        "Jobs synced successfully.",
        vec![(
            "{type=\"webhook\"}".into(),
            stats.total(Counter::Processed) as f64,
        )],
    );
    family(
        "jobs_failed_total",
        "counter",
        "Jobs that ended failed (final or dead-lettered).",
        vec![(
            "{type=\"webhook\"}".into(),
            stats.total(Counter::Failed) as f64,
        )],
    );
    family(
        "jobs_retried_total",
        "counter",
        "Failed tries scheduled again.",
        vec![(
            "{type=\"webhook\"}".into(),
            stats.total(Counter::Retried) as f64,
        )],
    );
    family(
        "jobs_coalesced_total",
        "counter",
        "Webhooks folded into an existing job.",
        vec![(
            "{type=\"webhook\"}".into(),
            stats.total(Counter::Coalesced) as f64,
        )],
    );
    family(
        "beds24_api_calls_total",
        "counter",
        "Calls made to the Beds24 API, by endpoint.",
        Endpoint::ALL
            .iter()
            .map(|e| {
                (
                    format!("{{endpoint=\"{e}\"}}"),
                    stats.total(Counter::ApiCall(*e)) as f64,
                )
            })
            .collect(),
    );
    family(
        "jobs_queue_depth",
        "gauge",
        "Jobs by state.",
        [
            ("waiting", stats.waiting),
            ("active", stats.active),
            ("delayed", stats.delayed),
            ("completed", stats.completed),
            ("failed", stats.failed),
            ("dead", stats.dead),
        ]
        .iter()
        .map(|(s, n)| (format!("{{state=\"{s}\"}}"), *n as f64))
        .collect(),
    );
    family(
        "jobs_duration_seconds",
        "histogram",
        "Time from claim to completion of successful jobs.",
        duration_histogram(stats),
    );
    family(
        "beds24_sync_queue_held",
        "gauge",
        "1 while claims are held: the Beds24 account cannot be used (see /api/health/ready) \
         or its credit window is spent (see /api/admin/queues/stats).",
        vec![(String::new(), f64::from(u8::from(stats.held.is_some())))],
    );
    family(
        "jobs_oldest_waiting_seconds",
        "gauge",
        "Age of the job waiting longest.",
        vec![(String::new(), stats.oldest_waiting_ms as f64 / 1000.0)],
    );
    if let Some(credits) = credits {
        family(
            "beds24_credits_remaining",
            "gauge",
            "Beds24 API credits left in the window, as last seen.",
            vec![(String::new(), credits)],
        );
    }
    out
}

/// The backfill's state and progress, and the reconciliation's last run.
fn bulk_exposition(
    out: &mut String,
    backfill: Option<&BackfillProgress>,
    reconcile: Option<&ReconcileStatus>,
) {
    let mut family = |name: &str, kind: &str, help: &str, samples: Vec<(String, f64)>| {
        write_family(out, name, kind, help, samples)
    };
    if let Some(b) = backfill {
        family(
            "beds24_backfill_state",
            "gauge",
            "1 for the state the backfill is in, 0 for the others.",
            BackfillState::ALL
                .iter()
                .map(|s| {
                    let on = f64::from(u8::from(*s == b.state));
                    (format!("{{state=\"{}\"}}", s.as_str()), on)
                })
                .collect(),
        );
        for (name, help, value) in [
            ("pages", "Listing pages stored", b.pages_done as f64),
            ("bookings", "Bookings read", b.bookings_done as f64),
            ("rows_written", "Rows written", b.rows_written as f64),
            ("credits_spent", "Beds24 credits spent", b.credits_spent),
        ] {
            family(
                &format!("beds24_backfill_{name}_total"),
                "counter",
                &format!("{help} by the current (or last) backfill; starts at 0 with each one."),
                vec![(String::new(), value)],
            );
        }
    }
    let Some(r) = reconcile else { return };
    if let Some(at) = r.last_run_at {
        family(
            "beds24_reconcile_last_run_timestamp_seconds",
            "gauge",
            "When the last reconciliation finished (Unix time).",
            vec![(String::new(), at as f64 / 1000.0)],
        );
    }
    family(
        "beds24_reconcile_last_bookings",
        "gauge",
        "Bookings the last reconciliation wrote or confirmed (0 before the first).",
        vec![(String::new(), r.last_bookings.unwrap_or(0) as f64)],
    );
}

/// Cumulative buckets from the per-bucket counters kept in Redis.
fn duration_histogram(stats: &QueueStats) -> Vec<(String, f64)> {
    let mut samples = Vec::new();
    let mut cumulative = 0.0;
    let labels = DURATION_BUCKETS
        .iter()
        .map(|le| le.to_string())
        .chain(["+Inf".to_owned()]);
    for le in labels {
        cumulative += stats.total(Counter::DurationBucket(le.clone())) as f64;
        samples.push((
            format!("_bucket{{type=\"webhook\",le=\"{le}\"}}"),
            cumulative,
        ));
    }
    samples.push((
        "_sum{type=\"webhook\"}".into(),
        stats.total(Counter::DurationMsSum) as f64 / 1000.0,
    ));
    samples.push(("_count{type=\"webhook\"}".into(), cumulative));
    samples
}

/// Beds24 credits left in the window, as the worker last saw them.
pub fn credits(redis: &mut SpinRedis) -> Option<f64> {
    account::credits_remaining(redis, &Keys::default())
}

/// The newest failure in the history, if any.
pub fn last_error(redis: &mut SpinRedis) -> Option<serde_json::Value> {
    Queue::new(redis).history(true, 1).ok()?.into_iter().next()
}
