//! Reading docs/openapi.yaml: its operations with example parameters, and a small checker for the
//! JSON-schema subset it uses ($ref, types, required, enums, items, properties).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::harness::{ADMIN_TOKEN, WEBHOOK_TOKEN};

/// A booking that is synced, and one left dead, for the path parameters.
pub const SYNCED: &str = "9201";
pub const DEAD: &str = "9202";

pub const METHODS: [&str; 5] = ["get", "head", "post", "put", "delete"];

pub fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let target = doc
                .pointer(reference.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("dangling $ref {reference}"));
            resolve(doc, target)
        }
        None => value,
    }
}

/// A deliberately small JSON Schema (OpenAPI 3.0 dialect) check: type, nullable, enum,
/// required, properties, additionalProperties, items, allOf / oneOf / anyOf, date-time.
pub fn validate(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if value.is_null() && schema["nullable"] == json!(true) {
        return;
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        validate(doc, part, value, at, errors);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(choices) = schema[key].as_array() {
            let fits = choices.iter().any(|choice| {
                let mut inner = Vec::new();
                validate(doc, choice, value, at, &mut inner);
                inner.is_empty()
            });
            if !fits {
                errors.push(format!("{at}: {value} matches none of {key}"));
            }
        }
    }
    if let Some(kind) = schema["type"].as_str() {
        let ok = match kind {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            other => panic!("unknown schema type {other}"),
        };
        if !ok {
            errors.push(format!("{at}: expected {kind}, got {value}"));
            return;
        }
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            errors.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    if schema["format"] == json!("date-time") {
        if let Some(text) = value.as_str() {
            if chrono::DateTime::parse_from_rfc3339(text).is_err() {
                errors.push(format!("{at}: {text:?} is not an RFC 3339 date-time"));
            }
        }
    }
    if let Some(object) = value.as_object() {
        for key in schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(key) {
                errors.push(format!("{at}: missing required {key:?}"));
            }
        }
        for (key, item) in object {
            let path = format!("{at}.{key}");
            match schema["properties"].get(key) {
                Some(property) => validate(doc, property, item, &path, errors),
                None if schema["additionalProperties"].is_object() => {
                    validate(doc, &schema["additionalProperties"], item, &path, errors)
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (n, item) in array.iter().enumerate() {
            validate(doc, items, item, &format!("{at}[{n}]"), errors);
        }
    }
}

/// The manifest serving a path item: its `x-manifest`, else `spin.toml`.
pub fn manifest_of(item: &Value) -> String {
    item["x-manifest"]
        .as_str()
        .unwrap_or("spin.toml")
        .to_owned()
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn document() -> Value {
    let text =
        std::fs::read_to_string(repo().join("docs/openapi.yaml")).expect("docs/openapi.yaml");
    let doc: Value = serde_yaml_ng::from_str(&text).expect("docs/openapi.yaml is valid YAML");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.0")),
        "an OpenAPI 3.0 document"
    );
    doc
}

/// One documented operation, ready to send.
pub struct Operation {
    pub method: String,
    pub template: String,
    pub url_path: String,
    pub token: Option<&'static str>,
    /// Whether some security alternative needs no token.
    pub open: bool,
    pub body: Option<Value>,
    pub responses: Value,
    /// The manifest that serves it (`x-manifest` of its path; `spin.toml` by default).
    pub manifest: String,
}

impl Operation {
    pub fn name(&self) -> String {
        format!("{} {}", self.method.to_uppercase(), self.template)
    }

    /// Run order: reads first, then retry (needs the dead job), then the other actions
    /// (the backfill is started before it is paused), resumes, and cancel last.
    fn rank(&self) -> u8 {
        match (self.method.as_str(), self.template.as_str()) {
            ("get" | "head", _) => 0,
            (_, t) if t.ends_with("/retry") => 1,
            (_, t) if t.contains("/purge/") => 3,
            (_, t) if t.ends_with("/resume") => 4,
            (_, t) if t.ends_with("/cancel") => 5,
            ("post", "/api/admin/backfill") => 1,
            _ => 2,
        }
    }
}

fn example_of(doc: &Value, parameter: &Value) -> String {
    let schema = resolve(doc, &parameter["schema"]);
    let value = parameter
        .get("example")
        .or_else(|| schema.get("example"))
        .or_else(|| schema["enum"].get(0));
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => panic!(
            "parameter {} has no example or enum to send",
            parameter["name"]
        ),
    }
}

pub fn operations(doc: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let parameters: Vec<&Value> = item["parameters"]
                .as_array()
                .into_iter()
                .chain(op["parameters"].as_array())
                .flatten()
                .map(|p| resolve(doc, p))
                .collect();
            let mut url_path = template.clone();
            let mut query = Vec::new();
            for parameter in &parameters {
                let name = parameter["name"].as_str().unwrap();
                match parameter["in"].as_str() {
                    Some("path") => {
                        let value = if name == "bookingId" {
                            DEAD.to_owned()
                        } else {
                            example_of(doc, parameter)
                        };
                        url_path = url_path.replace(&format!("{{{name}}}"), &value);
                    }
                    Some("query") if parameter["required"] == json!(true) => {
                        query.push(format!("{name}={}", example_of(doc, parameter)))
                    }
                    _ => {}
                }
            }
            assert!(
                !url_path.contains('{'),
                "{template}: a path parameter is not declared"
            );
            if !query.is_empty() {
                url_path = format!("{url_path}?{}", query.join("&"));
            }
            let security = op
                .get("security")
                .unwrap_or(&doc["security"])
                .as_array()
                .cloned()
                .unwrap_or_default();
            let open = security.is_empty()
                || security
                    .iter()
                    .any(|r| r.as_object().is_some_and(|o| o.is_empty()));
            let scheme = security
                .iter()
                .filter_map(|r| r.as_object()?.keys().next().cloned())
                .next();
            let token = scheme.map(|s| match s.as_str() {
                "adminToken" => ADMIN_TOKEN,
                "webhookToken" => WEBHOOK_TOKEN,
                "workerToken" => crate::cloud::WORKER_TOKEN,
                other => panic!("unknown security scheme {other}"),
            });
            let body = op["requestBody"]["content"]["application/json"]
                .get("example")
                .cloned();
            if op["requestBody"]["required"] == json!(true) {
                assert!(
                    body.is_some(),
                    "{method} {template}: a required body needs an example"
                );
            }
            let responses = op["responses"].clone();
            assert!(
                responses.as_object().is_some_and(|r| !r.is_empty()),
                "{method} {template}: no responses"
            );
            out.push(Operation {
                method: method.into(),
                template: template.clone(),
                url_path,
                token,
                open,
                body,
                responses,
                manifest: manifest_of(item),
            });
        }
    }
    out.sort_by_key(Operation::rank);
    out
}
