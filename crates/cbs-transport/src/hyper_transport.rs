use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::CertificateDer;

use crate::connector::{Connector, Shared};
use crate::error::{TransportError, TransportErrorKind};
use crate::proxy::ProxyConfig;
use crate::tls;
use crate::transport::{BoxFuture, HttpRequest, HttpResponse, Transport};

/// The default transport: a pooled HTTP/1.1 keep-alive client over rustls.
///
/// Cheap to clone (clones share the pool). Needs a Tokio runtime with timers.
///
/// Defaults: connect timeout 5 s, whole-exchange timeout 60 s, idle connections closed
/// after 50 s (below the service's 60 s, so a request never goes out on a connection
/// the server is closing), up to 32 idle connections per host, responses up to 16 MiB,
/// `https` only, proxies from the environment. A request that meets a pooled connection
/// the server has already closed, before any of it was written, is sent again on a new
/// connection without the caller seeing an error.
#[derive(Clone)]
pub struct HyperTransport {
    client: Client<Shared<HttpsConnector<Connector>>, Full<Bytes>>,
    request_timeout: Duration,
    max_response_bytes: usize,
    allow_http: bool,
}

impl fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperTransport")
            .field("request_timeout", &self.request_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("allow_http", &self.allow_http)
            .finish_non_exhaustive()
    }
}

/// Settings for a [`HyperTransport`].
#[derive(Clone, Debug)]
pub struct HyperTransportBuilder {
    connect_timeout: Duration,
    request_timeout: Duration,
    pool_idle_timeout: Duration,
    pool_max_idle_per_host: usize,
    max_response_bytes: usize,
    allow_http: bool,
    builtin_roots: bool,
    extra_roots: Vec<CertificateDer<'static>>,
    proxy: ProxyConfig,
    error: Option<String>,
}

/// A transport could not be built from its settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError(String);

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot build the HTTP transport: {}", self.0)
    }
}

impl StdError for BuildError {}

impl Default for HyperTransportBuilder {
    fn default() -> Self {
        HyperTransportBuilder {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
            pool_idle_timeout: Duration::from_secs(50),
            pool_max_idle_per_host: 32,
            max_response_bytes: 16 * 1024 * 1024,
            allow_http: false,
            builtin_roots: true,
            extra_roots: Vec::new(),
            proxy: ProxyConfig::default(),
            error: None,
        }
    }
}

impl HyperTransportBuilder {
    /// How long opening a connection (TCP, any proxy tunnel, not TLS) may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a whole exchange may take: connecting, sending, and reading the whole
    /// response.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long an idle pooled connection is kept.
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// How many idle connections per host the pool keeps.
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = max;
        self
    }

    /// The largest response body accepted; a larger one fails with
    /// [`TransportErrorKind::ResponseTooLarge`] as soon as it is known to be larger.
    pub fn max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max;
        self
    }

    /// Allows plain `http` URLs (for a local emulator); off by default.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Also trusts the certificate(s) in `pem_or_der` (a PEM bundle or one DER
    /// certificate) as roots, for private CAs and test servers.
    pub fn add_root_certificate(mut self, pem_or_der: &[u8]) -> Self {
        match tls::parse_certificates(pem_or_der) {
            Ok(certs) => self.extra_roots.extend(certs),
            Err(e) => self.error = Some(e),
        }
        self
    }

    /// Whether to trust the built-in roots (the `webpki-roots` and `native-roots`
    /// features); on by default. Turn off to trust only added certificates.
    pub fn builtin_roots(mut self, trust: bool) -> Self {
        self.builtin_roots = trust;
        self
    }

    /// Whether the transport will trust at least one root certificate: the built-in
    /// roots of an enabled `webpki-roots` or `native-roots` feature, or an added one.
    /// Without any, every `https` request fails its handshake.
    pub fn trusts_any_root(&self) -> bool {
        let builtin = cfg!(any(feature = "webpki-roots", feature = "native-roots"));
        (self.builtin_roots && builtin) || !self.extra_roots.is_empty()
    }

    /// Which proxy to use; by default the environment decides.
    pub fn proxy(mut self, proxy: ProxyConfig) -> Self {
        self.proxy = proxy;
        self
    }

    /// Builds the transport.
    pub fn build(self) -> Result<HyperTransport, BuildError> {
        if let Some(e) = self.error {
            return Err(BuildError(e));
        }
        let tls = tls::client_config(&self.extra_roots, self.builtin_roots).map_err(BuildError)?;
        let connector = Connector::new(self.proxy.matcher(), self.connect_timeout);
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(self.pool_idle_timeout)
            .pool_max_idle_per_host(self.pool_max_idle_per_host)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(Shared::new(https));
        Ok(HyperTransport {
            client,
            request_timeout: self.request_timeout,
            max_response_bytes: self.max_response_bytes,
            allow_http: self.allow_http,
        })
    }
}

impl HyperTransport {
    /// A transport with the default settings.
    pub fn new() -> Result<Self, BuildError> {
        Self::builder().build()
    }

    /// Settings, starting from the defaults.
    pub fn builder() -> HyperTransportBuilder {
        HyperTransportBuilder::default()
    }

    async fn exchange(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let (parts, body) = request.into_parts();
        let request = http::Request::from_parts(parts, Full::new(body));
        let response = self.client.request(request).await.map_err(classify)?;
        let (parts, mut body) = response.into_parts();
        let declared = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.max_response_bytes as u64) {
            return Err(TransportError::new(
                TransportErrorKind::ResponseTooLarge,
                format!(
                    "Content-Length {} exceeds the limit of {} bytes",
                    declared.unwrap_or(0),
                    self.max_response_bytes
                ),
            ));
        }
        let limit = self.max_response_bytes;
        let too_large = || {
            TransportError::new(
                TransportErrorKind::ResponseTooLarge,
                format!("the body exceeds the limit of {limit} bytes"),
            )
        };
        // A small answer usually arrives as one frame: keep it as it is, and copy into one
        // buffer only when a second frame follows.
        let mut first: Option<Bytes> = None;
        let mut collected = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| classify_hyper(e, TransportErrorKind::Interrupted))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            let so_far = first.as_ref().map_or(0, Bytes::len) + collected.len();
            if so_far + data.len() > limit {
                return Err(too_large());
            }
            match first.take() {
                None if collected.is_empty() => first = Some(data),
                earlier => {
                    if let Some(earlier) = earlier {
                        collected.reserve(
                            declared
                                .map_or(0, |len| len as usize)
                                .max(so_far + data.len()),
                        );
                        collected.extend_from_slice(&earlier);
                    }
                    collected.extend_from_slice(&data);
                }
            }
        }
        let body = first.unwrap_or_else(|| collected.freeze());
        Ok(http::Response::from_parts(parts, body))
    }
}

impl Transport for HyperTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        Box::pin(async move {
            match request.uri().scheme_str() {
                Some("https") => {}
                Some("http") if self.allow_http => {}
                _ => {
                    return Err(TransportError::new(
                        TransportErrorKind::InvalidRequest,
                        "only https URLs are allowed (plain http must be enabled with allow_http)",
                    ));
                }
            }
            // The timer is most of what this transport costs over bare hyper-util (the
            // `transport` bench compares the two), and it stays: without it a server
            // that stops mid-answer hangs the call.
            tokio::time::timeout(self.request_timeout, self.exchange(request))
                .await
                .unwrap_or_else(|_| {
                    Err(TransportError::new(
                        TransportErrorKind::Timeout,
                        format!("no complete response within {:?}", self.request_timeout),
                    ))
                })
        })
    }
}

/// Decides what a client error means for retrying.
fn classify(err: hyper_util::client::legacy::Error) -> TransportError {
    let kind = if has_source::<rustls::Error>(&err) {
        TransportErrorKind::Tls
    } else if err.is_connect() {
        // Resolution, refusal, the connect timeout, a proxy refusing the tunnel: no byte
        // of the request was written.
        TransportErrorKind::Connect
    } else if let Some(hyper_err) = find_source::<hyper::Error>(&err) {
        hyper_kind(hyper_err, TransportErrorKind::Other)
    } else {
        TransportErrorKind::Other
    };
    TransportError::new(kind, err)
}

fn classify_hyper(err: hyper::Error, fallback: TransportErrorKind) -> TransportError {
    let kind = hyper_kind(&err, fallback);
    TransportError::new(kind, err)
}

fn hyper_kind(err: &hyper::Error, fallback: TransportErrorKind) -> TransportErrorKind {
    if err.is_canceled() {
        // The connection closed before the request was written; hyper hands it back
        // unsent.
        TransportErrorKind::Connect
    } else if err.is_parse() || err.is_parse_status() {
        TransportErrorKind::InvalidResponse
    } else if err.is_timeout() {
        TransportErrorKind::Timeout
    } else if err.is_incomplete_message() || err.is_closed() || has_source::<std::io::Error>(err) {
        TransportErrorKind::Interrupted
    } else {
        fallback
    }
}

fn find_source<'e, T: StdError + 'static>(err: &'e (dyn StdError + 'static)) -> Option<&'e T> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        // An `io::Error` wrapping another error reports the wrapped error's source, not
        // the wrapped error itself; step into it so TLS errors inside I/O errors are found.
        current = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => e.source(),
        };
    }
    None
}

fn has_source<T: StdError + 'static>(err: &(dyn StdError + 'static)) -> bool {
    find_source::<T>(err).is_some()
}
