//! Client CPU per call: `HyperTransport` beside a bare hyper-util client, same calls,
//! same run, against a keep-alive server in a separate process.
//!
//! `cargo bench -p cbs-transport --bench transport` prints, per scenario, calls/s and
//! client CPU µs per call for both, and their ratio. Rounds alternate the two clients so
//! drift in the machine affects both alike; medians are reported.

mod support;

use std::sync::Arc;

use bytes::Bytes;
use cbs_transport::{HyperTransport, ProxyConfig, Transport};

fn main() {
    support::compare(&[("HyperTransport", &|url| {
        let transport = Arc::new(
            HyperTransport::builder()
                .allow_http(true)
                .proxy(ProxyConfig::none())
                .build()
                .expect("transport"),
        );
        let uri: http::Uri = url.parse().expect("url");
        let headers = support::seed_headers(uri.authority().expect("host").as_str());
        Arc::new(move || {
            let transport = transport.clone();
            let mut request = http::Request::new(Bytes::from_static(support::BODY));
            *request.method_mut() = http::Method::POST;
            *request.uri_mut() = uri.clone();
            *request.headers_mut() = headers.clone();
            Box::pin(async move {
                let response = transport.send(request).await.expect("call succeeds");
                assert_eq!(response.body().len(), support::RESPONSE.len());
            })
        })
    })]);
}
