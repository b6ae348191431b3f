//! Client CPU per call: `HyperTransport` beside a bare hyper-util client, same calls,
//! same run, against a keep-alive server in a separate process (so the process's CPU
//! time is the client's alone).
//!
//! `cargo bench -p cbs-transport --bench transport` prints, per scenario, calls/s and
//! client CPU µs per call for both, and their ratio. Rounds alternate the two clients so
//! drift in the machine affects both alike; medians are reported.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cbs_transport::{HyperTransport, ProxyConfig, Transport};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

const BODY: &[u8] = br#"{"SnapshotId":"snap-ckgjwkqh","DestinationRegions":["ap-beijing"]}"#;
const RESPONSE: &[u8] = br#"{"Response":{"SnapshotCopyResultSet":[{"SnapshotId":"snap-d012rm6t","DestinationRegion":"ap-beijing","Code":"Success","Message":""}],"RequestId":"98f0b5f0-7d84-4d11-9819-ee7804e524a4"}}"#;

fn main() {
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

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let ours = Arc::new(HyperTransport::builder().allow_http(true).proxy(ProxyConfig::none()).build().expect("transport"));
        let bare = Arc::new(
            Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(50))
                .pool_max_idle_per_host(64)
                .pool_timer(TokioTimer::new())
                .build::<_, Full<Bytes>>(HttpConnector::new()),
        );
        for (name, callers, calls_each) in [("sequential", 1usize, 20_000usize), ("64 concurrent", 64, 400)] {
            let mut ours_cpu = Vec::new();
            let mut bare_cpu = Vec::new();
            let mut ours_rate = Vec::new();
            let mut bare_rate = Vec::new();
            // Warm both pools.
            run(Side::Ours(ours.clone()), &url, callers, 20).await;
            run(Side::Bare(bare.clone()), &url, callers, 20).await;
            for _round in 0..5 {
                let (cpu, rate) = run(Side::Bare(bare.clone()), &url, callers, calls_each).await;
                bare_cpu.push(cpu);
                bare_rate.push(rate);
                let (cpu, rate) = run(Side::Ours(ours.clone()), &url, callers, calls_each).await;
                ours_cpu.push(cpu);
                ours_rate.push(rate);
            }
            let (o, b) = (median(&mut ours_cpu), median(&mut bare_cpu));
            println!(
                "{name:>14}: HyperTransport {:>7.0} calls/s {o:>6.1} µs CPU/call | bare hyper-util {:>7.0} calls/s {b:>6.1} µs CPU/call | CPU ratio {:.3}",
                median(&mut ours_rate),
                median(&mut bare_rate),
                o / b
            );
        }
    });
    drop(server.stdin.take());
    let _ = server.kill();
    let _ = server.wait();
}

#[derive(Clone)]
enum Side {
    Ours(Arc<HyperTransport>),
    Bare(Arc<Client<HttpConnector, Full<Bytes>>>),
}

impl Side {
    async fn call(&self, url: &str) {
        let request = http::Request::post(url)
            .header("content-type", "application/json")
            .body(Bytes::from_static(BODY))
            .expect("request");
        match self {
            Side::Ours(t) => {
                let response = t.send(request).await.expect("call succeeds");
                assert_eq!(response.body().len(), RESPONSE.len());
            }
            Side::Bare(c) => {
                let (parts, body) = request.into_parts();
                let response = c
                    .request(http::Request::from_parts(parts, Full::new(body)))
                    .await
                    .expect("call succeeds");
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .expect("body")
                    .to_bytes();
                assert_eq!(body.len(), RESPONSE.len());
            }
        }
    }
}

/// Runs `callers` concurrent loops of `calls_each` calls; returns (CPU µs per call,
/// calls per second).
async fn run(side: Side, url: &str, callers: usize, calls_each: usize) -> (f64, f64) {
    let cpu_before = process_cpu();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(callers);
    for _ in 0..callers {
        let side = side.clone();
        let url = url.to_owned();
        tasks.push(tokio::spawn(async move {
            for _ in 0..calls_each {
                side.call(&url).await;
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
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
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
