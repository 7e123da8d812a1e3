//! The dashboard page in a real headless Chromium (WebDriver through chromedriver): token
//! form, counts equal to the API's, the idle backfill panel, dead letters with their Retry
//! button, the booking detail panel, manual sync, pause / resume and purge.
//! UPDATE_SCREENSHOT=1 rewrites docs/dashboard.png.
//!
//! Needs the Debian packages chromium and chromium-driver: `scripts/browser` installs them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use mock_beds24::{Fault, Times};
use serde_json::{json, Value};

use crate::harness::{wait_for, AppConfig, ADMIN_TOKEN};
use crate::Env;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const PATIENCE: Duration = Duration::from_secs(30);

/// chromedriver + one Chromium session, driven synchronously (one small tokio runtime).
struct Browser {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        for binary in [CHROMEDRIVER, CHROMIUM] {
            assert!(
                Path::new(binary).exists(),
                "{binary} is missing: the dashboard test needs headless Chromium; run scripts/browser \
                 (installs the Debian packages chromium and chromium-driver)"
            );
        }
        let profile = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(profile.path().join("chromedriver.log")).unwrap();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start chromedriver");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut browser = Browser {
            rt,
            client: None,
            driver,
            _profile: profile,
        };
        let status = format!("http://127.0.0.1:{port}/status");
        wait_for("chromedriver to answer", PATIENCE, || {
            reqwest::blocking::get(&status).ok().map(drop)
        });
        let data_dir = browser._profile.path().join("profile");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1440,1000",
            &format!("--user-data-dir={}", data_dir.display()),
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = browser.rt.block_on(async {
            ClientBuilder::new(connector)
                .capabilities(capabilities)
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
        });
        let client = client.unwrap_or_else(|e| {
            let log = std::fs::read_to_string(browser._profile.path().join("chromedriver.log"))
                .unwrap_or_default();
            panic!("could not open a Chromium session through chromedriver: {e}\n{log}")
        });
        browser.client = Some(client);
        browser
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("session open")
    }

    fn goto(&self, url: &str) {
        self.rt.block_on(self.client().goto(url)).expect("navigate");
    }

    /// Run a JS function body in the page and return its value.
    fn js(&self, body: &str, args: Vec<Value>) -> Value {
        self.rt
            .block_on(self.client().execute(body, args))
            .unwrap_or_else(|e| panic!("script {body:?}: {e}"))
    }

    /// Trimmed textContent of the first element matching `css`, if there is one.
    fn text(&self, css: &str) -> Option<String> {
        let body = "const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null;";
        self.js(body, vec![json!(css)]).as_str().map(str::to_owned)
    }

    fn visible(&self, css: &str) -> bool {
        let body = "const e = document.querySelector(arguments[0]); return !!e && e.getClientRects().length > 0;";
        self.js(body, vec![json!(css)]) == json!(true)
    }

    fn click(&self, css: &str) {
        wait_for(&format!("{css} to be visible"), PATIENCE, || {
            self.visible(css).then_some(())
        });
        self.rt
            .block_on(async { self.client().find(Locator::Css(css)).await?.click().await })
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    fn type_into(&self, css: &str, text: &str) {
        wait_for(&format!("{css} to be visible"), PATIENCE, || {
            self.visible(css).then_some(())
        });
        self.rt
            .block_on(async {
                let field = self.client().find(Locator::Css(css)).await?;
                field.clear().await?;
                field.send_keys(text).await
            })
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    fn accept_confirm(&self) {
        wait_for("the confirm dialog", PATIENCE, || {
            self.rt.block_on(self.client().accept_alert()).ok()
        });
    }

    fn wait_text(&self, css: &str, expected: &str) {
        wait_for(
            &format!("{css} to read {expected:?} (reads {:?})", self.text(css)),
            PATIENCE,
            || (self.text(css).as_deref() == Some(expected)).then_some(()),
        );
    }

    /// A PNG of the whole page: the window is resized to the document's height first.
    fn screenshot_full_page(&self, path: &Path) {
        let height = self
            .js("return document.documentElement.scrollHeight;", vec![])
            .as_u64()
            .unwrap_or(1000);
        let client = self.client();
        let png = self.rt.block_on(async {
            client
                .set_window_size(1440, (height as u32 + 140).min(4000))
                .await?;
            tokio::time::sleep(Duration::from_millis(300)).await;
            client.screenshot().await
        });
        let png = png.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
        self.rt
            .block_on(client.set_window_size(1440, 1000))
            .expect("resize back");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.rt.block_on(client.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

/// The six counts as the page shows them equal the API's, on one refresh.
fn counts_match(browser: &Browser, env: &Env) -> Value {
    wait_for("the dashboard counts to equal the API's", PATIENCE, || {
        let stats = env.stats();
        let all = [
            "waiting",
            "active",
            "delayed",
            "completed",
            "failed",
            "dead",
        ]
        .iter()
        .all(|k| browser.text(&format!("#count-{k}")) == Some(stats[k].to_string()));
        all.then_some(stats)
    })
}

#[test]
fn dashboard_shows_the_queue_and_retries_a_dead_job() {
    let browser = Browser::start();
    let env = Env::start_with(
        "dashboard",
        AppConfig {
            retry_delays: "0.2".into(),
            ..AppConfig::default()
        },
    );
    for id in [91001u64, 91002, 91003] {
        env.mock.booking_from_fixture(id, |_| {});
    }
    assert_eq!(
        env.webhook(r#"{"bookingId":91001,"action":"created"}"#, None)
            .0,
        202
    );
    env.wait_booking("91001", PATIENCE, |_| true);
    env.wait_idle(PATIENCE);

    // A wrong token is refused and the form comes back; the right one opens the dashboard.
    browser.goto(&env.app.url("/api/admin/queues/ui"));
    assert_eq!(
        browser.rt.block_on(browser.client().title()).unwrap(),
        "beds24-sync · queue dashboard"
    );
    browser.type_into("#token-input", "not-the-token");
    browser.click("#token-save");
    wait_for("the refused token to be reported", PATIENCE, || {
        browser
            .text("#login-reason")
            .filter(|t| t.contains("refused") && browser.visible("#token-input"))
    });
    browser.type_into("#token-input", ADMIN_TOKEN);
    browser.click("#token-save");
    let stats = counts_match(&browser, &env);
    assert_eq!(stats["completed"], json!(1), "{stats}");
    browser.wait_text("#total-processed", "1");
    browser.wait_text("#total-received", "1");
    browser.wait_text("#paused-badge", "running");
    // The Sync Masivo panel: no backfill yet, so it reads idle and only Start is offered.
    browser.wait_text("#backfill-state", "idle");
    let buttons =
        "return ['start', 'pause'].map((b) => document.getElementById('backfill-' + b).disabled);";
    assert_eq!(browser.js(buttons, vec![]), json!([false, true]));
    assert_eq!(
        browser.js("return sessionStorage.length;", vec![]),
        json!(1),
        "the token is kept for the tab"
    );
    wait_for("the completed job to be listed", PATIENCE, || {
        browser
            .text("#completed-table .history-row[data-booking-id='91001']")
            .filter(|t| t.contains("CREATED"))
    });

    // A booking Beds24 keeps failing for: dead after 2 tries, listed with its Retry button.
    env.mock
        .set_fault(Some(91002), Fault::Status(503), Times::Always);
    assert_eq!(env.webhook(r#"{"bookingId":91002}"#, None).0, 202);
    wait_for("91002 to be dead", PATIENCE, || {
        (env.stats()["dead"] == json!(1)).then_some(())
    });
    let retry = ".retry-dead[data-booking-id='91002']";
    wait_for("the dead job's Retry button", PATIENCE, || {
        browser.visible(retry).then_some(())
    });
    let stats = counts_match(&browser, &env);
    assert_eq!(stats["dead"], json!(1), "{stats}");
    let row = browser.text(".dead-row[data-booking-id='91002']").unwrap();
    assert!(
        row.contains("503") || row.contains("temporarily"),
        "dead row shows the last error: {row}"
    );

    // Its detail: state dead, both failed tries in the timeline, no stored row.
    browser.click(".dead-row[data-booking-id='91002'] .booking-link");
    browser.wait_text("#detail-state", "dead");
    browser.wait_text("#detail-id", "91002");
    wait_for("the two failed tries", PATIENCE, || {
        (browser.js(
            "return document.querySelectorAll('#detail-timeline tr').length;",
            vec![],
        ) == json!(3))
        .then_some(())
    });
    assert!(browser.text("#detail-booking").unwrap().contains("No row"));

    // Searching a synced booking shows its stored row as a table.
    browser.type_into("#search-id", "91001");
    browser.click("#search-btn");
    browser.wait_text("#detail-id", "91001");
    browser.wait_text("#detail-state", "no job");
    let row = env.booking("91001").unwrap();
    wait_for("the stored row in the detail panel", PATIENCE, || {
        let shown = browser.text("#detail-booking")?;
        (shown.contains("bookingId91001") && shown.contains(row["status"].as_str()?)).then_some(())
    });
    // Refresh the committed screenshot only when asked (UPDATE_SCREENSHOT=1), so a test
    // run leaves the checkout clean; otherwise it still goes through the same code path.
    let shot_dir = if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
        docs_dir()
    } else {
        std::env::temp_dir()
    };
    browser.screenshot_full_page(&shot_dir.join("dashboard.png"));

    // Fix Beds24, press Retry: the job leaves the dead letters and the row appears.
    env.mock.clear_faults();
    browser.click(retry);
    wait_for("91002 to leave the dead-letter set", PATIENCE, || {
        let score: Option<f64> =
            redis::Commands::zscore(&mut env.redis(), crate::keys().dead(), "91002").unwrap();
        score.is_none().then_some(())
    });
    env.wait_booking("91002", PATIENCE, |_| true);
    env.wait_idle(PATIENCE);
    let stats = counts_match(&browser, &env);
    assert_eq!(
        (stats["dead"].clone(), stats["completed"].clone()),
        (json!(0), json!(2)),
        "{stats}"
    );
    wait_for("the empty dead list", PATIENCE, || {
        browser
            .text("#dead-table tbody")
            .filter(|t| t == "No dead jobs.")
    });
    browser.wait_text("#total-replayed", "1");

    // Sync booking now: a manual job, counted as such.
    browser.type_into("#enqueue-id", "91003");
    browser.click("#enqueue-btn");
    env.wait_booking("91003", PATIENCE, |_| true);
    wait_for("the flash message", PATIENCE, || {
        browser.text("#flash").filter(|t| t.contains("91003"))
    });
    browser.wait_text("#total-manual", "1");

    // Pause and resume.
    browser.click("#pause-btn");
    browser.wait_text("#paused-badge", "PAUSED");
    let paused: bool = redis::Commands::exists(&mut env.redis(), crate::keys().paused()).unwrap();
    assert!(paused);
    browser.click("#resume-btn");
    browser.wait_text("#paused-badge", "running");
    let paused: bool = redis::Commands::exists(&mut env.redis(), crate::keys().paused()).unwrap();
    assert!(!paused);

    // Purge asks first; once accepted the completed history is gone.
    env.wait_idle(PATIENCE);
    browser.click("#purge-completed");
    browser.accept_confirm();
    browser.wait_text("#count-completed", "0");
    let kept: i64 =
        redis::Commands::llen(&mut env.redis(), crate::keys().completed_history()).unwrap();
    assert_eq!(kept, 0);

    // Forgetting the token brings the form back.
    browser.click("#logout-btn");
    wait_for("the token form", PATIENCE, || {
        browser.visible("#token-input").then_some(())
    });
    assert_eq!(
        browser.js("return sessionStorage.length;", vec![]),
        json!(0)
    );
}
