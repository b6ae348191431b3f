//! `HTTPS_PROXY` and `NO_PROXY` from the real environment. Alone in its own test binary
//! because the environment is shared by the whole process.
#![allow(unsafe_code)] // std::env::set_var is unsafe in edition 2024

mod support;

use cbs_transport::{HyperTransport, Transport};
use support::*;

#[tokio::test]
async fn environment_proxy_settings_apply() {
    let server = tls_server().await;
    let (proxy_url, log) = connect_proxy().await;
    // SAFETY of the environment change: this binary runs this one test only.
    unsafe {
        std::env::set_var("HTTPS_PROXY", &proxy_url);
        std::env::remove_var("NO_PROXY");
        std::env::remove_var("no_proxy");
    }
    let transport = HyperTransport::builder()
        .add_root_certificate(server.cert_pem.as_bytes())
        .build()
        .unwrap();
    transport.send(request(&server.url)).await.unwrap();
    assert_eq!(log.lock().unwrap().len(), 1);

    unsafe { std::env::set_var("NO_PROXY", "127.0.0.1") };
    let transport = HyperTransport::builder()
        .add_root_certificate(server.cert_pem.as_bytes())
        .build()
        .unwrap();
    transport.send(request(&server.url)).await.unwrap();
    assert_eq!(log.lock().unwrap().len(), 1);
}
