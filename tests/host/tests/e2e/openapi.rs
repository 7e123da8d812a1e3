//! docs/openapi.yaml against the running app: every documented operation is served, answers
//! a documented status with a body matching its schema, and refuses a missing token where
//! one is required; every spin.toml route and every admin router arm is documented.

use std::time::Duration;

use mock_beds24::{Fault, Times};
use serde_json::{json, Value};

use crate::harness::{wait_for, AppConfig, WEBHOOK_TOKEN};
use crate::openapi_doc::{
    document, manifest_of, operations, repo, resolve, validate, Operation, DEAD, SYNCED,
};
use crate::Env;

fn send(env: &Env, op: &Operation, token: Option<&str>) -> (u16, String, String) {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let method = reqwest::Method::from_bytes(op.method.to_uppercase().as_bytes()).unwrap();
    let mut request = client.request(method, env.app.url(&op.url_path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = &op.body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request
        .send()
        .unwrap_or_else(|e| panic!("{}: {e}", op.name()));
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().unwrap_or_default())
}

/// The status is documented, and the body fits the documented media type and schema.
fn check_response(
    doc: &Value,
    op: &Operation,
    status: u16,
    content_type: &str,
    body: &str,
) -> Result<(), String> {
    let name = op.name();
    let documented = op
        .responses
        .get(status.to_string())
        .or_else(|| op.responses.get(format!("{}XX", status / 100)));
    let Some(response) = documented
        .or_else(|| op.responses.get("default"))
        .map(|r| resolve(doc, r))
    else {
        return Err(format!(
            "{name}: status {status} is not documented (body {body})"
        ));
    };
    let Some(content) = response["content"].as_object() else {
        return Ok(());
    };
    if op.method == "head" {
        return Ok(());
    }
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let Some(entry) = content.get(media) else {
        return Err(format!(
            "{name}: {status} answered {content_type:?}, documented {:?}",
            content.keys()
        ));
    };
    match media {
        "application/json" => {
            let value: Value = serde_json::from_str(body)
                .map_err(|e| format!("{name}: {status} body is not JSON: {e}"))?;
            let mut errors = Vec::new();
            validate(doc, &entry["schema"], &value, "$", &mut errors);
            if errors.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{name}: {status} body does not fit its schema:\n  {}\n{value:#}",
                    errors.join("\n  ")
                ))
            }
        }
        "text/html" if !body.to_ascii_lowercase().starts_with("<!doctype html") => {
            Err(format!("{name}: not an HTML page"))
        }
        _ => Ok(()),
    }
}

#[test]
fn every_documented_operation_is_served_as_documented() {
    let doc = document();
    let config = AppConfig {
        retry_delays: "0.2".into(),
        webhook_token: WEBHOOK_TOKEN.into(),
        ..AppConfig::default()
    };
    let env = Env::start_with("openapi", config);
    env.mock.booking_from_fixture(9201u64, |_| {});
    env.mock.booking_from_fixture(9202u64, |_| {});
    env.mock
        .set_fault(Some(9202), Fault::Status(503), Times::Always);
    for id in [SYNCED, DEAD] {
        assert_eq!(
            env.webhook(format!(r#"{{"bookingId":{id}}}"#), Some(WEBHOOK_TOKEN))
                .0,
            202
        );
    }
    env.wait_booking(SYNCED, Duration::from_secs(20), |_| true);
    wait_for("the dead job", Duration::from_secs(20), || {
        (env.stats()["dead"] == json!(1)).then_some(())
    });
    // Retried below, it then completes: no second death for the replay to pick up.
    env.mock.clear_faults();
    // A booking whose listing pages keep failing: the backfill started below stays running
    // (a failed page waits 10 s before the next try) until it is paused, resumed, cancelled.
    env.mock.booking_from_fixture(9203u64, |_| {});
    env.mock
        .set_fault(Some(9203), Fault::Status(503), Times::Always);

    let operations: Vec<Operation> = operations(&doc)
        .into_iter()
        .filter(|op| op.manifest == "spin.toml")
        .collect();
    assert!(
        operations.len() >= 25,
        "only {} operations documented",
        operations.len()
    );
    let mut failures = Vec::new();
    for op in &operations {
        let (status, content_type, body) = send(&env, op, op.token);
        if !(200..300).contains(&status) {
            failures.push(format!(
                "{}: expected success with the documented example, got {status} {body}",
                op.name()
            ));
        }
        if let Err(e) = check_response(&doc, op, status, &content_type, &body) {
            failures.push(e);
        }
        if op.template == "/metrics" {
            let description = doc["paths"]["/metrics"]["get"]["description"]
                .as_str()
                .unwrap_or_default();
            for family in body
                .lines()
                .filter_map(|l| l.strip_prefix("# TYPE ")?.split(' ').next())
            {
                if !description.contains(&format!("`{family}")) {
                    failures.push(format!(
                        "GET /metrics: family {family} is not in its description"
                    ));
                }
            }
        }
        if !op.open {
            let (status, content_type, body) = send(&env, op, None);
            if status != 401 {
                failures.push(format!(
                    "{} without a token: expected 401, got {status} {body}",
                    op.name()
                ));
            } else if let Err(e) = check_response(&doc, op, status, &content_type, &body) {
                failures.push(e);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The retry really revived the dead job (it was not answered from a stale route).
    let stats = env.stats();
    assert_eq!(stats["totals"]["replayed"], json!(1), "{stats}");
    // Started, paused, resumed and cancelled, in that order.
    let (status, backfill) = env.admin_get("/api/admin/backfill");
    assert_eq!(
        (status, &backfill["state"]),
        (200, &json!("idle")),
        "{backfill}"
    );
}

/// The operations only the HTTP-only manifest serves, against it: documented statuses
/// and bodies, with the token and without.
#[test]
fn cloud_operations_are_served_as_documented() {
    let doc = document();
    let env = crate::cloud::start("openapicloud", crate::cloud::cloud_config(), None);
    let cloud: Vec<Operation> = operations(&doc)
        .into_iter()
        .filter(|op| op.manifest == "deploy/cloud/spin.toml")
        .collect();
    assert!(!cloud.is_empty(), "the worker route is documented");
    let mut failures = Vec::new();
    for op in &cloud {
        for token in [op.token, None] {
            let (status, content_type, body) = send(&env, op, token);
            let expected = if token.is_some() || op.open { 200 } else { 401 };
            if status != expected {
                failures.push(format!("{} ({token:?}): {status} {body}", op.name()));
            }
            if let Err(e) = check_response(&doc, op, status, &content_type, &body) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A documented path is reachable through a route of the manifest it names; every route
/// of both manifests is documented.
#[test]
fn spin_routes_and_the_admin_router_are_all_documented() {
    let doc = document();
    let paths = doc["paths"].as_object().unwrap();
    let routes_of = |manifest: &str| -> Vec<String> {
        let text = std::fs::read_to_string(repo().join(manifest)).unwrap();
        let manifest: toml::Value = toml::from_str(&text).unwrap();
        manifest["trigger"]["http"]
            .as_array()
            .expect("[[trigger.http]]")
            .iter()
            .map(|t| t["route"].as_str().expect("route").to_owned())
            .collect()
    };
    let serves = |route: &str, path: &str| match route.strip_suffix("/...") {
        Some(prefix) => path == prefix || path.starts_with(&format!("{prefix}/")),
        None => path == route,
    };
    for manifest in ["spin.toml", "deploy/cloud/spin.toml"] {
        for route in routes_of(manifest) {
            assert!(
                paths.keys().any(|p| serves(&route, p)),
                "{manifest} route {route} has no documented path"
            );
        }
    }
    for (path, item) in paths {
        let manifest = manifest_of(item);
        assert!(
            routes_of(&manifest).iter().any(|r| serves(r, path)),
            "documented {path} is not routed by {manifest}"
        );
    }
    let paths: Vec<&String> = paths.keys().collect();

    // The admin component's own router: each `(Method::X, ["seg", id, …])` arm is documented.
    let router = std::fs::read_to_string(repo().join("components/admin/src/lib.rs")).unwrap();
    let mut arms = 0;
    for chunk in router.split("(Method::").skip(1) {
        let Some((pattern, _)) = chunk.split_once("=>") else {
            continue;
        };
        let pattern = format!("Method::{pattern}");
        let methods: Vec<String> = pattern
            .split("Method::")
            .skip(1)
            .map(|rest| {
                rest.chars()
                    .take_while(char::is_ascii_alphabetic)
                    .collect::<String>()
                    .to_lowercase()
            })
            .collect();
        for group in pattern
            .split('[')
            .skip(1)
            .filter_map(|g| g.split_once(']').map(|(inside, _)| inside))
        {
            let segments: Vec<Option<String>> = group
                .split(',')
                .map(str::trim)
                .map(|s| {
                    s.strip_prefix('"')
                        .and_then(|s| s.strip_suffix('"'))
                        .map(str::to_owned)
                })
                .collect();
            for method in &methods {
                arms += 1;
                let documented = paths.iter().any(|path| {
                    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
                    parts.len() == segments.len()
                        && parts.iter().zip(&segments).all(|(part, seg)| match seg {
                            Some(literal) => part == literal,
                            None => part.starts_with('{'),
                        })
                        && doc["paths"][path.as_str()].get(method.as_str()).is_some()
                });
                assert!(
                    documented,
                    "admin router arm {method} [{group}] is not documented: {pattern}"
                );
            }
        }
    }
    assert!(arms >= 15, "parsed only {arms} admin router arms");
}
