//! Where requests go: the public hosts, or a fixed base URL.

use std::borrow::Cow;

/// The default root domain of the public API endpoints (the China site's:
/// `cbs.tencentcloudapi.com`, `tag.tencentcloudapi.com`).
pub const DEFAULT_ROOT_DOMAIN: &str = "tencentcloudapi.com";

/// The root domain of the international site's endpoints, as the official
/// international SDKs have it (`cbs.intl.tencentcloudapi.com`,
/// `tag.intl.tencentcloudapi.com`); give it to
/// [`ClientBuilder::root_domain`](crate::ClientBuilder::root_domain).
pub const INTERNATIONAL_ROOT_DOMAIN: &str = "intl.tencentcloudapi.com";

/// Where requests go.
#[derive(Clone, Debug)]
pub(crate) enum Endpoint {
    /// `service.root` or, when regional, `service.region.root`, over HTTPS.
    Public { root_domain: String, regional: bool },
    /// A fixed base URL for every service (a proxy, the emulator).
    Custom { scheme: String, host: String },
}

impl Endpoint {
    /// The scheme and host for `service` in `region`.
    pub(crate) fn locate(&self, service: &str, region: Option<&str>) -> (&str, Cow<'_, str>) {
        match (self, region) {
            (
                Endpoint::Public {
                    root_domain,
                    regional: true,
                },
                Some(region),
            ) => (
                "https",
                Cow::Owned(format!("{service}.{region}.{root_domain}")),
            ),
            (Endpoint::Public { root_domain, .. }, _) => {
                ("https", Cow::Owned(format!("{service}.{root_domain}")))
            }
            (Endpoint::Custom { scheme, host }, _) => {
                (scheme.as_str(), Cow::Borrowed(host.as_str()))
            }
        }
    }

    /// Whether the host depends on the region (regional public endpoints).
    pub(crate) fn varies_by_region(&self) -> bool {
        matches!(self, Endpoint::Public { regional: true, .. })
    }

    /// Whether requests go over TLS.
    #[cfg_attr(not(feature = "hyper"), allow(dead_code))]
    pub(crate) fn uses_https(&self) -> bool {
        match self {
            Endpoint::Public { .. } => true,
            Endpoint::Custom { scheme, .. } => scheme == "https",
        }
    }
}

/// Checks a base URL: `https`, or plain `http` on loopback (or anywhere when allowed),
/// with a host and no path, query or user information. The one place that decides where
/// requests may go in the clear.
pub(crate) fn parse(url: &str, allow_http: bool) -> Result<Endpoint, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("the endpoint `{url}` is not a URL: {e}"))?;
    let scheme = uri.scheme_str().unwrap_or("https").to_owned();
    let host = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .ok_or_else(|| format!("the endpoint `{url}` has no host"))?;
    if host.contains('@') {
        return Err("the endpoint must not carry user information".into());
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err("the endpoint must be a base URL without a path or query".into());
    }
    match scheme.as_str() {
        "https" => {}
        "http" => {
            let name = uri.host().unwrap_or_default();
            let loopback = name == "localhost"
                || name
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
                || name
                    .trim_matches(['[', ']'])
                    .parse::<std::net::Ipv6Addr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !loopback && !allow_http {
                return Err(
                    "plain http is only used for loopback hosts unless allow_http(true) is set"
                        .into(),
                );
            }
        }
        other => return Err(format!("unsupported scheme `{other}`")),
    }
    Ok(Endpoint::Custom { scheme, host })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_urls() {
        let public = Endpoint::Public {
            root_domain: DEFAULT_ROOT_DOMAIN.into(),
            regional: false,
        };
        assert_eq!(
            public.locate("cbs", Some("ap-guangzhou")).1,
            "cbs.tencentcloudapi.com"
        );
        let regional = Endpoint::Public {
            root_domain: DEFAULT_ROOT_DOMAIN.into(),
            regional: true,
        };
        assert_eq!(
            regional.locate("cbs", Some("ap-guangzhou")).1,
            "cbs.ap-guangzhou.tencentcloudapi.com"
        );
        assert_eq!(regional.locate("cbs", None).1, "cbs.tencentcloudapi.com");
        let international = Endpoint::Public {
            root_domain: INTERNATIONAL_ROOT_DOMAIN.into(),
            regional: false,
        };
        assert_eq!(
            international.locate("tag", None).1,
            "tag.intl.tencentcloudapi.com"
        );
        assert!(parse("http://127.0.0.1:8080", false).is_ok());
        assert!(parse("http://localhost:8080/", false).is_ok());
        assert!(parse("http://[::1]:8080", false).is_ok());
        assert!(parse("http://example.com", false).is_err());
        assert!(parse("http://example.com", true).is_ok());
        assert!(parse("https://example.com/path", false).is_err());
        assert!(parse("ftp://example.com", false).is_err());
        assert!(parse("https://user:pw@example.com", false).is_err());
    }
}
