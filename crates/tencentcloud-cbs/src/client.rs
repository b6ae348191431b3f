//! The client and its settings.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use cbs_transport::{HyperTransport, ProxyConfig, SharedTransport, Transport};

use crate::clock::{Clock, SkewedClock, SystemClock};
use crate::credentials::{ChainProvider, Credentials, ProvideCredentials};
use crate::rate_limit::{RateLimitConfig, RateLimiter};
use crate::retry::RetryConfig;
use crate::wire_cache::{HeaderTemplates, WireCache};

/// The default root domain of the public API endpoints.
pub const DEFAULT_ROOT_DOMAIN: &str = "tencentcloudapi.com";

/// The language of the service's error messages (`X-TC-Language`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Language {
    /// Simplified Chinese, `zh-CN`.
    ZhCn,
    /// English, `en-US`.
    EnUs,
}

impl Language {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::ZhCn => "zh-CN",
            Language::EnUs => "en-US",
        }
    }
}

/// A client of the CBS API. Cheap to clone: clones share the connection pool, the
/// rate limiter, the retry quota and the learned clock offset.
///
/// Build one with [`Client::builder`] or [`Client::from_env`], then call an operation
/// (`client.describe_snapshots()…send().await`) or [`send`](Client::send) a request.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub region: Option<String>,
    pub endpoint: Endpoint,
    pub credentials: Arc<dyn ProvideCredentials>,
    /// Set when the credentials never change: calls use them directly.
    pub fixed_credentials: Option<Credentials>,
    pub transport: SharedTransport,
    pub retry: RetryConfig,
    pub limiter: RateLimiter,
    pub clock: SkewedClock,
    pub language: Option<Language>,
    pub attempt_timeout: Option<Duration>,
    /// The URI, headers and signing key repeated from call to call.
    pub wire_cache: WireCache,
    /// The header maps calls start from.
    pub header_templates: HeaderTemplates,
    /// `X-TC-RequestClient`: the SDK name and version, and the caller's tag.
    pub request_client_header: http::HeaderValue,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Client")
            .field("region", &inner.region)
            .field("endpoint", &inner.endpoint)
            .field("credentials", &inner.credentials)
            .field("retry", &inner.retry)
            .field("language", &inner.language)
            .field("request_client", &inner.request_client_header)
            .finish_non_exhaustive()
    }
}

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
}

/// A client could not be built from its settings.
#[derive(Debug)]
pub struct BuildError {
    message: String,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl BuildError {
    fn new(message: impl Into<String>) -> Self {
        BuildError {
            message: message.into(),
            source: None,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot build the CBS client: {}", self.message)
    }
}

impl StdError for BuildError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_ref()
            .map(|s| &**s as &(dyn StdError + 'static))
    }
}

/// Settings for a [`Client`].
///
/// ```
/// use std::time::Duration;
/// use tencentcloud_cbs::{Client, Credentials, Language, RetryConfig};
///
/// let client = Client::builder()
///     .region("ap-guangzhou")
///     .credentials(Credentials::new("AKIDEXAMPLE", "secret"))
///     .language(Language::EnUs)
///     .retry_config(RetryConfig::standard().with_max_attempts(5))
///     .connect_timeout(Duration::from_secs(3))
///     .build()?;
/// assert_eq!(client.region(), Some("ap-guangzhou"));
/// # Ok::<(), tencentcloud_cbs::BuildError>(())
/// ```
#[derive(Debug, Default)]
pub struct ClientBuilder {
    region: Option<String>,
    credentials: Option<Arc<dyn ProvideCredentials>>,
    /// The credentials given to [`credentials`](Self::credentials), which calls can
    /// borrow instead of asking the provider.
    fixed_credentials: Option<Credentials>,
    endpoint: Option<String>,
    regional_endpoint: bool,
    root_domain: Option<String>,
    transport: Option<SharedTransport>,
    retry: Option<RetryConfig>,
    rate_limit: Option<RateLimitConfig>,
    language: Option<Language>,
    request_client: Option<String>,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    attempt_timeout: Option<Duration>,
    clock: Option<Arc<dyn Clock>>,
    allow_http: bool,
    proxy: Option<ProxyConfig>,
}

impl ClientBuilder {
    /// The region calls go to (`X-TC-Region`) unless a call says otherwise.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Fixed credentials.
    pub fn credentials(self, credentials: Credentials) -> Self {
        let mut builder = self.credentials_provider(credentials.clone());
        builder.fixed_credentials = Some(credentials);
        builder
    }

    /// Where to get credentials before each call; by default the
    /// [default chain](ChainProvider::default_chain): environment, profile file, CVM role,
    /// TKE OIDC.
    pub fn credentials_provider(mut self, provider: impl ProvideCredentials) -> Self {
        self.credentials = Some(Arc::new(provider));
        self.fixed_credentials = None;
        self
    }

    /// Sends every call to this base URL (`https://host[:port]`), e.g. a private
    /// endpoint or the local emulator. Plain `http` is accepted for loopback hosts, or
    /// anywhere after [`allow_http`](Self::allow_http).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Uses the regional host `cbs.<region>.tencentcloudapi.com` instead of the nearest
    /// `cbs.tencentcloudapi.com`.
    pub fn regional_endpoint(mut self, regional: bool) -> Self {
        self.regional_endpoint = regional;
        self
    }

    /// Replaces `tencentcloudapi.com` in public hosts (e.g. `internal.tencentcloudapi.com`).
    pub fn root_domain(mut self, domain: impl Into<String>) -> Self {
        self.root_domain = Some(domain.into());
        self
    }

    /// Sends requests with this transport instead of the default [`HyperTransport`].
    pub fn transport(mut self, transport: impl Transport) -> Self {
        self.transport = Some(SharedTransport::new(transport));
        self
    }

    /// How failed attempts are retried.
    pub fn retry_config(mut self, retry: RetryConfig) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Client-side rate limits.
    pub fn rate_limit(mut self, limits: RateLimitConfig) -> Self {
        self.rate_limit = Some(limits);
        self
    }

    /// The language of error messages.
    pub fn language(mut self, language: Language) -> Self {
        self.language = Some(language);
        self
    }

    /// A tag appended to `X-TC-RequestClient`, to tell your tool's calls apart.
    pub fn request_client(mut self, tag: impl Into<String>) -> Self {
        self.request_client = Some(tag.into());
        self
    }

    /// The default transport's connect timeout (5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The default transport's timeout for one whole exchange (60 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// A limit on each attempt, whatever the transport.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// The clock to sign with (the system clock by default).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Allows a plain `http` endpoint on a non-loopback host.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// The default transport's proxy settings (the environment's by default).
    pub fn proxy(mut self, proxy: ProxyConfig) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, BuildError> {
        let endpoint = match &self.endpoint {
            Some(url) => parse_endpoint(url, self.allow_http)?,
            None => Endpoint::Public {
                root_domain: self
                    .root_domain
                    .clone()
                    .unwrap_or_else(|| DEFAULT_ROOT_DOMAIN.to_owned()),
                regional: self.regional_endpoint,
            },
        };
        if let Some(region) = self
            .region
            .as_ref()
            .filter(|r| r.is_empty() || !r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        {
            return Err(BuildError::new(format!("`{region}` is not a region name")));
        }
        let transport = match self.transport {
            Some(transport) => transport,
            None => {
                let mut builder = HyperTransport::builder().allow_http(
                    matches!(&endpoint, Endpoint::Custom { scheme, .. } if scheme == "http"),
                );
                if let Some(t) = self.connect_timeout {
                    builder = builder.connect_timeout(t);
                }
                if let Some(t) = self.request_timeout {
                    builder = builder.request_timeout(t);
                }
                if let Some(proxy) = self.proxy {
                    builder = builder.proxy(proxy);
                }
                let transport = builder.build().map_err(|e| BuildError {
                    message: "the HTTP transport could not be set up".into(),
                    source: Some(Box::new(e)),
                })?;
                SharedTransport::new(transport)
            }
        };
        let mut request_client = format!("tencentcloud-cbs-rs/{}", env!("CARGO_PKG_VERSION"));
        if let Some(tag) = self.request_client {
            if !tag.bytes().all(|b| (0x21..0x7f).contains(&b)) {
                return Err(BuildError::new(
                    "the request-client tag must be visible ASCII without spaces",
                ));
            }
            request_client.push(' ');
            request_client.push_str(&tag);
        }
        let request_client_header = http::HeaderValue::from_str(&request_client)
            .map_err(|_| BuildError::new("the request-client tag cannot be sent in a header"))?;
        let header_templates = HeaderTemplates::new(&request_client_header, self.language);
        Ok(Client {
            inner: Arc::new(Inner {
                request_client_header,
                header_templates,
                region: self.region,
                endpoint,
                fixed_credentials: self.fixed_credentials,
                credentials: self
                    .credentials
                    .unwrap_or_else(|| Arc::new(ChainProvider::default_chain())),
                transport,
                retry: self.retry.unwrap_or_default(),
                limiter: RateLimiter::new(self.rate_limit.unwrap_or_default()),
                clock: SkewedClock::new(self.clock.unwrap_or_else(|| Arc::new(SystemClock))),
                language: self.language,
                attempt_timeout: self.attempt_timeout,
                wire_cache: WireCache::default(),
            }),
        })
    }
}

fn parse_endpoint(url: &str, allow_http: bool) -> Result<Endpoint, BuildError> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| BuildError::new(format!("the endpoint `{url}` is not a URL: {e}")))?;
    let scheme = uri.scheme_str().unwrap_or("https").to_owned();
    let host = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .ok_or_else(|| BuildError::new(format!("the endpoint `{url}` has no host")))?;
    if host.contains('@') {
        return Err(BuildError::new(
            "the endpoint must not carry user information",
        ));
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(BuildError::new(
            "the endpoint must be a base URL without a path or query",
        ));
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
                return Err(BuildError::new(
                    "plain http is only used for loopback hosts unless allow_http(true) is set",
                ));
            }
        }
        other => return Err(BuildError::new(format!("unsupported scheme `{other}`"))),
    }
    Ok(Endpoint::Custom { scheme, host })
}

impl Client {
    /// Settings for a new client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment: region from `TENCENTCLOUD_REGION`,
    /// credentials from the default chain (`TENCENTCLOUD_SECRET_ID`,
    /// `TENCENTCLOUD_SECRET_KEY`, `TENCENTCLOUD_TOKEN`; then the profile file named by
    /// `TENCENTCLOUD_CREDENTIALS_FILE`/`TENCENTCLOUD_PROFILE`; then the CVM instance role;
    /// then TKE OIDC), everything else default.
    pub fn from_env() -> Result<Client, BuildError> {
        let mut builder = Client::builder();
        if let Some(region) = std::env::var("TENCENTCLOUD_REGION")
            .ok()
            .filter(|r| !r.is_empty())
        {
            builder = builder.region(region);
        }
        builder.build()
    }

    /// The default region.
    pub fn region(&self) -> Option<&str> {
        self.inner.region.as_deref()
    }

    /// The offset, in seconds, learned from the service's clock (0 until a request was
    /// rejected for clock skew).
    pub fn clock_offset_secs(&self) -> i64 {
        self.inner.clock.offset_secs()
    }

    /// The retry quota's remaining tokens, when the retry policy has a quota.
    pub fn retry_quota_available(&self) -> Option<u32> {
        self.inner.retry.quota.as_ref().map(|q| q.available())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
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
        assert!(parse_endpoint("http://127.0.0.1:8080", false).is_ok());
        assert!(parse_endpoint("http://localhost:8080/", false).is_ok());
        assert!(parse_endpoint("http://[::1]:8080", false).is_ok());
        assert!(parse_endpoint("http://example.com", false).is_err());
        assert!(parse_endpoint("http://example.com", true).is_ok());
        assert!(parse_endpoint("https://example.com/path", false).is_err());
        assert!(parse_endpoint("ftp://example.com", false).is_err());
        assert!(parse_endpoint("https://user:pw@example.com", false).is_err());
    }

    #[test]
    fn bad_settings_are_errors() {
        assert!(Client::builder().region("ap guangzhou").build().is_err());
        assert!(
            Client::builder()
                .request_client("has space")
                .build()
                .is_err()
        );
        assert!(Client::builder().endpoint("::::").build().is_err());
    }
}
