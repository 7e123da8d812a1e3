//! Spin variables: `{{ name }}` templates, name rules and app-level resolution (env > default).

use std::collections::{BTreeMap, HashMap};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// An app-level `[variables]` entry of spin.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    /// Only affects logging in Spin; we never log values anyway.
    #[serde(default)]
    pub secret: bool,
}

/// Prefix of the environment variables Spin's default provider reads.
pub const ENV_PREFIX: &str = "SPIN_VARIABLE_";

/// Checks a variable name like Spin's `spin_expressions::Key::new`: lower-case
/// ASCII letters, digits and single underscores, starting with a letter.
pub fn validate_name(key: &str) -> Result<(), String> {
    let reason = if key.is_empty() {
        "must not be empty".to_string()
    } else if let Some(c) = key
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        format!("invalid character {c:?}. Variable names may contain only lower-case letters, numbers, and underscores.")
    } else if !key.as_bytes()[0].is_ascii_lowercase() {
        "must start with a lowercase ASCII letter".to_string()
    } else if !key.as_bytes()[key.len() - 1].is_ascii_alphanumeric() {
        "must end with a lowercase ASCII letter or digit".to_string()
    } else if key.contains("__") {
        "must not contain multiple consecutive underscores".to_string()
    } else {
        return Ok(());
    };
    Err(format!("{key:?}: {reason}"))
}

/// One piece of a template: literal text or a `{{ variable }}` reference.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Var(String),
}

/// A Spin template string such as `"redis://{{ redis_host }}"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Template(Vec<Part>);

impl Template {
    /// Parses like `spin_expressions::Template::new`: `{{` starts an
    /// expression that ends at the next `}}`; everything else is literal.
    pub fn parse(text: &str) -> Result<Self> {
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(expr_rest) = rest.strip_prefix("{{") {
                let (expr, after) = expr_rest
                    .split_once("}}")
                    .with_context(|| format!("invalid template {text:?}: unmatched '{{{{'"))?;
                let name = expr.trim();
                validate_name(name)
                    .map_err(|e| anyhow::anyhow!("invalid template {text:?}: {e}"))?;
                parts.push(Part::Var(name.to_string()));
                rest = after;
            } else {
                let end = rest.find("{{").unwrap_or(rest.len());
                parts.push(Part::Lit(rest[..end].to_string()));
                rest = &rest[end..];
            }
        }
        Ok(Self(parts))
    }

    /// Substitutes app variables; a reference to an undeclared variable is an
    /// error, as in Spin (which rejects such a manifest at load time).
    pub fn resolve(&self, app_vars: &HashMap<String, String>) -> Result<String> {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Var(name) => match app_vars.get(name) {
                    Some(v) => out.push_str(v),
                    None => bail!("template refers to undeclared variable {name:?}"),
                },
            }
        }
        Ok(out)
    }
}

/// Parses and resolves a template in one go.
pub fn resolve_template(text: &str, app_vars: &HashMap<String, String>) -> Result<String> {
    Template::parse(text)?
        .resolve(app_vars)
        .with_context(|| format!("cannot resolve {text:?}"))
}

/// Resolves the app-level variables like Spin's default setup: the
/// environment provider (`SPIN_VARIABLE_<NAME>`) first, then the default.
/// A required variable that no provider can resolve stops the app at start.
pub fn resolve_app_variables(
    decls: &BTreeMap<String, VariableDecl>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<HashMap<String, String>> {
    let mut values = HashMap::new();
    let mut missing = Vec::new();
    for (name, decl) in decls {
        validate_name(name).map_err(|e| anyhow::anyhow!("invalid variable name {e}"))?;
        match (&decl.default, decl.required) {
            (Some(_), true) => {
                bail!("variable {name:?}: cannot be both required and have a default")
            }
            (None, false) => bail!("variable {name:?}: must either be required or have a default"),
            _ => {}
        }
        let from_env = env(&format!("{ENV_PREFIX}{}", name.to_ascii_uppercase()));
        match from_env.or_else(|| decl.default.clone()) {
            Some(v) => {
                values.insert(name.clone(), v);
            }
            None => missing.push(name.clone()),
        }
    }
    if !missing.is_empty() {
        bail!(
            "no provider resolved required variable(s): {missing:?} (set {})",
            missing
                .iter()
                .map(|n| format!("{ENV_PREFIX}{}", n.to_ascii_uppercase()))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(values)
}
