//! The app under test: private Redis, fresh database, mock Beds24 and the test host serving the bench manifest.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use beds24_sync_core::keys::Keys;
use beds24_sync_core::queue::{Queue, QueueStats};
use mock_beds24::{CreditsConfig, MockBeds24, MockConfig};

use crate::cpu;
use crate::host::{repo_root, Host, HostSetup, Runtime};
use crate::load::{self, Load, Outcome, WebhookBody};
use crate::options::Options;
use beds24_testkit::{Database, NativeRedis, RedisServer};

/// What the bench appends to spin.toml: the no-op component on `/noop`.
pub const NOOP_ROUTE: &str = include_str!("../noop-route.toml");

/// spin.toml, unchanged, plus the `/noop` route.
pub fn bench_manifest(spin_toml: &str) -> String {
    format!("{}\n{NOOP_ROUTE}", spin_toml.trim_end())
}

/// Make `dir` an app directory: the bench manifest as `spin.toml`, and
/// `target/wasm32-wasip2/release` (where its sources point) linked to the built components,
/// which may live in a target dir outside the checkout.
pub fn write_app_dir(dir: &Path, wasm_dir: &Path) -> Result<PathBuf> {
    let spin_toml =
        std::fs::read_to_string(repo_root().join("spin.toml")).context("reading spin.toml")?;
    let path = dir.join("spin.toml");
    std::fs::write(&path, bench_manifest(&spin_toml))?;
    let target = dir.join("target/wasm32-wasip2");
    std::fs::create_dir_all(&target)?;
    let wasm_dir = wasm_dir
        .canonicalize()
        .unwrap_or_else(|_| wasm_dir.to_owned());
    std::os::unix::fs::symlink(wasm_dir, target.join("release"))?;
    Ok(path)
}

/// Everything running for one bench run; dropped in field order (host first).
pub struct App {
    pub host: Host,
    pub mock: MockBeds24,
    pub db: Database,
    pub redis: RedisServer,
    rt: tokio::runtime::Runtime,
    pub body: WebhookBody,
    pub runtime: Runtime,
    next_id: u64,
    _app_dir: tempfile::TempDir,
}

impl App {
    pub fn start(options: &Options, runtime: Runtime) -> Result<App> {
        // AOF on like production (`scripts/run`), with its default fsync policy (testkit's
        // servers fsync every write, which the durability tests need and production does not do).
        let redis = RedisServer::start_with(true)?;
        redis::cmd("CONFIG")
            .arg("SET")
            .arg("appendfsync")
            .arg("everysec")
            .exec(&mut redis.connection(0)?)?;
        let db = Database::try_create("bench_app")?;
        // Call records on: the burst benchmark asks which requests named its booking.
        let mock = MockBeds24::start_with(MockConfig {
            record_calls: true,
            ..MockConfig::default()
        })?;
        mock.set_credits(CreditsConfig {
            budget: 1e9,
            ..CreditsConfig::default()
        });
        let app_dir = tempfile::tempdir()?;
        write_app_dir(app_dir.path(), &options.wasm_dir)?;
        let host = Host::start(&HostSetup {
            runtime: &runtime,
            app_dir: app_dir.path(),
            wasm_dir: &options.wasm_dir,
            redis: &redis,
            database_url: db.url(),
            beds24_base_url: mock.base_url(),
            beds24_origin: mock.origin(),
            beds24_token: mock.long_life_token(),
        })?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        Ok(App {
            host,
            mock,
            db,
            redis,
            rt,
            body: WebhookBody::new(),
            runtime,
            next_id: 1_000_000,
            _app_dir: app_dir,
        })
    }

    /// Reserve `n` fresh booking ids; returns the first.
    pub fn take_ids(&mut self, n: u64) -> u64 {
        let first = self.next_id;
        self.next_id += n;
        first
    }

    /// Run one load against a path of the host.
    pub fn send(
        &mut self,
        path: &str,
        concurrency: usize,
        stop: load::Stop,
        ids: load::Ids,
    ) -> Result<Outcome> {
        let load = Load {
            url: self.host.url(path),
            concurrency,
            stop,
            ids,
        };
        let outcome = self.rt.block_on(load::run(&load, &self.body))?;
        self.host.check_alive()?;
        Ok(outcome)
    }

    /// Run one load with a new booking id per request, never reused later.
    pub fn send_fresh(
        &mut self,
        path: &str,
        concurrency: usize,
        stop: load::Stop,
    ) -> Result<Outcome> {
        let first = self.next_id;
        let outcome = self.send(path, concurrency, stop, load::Ids::From(first))?;
        self.next_id += outcome.sent;
        Ok(outcome)
    }

    /// Load the mock with generated bookings `first..first+n` (same content as the webhook bodies).
    pub fn seed(&self, first: u64, n: u64) {
        let today = chrono::Utc::now().date_naive();
        for id in first..first + n {
            self.mock
                .upsert_booking(mock_beds24::fixtures::generated_booking(id, today));
        }
    }

    pub fn stats(&self, redis: &mut NativeRedis) -> Result<QueueStats> {
        Ok(Queue::new(redis).stats(chrono::Utc::now().timestamp_millis())?)
    }

    /// Hold the worker off (claims return nothing) or let it go.
    pub fn pause(&self, paused: bool) -> Result<()> {
        let mut conn = self.redis.connection(0)?;
        // The components use the default prefix.
        let key = Keys::default().paused();
        if paused {
            redis::cmd("SET").arg(key).arg(1).exec(&mut conn)?;
        } else {
            redis::cmd("DEL").arg(key).exec(&mut conn)?;
        }
        Ok(())
    }

    /// Keys of the queue's database.
    pub fn queue_keys(&self) -> Result<u64> {
        Ok(redis::cmd("DBSIZE").query(&mut self.redis.connection(0)?)?)
    }

    /// Empty the app's Redis.
    pub fn flush_redis(&self) -> Result<()> {
        redis::cmd("FLUSHALL").exec(&mut self.redis.connection(0)?)?;
        Ok(())
    }

    /// Rows in "Booking" (0 before the worker's first write creates the table).
    pub fn row_count(&self, client: &mut postgres::Client) -> i64 {
        client
            .query_one("SELECT count(*) FROM \"Booking\"", &[])
            .map(|r| r.get(0))
            .unwrap_or(0)
    }

    pub fn truncate_bookings(&self) -> Result<()> {
        self.db.client().batch_execute("DO $$ BEGIN IF to_regclass('\"Booking\"') IS NOT NULL THEN TRUNCATE \"Booking\"; END IF; END $$")?;
        Ok(())
    }

    /// Wait until nothing is waiting, delayed or active.
    pub fn wait_queue_idle(&self, timeout: Duration) -> Result<QueueStats> {
        let mut redis = NativeRedis(self.redis.connection(0)?);
        Ok(beds24_testkit::wait_for(
            "the queue to drain",
            timeout,
            || {
                let stats = self.stats(&mut redis).ok()?;
                (stats.waiting + stats.delayed + stats.active == 0).then_some(stats)
            },
        ))
    }

    /// Let the host finish leftover work (wake-up backlog) before measuring.
    pub fn settle(&self) {
        self.host.wait_quiet(Duration::from_secs(120));
    }

    /// Every CPU counter a measurement reports, read now.
    pub fn cpu_reading(&self) -> Result<cpu::Reading> {
        let (machine_busy, machine_total) = cpu::machine_ticks();
        Ok(cpu::Reading {
            http: self.host.http.cpu_ticks(),
            worker: self.host.worker.cpu_ticks(),
            own: cpu::own_ticks(),
            redis_s: cpu::redis_seconds(&mut self.redis.connection(0)?)?,
            machine_busy,
            machine_total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_manifest_is_spin_toml_plus_the_noop_route() {
        let spin_toml = std::fs::read_to_string(repo_root().join("spin.toml")).unwrap();
        let manifest = bench_manifest(&spin_toml);
        assert!(manifest.starts_with(spin_toml.trim_end()));
        assert!(manifest.contains("route = \"/noop\"\ncomponent = \"noop\""));
        assert!(manifest.contains("source = \"target/wasm32-wasip2/release/noop_component.wasm\""));
    }
}
