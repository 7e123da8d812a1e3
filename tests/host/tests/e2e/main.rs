//! End-to-end tests: the real compiled components on the test host, against a private
//! Redis, a fresh Postgres database and the mock Beds24. Run by `scripts/test`.

mod harness;

mod admin;
mod beds24_api;
mod bulk;
mod cloud;
mod config_errors;
mod dashboard;
mod lifecycle;
mod openapi;
mod openapi_doc;
mod outages;
mod postgres_rows;
mod proxy;
mod sync;
mod webhook;

use std::time::Duration;

use beds24_sync_core::keys::Keys;
use beds24_sync_core::queue::{policy, Clock, JobView, Queue, QueueStats};
use beds24_sync_core::BookingId;
use beds24_testkit::NativeRedis;
use harness::{App, AppConfig, Database, RedisServer, ADMIN_TOKEN};
use mock_beds24::MockBeds24;
use serde_json::Value;

/// The key names the components use: the default prefix (the manifest sets none).
pub fn keys() -> Keys {
    Keys::default()
}

/// Everything one test needs, torn down in order on drop (the ticker first).
pub struct Env {
    /// Calls the worker route on a timer (HTTP-only deployments), if started.
    pub ticker: Option<cloud::Ticker>,
    pub app: App,
    pub mock: MockBeds24,
    pub db: Database,
    pub redis: RedisServer,
    http: reqwest::blocking::Client,
}

/// Under a real Spin the HTTP trigger can say "Serving" before the Redis trigger (a
/// process of its own) has subscribed, and a wake-up published meanwhile reaches no
/// worker. Wait (briefly, best effort: some tests start it with a broken configuration)
/// until the worker listens on both its channels.
pub(crate) fn settle_subscriptions(redis: &RedisServer) {
    let channels = [
        beds24_sync_core::keys::WAKE_CHANNEL,
        "__keyevent@0__:expired",
    ];
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        let counts: Option<Vec<(String, i64)>> = redis.connection(0).ok().and_then(|mut c| {
            redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(&channels)
                .query(&mut c)
                .ok()
        });
        if counts.is_some_and(|c| c.iter().all(|(_, n)| *n > 0)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

impl Env {
    pub fn start(tag: &str) -> Env {
        Env::start_with(tag, AppConfig::default())
    }

    pub fn start_with(tag: &str, config: AppConfig) -> Env {
        let redis = RedisServer::start();
        let db = Database::create(tag);
        let mock = MockBeds24::start().expect("mock Beds24");
        let runs_worker = config.manifest.has_redis_worker()
            && (config.components.is_empty() || config.components.contains(&"worker"));
        let app = App::start(&redis, &db, &mock, &config);
        if runs_worker {
            settle_subscriptions(&redis);
        }
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Env {
            ticker: None,
            app,
            mock,
            db,
            redis,
            http,
        }
    }

    /// POST a webhook body (raw bytes) with an optional bearer token.
    pub fn webhook(&self, body: impl Into<Vec<u8>>, token: Option<&str>) -> (u16, Value) {
        let mut request = self
            .http
            .post(self.app.url("/api/webhooks/beds24"))
            .body(body.into());
        request = request.header("content-type", "application/json");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read(request.send().expect("webhook request"))
    }

    /// GET an admin route with the admin token.
    pub fn admin_get(&self, path: &str) -> (u16, Value) {
        read(
            self.http
                .get(self.app.url(path))
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .expect("admin request"),
        )
    }

    pub fn admin_post(&self, path: &str) -> (u16, Value) {
        read(
            self.http
                .post(self.app.url(path))
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .expect("admin request"),
        )
    }

    /// POST an admin route with a JSON body and the admin token.
    pub fn admin_post_json(&self, path: &str, body: &str) -> (u16, Value) {
        read(
            self.http
                .post(self.app.url(path))
                .bearer_auth(ADMIN_TOKEN)
                .header("content-type", "application/json")
                .body(body.to_owned())
                .send()
                .expect("admin request"),
        )
    }

    pub fn get_raw(&self, path: &str, token: Option<&str>) -> reqwest::blocking::Response {
        let mut request = self.http.get(self.app.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().expect("request")
    }

    pub fn redis(&self) -> redis::Connection {
        self.redis.connection(0).expect("redis connection")
    }

    /// One booking's job as the queue stores it, read straight from Redis (`None` when
    /// the booking has no job).
    pub fn job(&self, id: impl std::fmt::Display) -> Option<JobView> {
        let id = BookingId::parse(&id.to_string()).expect("a booking id");
        Queue::new(&mut NativeRedis(self.redis()))
            .job(&id)
            .expect("reading the job")
    }

    /// Queue counts and counters read straight from Redis (not through the admin API).
    pub fn queue_stats(&self) -> QueueStats {
        Queue::new(&mut NativeRedis(self.redis()))
            .stats(Clock::Redis)
            .expect("reading the queue stats")
    }

    /// Every record of the completed (or failed) history, newest first, read straight
    /// from Redis.
    pub fn history(&self, failed: bool) -> Vec<Value> {
        let all = policy::COMPLETED_HISTORY.max(policy::FAILED_HISTORY) as i64;
        Queue::new(&mut NativeRedis(self.redis()))
            .history(failed, all)
            .expect("reading the history")
    }

    /// Hold the worker off (or let it go) by the paused key alone: no admin call, and
    /// no wake-up published when it goes.
    pub fn set_paused_key(&self, paused: bool) {
        let mut command = redis::cmd(if paused { "SET" } else { "DEL" });
        command.arg(keys().paused());
        if paused {
            command.arg("1");
        }
        command.exec(&mut self.redis()).unwrap();
    }

    /// The stored row as JSON (`row_to_json`), if any.
    pub fn booking(&self, id: &str) -> Option<Value> {
        let mut client = self.db.client();
        let exists = client
            .query_one("SELECT to_regclass('\"Booking\"') IS NOT NULL", &[])
            .map(|r| r.get::<_, bool>(0))
            .unwrap_or(false);
        if !exists {
            return None;
        }
        let rows = client
            .query(
                "SELECT row_to_json(b)::text FROM \"Booking\" b WHERE \"bookingId\" = $1",
                &[&id],
            )
            .unwrap();
        rows.first()
            .map(|r| serde_json::from_str(&r.get::<_, String>(0)).unwrap())
    }

    pub fn row_count(&self) -> i64 {
        let mut client = self.db.client();
        client
            .query_one("SELECT count(*) FROM \"Booking\"", &[])
            .map(|r| r.get(0))
            .unwrap_or(0)
    }

    /// Wait until the row exists and `check` accepts it.
    pub fn wait_booking(
        &self,
        id: &str,
        timeout: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        harness::wait_for(&format!("row {id}"), timeout, || {
            self.booking(id).filter(|row| check(row))
        })
    }

    pub fn stats(&self) -> Value {
        let (status, body) = self.admin_get("/api/admin/queues/stats");
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Enqueue `ids` while the worker is held off, then let it claim them together
    /// (in batches of `batch_size`, one invocation).
    pub fn enqueue_as_one_batch(&self, ids: impl IntoIterator<Item = u64>) {
        self.set_paused_key(true);
        for id in ids {
            let (status, body) =
                self.webhook(serde_json::json!({ "bookingId": id }).to_string(), None);
            assert_eq!(status, 202, "{body}");
        }
        assert_eq!(self.admin_post("/api/admin/queues/resume").0, 200);
    }

    /// Wait until the queue holds nothing waiting, delayed or active.
    pub fn wait_idle(&self, timeout: Duration) -> Value {
        harness::wait_for("queue to drain", timeout, || {
            let stats = self.stats();
            let busy = ["waiting", "delayed", "active"]
                .iter()
                .any(|k| stats[k].as_i64() != Some(0));
            (!busy).then_some(stats)
        })
    }
}

fn read(response: reqwest::blocking::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}
