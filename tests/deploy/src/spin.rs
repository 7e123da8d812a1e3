//! What the manifest checks need from spin.toml: variables, and each component's triggers, stores and variable uses.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use toml::{Table, Value};

/// One `[variables]` entry.
#[derive(Debug, Clone, Default)]
pub struct Variable {
    pub required: bool,
    pub secret: bool,
    pub default: Option<String>,
}

impl Variable {
    /// A default that only makes sense on a developer machine (a loopback address):
    /// in a pod it points at the pod itself, so a SpinApp must set the variable.
    pub fn default_is_local(&self) -> bool {
        self.default
            .as_deref()
            .is_some_and(|d| d.contains("127.0.0.1") || d.contains("localhost"))
    }
}

/// One `[component.<name>]` with the triggers that name it.
#[derive(Debug, Clone, Default)]
pub struct Component {
    /// Routes of the `[[trigger.http]]` entries naming this component.
    pub http_routes: Vec<String>,
    /// Channels of the `[[trigger.redis]]` entries naming this component.
    pub redis_channels: Vec<String>,
    pub key_value_stores: Vec<String>,
    /// Application variables its settings name as `{{ name }}` (component variables,
    /// allowed_outbound_hosts, and the Redis trigger's address when Redis-triggered).
    pub uses: BTreeSet<String>,
}

/// The parts of spin.toml the manifests depend on.
#[derive(Debug, Clone, Default)]
pub struct SpinManifest {
    pub variables: BTreeMap<String, Variable>,
    pub components: BTreeMap<String, Component>,
}

impl SpinManifest {
    pub fn load(path: &Path) -> Self {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        Self::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let doc: Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut manifest = Self::default();
        for (name, value) in doc
            .get("variables")
            .and_then(Value::as_table)
            .into_iter()
            .flatten()
        {
            let field = |key: &str| value.get(key);
            manifest.variables.insert(
                name.clone(),
                Variable {
                    required: field("required").and_then(Value::as_bool).unwrap_or(false),
                    secret: field("secret").and_then(Value::as_bool).unwrap_or(false),
                    default: field("default").and_then(Value::as_str).map(str::to_owned),
                },
            );
        }
        for (name, value) in doc
            .get("component")
            .and_then(Value::as_table)
            .into_iter()
            .flatten()
        {
            let mut component = Component {
                key_value_stores: strings(value.get("key_value_stores")),
                ..Component::default()
            };
            let vars = value.get("variables").and_then(Value::as_table);
            let settings = vars.into_iter().flatten().filter_map(|(_, v)| v.as_str());
            let hosts = strings(value.get("allowed_outbound_hosts"));
            for text in settings.chain(hosts.iter().map(String::as_str)) {
                component.uses.extend(template_refs(text));
            }
            manifest.components.insert(name.clone(), component);
        }
        // The application-wide Redis address serves every Redis trigger without its own.
        let app_redis = doc
            .get("application")
            .and_then(|a| a.get("trigger"))
            .and_then(|t| t.get("redis"))
            .and_then(|r| r.get("address"))
            .and_then(Value::as_str);
        let triggers = doc.get("trigger").and_then(Value::as_table);
        for (kind, entries) in triggers.into_iter().flatten() {
            for entry in entries.as_array().into_iter().flatten() {
                let name = entry
                    .get("component")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        format!(
                            "a [[trigger.{kind}]] names no component id (inline ones unsupported)"
                        )
                    })?;
                let component = manifest
                    .components
                    .get_mut(name)
                    .ok_or_else(|| format!("[[trigger.{kind}]] names unknown component {name}"))?;
                let field = |key: &str| entry.get(key).and_then(Value::as_str).unwrap_or_default();
                match kind.as_str() {
                    "http" => component.http_routes.push(field("route").to_owned()),
                    "redis" => {
                        component.redis_channels.push(field("channel").to_owned());
                        let address = entry.get("address").and_then(Value::as_str).or(app_redis);
                        component
                            .uses
                            .extend(address.into_iter().flat_map(template_refs));
                    }
                    _ => {}
                }
            }
        }
        Ok(manifest)
    }

    /// The first of `components` with an HTTP route matching `path`, if any.
    pub fn serving<'a>(&self, components: &'a [String], path: &str) -> Option<&'a str> {
        components.iter().map(String::as_str).find(|name| {
            self.components
                .get(*name)
                .is_some_and(|c| c.http_routes.iter().any(|r| route_matches(r, path)))
        })
    }
}

/// Spin's HTTP routing: exact segments, `:name` matches one segment, and a trailing
/// `/...` matches its prefix itself and anything below it.
pub fn route_matches(route: &str, path: &str) -> bool {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segments = |s: &str| -> Vec<String> {
        s.trim_matches('/')
            .split('/')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let (route, wildcard) = match route.strip_suffix("/...") {
        Some(prefix) => (prefix, true),
        None => (route, false),
    };
    let (route, path) = (segments(route), segments(path));
    let length_ok = if wildcard {
        path.len() >= route.len()
    } else {
        path.len() == route.len()
    };
    length_ok
        && route
            .iter()
            .zip(&path)
            .all(|(r, p)| r.starts_with(':') || r == p)
}

/// The variable names of a Spin template string (`"redis://{{ redis_host }}"`).
pub fn template_refs(text: &str) -> Vec<String> {
    text.split("{{")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}"))
        .map(|(name, _)| name.trim().to_owned())
        .collect()
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_routes_match_their_prefix_and_below() {
        assert!(route_matches("/api/health/...", "/api/health"));
        assert!(route_matches("/api/health/...", "/api/health/ready"));
        assert!(route_matches("/...", "/anything/at/all"));
        assert!(!route_matches("/api/health/...", "/api/healthz"));
        assert!(route_matches("/metrics", "/metrics"));
        assert!(!route_matches("/metrics", "/metrics/x"));
        assert!(route_matches("/users/:id", "/users/7?x=1"));
    }

    #[test]
    fn template_refs_read_every_name() {
        assert_eq!(template_refs("redis://{{ redis_host }}"), ["redis_host"]);
        assert_eq!(template_refs("{{a}}:{{ b }}"), ["a", "b"]);
        assert!(template_refs("https://api.beds24.com").is_empty());
    }
}
