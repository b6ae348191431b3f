use std::fmt;
use std::sync::Arc;

use hyper_util::client::proxy::matcher::Matcher;

/// Which proxy, if any, requests go through.
///
/// The default reads the environment like curl does: `HTTPS_PROXY` for `https` URLs,
/// `HTTP_PROXY` for `http` ones, `ALL_PROXY` for both (upper- or lower-case names), and
/// `NO_PROXY`, a comma-separated list of hosts, domain suffixes (`example.com` also
/// matches `api.example.com`, but not `badexample.com`), IP addresses and networks that
/// bypass the proxy. A proxy URL may carry `user:password@` for basic authentication.
///
/// Requests go through a proxy inside an HTTP `CONNECT` tunnel.
///
/// ```
/// use cbs_transport::ProxyConfig;
/// let proxy = ProxyConfig::none()
///     .https("http://user:secret@proxy.internal:3128")
///     .no_proxy("localhost,127.0.0.1,.internal");
/// assert!(!format!("{proxy:?}").contains("secret"));
/// ```
#[derive(Clone, Default)]
pub struct ProxyConfig {
    source: Source,
    all: Option<String>,
    http: Option<String>,
    https: Option<String>,
    no_proxy: Option<String>,
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Source {
    #[default]
    Environment,
    Explicit,
}

impl ProxyConfig {
    /// Proxies from the environment (the default).
    pub fn from_env() -> Self {
        ProxyConfig::default()
    }

    /// No proxy, whatever the environment says; add one with the methods below.
    pub fn none() -> Self {
        ProxyConfig {
            source: Source::Explicit,
            ..ProxyConfig::default()
        }
    }

    /// Proxies as a lookup of environment-style variables gives them; for tests and for
    /// callers that keep settings elsewhere.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let first = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| lookup(n).filter(|v| !v.is_empty()))
        };
        ProxyConfig {
            source: Source::Explicit,
            all: first(&["ALL_PROXY", "all_proxy"]),
            http: first(&["HTTP_PROXY", "http_proxy"]),
            https: first(&["HTTPS_PROXY", "https_proxy"]),
            no_proxy: first(&["NO_PROXY", "no_proxy"]),
        }
    }

    /// Sends every request through `url`.
    pub fn all(mut self, url: impl Into<String>) -> Self {
        self.source = Source::Explicit;
        self.all = Some(url.into());
        self
    }

    /// Sends `http` requests through `url`.
    pub fn http(mut self, url: impl Into<String>) -> Self {
        self.source = Source::Explicit;
        self.http = Some(url.into());
        self
    }

    /// Sends `https` requests through `url`.
    pub fn https(mut self, url: impl Into<String>) -> Self {
        self.source = Source::Explicit;
        self.https = Some(url.into());
        self
    }

    /// Hosts, domain suffixes and networks that bypass the proxy (comma-separated).
    pub fn no_proxy(mut self, list: impl Into<String>) -> Self {
        self.source = Source::Explicit;
        self.no_proxy = Some(list.into());
        self
    }

    /// Also lets requests to `hosts` (comma-separated, as in `NO_PROXY`) bypass the
    /// proxy, keeping whatever else the configuration (or the environment) says.
    ///
    /// ```
    /// use cbs_transport::ProxyConfig;
    /// let proxy = ProxyConfig::none().all("http://proxy:3128").no_proxy("a.example").bypass("b.example");
    /// assert!(format!("{proxy:?}").contains("a.example,b.example"));
    /// ```
    pub fn bypass(self, hosts: &str) -> Self {
        let mut config = if self.source == Source::Environment {
            Self::from_lookup(|name| std::env::var(name).ok())
        } else {
            self
        };
        config.no_proxy = Some(match config.no_proxy.take().filter(|l| !l.is_empty()) {
            Some(list) => format!("{list},{hosts}"),
            None => hosts.to_owned(),
        });
        config
    }

    pub(crate) fn matcher(&self) -> Arc<Matcher> {
        if self.source == Source::Environment {
            return Arc::new(Matcher::from_env());
        }
        let mut builder = Matcher::builder();
        let value = |v: &Option<String>| v.clone().unwrap_or_default();
        builder = builder
            .all(value(&self.all))
            .http(value(&self.http))
            .https(value(&self.https))
            .no(value(&self.no_proxy));
        Arc::new(builder.build())
    }
}

/// A proxy URL with any password replaced.
fn redact(url: &Option<String>) -> Option<String> {
    url.as_ref().map(|u| match (u.find("://"), u.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &u[..scheme], &u[at + 1..])
        }
        _ => u.clone(),
    })
}

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.source == Source::Environment {
            return f.write_str("ProxyConfig::FromEnv");
        }
        f.debug_struct("ProxyConfig")
            .field("all", &redact(&self.all))
            .field("http", &redact(&self.http))
            .field("https", &redact(&self.https))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> http::Uri {
        s.parse().unwrap()
    }

    #[test]
    fn no_proxy_matches_hosts_and_suffixes_not_substrings() {
        let config = ProxyConfig::from_lookup(|name| match name {
            "HTTPS_PROXY" => Some("http://proxy.local:3128".into()),
            "NO_PROXY" => Some("example.com,.internal,10.0.0.0/8".into()),
            _ => None,
        });
        let m = config.matcher();
        assert!(
            m.intercept(&uri("https://cbs.tencentcloudapi.com/"))
                .is_some()
        );
        assert!(m.intercept(&uri("https://example.com/")).is_none());
        assert!(m.intercept(&uri("https://api.example.com/")).is_none());
        assert!(m.intercept(&uri("https://badexample.com/")).is_some());
        assert!(m.intercept(&uri("https://x.internal/")).is_none());
        assert!(m.intercept(&uri("https://10.1.2.3/")).is_none());
        // HTTPS_PROXY does not apply to http URLs.
        assert!(
            m.intercept(&uri("http://cbs.tencentcloudapi.com/"))
                .is_none()
        );
    }

    #[test]
    fn bypass_adds_to_the_list() {
        let config = ProxyConfig::none()
            .all("http://proxy.local:3128")
            .bypass("metadata.example");
        let m = config.matcher();
        assert!(m.intercept(&uri("http://metadata.example/")).is_none());
        assert!(m.intercept(&uri("http://other.example/")).is_some());
    }

    #[test]
    fn debug_redacts_credentials() {
        let config = ProxyConfig::none().all("http://alice:hunter2@proxy:8080");
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("alice"));
        assert!(shown.contains("proxy:8080"));
    }
}
