//! The client and its settings.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "hyper")]
use cbs_transport::{HyperTransport, ProxyConfig};
use cbs_transport::{SharedTransport, Transport};

use crate::clock::{Clock, SkewedClock, SystemClock};
use crate::credentials::{ChainProvider, ProvideCredentials, ProviderContext};
use crate::endpoint::{self, DEFAULT_ROOT_DOMAIN, Endpoint};
use crate::rate_limit::{RateLimitConfig, RateLimiter};
use crate::request::{self, SignatureMethod, SigningKeys};
use crate::retry::RetryConfig;

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
    /// What every request carries and how it is signed.
    pub request: request::Settings,
    pub credentials: Arc<dyn ProvideCredentials>,
    /// The transport, lent to the credentials provider as well.
    pub provider_context: ProviderContext,
    pub retry: RetryConfig,
    pub limiter: RateLimiter,
    pub clock: SkewedClock,
    pub attempt_timeout: Option<Duration>,
}

impl Inner {
    pub(crate) fn transport(&self) -> &SharedTransport {
        self.provider_context.transport()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Client")
            .field("region", &inner.region)
            .field("endpoint", &inner.request.endpoint)
            .field("credentials", &inner.credentials)
            .field("retry", &inner.retry)
            .field("language", &inner.request.language)
            .field("request_client", &inner.request.request_client)
            .finish_non_exhaustive()
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
    endpoint: Option<String>,
    regional_endpoint: bool,
    root_domain: Option<String>,
    transport: Option<SharedTransport>,
    retry: Option<RetryConfig>,
    rate_limit: Option<RateLimitConfig>,
    language: Option<Language>,
    request_client: Option<String>,
    attempt_timeout: Option<Duration>,
    clock: Option<Arc<dyn Clock>>,
    allow_http: bool,
    signature: SignatureMethod,
    /// Settings of the default transport only.
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    #[cfg(feature = "hyper")]
    proxy: Option<ProxyConfig>,
    root_certificates: Vec<Vec<u8>>,
}

impl ClientBuilder {
    /// The region calls go to (`X-TC-Region`) unless a call says otherwise.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Fixed credentials.
    pub fn credentials(self, credentials: crate::Credentials) -> Self {
        self.credentials_provider(credentials)
    }

    /// Where to get credentials before each call; by default the
    /// [default chain](ChainProvider::default_chain): environment, profile file, CVM role,
    /// TKE OIDC. Providers that fetch over HTTP use this client's transport.
    pub fn credentials_provider(mut self, provider: impl ProvideCredentials) -> Self {
        self.credentials = Some(Arc::new(provider));
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

    /// Replaces `tencentcloudapi.com` in public hosts: every service the client calls
    /// (CBS, Tag, STS) goes to `<service>.<domain>`. The international site's is
    /// [`INTERNATIONAL_ROOT_DOMAIN`](crate::INTERNATIONAL_ROOT_DOMAIN); others exist
    /// (e.g. `internal.tencentcloudapi.com` from inside the vendor's network).
    pub fn root_domain(mut self, domain: impl Into<String>) -> Self {
        self.root_domain = Some(domain.into());
        self
    }

    /// Sends requests with this transport instead of the default [`HyperTransport`].
    /// The default transport's settings (timeouts, proxy, root certificates) cannot be
    /// combined with it: configure the transport itself.
    pub fn transport(self, transport: impl Transport) -> Self {
        self.shared_transport(SharedTransport::new(transport))
    }

    /// Sends requests with a transport shared with other clients.
    pub fn shared_transport(mut self, transport: SharedTransport) -> Self {
        self.transport = Some(transport);
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

    /// The default transport's proxy settings (the environment's by default). The
    /// instance metadata host is never proxied.
    #[cfg(feature = "hyper")]
    #[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
    pub fn proxy(mut self, proxy: ProxyConfig) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// The default transport also trusts the certificate(s) in `pem_or_der` (a PEM
    /// bundle or one DER certificate), for private CAs and a local emulator over TLS.
    pub fn add_root_certificate(mut self, pem_or_der: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem_or_der.into());
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

    /// How requests are signed: TC3-HMAC-SHA256 by default, or a legacy v1 method for
    /// APIs and gateways that want one.
    pub fn signature_method(mut self, method: SignatureMethod) -> Self {
        self.signature = method;
        self
    }

    /// Allows a plain `http` endpoint on a non-loopback host.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, BuildError> {
        let endpoint = match &self.endpoint {
            Some(url) => endpoint::parse(url, self.allow_http).map_err(BuildError::new)?,
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
            Some(transport) => {
                let default_only = [
                    ("connect_timeout", self.connect_timeout.is_some()),
                    ("request_timeout", self.request_timeout.is_some()),
                    #[cfg(feature = "hyper")]
                    ("proxy", self.proxy.is_some()),
                    ("add_root_certificate", !self.root_certificates.is_empty()),
                ];
                if let Some((setting, _)) = default_only.iter().find(|(_, set)| *set) {
                    return Err(BuildError::new(format!(
                        "`{setting}` configures the default transport, which a caller's own transport replaces: configure that transport instead"
                    )));
                }
                transport
            }
            #[cfg(feature = "hyper")]
            None => default_transport(
                &endpoint,
                self.connect_timeout,
                self.request_timeout,
                self.proxy,
                &self.root_certificates,
            )?,
            #[cfg(not(feature = "hyper"))]
            None => {
                return Err(BuildError::new(
                    "no transport: pass one with `transport`, or enable the `hyper` feature for the default",
                ));
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
        let request_client = http::HeaderValue::from_str(&request_client)
            .map_err(|_| BuildError::new("the request-client tag cannot be sent in a header"))?;
        Ok(Client {
            inner: Arc::new(Inner {
                region: self.region,
                request: request::Settings {
                    cbs_destination: request::Destination::for_cbs(&endpoint),
                    endpoint,
                    signature: self.signature,
                    request_client,
                    language: self
                        .language
                        .map(|l| http::HeaderValue::from_static(l.as_str())),
                    signing_keys: SigningKeys::default(),
                },
                credentials: self
                    .credentials
                    .unwrap_or_else(|| Arc::new(ChainProvider::default_chain())),
                provider_context: ProviderContext::new(transport),
                retry: self.retry.unwrap_or_default(),
                limiter: RateLimiter::new(self.rate_limit.unwrap_or_default()),
                clock: SkewedClock::new(self.clock.unwrap_or_else(|| Arc::new(SystemClock))),
                attempt_timeout: self.attempt_timeout,
            }),
        })
    }
}

#[cfg(feature = "hyper")]
/// The default transport: pooled hyper over rustls. It allows plain `http` because the
/// client decides where requests go (`endpoint::parse` refuses `http` off loopback
/// unless allowed), and the instance metadata service is `http`.
fn default_transport(
    endpoint: &Endpoint,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    proxy: Option<ProxyConfig>,
    root_certificates: &[Vec<u8>],
) -> Result<SharedTransport, BuildError> {
    let proxy = proxy
        .unwrap_or_default()
        .bypass(crate::credentials::METADATA_HOST);
    let mut builder = HyperTransport::builder().allow_http(true).proxy(proxy);
    if let Some(t) = connect_timeout {
        builder = builder.connect_timeout(t);
    }
    if let Some(t) = request_timeout {
        builder = builder.request_timeout(t);
    }
    for certificate in root_certificates {
        builder = builder.add_root_certificate(certificate);
    }
    if endpoint.uses_https() && !builder.trusts_any_root() {
        return Err(BuildError::new(
            "no TLS root certificates to trust: enable the `webpki-roots` or `native-roots` feature, or add one with `add_root_certificate`",
        ));
    }
    let transport = builder.build().map_err(|e| BuildError {
        message: "the HTTP transport could not be set up".into(),
        source: Some(Box::new(e)),
    })?;
    Ok(SharedTransport::new(transport))
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
