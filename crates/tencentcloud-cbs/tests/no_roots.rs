//! Built without the root-certificate features, a client for an HTTPS endpoint fails in
//! `build()` with a clear error instead of at its first handshake. This only compiles
//! to a test in that configuration; CI runs it as
//! `cargo test -p tencentcloud-cbs --no-default-features --features hyper --test no_roots`.
#![cfg(all(
    feature = "hyper",
    not(feature = "webpki-roots"),
    not(feature = "native-roots")
))]

use tencentcloud_cbs::{Client, Credentials};

fn builder() -> tencentcloud_cbs::ClientBuilder {
    Client::builder()
        .region("ap-guangzhou")
        .credentials(Credentials::new("AKIDnoroots", "no-roots-key"))
}

#[test]
fn https_without_roots_is_refused_when_the_client_is_built() {
    let error = builder().build().expect_err("no roots to trust");
    let message = error.to_string();
    assert!(message.contains("no TLS root certificates"), "{message}");
    assert!(message.contains("add_root_certificate"), "{message}");
    let custom = builder()
        .endpoint("https://cbs.internal.example:8443")
        .build()
        .expect_err("a custom HTTPS endpoint needs roots too");
    assert!(custom.to_string().contains("no TLS root certificates"));
}

#[test]
fn plain_http_on_loopback_needs_no_roots() {
    builder()
        .endpoint("http://127.0.0.1:9")
        .build()
        .expect("no TLS, nothing to trust");
}
