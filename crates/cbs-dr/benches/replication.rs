//! Fleet replication at scale, against the emulator in a separate process over
//! 127.0.0.1, with the client in a process of its own so its peak memory is its own.
//! Every run uses the library's defaults (no in-flight cap, the default rate limit,
//! the default patience), except that poll intervals are scaled by the emulator's time
//! scale so that emulated minutes stay minutes to the client.
//!
//! 1. **clean**: 1,000 disks (100 GB, one snapshot each) to 2 regions, copies taking
//!    10 emulated minutes (time scale 60: 10 s), the service's limits (20 calls per
//!    second per action, enforced by the emulator): API calls per replica by action,
//!    wall time against the floor (1,000 copy calls at 20/s = 50 s, plus one copy
//!    time), `DescribeSnapshots` per replica per poll round.
//! 2. **bad day**: the same with 10 % of all calls throttled (`RequestLimitExceeded`,
//!    other clients of the account) and one destination refusing every call
//!    (`AuthFailure.UnauthorizedOperation`, a CAM policy): duplicates per destination
//!    (counted by the emulator), replicas in the healthy destination, items failed.
//! 3. **memory**: 10,000 disks to 2 regions without rate limits: peak memory (maximum
//!    resident set) of the client process.
//! 4. **restore**: the 1,000 disks restored in one destination from their replicas
//!    (replicas made directly, tagged as `apply` tags them), disks taking 5
//!    emulated minutes to become usable, the service's limits: wall time against the
//!    floor (1,000 `CreateDisks` at 20/s plus one load time), `DescribeDisks` per disk
//!    per poll round, peak memory.
//! 5. **backfill**: the same fleet already replicated by a version that did not tag
//!    (the replicas there, untagged): the first run after an upgrade tags all 20,000;
//!    its peak memory and calls (`-- backfill`; not run by default).
//!
//! The client runs on the one-thread runtime `tccbs` uses; `CBS_BENCH_RUNTIME=multi-thread`
//! runs it on two workers instead (glibc then keeps an allocator arena per thread, which
//! shows in the peak: `MALLOC_ARENA_MAX=1` takes most of the difference away).
//!
//! After the clean run, a second `apply` of the same policy: its calls by action (no
//! copy and no Tag call expected).
//!
//! `cargo bench -p cbs-dr --features policy-file --bench replication`
//! (`-- --quick` runs 200 and 2,000 disks instead).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cbs_dr::{Outcome, Policy, ReplicaName, Replication, ReplicationEvent, Rule};
use cbs_emulator::{Fault, FaultKind};
use cbs_transport::{HyperTransport, ProxyConfig};
use tencentcloud_cbs::{
    BoxFuture, Client, Credentials, HttpRequest, HttpResponse, RateLimitConfig, Transport,
    TransportError,
};

const SECRET_ID: &str = "AKIDbenchreplication00000000000000000";
const SECRET_KEY: &str = "bench-replication-secret-key";
const SOURCE: &str = "ap-guangzhou";
const DESTINATIONS: [&str; 2] = ["ap-seoul", "ap-tokyo"];
/// The destination that refuses every call on the bad day.
const REFUSING: &str = "ap-tokyo";
/// Emulated time runs this many times faster than real time.
const TIME_SCALE: f64 = 60.0;
/// How long, in emulated time, the emulator takes to copy one 100 GB snapshot.
const COPY: Duration = Duration::from_secs(600);
/// How long, in emulated time, a 100 GB disk made from a snapshot takes to load.
const LOAD: Duration = Duration::from_secs(300);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scenario {
    Clean,
    BadDay,
    Memory,
    Restore,
    Backfill,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Clean => "clean",
            Scenario::BadDay => "bad-day",
            Scenario::Memory => "memory",
            Scenario::Restore => "restore",
            Scenario::Backfill => "backfill",
        }
    }

    fn from_env() -> Self {
        match std::env::var("CBS_BENCH_SCENARIO").as_deref() {
            Ok("bad-day") => Scenario::BadDay,
            Ok("memory") => Scenario::Memory,
            Ok("backfill") => Scenario::Backfill,
            Ok("restore") => Scenario::Restore,
            _ => Scenario::Clean,
        }
    }

    fn limited(self) -> bool {
        matches!(self, Scenario::Clean | Scenario::BadDay | Scenario::Restore)
    }
}

fn main() {
    match std::env::var("CBS_BENCH_ROLE").as_deref() {
        Ok("emulator") => return emulator(),
        Ok("client") => return client(),
        _ => {}
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let (small, large) = if quick { (200, 2_000) } else { (1_000, 10_000) };
    println!("fleet replication: {small} disks clean and on a bad day, then {large} for memory");
    // `-- memory` (or `clean`, `bad-day`) runs one scenario.
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    for (scenario, disks) in [
        (Scenario::Clean, small),
        (Scenario::BadDay, small),
        (Scenario::Memory, large),
        (Scenario::Restore, small),
        (Scenario::Backfill, large),
    ] {
        let asked = match only.as_deref() {
            Some(name) => name == scenario.name(),
            None => scenario != Scenario::Backfill,
        };
        if asked {
            run(scenario, disks);
        }
    }
}

/// Runs one scenario: an emulator process, then a client process against it, then
/// what the emulator counted.
fn run(scenario: Scenario, disks: usize) {
    let me = std::env::current_exe().expect("the bench knows its path");
    let mut emulator = Command::new(&me)
        .env("CBS_BENCH_ROLE", "emulator")
        .env("CBS_BENCH_DISKS", disks.to_string())
        .env("CBS_BENCH_SCENARIO", scenario.name())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the emulator process starts");
    let mut emulator_out = BufReader::new(emulator.stdout.take().unwrap());
    let mut line = String::new();
    emulator_out.read_line(&mut line).unwrap();
    let endpoint = line.trim().to_owned();
    let client = Command::new(&me)
        .env("CBS_BENCH_ROLE", "client")
        .env("CBS_BENCH_ENDPOINT", &endpoint)
        .env("CBS_BENCH_DISKS", disks.to_string())
        .env("CBS_BENCH_SCENARIO", scenario.name())
        .output()
        .expect("the client process runs");
    print!("{}", String::from_utf8_lossy(&client.stdout));
    eprint!("{}", String::from_utf8_lossy(&client.stderr));
    // Closing its standard input makes the emulator print what it holds and stop.
    drop(emulator.stdin.take());
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut emulator_out, &mut rest);
    print!("{rest}");
    let _ = emulator.wait();
}

fn disks() -> usize {
    std::env::var("CBS_BENCH_DISKS").unwrap().parse().unwrap()
}

fn emulator() {
    let scenario = Scenario::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let handle = cbs_emulator::Emulator::builder()
            .credential(SECRET_ID, SECRET_KEY)
            .rate_limit(if scenario.limited() { 20 } else { 0 })
            .snapshot_quota(1_000_000)
            .time_scale(TIME_SCALE)
            .copy_duration(COPY)
            .restore_duration(LOAD)
            .start()
            .await
            .unwrap();
        handle.add_fleet(SOURCE, "fleet", disks(), 100);
        if scenario == Scenario::Restore {
            // A standby for every source instance (four disks each), in the zone the
            // replicas are in.
            for n in 0..disks().div_ceil(4) {
                handle.add_instance(
                    DESTINATIONS[0],
                    &format!("{}-1", DESTINATIONS[0]),
                    &standby(n),
                );
            }
        }
        if matches!(scenario, Scenario::Backfill | Scenario::Restore) {
            let taken = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            for snapshot in handle.snapshots(SOURCE) {
                let name = ReplicaName::new(&snapshot.id, SOURCE, taken).to_string();
                for region in DESTINATIONS {
                    let copy = handle.add_copy(&snapshot.id, region, &name).unwrap();
                    if scenario == Scenario::Restore {
                        handle.set_snapshot_tags(&copy, inventory(&snapshot, taken));
                    }
                }
            }
        }
        if scenario == Scenario::BadDay {
            let error = |code: &str| FaultKind::Error {
                code: code.into(),
                message: String::new(),
            };
            handle.inject(Fault::new(error("AuthFailure.UnauthorizedOperation")).region(REFUSING));
            handle.inject(Fault::new(error("RequestLimitExceeded")).probability(0.1));
        }
        println!("{}", handle.endpoint());
        std::io::stdout().flush().unwrap();
        // Serve until the parent closes standard input.
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            let _ = std::io::stdin().read_line(&mut sink);
        })
        .await
        .unwrap();
        println!("  held by the emulator afterwards:");
        for region in DESTINATIONS {
            let mut per_source: BTreeMap<String, usize> = BTreeMap::new();
            for snapshot in handle.snapshots(region) {
                if let Some(name) = ReplicaName::parse(&snapshot.name) {
                    *per_source.entry(name.source_snapshot_id).or_default() += 1;
                }
            }
            let duplicates: usize = per_source.values().map(|n| n - 1).sum();
            println!(
                "    {region:<12} replicas of {:>6} sources, {duplicates} duplicates",
                per_source.len()
            );
        }
        handle.shutdown().await;
    });
}

/// A replica's inventory tags as `apply` binds them (the format documented on
/// `cbs_dr::Inventory`): four disks to an instance, all in the source's first zone.
fn inventory(snapshot: &cbs_emulator::SnapshotInfo, taken: i64) -> Vec<(String, String)> {
    let number: usize = snapshot
        .name
        .trim_start_matches("fleet-")
        .trim_end_matches(" nightly")
        .parse()
        .unwrap();
    let time = cbs_dr::format_time(taken);
    [
        (
            "tccbs:source",
            format!("{SOURCE}/{}/{}", snapshot.disk_id, snapshot.id),
        ),
        ("tccbs:taken", time),
        ("tccbs:rule", "fleet".to_owned()),
        ("tccbs:disk", format!("CLOUD_SSD/100/{SOURCE}-1/data")),
        ("tccbs:name", format!("fleet-{number:04}")),
        (
            "tccbs:instance",
            format!("ins-{:08}/{}", number / 4, number % 4),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The restore scenario's client: one restore of the whole fleet into the first
/// destination, measured.
async fn restore_run(client: &Client, counting: Counting, policy: Policy, disks: usize) {
    let rounds = Arc::new(AtomicUsize::new(0));
    let counter = rounds.clone();
    let replication = Replication::new(client, policy)
        .poll_interval(
            Duration::from_secs(5).div_f64(TIME_SCALE),
            Duration::from_secs(60).div_f64(TIME_SCALE),
        )
        .on_event(move |event| {
            if let ReplicationEvent::RestoreProgress { .. } = event {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
    let request = cbs_dr::Restore::new(DESTINATIONS[0], "bench").unwrap();
    let started = Instant::now();
    let report = replication
        .restore(&request)
        .await
        .expect("the restore runs");
    let wall = started.elapsed().as_secs_f64();
    let load_real = LOAD.as_secs_f64() / TIME_SCALE;
    let floor = disks as f64 / 20.0 + load_real;
    let counts = counting.counts.lock().unwrap().clone();
    println!(
        "\n[restore] {disks} disks into {}, rate limits on (20/s per action), disks load in {} emulated s (×{TIME_SCALE})",
        DESTINATIONS[0],
        LOAD.as_secs()
    );
    println!(
        "  wall time            {wall:.1} s (recovery time reported {:.1} s)",
        report.rto.unwrap_or_default().as_secs_f64()
    );
    println!(
        "  floor                {floor:.1} s ({disks} CreateDisks at 20/s + {load_real:.0} s load)"
    );
    println!("  wall / floor         {:.3}", wall / floor);
    println!(
        "  items                {} restored, {} failed",
        report.succeeded(),
        report.failed()
    );
    let total: usize = counts.values().sum();
    println!("  calls per disk by action ({total} calls):");
    for (action, n) in &counts {
        println!(
            "    {action:<28} {n:>6}  {:.4}",
            *n as f64 / disks.max(1) as f64
        );
    }
    // The first report comes before the first poll; each later one after a round.
    let poll_rounds = rounds.load(Ordering::Relaxed).saturating_sub(1).max(1);
    // Besides the polls: the run's disks looked up once before creating.
    let polling = counts
        .get("DescribeDisks")
        .copied()
        .unwrap_or(0)
        .saturating_sub(1);
    println!("  poll rounds          {poll_rounds}");
    println!(
        "  DescribeDisks per disk per poll round  {:.4}",
        polling as f64 / (disks as f64 * poll_rounds as f64)
    );
    println!(
        "  peak memory (max RSS of the client process)  {:.1} MiB",
        max_rss_mib()
    );
    assert_eq!(report.succeeded(), disks, "every disk is restored");

    // Again into a second run, each instance's disks attached to its standby.
    counting.counts.lock().unwrap().clear();
    let mut request = cbs_dr::Restore::new(DESTINATIONS[0], "bench-attach").unwrap();
    for n in 0..disks.div_ceil(4) {
        request = request.standby(format!("ins-{n:08}"), standby(n));
    }
    let started = Instant::now();
    let report = replication
        .restore(&request)
        .await
        .expect("the restore runs");
    let wall = started.elapsed().as_secs_f64();
    let instances = disks.div_ceil(4);
    let attach_floor = instances as f64 / 20.0;
    let counts = counting.counts.lock().unwrap().clone();
    println!(
        "\n[restore, attached] the same {disks} disks into a second run, attached to {instances} standbys (4 each)"
    );
    println!("  wall time            {wall:.1} s");
    println!(
        "  floor                {floor:.1} s as above; attaching adds {attach_floor:.1} s of AttachDisks at 20/s if none overlaps the creations"
    );
    println!("  wall / floor         {:.3}", wall / floor);
    println!(
        "  attached             {} of {disks}",
        report.items.iter().filter(|i| i.attached).count()
    );
    let total: usize = counts.values().sum();
    println!("  calls per disk by action ({total} calls):");
    for (action, n) in &counts {
        println!(
            "    {action:<28} {n:>6}  {:.4}",
            *n as f64 / disks.max(1) as f64
        );
    }
    assert_eq!(report.succeeded(), disks, "every disk is restored");
}

/// The standby of the bench's source instance `n`.
fn standby(n: usize) -> String {
    format!("ins-sb{n:06}")
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
    let scenario = Scenario::from_env();
    // The runtime `tccbs` runs on (one thread), unless CBS_BENCH_RUNTIME=multi-thread
    // (two workers): a library user's likely choice, with an allocator arena per thread.
    let multi_thread = std::env::var("CBS_BENCH_RUNTIME").as_deref() == Ok("multi-thread");
    let runtime = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
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
            .rate_limit(if scenario.limited() {
                RateLimitConfig::default()
            } else {
                RateLimitConfig::none()
            })
            .build()
            .unwrap();
        let policy = Policy::new(vec![
            Rule::new("fleet", SOURCE, DESTINATIONS).disk_name_pattern("fleet-*"),
        ])
        .unwrap();
        let rounds = Arc::new(AtomicUsize::new(0));
        let counter = rounds.clone();
        let started = Instant::now();
        let started_at = started;
        // The defaults (5 s growing to 60 s) in emulated time.
        let (poll_min, poll_max) = (
            Duration::from_secs(5).div_f64(TIME_SCALE),
            Duration::from_secs(60).div_f64(TIME_SCALE),
        );
        if scenario == Scenario::Restore {
            return restore_run(&client, counting, policy, disks).await;
        }
        let replication = Replication::new(&client, policy)
            .poll_interval(poll_min, poll_max)
            .on_event(move |event| {
                if std::env::var("CBS_BENCH_TRACE").is_ok() {
                    eprintln!("{:>8.2}s {event:?}", started_at.elapsed().as_secs_f64());
                }
                if let ReplicationEvent::Progress { destination, .. } = event
                    && destination == DESTINATIONS[0]
                {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
        let report = replication.apply().await.expect("the run completes");
        let wall = started.elapsed().as_secs_f64();
        let copy_real = COPY.as_secs_f64() / TIME_SCALE;
        let counts = counting.counts.lock().unwrap().clone();
        let total_calls: usize = counts.values().sum();
        let replicas = match scenario {
            // A replica tagged on its own line, or on its up-to-date one.
            Scenario::Backfill => report.items.iter().filter(|i| i.tagged).count(),
            _ => report.count(Outcome::Copied) + report.count(Outcome::Adopted),
        };
        println!(
            "\n[{}] {disks} disks to {}, rate limits {}, copies {} emulated s (×{TIME_SCALE}), {} runtime",
            scenario.name(),
            DESTINATIONS.join(", "),
            if scenario.limited() {
                "on (20/s per action)"
            } else {
                "off"
            },
            COPY.as_secs(),
            if multi_thread { "multi-thread" } else { "current-thread" }
        );
        println!("  wall time            {wall:.1} s");
        if scenario.limited() {
            let floor = disks as f64 / 20.0 + copy_real;
            println!(
                "  floor                {floor:.1} s ({disks} copy calls at 20/s + {copy_real:.0} s copy)"
            );
            println!("  wall / floor         {:.3}", wall / floor);
        }
        println!(
            "  items                {} copied, {} adopted, {} tagged, {} failed, {} incomplete; converged {}",
            report.count(Outcome::Copied),
            report.count(Outcome::Adopted),
            report.items.iter().filter(|i| i.tagged).count(),
            report.failed(),
            report.count(Outcome::Incomplete),
            report.converged
        );
        let mut failure_codes: BTreeMap<(String, String), usize> = BTreeMap::new();
        for item in &report.items {
            if let Some(failure) = &item.failure {
                let destination = item.destination.clone().unwrap_or_default();
                *failure_codes
                    .entry((destination, failure.code.clone()))
                    .or_default() += 1;
            }
        }
        for ((destination, code), n) in &failure_codes {
            println!("    failed in {destination:<12} {code} × {n}");
        }
        println!("  calls per replica by action ({total_calls} calls):");
        for (action, n) in &counts {
            println!(
                "    {action:<28} {n:>6}  {:.4}",
                *n as f64 / replicas.max(1) as f64
            );
        }
        if scenario == Scenario::Clean {
            assert!(report.converged, "a clean run converges");
            assert_eq!(replicas, disks * DESTINATIONS.len());
            // Progress is reported once before the first poll and once after each.
            let poll_rounds = rounds.load(Ordering::Relaxed).saturating_sub(1).max(1);
            let describes = counts.get("DescribeSnapshots").copied().unwrap_or(0);
            // The looks before and after: the source (disks / 100 pages, twice) and each
            // destination (one empty page before, replicas / 100 pages after).
            let listing =
                disks.div_ceil(100) * 2 + DESTINATIONS.len() * (1 + disks.div_ceil(100));
            let polling = describes.saturating_sub(listing);
            println!("  poll rounds          {poll_rounds}");
            println!(
                "  DescribeSnapshots per replica per poll round  {:.4} ({polling} polling calls)",
                polling as f64 / (replicas as f64 * poll_rounds as f64)
            );
            let tagged = report.items.iter().filter(|i| i.tagged).count();
            let tag_calls = counts.get("TagResources").copied().unwrap_or(0);
            println!(
                "  replicas tagged      {tagged}, in {tag_calls} TagResources calls ({:.3} per replica)",
                tag_calls as f64 / tagged.max(1) as f64
            );
            counting.counts.lock().unwrap().clear();
            let again_started = Instant::now();
            let again = replication.apply().await.expect("the second run completes");
            let counts = counting.counts.lock().unwrap().clone();
            println!(
                "  second run           {:.1} s, converged {}, calls: {counts:?}",
                again_started.elapsed().as_secs_f64(),
                again.converged
            );
            assert!(!counts.contains_key("CopySnapshotCrossRegions"));
            assert!(!counts.contains_key("TagResources"));
        }
        println!(
            "  peak memory (max RSS of the client process)  {:.1} MiB",
            max_rss_mib()
        );
    });
}
