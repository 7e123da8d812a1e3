//! Outages: Redis restarts with jobs queued, the worker process dies, Spin exits when Redis drops.

use std::time::Duration;

use serde_json::json;

use crate::harness::{wait_for, App, AppConfig};
use crate::Env;

#[test]
fn host_exits_when_redis_drops_and_queued_jobs_survive_a_redis_restart() {
    let mut env = Env::start("redisrestart");
    for id in 8000..8010u64 {
        env.mock.booking_from_fixture(id, |_| {});
    }
    redis::cmd("SET")
        .arg("b24:paused")
        .arg("1")
        .exec(&mut env.redis())
        .unwrap();
    for id in 8000..8010u64 {
        assert_eq!(
            env.webhook(json!({"bookingId": id}).to_string(), None).0,
            202
        );
    }
    env.redis.restart();
    // Like `spin up`, the host ends when its Redis trigger connection drops.
    let status = wait_for("the host to exit", Duration::from_secs(10), || {
        env.app.exited()
    });
    assert!(!status.success());
    // AOF kept every accepted job; the supervisor (here: the test) starts the app again.
    redis::cmd("DEL")
        .arg("b24:paused")
        .exec(&mut env.redis())
        .unwrap();
    env.app = App::start(&env.redis, &env.db, &env.mock, &AppConfig::default());
    assert_eq!(env.admin_post("/api/admin/tick").0, 202);
    let stats = env.wait_idle(Duration::from_secs(30));
    assert_eq!(stats["totals"]["processed"], json!(10), "{stats}");
    assert_eq!(env.row_count(), 10);
}
