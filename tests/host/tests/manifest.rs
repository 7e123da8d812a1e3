//! Manifest handling of the test host: routes, variables, runtime config and allowed outbound hosts.

use std::collections::HashMap;
use std::path::Path;

use spin_test_host::allowed_hosts::AllowedHosts;
use spin_test_host::manifest::{App, LoadOptions};
use spin_test_host::routes::Router;

const MANIFEST: &str = r#"
spin_manifest_version = 2

[application]
name = "t"

[variables]
database_url = { required = true, secret = true }
redis_url = { default = "redis://127.0.0.1:6379" }
redis_host = { default = "127.0.0.1:6379" }
api_origin = { default = "https://api.example.com" }
channel = { default = "jobs" }

[application.trigger.redis]
address = "{{ redis_url }}"

[[trigger.http]]
route = "/hook"
component = "web"

[[trigger.http]]
route = "/api/..."
component = "web"

[[trigger.redis]]
channel = "{{ channel }}"
component = "worker"

[[trigger.redis]]
channel = "other"
component = "worker"
address = "redis://10.0.0.1:6380"

[component.web]
source = "target/wasm32-wasip2/release/web.wasm"
allowed_outbound_hosts = ["redis://{{ redis_host }}", "{{ api_origin }}"]
key_value_stores = ["default"]
[component.web.variables]
db = "{{ database_url }}"
greeting = "hello {{ channel }}!"
[component.web.build]
command = "cargo build"

[component.worker]
source = "worker.wasm"
"#;

const RUNTIME_CONFIG: &str = r#"
[key_value_store.default]
type = "redis"
url = "redis://127.0.0.1:6379/1"
"#;

fn load(
    env: &[(&str, &str)],
    manifest: &str,
    rc: Option<&str>,
    wasm_dir: Option<&Path>,
) -> anyhow::Result<App> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |k: &str| env.get(k).cloned();
    let opts = LoadOptions {
        manifest_dir: Path::new("/app"),
        wasm_dir,
        env: &lookup,
    };
    App::parse(manifest, rc, &opts)
}

fn ok_app() -> App {
    load(
        &[("SPIN_VARIABLE_DATABASE_URL", "postgres://db")],
        MANIFEST,
        Some(RUNTIME_CONFIG),
        None,
    )
    .unwrap()
}

#[test]
fn resolves_component_variables_from_env_and_defaults() {
    let app = ok_app();
    let web = &app.components["web"];
    assert_eq!(web.variables["db"], "postgres://db");
    assert_eq!(web.variables["greeting"], "hello jobs!");
    assert_eq!(app.kv_stores["default"], "redis://127.0.0.1:6379/1");
}

#[test]
fn env_overrides_defaults() {
    let app = load(
        &[
            ("SPIN_VARIABLE_DATABASE_URL", "x"),
            ("SPIN_VARIABLE_CHANNEL", "env-chan"),
        ],
        MANIFEST,
        Some(RUNTIME_CONFIG),
        None,
    )
    .unwrap();
    assert_eq!(
        app.components["web"].variables["greeting"],
        "hello env-chan!"
    );
    assert_eq!(app.redis_triggers[0].channel, "env-chan");
}

#[test]
fn missing_required_variable_is_an_error() {
    let err = load(&[], MANIFEST, Some(RUNTIME_CONFIG), None).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("database_url") && msg.contains("SPIN_VARIABLE_DATABASE_URL"),
        "{msg}"
    );
}

#[test]
fn undeclared_variable_in_template_is_an_error() {
    let bad = MANIFEST.replace("\"hello {{ channel }}!\"", "\"{{ nope }}\"");
    let env = [("SPIN_VARIABLE_DATABASE_URL", "x")];
    assert!(load(&env, &bad, Some(RUNTIME_CONFIG), None).is_err());
}

#[test]
fn kv_store_must_be_in_runtime_config() {
    let err = load(&[("SPIN_VARIABLE_DATABASE_URL", "x")], MANIFEST, None, None).unwrap_err();
    assert!(
        format!("{err:#}").contains("key_value_store.default"),
        "{err:#}"
    );
}

#[test]
fn unsupported_manifest_features_are_rejected() {
    let bad = MANIFEST.replace(
        "[component.worker]\n",
        "[component.worker]\nfiles = [\"a\"]\n",
    );
    assert!(load(
        &[("SPIN_VARIABLE_DATABASE_URL", "x")],
        &bad,
        Some(RUNTIME_CONFIG),
        None
    )
    .is_err());
}

#[test]
fn wasm_paths_relative_to_manifest_or_wasm_dir() {
    let app = ok_app();
    assert_eq!(
        app.components["web"].wasm_path,
        Path::new("/app/target/wasm32-wasip2/release/web.wasm")
    );
    let env = [("SPIN_VARIABLE_DATABASE_URL", "x")];
    let app = load(
        &env,
        MANIFEST,
        Some(RUNTIME_CONFIG),
        Some(Path::new("/ci/wasm")),
    )
    .unwrap();
    assert_eq!(
        app.components["web"].wasm_path,
        Path::new("/ci/wasm/web.wasm")
    );
    assert_eq!(
        app.components["worker"].wasm_path,
        Path::new("/ci/wasm/worker.wasm")
    );
}

#[test]
fn redis_triggers_resolve_addresses() {
    let app = ok_app();
    let t: Vec<_> = app
        .redis_triggers
        .iter()
        .map(|t| (t.address.as_str(), t.channel.as_str()))
        .collect();
    assert_eq!(
        t,
        [
            ("redis://127.0.0.1:6379", "jobs"),
            ("redis://10.0.0.1:6380", "other")
        ]
    );
}

#[test]
fn routes_exact_wildcard_and_headers() {
    let r = Router::build([
        ("/metrics", "m"),
        ("/api/...", "api"),
        ("/api/admin/...", "admin"),
        ("/...", "all"),
    ])
    .unwrap();
    let m = r.route("/metrics").unwrap();
    assert_eq!(
        (m.component, m.path_info.as_str(), m.component_route),
        ("m", "", "/metrics")
    );
    assert_eq!(
        r.route("/metrics/").unwrap().component,
        "m",
        "trailing slash is ignored"
    );
    let m = r.route("/api/admin/queues/stats").unwrap();
    assert_eq!(
        (m.component, m.path_info.as_str()),
        ("admin", "/queues/stats")
    );
    assert_eq!(
        (m.raw_route, m.component_route),
        ("/api/admin/...", "/api/admin")
    );
    let m = r.route("/api/admin").unwrap();
    assert_eq!((m.component, m.path_info.as_str()), ("admin", ""));
    assert_eq!(r.route("/api/admin/").unwrap().path_info, "/");
    assert_eq!(r.route("/api/x/").unwrap().path_info, "/x/");
    assert_eq!(r.route("/api/adminx").unwrap().component, "api");
    assert_eq!(r.route("/elsewhere").unwrap().component, "all");
    assert_eq!(r.route("/").unwrap().component, "all");

    let r = Router::build([("/api/health/...", "admin"), ("/metrics", "admin")]).unwrap();
    assert!(r.route("/").is_none());
    assert!(r.route("/api/healthz").is_none());
    assert!(r.route("/metrics/more").is_none());
}

#[test]
fn duplicate_route_goes_to_last_component() {
    let r = Router::build([("/a", "first"), ("/a", "second")]).unwrap();
    assert_eq!(r.route("/a").unwrap().component, "second");
}

#[test]
fn allowed_hosts_from_manifest_templates() {
    let hosts = &ok_app().components["web"].allowed_hosts;
    assert!(hosts.allows("redis://127.0.0.1:6379", "redis"));
    assert!(hosts.allows("redis://127.0.0.1:6379/1", "redis"));
    assert!(!hosts.allows("redis://127.0.0.1:6380", "redis"));
    assert!(
        !hosts.allows("redis://localhost:6379", "redis"),
        "hosts are compared literally, as in Spin"
    );
    assert!(hosts.allows("https://api.example.com/v2/bookings?id=1", "https"));
    assert!(hosts.allows("https://api.example.com:443/", "https"));
    assert!(
        !hosts.allows("http://api.example.com/", "https"),
        "scheme must match"
    );
    assert!(!hosts.allows("https://evil.example.com/", "https"));
    assert!(!hosts.allows("postgres://127.0.0.1:5432", "postgres"));
}

#[test]
fn allowed_host_forms() {
    let h = AllowedHosts::parse(&[
        "postgres://db.local",
        "https://*.example.org",
        "http://127.0.0.1:8000..8010",
        "mqtt://*:*",
    ])
    .unwrap();
    assert!(
        h.allows("db.local", "postgres"),
        "bare host:port reads with the default scheme"
    );
    assert!(h.allows("postgres://db.local:5432/app", "postgres"));
    assert!(!h.allows("postgres://db.local:5433/app", "postgres"));
    assert!(h.allows("https://a.b.example.org/x", "https"));
    assert!(!h.allows("https://example.org/x", "https"));
    assert!(h.allows("http://127.0.0.1:8009/", "http"));
    assert!(!h.allows("http://127.0.0.1:8010/", "http"));
    assert!(h.allows("mqtt://anything:1", "mqtt"));
    assert!(AllowedHosts::parse(&["*://*:*"])
        .unwrap()
        .allows("redis://x:1", "redis"));
    assert!(!AllowedHosts::default().allows("https://a.com", "https"));
    assert!(
        AllowedHosts::parse(&["example.com"]).is_err(),
        "scheme is required"
    );
    assert!(
        AllowedHosts::parse(&["foo://example.com"]).is_err(),
        "no default port for foo"
    );
    assert!(AllowedHosts::parse(&["https://example.com/path"]).is_err());
    assert!(AllowedHosts::parse(&["insecure:allow-all"]).is_err());
    // A denial is reported (stderr) and answered false.
    assert!(!h.check("web", "https://denied.test/", "https"));
}

#[test]
fn component_id_keeps_only_those_components_and_their_triggers() {
    let mut app = parse_app_for_selection();
    app.retain_components(&["web".to_owned()]).unwrap();
    assert_eq!(app.components.keys().collect::<Vec<_>>(), ["web"]);
    assert!(app.redis_triggers.is_empty());
    assert!(app.router.route("/hello").is_some());
    let mut app = parse_app_for_selection();
    app.retain_components(&["jobs".to_owned()]).unwrap();
    assert!(app.router.route("/hello").is_none());
    assert_eq!(app.redis_triggers.len(), 1);
    assert!(parse_app_for_selection()
        .retain_components(&["nope".to_owned()])
        .is_err());
}

fn parse_app_for_selection() -> spin_test_host::manifest::App {
    let manifest = r#"
spin_manifest_version = 2
[application]
name = "sel"
[application.trigger.redis]
address = "redis://127.0.0.1:6379"
[[trigger.http]]
route = "/hello"
component = "web"
[[trigger.redis]]
channel = "c"
component = "jobs"
[component.web]
source = "web.wasm"
[component.jobs]
source = "jobs.wasm"
"#;
    let env = |_: &str| None;
    let opts = spin_test_host::manifest::LoadOptions {
        manifest_dir: std::path::Path::new("."),
        wasm_dir: None,
        env: &env,
    };
    spin_test_host::manifest::App::parse(manifest, None, &opts).unwrap()
}
