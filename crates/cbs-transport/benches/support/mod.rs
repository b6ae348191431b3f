//! A harness comparing a client with a bare hyper-util client: client CPU per call and
//! calls per second, against a keep-alive server in a separate process, so that the
//! process's CPU time is the client's alone. Shared by the transport and client benches.

use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// The seed request body.
pub const BODY: &[u8] = br#"{"SnapshotId":"snap-ckgjwkqh","DestinationRegions":["ap-beijing"]}"#;
/// The seed response body.
pub const RESPONSE: &[u8] = br#"{"Response":{"SnapshotCopyResultSet":[{"SnapshotId":"snap-d012rm6t","DestinationRegion":"ap-beijing","Code":"Success","Message":""}],"RequestId":"98f0b5f0-7d84-4d11-9819-ee7804e524a4"}}"#;

/// The headers of a signed seed call, as the SDK sends them; the bare client sends the
/// same ones so that both make the same HTTP calls.
pub fn seed_headers(host: &str) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    for (name, value) in [
        ("content-type", "application/json"),
        ("host", host),
        ("x-tc-action", "CopySnapshotCrossRegions"),
        ("x-tc-version", "2017-03-12"),
        ("x-tc-timestamp", "1700000000"),
        ("x-tc-region", "ap-guangzhou"),
        ("x-tc-requestclient", "tencentcloud-cbs-rs/0.1.0"),
        ("x-tc-traceid", "7c1e8f2a-5b3d-4e6f-8a9b-0c1d2e3f4a5b"),
        (
            "authorization",
            "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2023-11-14/cbs/tc3_request, SignedHeaders=content-type;host, Signature=39f8767dc3009df3f297604faaead3189afaa2fe1581cbf7df908674ffb8524e",
        ),
    ] {
        headers.insert(
            http::HeaderName::from_static(name),
            http::HeaderValue::from_str(value).expect("header value"),
        );
    }
    headers
}

/// One call, as a shareable closure.
pub type Call = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Runs the comparison. `ours` builds the client under test for the server's URL (once
/// per runtime).
pub fn compare(label: &str, ours: impl Fn(&str) -> Call) {
    if std::env::args().any(|a| a == "--serve") {
        serve();
        return;
    }
    let mut server = Command::new(std::env::current_exe().expect("own path"))
        .arg("--serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("server process starts");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("port line");
    let url = format!("http://{}/", line.trim());

    // Both runtime flavours: the single-threaded one shows the client's own work most
    // starkly; the multi-threaded one is what `#[tokio::main]` gives applications. Each
    // gets fresh clients, since pooled connections belong to the runtime that made them.
    for flavour in ["current-thread", "multi-thread"] {
        let runtime = match flavour {
            "current-thread" => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build(),
            _ => tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build(),
        }
        .expect("runtime");
        println!("{flavour} runtime:");
        runtime.block_on(compare_in(label, &ours(&url), &bare_call(&url)));
    }
    drop(server.stdin.take());
    let _ = server.kill();
    let _ = server.wait();
}

async fn compare_in(label: &str, ours: &Call, bare: &Call) {
    for (name, callers, calls_each) in [
        ("sequential", 1usize, 20_000usize),
        ("64 concurrent", 64, 400),
    ] {
        let (mut ours_cpu, mut bare_cpu, mut ours_rate, mut bare_rate) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        run(ours, callers, 20).await;
        run(bare, callers, 20).await;
        for _round in 0..5 {
            let (cpu, rate) = run(bare, callers, calls_each).await;
            bare_cpu.push(cpu);
            bare_rate.push(rate);
            let (cpu, rate) = run(ours, callers, calls_each).await;
            ours_cpu.push(cpu);
            ours_rate.push(rate);
        }
        let (o, b) = (median(&mut ours_cpu), median(&mut bare_cpu));
        println!(
            "{name:>14}: {label} {:>7.0} calls/s {o:>6.1} µs CPU/call | bare hyper-util {:>7.0} calls/s {b:>6.1} µs CPU/call | CPU ratio {:.3}",
            median(&mut ours_rate),
            median(&mut bare_rate),
            o / b
        );
    }
}

fn bare_call(url: &str) -> Call {
    let client = Arc::new(
        Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(50))
            .pool_max_idle_per_host(64)
            .pool_timer(TokioTimer::new())
            .build::<_, Full<Bytes>>(HttpConnector::new()),
    );
    let uri: http::Uri = url.parse().expect("url");
    let headers = seed_headers(uri.authority().expect("host").as_str());
    Arc::new(move || {
        let client = client.clone();
        let mut request = http::Request::new(Full::new(Bytes::from_static(BODY)));
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = uri.clone();
        *request.headers_mut() = headers.clone();
        Box::pin(async move {
            let response = client.request(request).await.expect("call succeeds");
            let body = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            assert_eq!(body.len(), RESPONSE.len());
        })
    })
}

/// Runs `callers` concurrent loops of `calls_each` calls; returns (CPU µs per call,
/// calls per second).
async fn run(call: &Call, callers: usize, calls_each: usize) -> (f64, f64) {
    let cpu_before = process_cpu();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(callers);
    for _ in 0..callers {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..calls_each {
                call().await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("caller");
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = process_cpu() - cpu_before;
    let calls = (callers * calls_each) as f64;
    (cpu.as_secs_f64() * 1e6 / calls, calls / wall)
}

/// User + system CPU time of this process, from `/proc/self/stat` (clock ticks).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let after = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line.
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    Duration::from_millis(ticks * 10)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// The server process: a hyper keep-alive server answering the seed response.
fn serve() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!("{}", listener.local_addr().expect("addr"));
        std::io::stdout().flush().expect("flush");
        // Exit when the parent closes stdin.
        std::thread::spawn(|| {
            let mut sink = String::new();
            let _ = std::io::stdin().read_line(&mut sink);
            std::process::exit(0);
        });
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    |request: http::Request<hyper::body::Incoming>| async move {
                        let _ = request.into_body().collect().await;
                        Ok::<_, std::convert::Infallible>(
                            http::Response::builder()
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from_static(RESPONSE)))
                                .expect("response"),
                        )
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}
