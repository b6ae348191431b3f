//! A pluggable HTTP transport for Tencent Cloud API clients.
//!
//! [`Transport`] is the one thing an API client needs from HTTP: send a request with a
//! complete body, get back a response with a complete body, and say precisely what went
//! wrong otherwise. Its errors ([`TransportError`]) tell whether the request may have
//! reached the server, which is what decides whether retrying is safe: a request that
//! was never sent can always be retried, one that may have been executed only when it
//! is read-only.
//!
//! [`HyperTransport`] is the default implementation: hyper-util's pooled HTTP/1.1
//! client with rustls (the `ring` provider), connect and whole-exchange timeouts, a
//! response size limit enforced while reading, proxies from the environment or
//! configured explicitly, and an idle-connection timeout below the 60 s after which the
//! service drops idle connections. This crate knows nothing of CBS.
//!
//! ```no_run
//! use std::time::Duration;
//! use cbs_transport::{HyperTransport, Transport};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let transport = HyperTransport::builder()
//!     .connect_timeout(Duration::from_secs(3))
//!     .build()?;
//! let request = http::Request::post("https://cbs.tencentcloudapi.com/")
//!     .header("content-type", "application/json")
//!     .body(bytes::Bytes::from_static(b"{}"))?;
//! match transport.send(request).await {
//!     Ok(response) => println!("{} bytes", response.body().len()),
//!     Err(e) if !e.may_have_been_sent() => println!("never sent, safe to retry: {e}"),
//!     Err(e) => println!("failed: {e}"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! With the `test-util` feature, `test_util::MockTransport` answers from a script and
//! records what it was sent, for tests that should not open sockets.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "hyper")]
mod connector;
mod error;
#[cfg(feature = "hyper")]
mod hyper_transport;
#[cfg(feature = "hyper")]
mod proxy;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;
#[cfg(feature = "hyper")]
mod tls;
mod transport;

pub use error::{TransportError, TransportErrorKind};
#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub use hyper_transport::{BuildError, HyperTransport, HyperTransportBuilder};
#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub use proxy::ProxyConfig;
pub use transport::{BoxFuture, HttpRequest, HttpResponse, SharedTransport, Transport};
