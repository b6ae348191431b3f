//! Fleet replication at scale, against the emulator in a separate process over
//! 127.0.0.1, with the client in a process of its own so its peak memory is its own.
//!
//! 1. 1,000 disks (one snapshot each) to 2 regions with the service's limits (20 calls
//!    per second per action, enforced by the emulator and respected by the client's
//!    default rate limit) and 2-second copies: API calls per replica by action, wall
//!    time against the floor the rate limit sets (1,000 copy calls at 20/s = 50 s, plus
//!    the copy time), `DescribeSnapshots` per replica per poll round.
//! 2. 10,000 disks to 2 regions without rate limits: peak memory (maximum resident
//!    set) of the client process.
//!
//! `cargo bench -p tencentcloud-cbs --features policy-file --bench replication`
//! (`-- --quick` runs 200 and 2,000 disks instead).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cbs_transport::{HyperTransport, ProxyConfig};
use tencentcloud_cbs::replication::{Policy, ReplicationEvent, Rule};
use tencentcloud_cbs::{
    BoxFuture, Client, Credentials, HttpRequest, HttpResponse, RateLimitConfig, Transport,
    TransportError,
};

const SECRET_ID: &str = "AKIDbenchreplication00000000000000000";
const SECRET_KEY: &str = "bench-replication-secret-key";
const SOURCE: &str = "ap-guangzhou";
const DESTINATIONS: [&str; 2] = ["ap-seoul", "ap-tokyo"];
/// How long the emulator takes to copy one 100 GB snapshot.
const COPY_SECS: u64 = 2;

fn main() {
    match std::env::var("CBS_BENCH_ROLE").as_deref() {
        Ok("emulator") => return emulator(),
        Ok("client") => return client(),
        _ => {}
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let (small, large) = if quick { (200, 2_000) } else { (1_000, 10_000) };
    println!("fleet replication: {small} disks with rate limits, then {large} without");
    run(small, true);
    run(large, false);
}

/// Runs one scenario: an emulator process, then a client process against it.
fn run(disks: usize, limited: bool) {
    let me = std::env::current_exe().expect("the bench knows its path");
    let mut emulator = Command::new(&me)
        .env("CBS_BENCH_ROLE", "emulator")
        .env("CBS_BENCH_DISKS", disks.to_string())
        .env("CBS_BENCH_LIMITED", if limited { "1" } else { "0" })
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the emulator process starts");
    let mut line = String::new();
    BufReader::new(emulator.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let endpoint = line.trim().to_owned();
    let client = Command::new(&me)
        .env("CBS_BENCH_ROLE", "client")
        .env("CBS_BENCH_ENDPOINT", &endpoint)
        .env("CBS_BENCH_DISKS", disks.to_string())
        .env("CBS_BENCH_LIMITED", if limited { "1" } else { "0" })
        .output()
        .expect("the client process runs");
    print!("{}", String::from_utf8_lossy(&client.stdout));
    eprint!("{}", String::from_utf8_lossy(&client.stderr));
    // Closing its standard input stops the emulator.
    drop(emulator.stdin.take());
    let _ = emulator.wait();
}

fn disks() -> usize {
    std::env::var("CBS_BENCH_DISKS").unwrap().parse().unwrap()
}

fn limited() -> bool {
    std::env::var("CBS_BENCH_LIMITED").as_deref() == Ok("1")
}

fn emulator() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let handle = cbs_emulator::Emulator::builder()
            .credential(SECRET_ID, SECRET_KEY)
            .rate_limit(if limited() { 20 } else { 0 })
            .snapshot_quota(1_000_000)
            .copy_duration(Duration::from_secs(COPY_SECS))
            .start()
            .await
            .unwrap();
        handle.add_fleet(SOURCE, "fleet", disks(), 100);
        println!("{}", handle.endpoint());
        std::io::stdout().flush().unwrap();
        // Serve until the parent closes standard input.
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            let _ = std::io::stdin().read_line(&mut sink);
        })
        .await
        .unwrap();
        handle.shutdown().await;
    });
}

/// Counts requests per action.
#[derive(Debug, Clone)]
struct Counting {
    inner: HyperTransport,
    counts: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl Transport for Counting {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        let action = request
            .headers()
            .get("x-tc-action")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        *self.counts.lock().unwrap().entry(action).or_default() += 1;
        self.inner.send(request)
    }
}

#[allow(unsafe_code)]
fn max_rss_mib() -> f64 {
    // SAFETY: rusage is a plain C struct, for which all zeroes is a valid value, and
    // getrusage only writes into the live struct it is handed.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return f64::NAN;
    }
    // Linux reports kilobytes.
    usage.ru_maxrss as f64 / 1024.0
}

fn client() {
    let endpoint = std::env::var("CBS_BENCH_ENDPOINT").unwrap();
    let disks = disks();
    let limited = limited();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let counting = Counting {
            inner: HyperTransport::builder()
                .allow_http(true)
                .proxy(ProxyConfig::none())
                .build()
                .unwrap(),
            counts: Arc::default(),
        };
        let client = Client::builder()
            .endpoint(endpoint)
            .region(SOURCE)
            .credentials(Credentials::new(SECRET_ID, SECRET_KEY))
            .transport(counting.clone())
            .rate_limit(if limited {
                RateLimitConfig::default()
            } else {
                RateLimitConfig::none()
            })
            .build()
            .unwrap();
        let policy = Policy::new(vec![
            Rule::new("fleet", SOURCE, DESTINATIONS).disk_name_pattern("fleet-*"),
        ])
        .unwrap()
        .with_max_in_flight_per_region(disks as u32);
        let rounds = Arc::new(AtomicUsize::new(0));
        let counter = rounds.clone();
        let started = Instant::now();
        let started_at = started;
        let report = client
            .replication(policy)
            .poll_interval(Duration::from_secs(1), Duration::from_secs(2))
            .on_event(move |event| {
                if std::env::var("CBS_BENCH_TRACE").is_ok() {
                    eprintln!("{:>8.2}s {event:?}", started_at.elapsed().as_secs_f64());
                }
                if let ReplicationEvent::Progress { destination, .. } = event
                    && destination == DESTINATIONS[0] {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
            })
            .apply()
            .await
            .expect("the run completes");
        let wall = started.elapsed().as_secs_f64();
        let replicas = report.succeeded();
        assert!(report.converged, "the run converged");
        assert_eq!(replicas, disks * DESTINATIONS.len());
        let counts = counting.counts.lock().unwrap().clone();
        // Progress is reported once before the first poll and once after each.
        let poll_rounds = rounds.load(Ordering::Relaxed).saturating_sub(1).max(1);
        println!(
            "\n{disks} disks → {} replicas ({}), rate limits {}",
            replicas,
            DESTINATIONS.join(", "),
            if limited { "on (20/s per action)" } else { "off" }
        );
        println!("  wall time            {wall:.1} s");
        if limited {
            let floor = disks as f64 / 20.0 + COPY_SECS as f64;
            println!(
                "  floor                {floor:.1} s ({disks} copy calls at 20/s + {COPY_SECS} s copy)"
            );
            println!("  wall / floor         {:.3}", wall / floor);
        }
        println!("  calls per replica by action:");
        for (action, n) in &counts {
            println!("    {action:<28} {n:>6}  {:.4}", *n as f64 / replicas as f64);
        }
        let describes = counts.get("DescribeSnapshots").copied().unwrap_or(0);
        // The looks before and after: the source (disks / 100 pages) and both
        // destinations (nothing before, replicas / 2 / 100 pages each after).
        let listing = disks.div_ceil(100) * 2 + DESTINATIONS.len() * (1 + disks.div_ceil(100));
        let polling = describes.saturating_sub(listing);
        println!("  poll rounds          {poll_rounds}");
        println!(
            "  DescribeSnapshots per replica per poll round  {:.4} ({polling} polling calls)",
            polling as f64 / (replicas as f64 * poll_rounds as f64)
        );
        println!("  peak memory (max RSS of the client process)  {:.1} MiB", max_rss_mib());
    });
}
