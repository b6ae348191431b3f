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

/// Builds a contender's call for the server's URL (once per runtime).
pub type Contender<'a> = (&'a str, &'a dyn Fn(&str) -> Call);

/// Runs the comparison of each contender with the bare client.
pub fn compare(contenders: &[Contender<'_>]) {
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
        let calls: Vec<(&str, Call)> = contenders
            .iter()
            .map(|(label, build)| (*label, build(&url)))
            .collect();
        runtime.block_on(compare_in(&calls, &bare_call(&url)));
    }
    drop(server.stdin.take());
    let _ = server.kill();
    let _ = server.wait();
}

async fn compare_in(contenders: &[(&str, Call)], bare: &Call) {
    for (name, callers, calls_each) in [
        ("sequential", 1usize, 20_000usize),
        ("64 concurrent", 64, 400),
    ] {
        run(bare, callers, 20).await;
        for (_, call) in contenders {
            run(call, callers, 20).await;
        }
        // `PROFILE_ONLY=<label>|bare`: only that client, 20 rounds of the concurrent
        // scenario, for a profiler (`perf record`) to look at; nothing is compared.
        if let Ok(only) = std::env::var("PROFILE_ONLY") {
            let call = contenders
                .iter()
                .find(|(label, _)| *label == only)
                .map_or(bare, |(_, call)| call);
            for _round in 0..if callers > 1 { 20 } else { 0 } {
                run(call, callers, calls_each).await;
            }
            continue;
        }
        // Rounds alternate the clients so that drift in the machine affects all alike.
        let mut bare_results = Vec::new();
        let mut results = vec![Vec::new(); contenders.len()];
        for _round in 0..7 {
            bare_results.push(run(bare, callers, calls_each).await);
            for ((_, call), results) in contenders.iter().zip(&mut results) {
                results.push(run(call, callers, calls_each).await);
            }
        }
        let (bare_cpu, bare_rate) = medians(&mut bare_results);
        println!(
            "{name:>14}: {:<44} {bare_rate:>7.0} calls/s {bare_cpu:>6.1} µs CPU/call",
            "bare hyper-util"
        );
        for ((label, _), results) in contenders.iter().zip(&mut results) {
            let (cpu, rate) = medians(results);
            println!(
                "{:>14}  {label:<44} {rate:>7.0} calls/s {cpu:>6.1} µs CPU/call | CPU ratio to bare {:.3}",
                "",
                cpu / bare_cpu
            );
        }
    }
}

/// The medians of (CPU per call, calls per second).
fn medians(results: &mut [(f64, f64)]) -> (f64, f64) {
    let mut cpu: Vec<f64> = results.iter().map(|r| r.0).collect();
    let mut rate: Vec<f64> = results.iter().map(|r| r.1).collect();
    (median(&mut cpu), median(&mut rate))
}

/// A bare hyper-util client, pooled like the SDK's.
pub fn bare_client() -> Arc<Client<HttpConnector, Full<Bytes>>> {
    Arc::new(
        Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(50))
            .pool_max_idle_per_host(64)
            .pool_timer(TokioTimer::new())
            .build::<_, Full<Bytes>>(HttpConnector::new()),
    )
}

/// Sends a POST of `body` with `headers` on a bare client and returns the whole answer.
pub async fn bare_exchange(
    client: &Client<HttpConnector, Full<Bytes>>,
    uri: http::Uri,
    headers: http::HeaderMap,
    body: Bytes,
) -> Bytes {
    let mut request = http::Request::new(Full::new(body));
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    let response = client.request(request).await.expect("call succeeds");
    response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
}

fn bare_call(url: &str) -> Call {
    let client = bare_client();
    let uri: http::Uri = url.parse().expect("url");
    let headers = seed_headers(uri.authority().expect("host").as_str());
    Arc::new(move || {
        let (client, uri, headers) = (client.clone(), uri.clone(), headers.clone());
        Box::pin(async move {
            let body = bare_exchange(&client, uri, headers, Bytes::from_static(BODY)).await;
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

/// User + system CPU time of this process, all threads, in nanoseconds. (The clock
/// ticks of `/proc/self/stat` are 10 ms apart: too coarse for rounds of a few hundred
/// milliseconds.)
#[allow(unsafe_code)]
fn process_cpu() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
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
