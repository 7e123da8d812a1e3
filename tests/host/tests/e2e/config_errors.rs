//! A token variable that cannot be read closes its route with a 503 saying why; it never opens it.
//!
//! The shared harness always runs the repository's spin.toml, so this file starts the test
//! host itself on a copy whose webhook and admin components do not declare their token
//! variables: `variables::get` then fails for them, as it does in Spin (`undefined`), and
//! as a failing variable provider (Vault, Azure Key Vault) would make it fail at runtime.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use redis::Commands;
use serde_json::{json, Value};

use crate::harness::{wasm_dir, RedisServer, ADMIN_TOKEN};

/// The HTTP components on a manifest without their token variables.
struct TokenlessApp {
    child: Child,
    base: String,
    logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl TokenlessApp {
    fn start(redis: &RedisServer) -> Self {
        let manifest =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../spin.toml"))
                .unwrap();
        let dropped = [
            "webhook_token = \"{{ beds24_webhook_token }}\"",
            "admin_token = \"{{ admin_token }}\"",
        ];
        let kept: Vec<&str> = manifest
            .lines()
            .filter(|line| !dropped.contains(&line.trim()))
            .collect();
        assert_eq!(
            manifest.lines().count() - kept.len(),
            2,
            "spin.toml changed: update this test"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("spin.toml"), kept.join("\n")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_spin-test-host"))
            .arg("--manifest")
            .arg(dir.path().join("spin.toml"))
            .arg("--wasm-dir")
            .arg(wasm_dir())
            .args(["--listen", "127.0.0.1:0"])
            .args(["--component-id", "webhook", "--component-id", "admin"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "SPIN_VARIABLE_DATABASE_URL",
                "postgres://postgres@127.0.0.1:5432/unused?sslmode=disable",
            )
            .env("SPIN_VARIABLE_REDIS_URL", redis.url())
            .env(
                "SPIN_VARIABLE_REDIS_HOST",
                format!("127.0.0.1:{}", redis.port),
            )
            .env("SPIN_VARIABLE_BEDS24_WEBHOOK_TOKEN", "")
            .env("SPIN_VARIABLE_ADMIN_TOKEN", ADMIN_TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn spin-test-host");
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let streams: [(Box<dyn std::io::Read + Send>, bool); 2] = [
            (Box::new(child.stdout.take().unwrap()), true),
            (Box::new(child.stderr.take().unwrap()), false),
        ];
        for (stream, announces) in streams {
            let (tx, logs) = (tx.clone(), logs.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(url) = line.strip_prefix("spin-test-host: listening on ") {
                        if announces {
                            let _ = tx.send(url.trim().to_owned());
                        }
                    }
                    logs.lock().unwrap().push(line);
                }
            });
        }
        let base = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("test host did not start: {:?}", logs.lock().unwrap()));
        TokenlessApp {
            child,
            base,
            logs,
            _dir: dir,
        }
    }

    fn send(&self, request: reqwest::blocking::RequestBuilder) -> (u16, Value) {
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }
}

impl Drop for TokenlessApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn unreadable_token_variables_close_their_routes_and_say_why() {
    let redis = RedisServer::start();
    let app = TokenlessApp::start(&redis);
    let client = reqwest::blocking::Client::new();
    let url = |path: &str| format!("{}{path}", app.base);

    let (status, body) = app.send(
        client
            .post(url("/api/webhooks/beds24"))
            .body(r#"{"booking":{"id":82279106,"firstName":"Zelda"}}"#),
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("configuration_error")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("webhook_token"),
        "{body}"
    );
    let mut queue = redis.connection(0).unwrap();
    assert_eq!(
        queue.zcard::<_, i64>(crate::keys().due()).unwrap(),
        0,
        "nothing queued"
    );
    let jobs: Vec<String> = queue
        .keys(format!("{}job:*", crate::keys().prefix()))
        .unwrap();
    assert!(jobs.is_empty(), "nothing stored: {jobs:?}");

    let (status, body) = app.send(
        client
            .get(url("/api/admin/queues/stats"))
            .bearer_auth(ADMIN_TOKEN),
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("configuration_error")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("admin_token"),
        "{body}"
    );
    let (status, body) = app.send(client.get(url("/api/health")));
    assert_eq!((status, &body["status"]), (200, &json!("ok")), "{body}");
    let logs = app.logs.lock().unwrap().join("\n");
    assert!(!logs.contains("Zelda"), "{logs}");
}
