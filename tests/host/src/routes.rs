//! HTTP trigger routing like Spin's router: exact routes beat `/...` wildcards, longest prefix wins.

use anyhow::{bail, Result};

#[derive(Debug, Clone)]
struct Route {
    /// The route as written in spin.toml, e.g. `/api/admin/...`.
    raw: String,
    /// Path segments of the route without the wildcard suffix.
    segments: Vec<String>,
    wildcard: bool,
    component: String,
}

/// What a request path matched.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteMatch<'a> {
    pub component: &'a str,
    /// `spin-raw-component-route` / `spin-matched-route` (base is always `/`).
    pub raw_route: &'a str,
    /// `spin-component-route`: the route without its `/...` suffix.
    pub component_route: &'a str,
    /// `spin-path-info`: what the wildcard matched, `""` for exact routes.
    pub path_info: String,
}

/// All `[[trigger.http]]` routes of the app.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
}

/// Splits a path the way routefinder does: empty segments (and so a
/// trailing slash) are ignored.
fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl Router {
    /// Builds the router; as in Spin, a duplicated route goes to the last
    /// component that declares it (with a warning).
    pub fn build<'a>(routes: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let mut out: Vec<Route> = Vec::new();
        for (raw, component) in routes {
            let absolute = if raw.starts_with('/') {
                raw.to_string()
            } else {
                format!("/{raw}")
            };
            let (prefix, wildcard) = match absolute
                .strip_suffix("/...")
                .or_else(|| absolute.strip_suffix("/*"))
            {
                Some(p) => (p.to_string(), true),
                None => (absolute.clone(), false),
            };
            if prefix
                .split('/')
                .any(|s| s.starts_with(':') || s.contains('*'))
            {
                bail!("route {raw:?}: named wildcards are not supported by the test host");
            }
            if let Some(old) = out.iter().position(|r| r.raw == raw) {
                crate::log!(
                    "WARNING: duplicate route {raw:?}: component {:?} replaces {:?}",
                    component,
                    out[old].component
                );
                out.remove(old);
            }
            out.push(Route {
                raw: raw.to_string(),
                segments: segments(&prefix),
                wildcard,
                component: component.to_string(),
            });
        }
        Ok(Self { routes: out })
    }

    /// Whether any route leads to `component`.
    pub fn routes_component(&self, component: &str) -> bool {
        self.routes.iter().any(|r| r.component == component)
    }

    /// `(route, component)` pairs, for the startup log.
    pub fn list(&self) -> impl Iterator<Item = (&str, &str)> {
        self.routes
            .iter()
            .map(|r| (r.raw.as_str(), r.component.as_str()))
    }

    /// Finds the best route for a request path (without query string).
    pub fn route(&self, path: &str) -> Option<RouteMatch<'_>> {
        let segs = segments(path);
        let exact = self
            .routes
            .iter()
            .find(|r| !r.wildcard && r.segments == segs);
        let best = exact.or_else(|| {
            self.routes
                .iter()
                .filter(|r| r.wildcard && segs.starts_with(&r.segments))
                .max_by_key(|r| r.segments.len())
        })?;
        let path_info = if best.wildcard {
            // Spin's rules for the trailing wildcard: keep a trailing slash.
            let rest = segs[best.segments.len()..].join("/");
            match (rest.is_empty(), path.ends_with('/')) {
                (true, false) => String::new(),
                (true, true) => "/".to_string(),
                (false, false) => format!("/{rest}"),
                (false, true) => format!("/{rest}/"),
            }
        } else {
            String::new()
        };
        Some(RouteMatch {
            component: &best.component,
            raw_route: &best.raw,
            component_route: best.raw.strip_suffix("/...").unwrap_or(&best.raw),
            path_info,
        })
    }
}
