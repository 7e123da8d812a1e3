//! Reads spin.toml (manifest v2) and the runtime config into a resolved [`App`].

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use serde::Deserialize;

use crate::allowed_hosts::AllowedHosts;
use crate::routes::Router;
use crate::variables::{resolve_app_variables, resolve_template, validate_name, VariableDecl};

// ---------------------------------------------------------------- raw TOML
// `deny_unknown_fields` wherever an unknown key could be a Spin feature that
// this host silently would not implement (files, sqlite, other triggers...).

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    spin_manifest_version: u32,
    application: RawApplication,
    #[serde(default)]
    variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    trigger: RawTriggers,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Debug, Deserialize)]
struct RawApplication {
    name: String,
    #[serde(default)]
    trigger: RawAppTriggers,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAppTriggers {
    redis: Option<RawAppRedis>,
    http: Option<RawAppHttp>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAppRedis {
    address: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAppHttp {
    base: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTriggers {
    #[serde(default)]
    http: Vec<RawHttpTrigger>,
    #[serde(default)]
    redis: Vec<RawRedisTrigger>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttpTrigger {
    route: String,
    component: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedisTrigger {
    channel: String,
    component: String,
    address: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    source: String,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    // Accepted and ignored: they do not change how a component runs.
    #[serde(default, rename = "build")]
    _build: Option<toml::Value>,
    #[serde(default, rename = "description")]
    _description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuntimeConfig {
    #[serde(default)]
    key_value_store: BTreeMap<String, RawKvStore>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKvStore {
    #[serde(rename = "type")]
    kind: String,
    url: String,
}

// ---------------------------------------------------------------- resolved app

/// One component, with every template resolved.
#[derive(Debug, Clone)]
pub struct Component {
    pub id: String,
    pub wasm_path: PathBuf,
    pub allowed_hosts: AllowedHosts,
    pub key_value_stores: Vec<String>,
    /// `[component.X.variables]`, resolved: what `variables::get` returns.
    pub variables: HashMap<String, String>,
    /// `environment`: WASI environment variables of the component.
    pub environment: Vec<(String, String)>,
}

/// One `[[trigger.redis]]` entry, with its address resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct RedisTrigger {
    pub address: String,
    pub channel: String,
    pub component: String,
}

/// The application as the host runs it.
#[derive(Debug, Clone)]
pub struct App {
    pub name: String,
    pub components: BTreeMap<String, Component>,
    pub router: Router,
    pub redis_triggers: Vec<RedisTrigger>,
    /// Key-value store label → Redis URL, from the runtime config.
    pub kv_stores: BTreeMap<String, String>,
}

/// Where to find things; `env` looks up environment variables (a parameter
/// so that tests need not touch the process environment).
pub struct LoadOptions<'a> {
    pub manifest_dir: &'a Path,
    pub wasm_dir: Option<&'a Path>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl App {
    /// Reads the files named on the command line.
    pub fn load(
        manifest: &Path,
        runtime_config: Option<&Path>,
        wasm_dir: Option<&Path>,
    ) -> Result<Self> {
        let text = std::fs::read_to_string(manifest)
            .with_context(|| format!("cannot read manifest {}", manifest.display()))?;
        let rc_text = runtime_config
            .map(|p| {
                std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read runtime config {}", p.display()))
            })
            .transpose()?;
        let manifest_dir = manifest.parent().unwrap_or(Path::new("."));
        let env = |k: &str| std::env::var(k).ok();
        let opts = LoadOptions {
            manifest_dir,
            wasm_dir,
            env: &env,
        };
        Self::parse(&text, rc_text.as_deref(), &opts)
            .with_context(|| format!("invalid application {}", manifest.display()))
    }

    /// Keeps only the named components and the triggers that lead to them
    /// (`spin up --component-id a --component-id b`).
    pub fn retain_components(&mut self, ids: &[String]) -> Result<()> {
        for id in ids {
            ensure!(
                self.components.contains_key(id),
                "--component-id {id:?}: no such component"
            );
        }
        let keep = |id: &str| ids.iter().any(|k| k == id);
        self.components.retain(|id, _| keep(id));
        self.redis_triggers.retain(|t| keep(&t.component));
        let routes: Vec<(String, String)> = self
            .router
            .list()
            .filter(|(_, component)| keep(component))
            .map(|(route, component)| (route.to_owned(), component.to_owned()))
            .collect();
        self.router = Router::build(routes.iter().map(|(r, c)| (r.as_str(), c.as_str())))?;
        Ok(())
    }

    /// Parses manifest and runtime config text and resolves all templates.
    pub fn parse(manifest: &str, runtime_config: Option<&str>, opts: &LoadOptions) -> Result<Self> {
        let raw: RawManifest = toml::from_str(manifest).context("cannot parse spin.toml")?;
        ensure!(
            raw.spin_manifest_version == 2,
            "only spin_manifest_version = 2 is supported"
        );
        let rc: RawRuntimeConfig = match runtime_config {
            Some(t) => toml::from_str(t).context("cannot parse runtime config")?,
            None => RawRuntimeConfig::default(),
        };
        let mut kv_stores = BTreeMap::new();
        for (label, store) in rc.key_value_store {
            ensure!(
                store.kind == "redis",
                "key_value_store.{label}: type {:?} is not supported by the test host (only \"redis\")",
                store.kind
            );
            kv_stores.insert(label, store.url);
        }

        let app_vars = resolve_app_variables(&raw.variables, opts.env)?;

        if let Some(base) = raw.application.trigger.http.and_then(|h| h.base) {
            ensure!(
                base == "/",
                "[application.trigger.http] base {base:?}: only \"/\" is supported"
            );
        }

        let mut components = BTreeMap::new();
        for (id, c) in raw.component {
            let component = resolve_component(&id, c, &app_vars, &kv_stores, opts)
                .with_context(|| format!("component {id:?}"))?;
            components.insert(id, component);
        }
        let known = |id: &str| -> Result<()> {
            ensure!(
                components.contains_key(id),
                "trigger refers to unknown component {id:?}"
            );
            Ok(())
        };

        for t in &raw.trigger.http {
            known(&t.component)?;
        }
        let router = Router::build(
            raw.trigger
                .http
                .iter()
                .map(|t| (t.route.as_str(), t.component.as_str())),
        )?;

        let default_address = raw.application.trigger.redis.map(|r| r.address);
        let mut redis_triggers = Vec::new();
        for t in raw.trigger.redis {
            known(&t.component)?;
            let Some(address) = t.address.as_ref().or(default_address.as_ref()) else {
                bail!("redis trigger for {:?} has no address (set [application.trigger.redis] address)", t.component);
            };
            redis_triggers.push(RedisTrigger {
                address: resolve_template(address, &app_vars)?,
                channel: resolve_template(&t.channel, &app_vars)?,
                component: t.component,
            });
        }

        Ok(Self {
            name: raw.application.name,
            components,
            router,
            redis_triggers,
            kv_stores,
        })
    }
}

fn resolve_component(
    id: &str,
    c: RawComponent,
    app_vars: &HashMap<String, String>,
    kv_stores: &BTreeMap<String, String>,
    opts: &LoadOptions,
) -> Result<Component> {
    let source = Path::new(&c.source);
    let wasm_path = match opts.wasm_dir {
        Some(dir) => dir.join(
            source
                .file_name()
                .with_context(|| format!("source {:?} has no file name", c.source))?,
        ),
        None => opts.manifest_dir.join(source),
    };

    let hosts = c
        .allowed_outbound_hosts
        .iter()
        .map(|h| resolve_template(h, app_vars))
        .collect::<Result<Vec<_>>>()?;
    let allowed_hosts = AllowedHosts::parse(&hosts).context("allowed_outbound_hosts")?;

    for label in &c.key_value_stores {
        // Spin would fall back to a local SQLite file for "default"; the test
        // host only has Redis, so every store must be in the runtime config.
        ensure!(
            kv_stores.contains_key(label),
            "key-value store {label:?} is not defined in the runtime config \
             (the test host needs [key_value_store.{label}] type = \"redis\")"
        );
    }

    let mut variables = HashMap::new();
    for (name, template) in &c.variables {
        validate_name(name).map_err(|e| anyhow::anyhow!("invalid variable name {e}"))?;
        variables.insert(name.clone(), resolve_template(template, app_vars)?);
    }

    Ok(Component {
        id: id.to_string(),
        wasm_path,
        allowed_hosts,
        key_value_stores: c.key_value_stores,
        variables,
        environment: c.environment.into_iter().collect(),
    })
}
