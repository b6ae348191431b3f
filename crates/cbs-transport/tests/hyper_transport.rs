//! `HyperTransport` against small servers on 127.0.0.1.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cbs_transport::{HyperTransport, ProxyConfig, Transport, TransportErrorKind};
use support::*;
use tokio::io::AsyncWriteExt;

fn plain() -> HyperTransport {
    HyperTransport::builder()
        .allow_http(true)
        .proxy(ProxyConfig::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn sequential_requests_reuse_one_connection() {
    let (url, accepted) = keep_alive_server().await;
    let transport = plain();
    for _ in 0..20 {
        let response = transport.send(request(&url)).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.body(), OK_BODY.as_bytes());
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn https_is_required_unless_http_is_allowed() {
    let (url, _) = keep_alive_server().await;
    let strict = HyperTransport::builder()
        .proxy(ProxyConfig::none())
        .build()
        .unwrap();
    let err = strict.send(request(&url)).await.unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::InvalidRequest);
    assert!(!err.may_have_been_sent());
}

#[tokio::test]
async fn a_connection_the_server_closed_while_idle_is_replaced_silently() {
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    // Answers one request per connection with keep-alive, then closes it 50 ms later.
    let url = raw_server(10, move |mut stream| {
        count.fetch_add(1, Ordering::SeqCst);
        async move {
            read_request(&mut stream).await;
            let _ = stream.write_all(&ok_response()).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            drop(stream);
        }
    })
    .await;
    let transport = plain();
    for _ in 0..3 {
        transport
            .send(request(&url))
            .await
            .expect("first request on a connection");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(connections.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn connection_refused_is_not_sent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    let err = plain().send(request(&url)).await.unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Connect, "{err:?}");
    assert!(!err.may_have_been_sent());
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn a_reset_after_the_request_was_read_may_have_been_sent() {
    let url = raw_server(5, |mut stream| async move {
        read_request(&mut stream).await;
        // Close without answering: the request arrived and may have been acted on.
        let _ = stream.set_zero_linger();
        drop(stream);
    })
    .await;
    let err = plain().send(request(&url)).await.unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Interrupted, "{err:?}");
    assert!(err.may_have_been_sent());
    assert!(!err.kind().response_arrived());
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_bound() {
    let url = raw_server(5, |mut stream| async move {
        read_request(&mut stream).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let transport = HyperTransport::builder()
        .allow_http(true)
        .proxy(ProxyConfig::none())
        .request_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = transport.send(request(&url)).await.unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Timeout);
    assert!(err.may_have_been_sent());
    // Generous: the point is that 30 s of silence is abandoned, not how fast.
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn oversized_bodies_are_refused_without_reading_them() {
    let written = Arc::new(AtomicUsize::new(0));
    let total = written.clone();
    // Declares 64 MiB and streams it; the client must give up long before the end.
    let url = raw_server(5, move |mut stream| {
        let total = total.clone();
        async move {
            read_request(&mut stream).await;
            let head = "HTTP/1.1 200 OK\r\ncontent-length: 67108864\r\n\r\n";
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = vec![b'x'; 64 * 1024];
            for _ in 0..1024 {
                if stream.write_all(&chunk).await.is_err() {
                    return;
                }
                total.fetch_add(chunk.len(), Ordering::SeqCst);
            }
        }
    })
    .await;
    let transport = HyperTransport::builder()
        .allow_http(true)
        .proxy(ProxyConfig::none())
        .max_response_bytes(1024 * 1024)
        .build()
        .unwrap();
    let err = transport.send(request(&url)).await.unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::ResponseTooLarge);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        written.load(Ordering::SeqCst) < 32 * 1024 * 1024,
        "the client kept reading"
    );

    // Chunked, with no length declared: caught while reading.
    let url = raw_server(5, |mut stream| async move {
        read_request(&mut stream).await;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            .await;
        let chunk = format!("10000\r\n{}\r\n", "y".repeat(0x10000));
        for _ in 0..64 {
            if stream.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n").await;
    })
    .await;
    let err = transport.send(request(&url)).await.unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::ResponseTooLarge);
}

#[tokio::test]
async fn a_body_in_several_chunks_arrives_whole_and_in_order() {
    let url = raw_server(5, |mut stream| async move {
        read_request(&mut stream).await;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            .await;
        for part in ["{\"Response\":", "{\"RequestId\":", "\"r-1\"}}"] {
            let _ = stream
                .write_all(format!("{:x}\r\n{part}\r\n", part.len()).as_bytes())
                .await;
            let _ = stream.flush().await;
            // Separate reads, so that the client sees separate frames.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = stream.write_all(b"0\r\n\r\n").await;
    })
    .await;
    let response = plain().send(request(&url)).await.unwrap();
    assert_eq!(response.body(), &br#"{"Response":{"RequestId":"r-1"}}"#[..]);
}

#[tokio::test]
async fn garbage_answers_are_invalid_responses() {
    let url = raw_server(5, |mut stream| async move {
        read_request(&mut stream).await;
        let _ = stream.write_all(b"SMTP ready\r\n\r\n").await;
    })
    .await;
    let err = plain().send(request(&url)).await.unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::InvalidResponse, "{err:?}");
    assert!(err.kind().response_arrived());
}

#[tokio::test]
async fn self_signed_tls_is_rejected_by_default_and_accepted_with_its_ca() {
    let server = tls_server().await;
    let default = HyperTransport::builder()
        .proxy(ProxyConfig::none())
        .build()
        .unwrap();
    let err = default.send(request(&server.url)).await.unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Tls, "{err:?}");
    assert!(!err.may_have_been_sent());

    let trusting = HyperTransport::builder()
        .proxy(ProxyConfig::none())
        .add_root_certificate(server.cert_pem.as_bytes())
        .build()
        .unwrap();
    let response = trusting.send(request(&server.url)).await.unwrap();
    assert_eq!(response.body(), OK_BODY.as_bytes());

    let broken = HyperTransport::builder()
        .add_root_certificate(
            b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
        )
        .build();
    assert!(broken.is_err());
}

#[tokio::test]
async fn proxy_tunnels_https_and_honours_no_proxy() {
    let server = tls_server().await;
    let (proxy_url, log) = connect_proxy().await;
    let authed = proxy_url.replace("http://", "http://alice:s3cret@");
    let via_proxy = HyperTransport::builder()
        .add_root_certificate(server.cert_pem.as_bytes())
        .proxy(ProxyConfig::from_lookup(|name| {
            (name == "HTTPS_PROXY").then(|| authed.clone())
        }))
        .build()
        .unwrap();
    via_proxy.send(request(&server.url)).await.unwrap();
    {
        let seen = log.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(
            seen[0].0,
            server
                .url
                .trim_start_matches("https://")
                .trim_end_matches('/')
        );
        // alice:s3cret in base64.
        assert_eq!(seen[0].1.as_deref(), Some("Basic YWxpY2U6czNjcmV0"));
    }

    let bypass = HyperTransport::builder()
        .add_root_certificate(server.cert_pem.as_bytes())
        .proxy(ProxyConfig::from_lookup(|name| match name {
            "HTTPS_PROXY" => Some(proxy_url.clone()),
            "NO_PROXY" => Some("localhost,127.0.0.1".into()),
            _ => None,
        }))
        .build()
        .unwrap();
    bypass.send(request(&server.url)).await.unwrap();
    assert_eq!(
        log.lock().unwrap().len(),
        1,
        "NO_PROXY host went through the proxy"
    );
}

#[tokio::test]
async fn concurrent_requests_share_the_pool() {
    let (url, accepted) = keep_alive_server().await;
    let transport = Arc::new(plain());
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let transport = transport.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                transport.send(request(&url)).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert!(accepted.load(Ordering::SeqCst) <= 16);
}
