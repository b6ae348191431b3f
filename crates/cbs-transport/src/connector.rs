//! Opens the TCP connection for a URI: directly, or through a proxy's `CONNECT` tunnel,
//! all within the connect timeout. TLS is layered on top by `hyper-rustls`.

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

type BoxError = Box<dyn StdError + Send + Sync>;

/// The connect phase took longer than allowed.
#[derive(Debug)]
pub(crate) struct ConnectTimedOut;

impl std::fmt::Display for ConnectTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connect timed out")
    }
}

impl StdError for ConnectTimedOut {}

#[derive(Clone)]
pub(crate) struct Connector {
    http: HttpConnector,
    proxy: Arc<Matcher>,
    timeout: Duration,
}

impl Connector {
    pub(crate) fn new(proxy: Arc<Matcher>, timeout: Duration) -> Self {
        let mut http = HttpConnector::new();
        // TLS comes from the wrapping connector; this one must accept `https` URIs.
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(timeout));
        Connector {
            http,
            proxy,
            timeout,
        }
    }
}

impl Service<Uri> for Connector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let intercept = self.proxy.intercept(&dst);
        let mut http = self.http.clone();
        let timeout = self.timeout;
        Box::pin(async move {
            let connect = async move {
                match intercept {
                    None => http.call(dst).await.map_err(BoxError::from),
                    Some(proxy) => {
                        let mut tunnel = Tunnel::new(proxy.uri().clone(), http);
                        if let Some(auth) = proxy.basic_auth() {
                            tunnel = tunnel.with_auth(auth.clone());
                        }
                        tunnel.call(with_port(dst)?).await.map_err(BoxError::from)
                    }
                }
            };
            tokio::time::timeout(timeout, connect)
                .await
                .map_err(|_| BoxError::from(ConnectTimedOut))?
        })
    }
}

/// The tunnel asks the proxy for `host:port` and assumes 443 when the URI has no port;
/// make the scheme's default explicit so that `http` targets get 80.
fn with_port(uri: Uri) -> Result<Uri, BoxError> {
    if uri.port().is_some() {
        return Ok(uri);
    }
    let port = if uri.scheme_str() == Some("http") {
        80
    } else {
        443
    };
    let host = uri.host().ok_or("the URI has no host")?;
    let scheme = uri.scheme_str().unwrap_or("https");
    Ok(format!("{scheme}://{host}:{port}/").parse()?)
}

/// The connector stack behind a single reference count. The pool clones its connector
/// for every request, even when a pooled connection then serves it; one counter costs
/// less than the several inside the TLS and TCP connectors, which are cloned only when a
/// connection is actually opened.
#[derive(Clone)]
pub(crate) struct Shared<S>(Arc<S>);

impl<S> Shared<S> {
    pub(crate) fn new(inner: S) -> Self {
        Shared(Arc::new(inner))
    }
}

impl<S: Service<Uri> + Clone> Service<Uri> for Shared<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        // Every connector in this stack is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> S::Future {
        (*self.0).clone().call(dst)
    }
}
