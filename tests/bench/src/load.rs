//! A small HTTP load generator: N concurrent keep-alive clients POSTing webhook bodies, latencies in an HDR histogram.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use hdrhistogram::Histogram;

use crate::host::WEBHOOK_TOKEN;

/// Stand-in id in the body template; every occurrence becomes the real id (item ids `id*100+i` follow).
const PLACEHOLDER: &str = "987654321";

/// A Beds24 webhook v2 body (booking with personal data, invoice and info items), as Beds24 posts it.
#[derive(Clone)]
pub struct WebhookBody(Arc<String>);

impl WebhookBody {
    pub fn new() -> Self {
        let id: u64 = PLACEHOLDER.parse().expect("numeric placeholder");
        let booking = mock_beds24::fixtures::generated_booking(id, chrono::Utc::now().date_naive());
        WebhookBody(Arc::new(
            mock_beds24::fixtures::webhook_v2_for(&booking, Vec::new()).to_string(),
        ))
    }

    pub fn for_id(&self, id: u64) -> String {
        self.0.replace(PLACEHOLDER, &id.to_string())
    }
}

impl Default for WebhookBody {
    fn default() -> Self {
        Self::new()
    }
}

/// When a run ends.
#[derive(Clone, Copy, Debug)]
pub enum Stop {
    /// Keep sending for this long (then wait for the requests in flight).
    After(Duration),
    /// Send exactly this many requests.
    Count(u64),
}

/// Which booking id request number `seq` (0, 1, …) carries.
#[derive(Clone, Copy, Debug)]
pub enum Ids {
    /// `start + seq`: a distinct booking per request.
    From(u64),
    /// The same booking every time (a burst on one booking).
    Same(u64),
}

impl Ids {
    fn id(self, seq: u64) -> u64 {
        match self {
            Ids::From(start) => start + seq,
            Ids::Same(id) => id,
        }
    }
}

/// One load run's settings.
#[derive(Clone, Debug)]
pub struct Load {
    pub url: String,
    pub concurrency: usize,
    pub stop: Stop,
    pub ids: Ids,
}

/// What one run measured.
pub struct Outcome {
    /// Requests answered 202.
    pub ok: u64,
    /// Requests sent (ids used).
    pub sent: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Latency of the successful requests, in microseconds.
    pub latency: Histogram<u64>,
}

impl Outcome {
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn p50_ms(&self) -> f64 {
        self.latency.value_at_quantile(0.50) as f64 / 1000.0
    }

    pub fn p99_ms(&self) -> f64 {
        self.latency.value_at_quantile(0.99) as f64 / 1000.0
    }

    /// Fail loudly rather than report numbers over failed requests.
    pub fn check(&self, what: &str) -> Result<()> {
        if self.errors > 0 {
            bail!(
                "{what}: {} of {} requests failed, first: {}",
                self.errors,
                self.sent,
                self.first_error.as_deref().unwrap_or("?")
            );
        }
        Ok(())
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds")
}

/// Run `load` to completion on a fresh client (its own connections).
pub async fn run(load: &Load, body: &WebhookBody) -> Result<Outcome> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(load.concurrency)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()?;
    let seq = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let started = Instant::now();
    let deadline = match load.stop {
        Stop::After(d) => Some(started + d),
        Stop::Count(_) => None,
    };
    let limit = match load.stop {
        Stop::Count(n) => n,
        Stop::After(_) => u64::MAX,
    };
    let mut tasks = Vec::with_capacity(load.concurrency);
    for _ in 0..load.concurrency {
        let (client, seq, first_error, body) = (
            client.clone(),
            seq.clone(),
            first_error.clone(),
            body.clone(),
        );
        let (url, ids) = (load.url.clone(), load.ids);
        tasks.push(tokio::spawn(async move {
            let mut latency = histogram();
            let (mut ok, mut errors) = (0u64, 0u64);
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let n = seq.fetch_add(1, Ordering::Relaxed);
                if n >= limit {
                    break;
                }
                let text = body.for_id(ids.id(n));
                let sent_at = Instant::now();
                let result = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("authorization", format!("Bearer {WEBHOOK_TOKEN}"))
                    .body(text)
                    .send()
                    .await;
                let failure = match result {
                    Ok(response) if response.status().as_u16() == 202 => {
                        // Read the body: the request is acknowledged once the answer is complete.
                        match response.bytes().await {
                            Ok(_) => None,
                            Err(e) => Some(format!("reading the answer: {e}")),
                        }
                    }
                    Ok(response) => {
                        let status = response.status();
                        Some(format!(
                            "HTTP {status}: {}",
                            response.text().await.unwrap_or_default()
                        ))
                    }
                    Err(e) => Some(format!("{e}")),
                };
                match failure {
                    None => {
                        ok += 1;
                        latency.saturating_record(sent_at.elapsed().as_micros() as u64);
                    }
                    Some(message) => {
                        errors += 1;
                        first_error
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get_or_insert(message);
                    }
                }
            }
            (ok, errors, latency)
        }));
    }
    let mut outcome = Outcome {
        ok: 0,
        sent: 0,
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
        latency: histogram(),
    };
    for task in tasks {
        let (ok, errors, latency) = task.await?;
        outcome.ok += ok;
        outcome.errors += errors;
        outcome.latency.add(&latency)?;
    }
    outcome.elapsed = started.elapsed();
    outcome.sent = seq.load(Ordering::Relaxed).min(limit);
    outcome.first_error = first_error.lock().unwrap_or_else(|e| e.into_inner()).take();
    Ok(outcome)
}
