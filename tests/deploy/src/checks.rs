//! Consistency checks between the SpinKube manifests and spin.toml; each returns its problems (empty = fine) so tests can also feed them broken input.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::spin::SpinManifest;
use crate::{secret_key_refs, strings, Doc};

/// Which triggers a SpinApp may retain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Only HTTP-triggered components (they may share a process).
    Http,
    /// Only components without an HTTP route (the Redis-trigger worker).
    NonHttp,
}

/// `spec.components` is set (all components in one process is what the split avoids),
/// every entry is a spin.toml component, none twice, and the selection does not put
/// HTTP and Redis triggers in one process.
pub fn components(app: &Value, spin: &SpinManifest) -> Vec<String> {
    let selected = strings(&app["spec"]["components"]);
    let mut problems = Vec::new();
    if selected.is_empty() {
        problems.push("spec.components is empty or missing: every component would run".into());
    }
    let mut seen = BTreeSet::new();
    for name in &selected {
        if !seen.insert(name) {
            problems.push(format!("component {name} is listed twice"));
        }
        if !spin.components.contains_key(name) {
            problems.push(format!(
                "component {name} is not a [component.{name}] of spin.toml"
            ));
        }
    }
    let with = |pick: fn(&crate::spin::Component) -> bool| {
        selected
            .iter()
            .any(|n| spin.components.get(n).is_some_and(pick))
    };
    if with(|c| !c.redis_channels.is_empty()) && with(|c| !c.http_routes.is_empty()) {
        problems.push(
            "HTTP and Redis triggers in one SpinApp: the process ends when Redis drops".into(),
        );
    }
    problems
}

/// Every retained component has triggers of `role` only.
pub fn role(app: &Value, spin: &SpinManifest, role: Role) -> Vec<String> {
    let mut problems = Vec::new();
    for name in strings(&app["spec"]["components"]) {
        let Some(component) = spin.components.get(&name) else {
            continue; // reported by `components`
        };
        let http = !component.http_routes.is_empty();
        match role {
            Role::Http if !http || !component.redis_channels.is_empty() => {
                problems.push(format!("component {name} is not HTTP-only"))
            }
            Role::NonHttp if http => problems.push(format!("component {name} has HTTP routes")),
            _ => {}
        }
    }
    problems
}

/// Probes ask a route of the SpinApp's own components (the pod serves no other); a
/// SpinApp without HTTP components has no probes (nothing listens for them).
pub fn probes(app: &Value, spin: &SpinManifest) -> Vec<String> {
    let selected = strings(&app["spec"]["components"]);
    let serves_http = selected.iter().any(|n| {
        spin.components
            .get(n)
            .is_some_and(|c| !c.http_routes.is_empty())
    });
    let mut problems = Vec::new();
    let checks = app["spec"]["checks"].as_object().into_iter().flatten();
    for (probe, check) in checks {
        let Some(path) = check["httpGet"]["path"].as_str() else {
            continue; // the schema requires it
        };
        if !serves_http {
            problems.push(format!("{probe} probe {path}: this SpinApp serves no HTTP"));
        } else if spin.serving(&selected, path).is_none() {
            problems.push(format!(
                "{probe} probe {path}: no route of {selected:?} in spin.toml serves it"
            ));
        }
    }
    problems
}

/// `spec.variables` names spin.toml variables, each once, with one source; they are
/// ones the retained components use; and every used variable a pod cannot do without
/// (required, secret, or a loopback default) is set.
pub fn variables(app: &Value, spin: &SpinManifest) -> Vec<String> {
    let selected = strings(&app["spec"]["components"]);
    let used: BTreeSet<&String> = selected
        .iter()
        .filter_map(|n| spin.components.get(n))
        .flat_map(|c| &c.uses)
        .collect();
    let mut problems = Vec::new();
    let mut bound = BTreeSet::new();
    for entry in app["spec"]["variables"].as_array().into_iter().flatten() {
        let name = entry["name"].as_str().unwrap_or_default().to_owned();
        if !bound.insert(name.clone()) {
            problems.push(format!("variable {name} is set twice"));
        }
        if !spin.variables.contains_key(&name) {
            problems.push(format!("variable {name} is not in spin.toml [variables]"));
        } else if !used.contains(&name) {
            problems.push(format!("variable {name} is not used by {selected:?}"));
        }
        if entry.get("value").is_some() == entry.get("valueFrom").is_some() {
            problems.push(format!(
                "variable {name} needs exactly one of value / valueFrom"
            ));
        }
    }
    for name in used {
        let Some(variable) = spin.variables.get(name) else {
            problems.push(format!(
                "spin.toml uses {{{{ {name} }}}} but has no such variable"
            ));
            continue;
        };
        let needed = variable.required || variable.secret || variable.default_is_local();
        if needed && !bound.contains(name) {
            problems.push(format!(
                "variable {name} is used by {selected:?} but not set"
            ));
        }
    }
    problems
}

/// The key-value stores the retained components open are all declared (else the shim
/// gives each pod its own local store, and the web and worker pods would not share job
/// records), on Redis, and nothing else is declared.
pub fn key_value_stores(app: &Value, spin: &SpinManifest) -> Vec<String> {
    let selected = strings(&app["spec"]["components"]);
    let used: BTreeSet<&str> = selected
        .iter()
        .filter_map(|n| spin.components.get(n))
        .flat_map(|c| c.key_value_stores.iter().map(String::as_str))
        .collect();
    let runtime = &app["spec"]["runtimeConfig"];
    let mut problems = Vec::new();
    if runtime.get("loadFromSecret").is_some() {
        problems.push("runtimeConfig.loadFromSecret hides the stores from this check".into());
    }
    let mut declared = BTreeMap::new();
    for store in runtime["keyValueStores"].as_array().into_iter().flatten() {
        let name = store["name"].as_str().unwrap_or_default();
        declared.insert(name, store["type"].as_str().unwrap_or_default());
    }
    for name in &used {
        match declared.get(name) {
            None => problems.push(format!(
                "key-value store {name} is used but not declared in spec.runtimeConfig \
                 (each pod would get a store of its own)"
            )),
            Some(&"redis") => {}
            Some(other) => problems.push(format!(
                "key-value store {name} is of type {other}: all pods must share it (redis)"
            )),
        }
    }
    for name in declared.keys().filter(|n| !used.contains(*n)) {
        problems.push(format!(
            "key-value store {name} is declared but no component uses it"
        ));
    }
    problems
}

/// Every secretKeyRef of the other documents names `secret` and one of its keys, and
/// every key of `secret` is used by some document.
pub fn secret_refs(docs: &[Doc], secret: &Doc) -> Vec<String> {
    let keys: BTreeSet<&String> = ["stringData", "data"]
        .iter()
        .filter_map(|field| secret.value[field].as_object())
        .flat_map(|map| map.keys())
        .collect();
    let mut problems = Vec::new();
    let mut used = BTreeSet::new();
    for doc in docs.iter().filter(|d| d.kind() != "Secret") {
        for (name, key) in secret_key_refs(&doc.value) {
            if name != secret.name() {
                problems.push(format!("{}: secretKeyRef to secret {name:?}", doc.label()));
            } else if !keys.contains(&key) {
                problems.push(format!(
                    "{}: key {key} is not in {}",
                    doc.label(),
                    secret.file
                ));
            }
            used.insert(key);
        }
    }
    for key in keys.into_iter().filter(|k| !used.contains(*k)) {
        problems.push(format!("{}: key {key} is used by no manifest", secret.file));
    }
    problems
}

/// The tick CronJob runs every minute, one at a time, and POSTs with the admin token
/// to a route its target SpinApp's own components serve, through that SpinApp's Service.
pub fn tick(cronjob: &Value, apps: &[&Doc], spin: &SpinManifest) -> Vec<String> {
    let mut problems = Vec::new();
    let spec = &cronjob["spec"];
    if spec["schedule"] != "*/1 * * * *" {
        problems.push(format!("schedule {} is not every minute", spec["schedule"]));
    }
    if spec["concurrencyPolicy"] != "Forbid" {
        problems.push("concurrencyPolicy is not Forbid".into());
    }
    let containers = &spec["jobTemplate"]["spec"]["template"]["spec"]["containers"];
    let [container] = containers.as_array().map(Vec::as_slice).unwrap_or_default() else {
        return vec!["the job template must have exactly one container".into()];
    };
    let args = strings(&container["args"]);
    if !args
        .windows(2)
        .any(|w| matches!(w[0].as_str(), "--request" | "-X") && w[1] == "POST")
    {
        problems.push("curl is not told to POST".into());
    }
    if !args
        .iter()
        .any(|a| a == "Authorization: Bearer $(ADMIN_TOKEN)")
    {
        problems.push("no `Authorization: Bearer $(ADMIN_TOKEN)` header".into());
    }
    let token = container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == "ADMIN_TOKEN");
    if token.map(|e| &e["valueFrom"]["secretKeyRef"]["key"]) != Some(&Value::from("admin_token")) {
        problems.push("ADMIN_TOKEN does not come from the secret's admin_token".into());
    }
    let urls: Vec<&String> = args.iter().filter(|a| a.starts_with("http://")).collect();
    let [url] = urls.as_slice() else {
        problems.push(format!(
            "expected one http:// URL in the args, found {urls:?}"
        ));
        return problems;
    };
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    // spin-operator's Service is named after the SpinApp and listens on port 80.
    let service = host.strip_suffix(":80").unwrap_or(host);
    match apps.iter().find(|a| a.name() == service) {
        None => problems.push(format!("{url}: {service} is no SpinApp's Service")),
        Some(app) => {
            let selected = strings(&app.value["spec"]["components"]);
            if spin.serving(&selected, path).is_none() {
                problems.push(format!(
                    "{url}: no component of {} serves {path}",
                    app.name()
                ));
            }
        }
    }
    problems
}

/// The kustomization lists every manifest file but itself and the secret template.
pub fn kustomization(kustomization: &Value, files: &[String]) -> Vec<String> {
    let listed: BTreeSet<String> = strings(&kustomization["resources"]).into_iter().collect();
    let expected: BTreeSet<String> = files
        .iter()
        .filter(|f| *f != "kustomization.yaml" && *f != "secret.example.yaml")
        .cloned()
        .collect();
    let mut problems = Vec::new();
    if listed.contains("secret.example.yaml") {
        problems.push("the secret template is applied: it would overwrite the real secret".into());
    }
    for file in expected.difference(&listed) {
        problems.push(format!("{file} is not in resources"));
    }
    for file in listed.difference(&expected) {
        problems.push(format!("resources lists {file}, which is no manifest here"));
    }
    problems
}
