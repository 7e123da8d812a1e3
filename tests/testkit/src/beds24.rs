//! A Beds24 test world: the mock Beds24 on loopback, a Redis prefix of its own, a native client config.

use std::time::Duration;

use beds24_sync_core::beds24::urls::ApiBase;
use beds24_sync_core::beds24::{ApiFailure, Client, ClientConfig, Endpoint};
use beds24_sync_core::keys::Keys;
use beds24_sync_core::queue::Counter;
use beds24_sync_core::store::{RedisExec, RedisValue};
use beds24_sync_core::BookingId;
use mock_beds24::MockBeds24;
use serde_json::Value;

use beds24_sync_core::bulk::BulkConfig;
use beds24_sync_core::queue::RetrySchedule;
use beds24_sync_core::store::StoreError;
use beds24_sync_core::worker::drain::{drain, DrainConfig, DrainReport};
use beds24_sync_core::worker::{run, PgSession, Platform, RunSummary, WorkerConfig};

use crate::{Database, NativeHttp, NativePg, NativeRedis};

/// Which token the client is configured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// The mock's long-life token (no refresh token).
    LongLife,
    /// The mock's refresh token (no long-life token).
    Refresh,
}

/// A mock Beds24, a Redis connection with keys under a prefix no other test uses,
/// a native HTTP client and a client configuration pointing at the mock (5 s timeout,
/// reserve of 5 credits). Dropping it deletes every key under its prefix.
pub struct Beds24Env {
    /// The running mock Beds24.
    pub mock: MockBeds24,
    /// Database 0 of the shared Redis.
    pub redis: NativeRedis,
    /// This world's key names.
    pub keys: Keys,
    /// The HTTP door clients use.
    pub http: NativeHttp,
    /// The client configuration; tests may change it between clients.
    pub config: ClientConfig,
}

impl Beds24Env {
    /// Start a mock and take a fresh prefix named after `tag`.
    pub fn start(tag: &str, token: TokenKind) -> Self {
        let mock = MockBeds24::start().expect("mock Beds24 starts");
        let (redis, keys) = NativeRedis::isolated(tag);
        let (long_life_token, refresh_token) = match token {
            TokenKind::LongLife => (mock.long_life_token(), String::new()),
            TokenKind::Refresh => (String::new(), mock.refresh_token()),
        };
        let config = ClientConfig {
            api: ApiBase::parse(&mock.base_url()).expect("the mock's base URL parses"),
            long_life_token,
            refresh_token,
            timeout: Duration::from_secs(5),
            credit_reserve: 5.0,
        };
        Beds24Env {
            mock,
            redis,
            keys,
            http: NativeHttp::new(),
            config,
        }
    }

    fn worker_config(&self, bulk: BulkConfig) -> WorkerConfig {
        WorkerConfig {
            client: self.config.clone(),
            lease_ms: 30_000,
            batch: 10,
            schedule: RetrySchedule::default(),
            bulk,
        }
    }

    /// One worker invocation (core's `worker::run`, as a wake-up starts it in the
    /// component) on this world, writing to `database`: its summary. `budget_ms` 0
    /// stops it after its first batch or slice.
    pub fn run_worker(
        &mut self,
        database: &Database,
        bulk: BulkConfig,
        budget_ms: i64,
    ) -> RunSummary {
        let config = self.worker_config(bulk);
        let platform = Platform {
            redis: &mut self.redis,
            http: &mut self.http,
            pg: PgSession::new(|| Ok::<_, StoreError>(NativePg::new(database.client()))),
        };
        crate::block_on(run(&config, &self.keys, platform, budget_ms))
            .expect("the queue is readable")
    }

    /// One HTTP-driven worker run (core's `worker::drain::drain`, as the worker route
    /// starts it) on this world, writing to `database`.
    pub fn run_drain(&mut self, database: &Database, settings: DrainConfig) -> DrainReport {
        let config = self.worker_config(BulkConfig::default());
        let platform = Platform {
            redis: &mut self.redis,
            http: &mut self.http,
            pg: PgSession::new(|| Ok::<_, StoreError>(NativePg::new(database.client()))),
        };
        crate::block_on(drain(&config, &self.keys, platform, settings))
            .expect("the queue is readable")
    }

    /// A new client (one per batch in the worker: its token and auth flag start afresh).
    pub fn client(&mut self) -> Client<'_, NativeRedis, NativeHttp> {
        Client::new(&self.config, &self.keys, &mut self.redis, &mut self.http)
    }

    /// Every page of `GET /bookings` for `ids`, through a new client.
    pub fn bookings(&mut self, ids: &[BookingId]) -> Result<Vec<Value>, ApiFailure> {
        let api = self.config.api.clone();
        self.client()
            .get_all(Endpoint::Bookings, |page| api.bookings(ids, page))
    }

    fn one_key(&mut self, command: &str, key: String) -> Vec<RedisValue> {
        self.redis
            .execute(command, &[key.into()])
            .unwrap_or_else(|e| panic!("{command}: {e}"))
    }

    /// `GET key`.
    pub fn text(&mut self, key: String) -> Option<String> {
        self.one_key("GET", key)
            .first()
            .and_then(RedisValue::as_text)
    }

    /// `EXISTS key`.
    pub fn exists(&mut self, key: String) -> bool {
        self.one_key("EXISTS", key) == [RedisValue::Int(1)]
    }

    /// `TTL key` in seconds (-2 absent, -1 no expiry).
    pub fn ttl(&mut self, key: String) -> i64 {
        self.one_key("TTL", key)
            .first()
            .and_then(RedisValue::as_i64)
            .expect("TTL answers a number")
    }

    /// `HGET key field`.
    pub fn hget(&mut self, key: String, field: &str) -> Option<String> {
        let reply = self.redis.execute("HGET", &[key.into(), field.into()]);
        reply.expect("HGET").first().and_then(RedisValue::as_text)
    }

    /// The `api:<endpoint>` counter in the stats hash (0 when never counted).
    pub fn api_calls(&mut self, endpoint: Endpoint) -> i64 {
        let stats = self.keys.stats();
        self.hget(stats, &Counter::ApiCall(endpoint).field())
            .map_or(0, |n| n.parse().expect("a counter is a number"))
    }
}

impl Drop for Beds24Env {
    fn drop(&mut self) {
        let prefix = self.keys.prefix().to_owned();
        delete_prefix(&mut self.redis, &prefix);
    }
}

/// Delete every key under `prefix` (SCAN + DEL, best effort): tests that isolate by
/// prefix in a shared database leave nothing behind.
pub fn delete_prefix(redis: &mut impl RedisExec, prefix: &str) {
    let pattern = format!("{prefix}*");
    let mut cursor = "0".to_owned();
    loop {
        let args = [
            cursor.as_str().into(),
            "MATCH".into(),
            pattern.as_str().into(),
            "COUNT".into(),
            1_000i64.into(),
        ];
        let Ok(reply) = redis.execute("SCAN", &args) else {
            return;
        };
        let mut items = reply.iter().filter_map(RedisValue::as_text);
        cursor = items.next().unwrap_or_else(|| "0".into());
        let keys: Vec<_> = items.map(Into::into).collect();
        if !keys.is_empty() {
            let _ = redis.execute("DEL", &keys);
        }
        if cursor == "0" {
            return;
        }
    }
}
