//! A small JSON-schema checker for the OpenAPI 3.0 subset docs/openapi.yaml uses ($ref, types, required, enums, items, properties).

use serde_json::{json, Value};

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
