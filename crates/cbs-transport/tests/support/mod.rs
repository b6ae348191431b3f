//! Small servers on 127.0.0.1 for the transport tests. Every loop is bounded.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const OK_BODY: &str = r#"{"Response":{"RequestId":"r-1"}}"#;

/// A keep-alive HTTP server answering every request with `OK_BODY`; counts the
/// connections it accepted.
pub async fn keep_alive_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        for _ in 0..1000 {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve_http(TokioIo::new(stream)));
        }
    });
    (format!("http://{addr}/"), accepted)
}

/// Serves HTTP/1.1 on one connection (plain or TLS).
pub async fn serve_http<I>(io: I)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(|_req| async {
        Ok::<_, std::convert::Infallible>(
            http::Response::builder()
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from_static(OK_BODY.as_bytes())))
                .unwrap(),
        )
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await;
}

/// Reads one request head and body (by Content-Length) from a raw connection.
pub async fn read_request(stream: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    for _ in 0..1000 {
        let Ok(n) = stream.read(&mut chunk).await else {
            break;
        };
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                break;
            }
        }
    }
    buf
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A raw server: for each accepted connection (at most `max`), run `handle`.
pub async fn raw_server<F, Fut>(max: usize, handle: F) -> String
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for _ in 0..max {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(handle(stream));
        }
    });
    format!("http://{addr}/")
}

pub fn ok_response() -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{OK_BODY}",
        OK_BODY.len()
    )
    .into_bytes()
}

/// A self-signed certificate for 127.0.0.1 and an HTTPS server using it.
pub struct TlsServer {
    pub url: String,
    pub cert_pem: String,
    pub accepted: Arc<AtomicUsize>,
}

pub async fn tls_server() -> TlsServer {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let cert_pem = certified.cert.pem();
    let cert_der = certified.cert.der().clone();
    let key_der =
        rustls::pki_types::PrivateKeyDer::try_from(certified.signing_key.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der], key_der)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        for _ in 0..100 {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    serve_http(TokioIo::new(tls)).await;
                }
            });
        }
    });
    TlsServer {
        url: format!("https://{addr}/"),
        cert_pem,
        accepted,
    }
}

/// A CONNECT proxy; records each tunnel's target and `Proxy-Authorization` header.
pub async fn connect_proxy() -> (String, Arc<std::sync::Mutex<Vec<(String, Option<String>)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = log.clone();
    tokio::spawn(async move {
        for _ in 0..100 {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let head = read_request(&mut client).await;
                let text = String::from_utf8_lossy(&head).into_owned();
                let target = text.split_whitespace().nth(1).unwrap_or("").to_owned();
                let auth = text
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("Proxy-Authorization: ")
                            .or_else(|| l.strip_prefix("proxy-authorization: "))
                    })
                    .map(str::to_owned);
                seen.lock().unwrap().push((target.clone(), auth));
                let Ok(mut upstream) = TcpStream::connect(&target).await else {
                    return;
                };
                let _ = client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await;
                let _ = tokio::time::timeout(
                    Duration::from_secs(10),
                    tokio::io::copy_bidirectional(&mut client, &mut upstream),
                )
                .await;
            });
        }
    });
    (format!("http://{addr}"), log)
}

pub fn request(url: &str) -> cbs_transport::HttpRequest {
    http::Request::post(url)
        .header("content-type", "application/json")
        .body(Bytes::from_static(
            br#"{"SnapshotId":"snap-ckgjwkqh","DestinationRegions":["ap-beijing"]}"#,
        ))
        .unwrap()
}
