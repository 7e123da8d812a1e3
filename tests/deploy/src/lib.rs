//! Loading for the deploy manifest tests: the YAML documents of deploy/kubernetes, spin.toml and the vendored SpinApp CRD.

pub mod checks;
pub mod crd;
pub mod spin;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// The repository root (this crate sits in `tests/deploy`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn manifest_dir() -> PathBuf {
    repo_root().join("deploy/kubernetes")
}

pub fn crd_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/core.spinkube.dev_spinapps.yaml")
}

/// One YAML document of one manifest file.
#[derive(Debug, Clone)]
pub struct Doc {
    /// File name inside deploy/kubernetes.
    pub file: String,
    pub value: Value,
}

impl Doc {
    pub fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or_default()
    }

    /// `web.yaml SpinApp/beds24-sync-web`, for messages.
    pub fn label(&self) -> String {
        format!("{} {}/{}", self.file, self.kind(), self.name())
    }
}

/// The `.yaml`/`.yml` files of `dir`, by name.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
}

/// Every non-empty document of a (multi-document) YAML text, as JSON values.
pub fn parse_docs(text: &str) -> Result<Vec<Value>, String> {
    let mut docs = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(text) {
        let value = Value::deserialize(document).map_err(|e| e.to_string())?;
        // `---` at the start or end leaves an empty document: kubectl skips those too.
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

/// Every document of every manifest file in deploy/kubernetes.
pub fn load_docs() -> Vec<Doc> {
    let mut docs = Vec::new();
    for path in yaml_files(&manifest_dir()) {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        let values = parse_docs(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        docs.extend(values.into_iter().map(|value| Doc {
            file: file.clone(),
            value,
        }));
    }
    docs
}

/// Every `secretKeyRef` anywhere in `value`, as (secret name, key).
pub fn secret_key_refs(value: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    walk(value, &mut |object| {
        if let Some(r) = object.get("secretKeyRef") {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            found.push((text(&r["name"]), text(&r["key"])));
        }
    });
    found
}

fn walk(value: &Value, visit: &mut impl FnMut(&serde_json::Map<String, Value>)) {
    match value {
        Value::Object(object) => {
            visit(object);
            object.values().for_each(|v| walk(v, visit));
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, visit)),
        _ => {}
    }
}

/// A list of strings (`spec.components`), empty when absent or not a list.
pub fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}
