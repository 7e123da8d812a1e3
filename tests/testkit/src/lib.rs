//! Test-only helpers shared by core integration tests, end-to-end tests and benchmarks.

mod beds24;
mod database;
mod http;
mod redis_server;
mod store;

use std::net::TcpListener;
use std::time::{Duration, Instant};

pub use beds24::{delete_prefix, Beds24Env, TokenKind};
pub use database::Database;
pub use http::{NativeHttp, NativePending};
pub use redis_server::RedisServer;
pub use store::{NativePg, NativeRedis};

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Poll `check` until it returns Some; panics naming `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Drive a future that never waits to its end: core's worker blocks on its doors (Redis,
/// HTTP, Postgres), so one poll finishes it; a future that does wait is a bug and panics.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(future).as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the future waited"),
    }
}
