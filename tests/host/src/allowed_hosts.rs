//! `allowed_outbound_hosts`: parsing entries and checking outbound URLs like Spin's networking factor.

use anyhow::{bail, Context, Result};
use url::Host;

/// Default port of the schemes Spin knows (entries without a port use it).
fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "redis" => Some(6379),
        "mqtt" => Some(1883),
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum HostPattern {
    Any,
    /// `*.example.com`, stored as `.example.com`.
    AnySubdomain(String),
    /// `self`: only requests to the app itself (relative URLs or `self.alt`).
    ToSelf,
    Literal(Host),
}

#[derive(Debug, Clone, PartialEq)]
enum PortPattern {
    Any,
    /// Inclusive start, exclusive end, as Spin's `a..b` ranges (u32 so that
    /// port 65535 alone fits).
    Range(u32, u32),
}

/// One parsed `allowed_outbound_hosts` entry (after template resolution).
#[derive(Debug, Clone, PartialEq)]
pub struct AllowedHost {
    original: String,
    /// `None` means `*://`.
    scheme: Option<String>,
    host: HostPattern,
    port: PortPattern,
}

impl AllowedHost {
    /// Parses `<scheme>://<host>[:<port>]` with the wildcards Spin accepts.
    pub fn parse(entry: &str) -> Result<Self> {
        let url = entry.trim();
        let Some((scheme, rest)) = url.split_once("://") else {
            bail!("{url:?} does not contain a scheme (e.g., 'http://' or '*://')");
        };
        let (host, rest) = rest.rsplit_once(':').unwrap_or((rest, ""));
        let port = match rest.split_once('/') {
            Some((_, path)) if !path.is_empty() => {
                bail!("{url:?} has a path but is not allowed to")
            }
            Some((port, _)) => port,
            None => rest,
        };
        let port = match port {
            "" => {
                let p = well_known_port(scheme).with_context(|| {
                    format!("{url:?}: no port was provided and the scheme {scheme:?} does not have a known default port number")
                })?;
                PortPattern::Range(p.into(), u32::from(p) + 1)
            }
            "*" => PortPattern::Any,
            p => match p.split_once("..") {
                Some((a, b)) => PortPattern::Range(
                    a.parse()
                        .with_context(|| format!("{url:?}: bad port range"))?,
                    b.parse()
                        .with_context(|| format!("{url:?}: bad port range"))?,
                ),
                None => {
                    let p: u16 = p
                        .parse()
                        .with_context(|| format!("{url:?}: port {p:?} is not a number"))?;
                    PortPattern::Range(p.into(), u32::from(p) + 1)
                }
            },
        };
        let scheme = match scheme {
            "*" => None,
            s if s.chars().all(|c| c.is_alphabetic()) => Some(s.to_string()),
            s => bail!("{url:?}: invalid scheme {s:?}"),
        };
        let host = host.trim().trim_end_matches('/');
        let host = if host == "*" {
            HostPattern::Any
        } else if host == "self" || host == "self.alt" {
            HostPattern::ToSelf
        } else if let Some(domain) = host.strip_prefix("*.") {
            if domain.contains('*') {
                bail!("{url:?}: wildcards are allowed only as prefixes");
            }
            HostPattern::AnySubdomain(format!(".{domain}"))
        } else if host.contains('*') {
            bail!("{url:?}: wildcards are allowed only as subdomains");
        } else if host.contains('/') {
            // Spin also accepts CIDR ranges here; the test host does not.
            bail!("{url:?}: paths and CIDR ranges are not supported by the test host");
        } else {
            HostPattern::Literal(
                Host::parse(host).with_context(|| format!("{url:?}: invalid host"))?,
            )
        };
        Ok(Self {
            original: entry.to_string(),
            scheme,
            host,
            port,
        })
    }

    fn allows(&self, url: &OutboundUrl) -> bool {
        let scheme_ok = self.scheme.as_deref().is_none_or(|s| s == url.scheme);
        let host_ok = match (&self.host, Host::parse(&url.host)) {
            (HostPattern::Any, _) => true,
            (HostPattern::AnySubdomain(suffix), Ok(Host::Domain(d))) => {
                d.ends_with(suffix.as_str())
            }
            (HostPattern::Literal(lit), Ok(h)) => *lit == h,
            _ => false,
        };
        let port_ok = match self.port {
            PortPattern::Any => true,
            PortPattern::Range(a, b) => url
                .port
                .or_else(|| well_known_port(&url.scheme))
                .is_some_and(|p| (a..b).contains(&u32::from(p))),
        };
        scheme_ok && host_ok && port_ok
    }
}

impl std::fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.original)
    }
}

/// The scheme, host and port of an outbound destination.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundUrl {
    pub scheme: String,
    pub host: String,
    pub port: Option<u16>,
}

impl OutboundUrl {
    /// Parses like Spin: if `url` has no host, `<default_scheme>://` is
    /// prepended and parsing is tried again (so `host:port` works).
    pub fn parse(url: &str, default_scheme: &str) -> Result<Self> {
        let parsed = match url::Url::parse(url) {
            Ok(u) if u.has_host() => u,
            _ => url::Url::parse(&format!("{default_scheme}://{url}"))
                .with_context(|| format!("could not parse {url:?} as a URL"))?,
        };
        Ok(Self {
            scheme: parsed.scheme().to_string(),
            host: parsed
                .host_str()
                .with_context(|| format!("{url:?} does not have a host component"))?
                .to_string(),
            port: parsed.port(),
        })
    }

    /// `host[:port]`, as in Spin's denial message.
    pub fn authority(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }
}

/// A component's whole `allowed_outbound_hosts` list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllowedHosts(Vec<AllowedHost>);

impl AllowedHosts {
    /// Parses already-resolved entries.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self> {
        if entries.len() == 1 && entries[0].as_ref() == "insecure:allow-all" {
            bail!("'insecure:allow-all' is not allowed - use '*://*:*' instead");
        }
        entries
            .iter()
            .map(|e| AllowedHost::parse(e.as_ref()))
            .collect::<Result<Vec<_>>>()
            .map(Self)
    }

    /// Pure check: is `url` (or `host:port`, read with `default_scheme`) allowed?
    /// An unparsable URL is not allowed.
    pub fn allows(&self, url: &str, default_scheme: &str) -> bool {
        OutboundUrl::parse(url, default_scheme).is_ok_and(|u| self.0.iter().any(|h| h.allows(&u)))
    }

    /// Whether requests to the app itself are allowed (an `http://self` or
    /// `https://self` entry, as Spin's `check_relative_url`).
    pub fn allows_self(&self) -> bool {
        self.0.iter().any(|h| {
            h.host == HostPattern::ToSelf
                && h.scheme
                    .as_deref()
                    .is_none_or(|s| s == "http" || s == "https")
        })
    }

    /// [`Self::allows`] plus Spin's warning on stderr when the destination is denied.
    pub fn check(&self, component_id: &str, url: &str, default_scheme: &str) -> bool {
        if self.allows(url, default_scheme) {
            return true;
        }
        let pattern = match OutboundUrl::parse(url, default_scheme) {
            Ok(u) => format!("{}://{}", u.scheme, u.authority()),
            Err(_) => url.to_string(),
        };
        crate::log!(
            "WARNING: component {component_id:?} tried to make an outbound network connection to \
             disallowed destination '{pattern}'. To allow this request, add \
             'allowed_outbound_hosts = [\"{pattern}\"]' to the manifest component section."
        );
        false
    }
}
