//! spin-operator's SpinApp CRD (vendored fixture) as a JSON Schema validator that, like `kubectl --validate=strict`, rejects unknown fields.

use std::path::Path;

use serde_json::Value;

/// The openAPIV3Schema of one CRD version, compiled.
pub struct SpinAppSchema {
    /// `<group>/<version>`, what the documents' apiVersion must say.
    pub api_version: String,
    validator: jsonschema::Validator,
}

impl SpinAppSchema {
    /// The vendored CRD's v1alpha1 (the version SpinKube serves and stores).
    pub fn load(crd_path: &Path) -> Self {
        let text = std::fs::read_to_string(crd_path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", crd_path.display()));
        let crd: Value = serde_yaml_ng::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", crd_path.display()));
        Self::from_crd(&crd, "v1alpha1").unwrap_or_else(|e| panic!("{}: {e}", crd_path.display()))
    }

    pub fn from_crd(crd: &Value, version: &str) -> Result<Self, String> {
        if crd["kind"] != "CustomResourceDefinition" || crd["spec"]["names"]["kind"] != "SpinApp" {
            return Err("not the SpinApp CustomResourceDefinition".into());
        }
        let group = crd["spec"]["group"]
            .as_str()
            .ok_or("CRD without spec.group")?;
        let entry = crd["spec"]["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == version)
            .ok_or_else(|| format!("CRD has no version {version}"))?;
        if entry["served"] != true {
            return Err(format!("CRD version {version} is not served"));
        }
        let mut schema = entry["schema"]["openAPIV3Schema"].clone();
        if !schema.is_object() {
            return Err(format!("CRD version {version} has no openAPIV3Schema"));
        }
        strict(&mut schema);
        // OpenAPI v3.0 schema objects are a JSON Schema draft 4 dialect.
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .build(&schema)
            .map_err(|e| format!("compiling the schema: {e}"))?;
        Ok(Self {
            api_version: format!("{group}/{version}"),
            validator,
        })
    }

    /// Every violation, as `<path>: <message>` (empty when the document is valid).
    pub fn errors(&self, doc: &Value) -> Vec<String> {
        let mut errors: Vec<String> = self
            .validator
            .iter_errors(doc)
            .map(|e| {
                let at = e.instance_path().to_string();
                format!("{}: {e}", if at.is_empty() { "/" } else { &at })
            })
            .collect();
        if doc["apiVersion"] != self.api_version.as_str() {
            errors.push(format!("/apiVersion: expected {}", self.api_version));
        }
        if doc["kind"] != "SpinApp" {
            errors.push("/kind: expected SpinApp".into());
        }
        if !doc["metadata"]["name"].is_string() {
            errors.push("/metadata/name: missing".into());
        }
        errors
    }
}

/// Make a structural schema say what the API server enforces. Kubernetes drops (and
/// with field validation "Strict" rejects, "Warn" by default reports) fields the schema
/// does not declare unless `x-kubernetes-preserve-unknown-fields` is set; JSON Schema
/// accepts them, which would let a misspelt field (`replica:`) pass. So every object
/// with declared properties and no rule for the others gets `additionalProperties:
/// false`. The `x-kubernetes-*` extensions themselves are dropped (JSON Schema ignores
/// them anyway; `x-kubernetes-int-or-string` comes with an explicit anyOf).
fn strict(schema: &mut Value) {
    let Some(node) = schema.as_object_mut() else {
        return;
    };
    let preserve = node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    node.retain(|key, _| !key.starts_with("x-kubernetes-"));
    if node.contains_key("properties") && !node.contains_key("additionalProperties") && !preserve {
        node.insert("additionalProperties".into(), Value::Bool(false));
    }
    // Recurse only where schemas sit: a property may itself be named "items" or "properties".
    if let Some(Value::Object(properties)) = node.get_mut("properties") {
        properties.values_mut().for_each(strict);
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = node.get_mut(key) {
            match child {
                Value::Array(children) => children.iter_mut().for_each(strict),
                other => strict(other),
            }
        }
    }
    for key in ["anyOf", "allOf", "oneOf"] {
        if let Some(Value::Array(children)) = node.get_mut(key) {
            children.iter_mut().for_each(strict);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_closes_declared_objects_only() {
        let mut schema = json!({
            "type": "object",
            "properties": {
                "items": {"type": "object", "properties": {"a": {"type": "string"}}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                         "properties": {"b": {}}},
                "map": {"type": "object", "additionalProperties": {"type": "string"}}
            }
        });
        strict(&mut schema);
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["properties"]["items"]["additionalProperties"], false);
        assert!(schema["properties"]["free"]
            .get("additionalProperties")
            .is_none());
        assert!(schema["properties"]["free"]
            .get("x-kubernetes-preserve-unknown-fields")
            .is_none());
        assert_eq!(
            schema["properties"]["map"]["additionalProperties"]["type"],
            "string"
        );
        assert!(schema["properties"].get("additionalProperties").is_none());
    }
}
