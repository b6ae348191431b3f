//! `cbs-emulator`: run the local CBS endpoint.
//!
//! Prints `listening on http://IP:PORT` once ready (and, with `--tls`, where the
//! certificate was written), then serves until interrupted. `cbs-emulator --help` lists
//! every flag.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use cbs_emulator::{DEMO_SECRET_ID, DEMO_SECRET_KEY, Emulator, EmulatorBuilder, parse_fault_file};

/// A local Tencent Cloud CBS (API 2017-03-12): every action with state, signatures
/// checked, emulated time, optional persistence and faults.
#[derive(Debug, Parser)]
#[command(name = "cbs-emulator", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    bind: SocketAddr,

    /// Accept this credential (repeatable). With a third part the credential is
    /// temporary: requests must carry that token (X-TC-Token, or the v1 Token
    /// parameter). Without any --credential the demo credential is accepted.
    #[arg(long, value_name = "ID:KEY[:TOKEN]", value_parser = parse_credential)]
    credential: Vec<(String, String, Option<String>)>,

    /// Another account (repeatable), reached with this credential: its own disks,
    /// snapshots, policies, quotas and rate limits; snapshots shared with it by the
    /// default account (the one --credential belongs to) are visible to it.
    #[arg(long = "account", value_name = "UIN:SECRET_ID:SECRET_KEY", value_parser = parse_account)]
    accounts: Vec<(String, String, String)>,

    /// Start with demo data: disks, instances and snapshots in several regions, and a
    /// small production fleet in ap-guangzhou.
    #[arg(long)]
    seed_demo: bool,

    /// Know an instance disks can attach to (repeatable).
    #[arg(long, value_name = "REGION:ZONE:ID", value_parser = parse_instance)]
    instance: Vec<(String, String, String)>,

    /// How many times faster than real time emulated time runs (60: a second is a
    /// minute).
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, value_parser = parse_scale)]
    time_scale: f64,

    /// Emulated seconds a cross-region copy of a 100 GB snapshot takes (proportional to
    /// size).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    copy_duration: Option<Duration>,

    /// Emulated seconds creating a snapshot of a 100 GB disk takes (proportional to
    /// size; 0: at once).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    create_duration: Option<Duration>,

    /// Emulated seconds a 100 GB disk made from a snapshot takes to become usable
    /// (proportional to size; 0, the default: at once).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    restore_duration: Option<Duration>,

    /// Keep the state in this file: loaded at start, saved atomically after every
    /// change. A file that cannot be read is refused, never overwritten.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,

    /// Inject the faults listed in this JSON file (a list of {"service", "action",
    /// "region", "kind", "times", "probability", ...}; "service" is "cbs" or "tag").
    #[arg(long, value_name = "FILE")]
    faults: Option<PathBuf>,

    /// Requests per second per credential and action before RequestLimitExceeded
    /// (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 20)]
    rate_limit: u32,

    /// Count the rate limit per account and action, shared by all its credentials,
    /// instead of per credential (the API pages do not say which the service does).
    #[arg(long)]
    rate_limit_per_account: bool,

    /// Snapshots each region may hold before copies and new snapshots are refused with
    /// InsufficientSnapshotQuota (default: 64 plus 64 per disk in the region, the
    /// published rule).
    #[arg(long, value_name = "N")]
    snapshot_quota: Option<usize>,

    /// Let owners delete snapshots they share (gone for every receiver) instead of
    /// refusing with UnsupportedOperation.SnapHasShared.
    #[arg(long)]
    delete_shared: bool,

    /// Let cross-region copies carry their source snapshot's tags (by default they do
    /// not: the API reference does not say).
    #[arg(long)]
    copy_tags: bool,

    /// How long a ClientToken makes a repeated CreateDisks return the first one's
    /// disks, in emulated seconds (default a day; the API reference names no window).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    client_token_window: Option<Duration>,

    /// A disk type sold out in a zone (repeatable), e.g. ap-beijing-3:CLOUD_SSD.
    #[arg(long, value_name = "ZONE:TYPE", value_parser = parse_sold_out)]
    sold_out: Vec<(String, String)>,

    /// Add an availability zone the built-in table lacks (repeatable), e.g.
    /// ap-guangzhou-8.
    #[arg(long, value_name = "ZONE", value_parser = parse_zone)]
    zone: Vec<String>,

    /// Serve HTTPS with a fresh self-signed certificate for 127.0.0.1 and localhost,
    /// written (PEM) to this file for clients to trust.
    #[arg(long, value_name = "CERT_FILE")]
    tls: Option<PathBuf>,
}

fn parse_credential(text: &str) -> Result<(String, String, Option<String>), String> {
    let mut parts = text.splitn(3, ':');
    let id = parts.next().unwrap_or_default();
    let key = parts.next().unwrap_or_default();
    let token = parts.next();
    if id.is_empty() || key.is_empty() || token == Some("") {
        return Err("expected ID:KEY or ID:KEY:TOKEN, every part non-empty".into());
    }
    Ok((id.to_owned(), key.to_owned(), token.map(str::to_owned)))
}

fn parse_account(text: &str) -> Result<(String, String, String), String> {
    let parts: Vec<&str> = text.splitn(3, ':').collect();
    match parts.as_slice() {
        [uin, id, key]
            if !uin.is_empty()
                && uin.bytes().all(|b| b.is_ascii_digit())
                && !id.is_empty()
                && !key.is_empty() =>
        {
            Ok((uin.to_string(), id.to_string(), key.to_string()))
        }
        _ => Err(
            "expected UIN:SECRET_ID:SECRET_KEY, the UIN digits only, every part non-empty".into(),
        ),
    }
}

fn parse_zone(text: &str) -> Result<String, String> {
    if cbs_emulator::is_zone_name(text) {
        Ok(text.to_owned())
    } else {
        Err("expected REGION-N with a known region, e.g. ap-guangzhou-8".into())
    }
}

fn parse_sold_out(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((zone, disk_type)) if cbs_emulator::is_zone_name(zone) && !disk_type.is_empty() => {
            Ok((zone.to_owned(), disk_type.to_owned()))
        }
        _ => Err("expected ZONE:TYPE, e.g. ap-beijing-3:CLOUD_SSD".into()),
    }
}

fn parse_instance(text: &str) -> Result<(String, String, String), String> {
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        [region, zone, id] if cbs_emulator::REGIONS.contains(region) && !id.is_empty() => {
            if !zone.starts_with(&format!("{region}-")) {
                return Err(format!("the zone `{zone}` is not in {region}"));
            }
            Ok((region.to_string(), zone.to_string(), id.to_string()))
        }
        [region, _, _] if !cbs_emulator::REGIONS.contains(region) => {
            Err(format!("unknown region `{region}`"))
        }
        _ => Err("expected REGION:ZONE:ID, e.g. ap-guangzhou:ap-guangzhou-3:ins-7x9k2m4q".into()),
    }
}

fn parse_scale(text: &str) -> Result<f64, String> {
    let scale: f64 = text.parse().map_err(|e| format!("{e}"))?;
    if scale.is_finite() && scale > 0.0 && scale <= 1e6 {
        Ok(scale)
    } else {
        Err("must be a number above 0 and at most 1000000".into())
    }
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=86_400.0 * 30.0).contains(&secs) {
        Ok(Duration::from_secs_f64(secs))
    } else {
        Err("must be between 0 and 2592000 seconds".into())
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cbs-emulator: {message}");
            ExitCode::from(1)
        }
    }
}

fn builder(args: &Args) -> Result<EmulatorBuilder, String> {
    let mut builder = Emulator::builder()
        .bind(args.bind)
        .seed_demo(args.seed_demo)
        .time_scale(args.time_scale)
        .rate_limit(args.rate_limit)
        .rate_limit_per_account(args.rate_limit_per_account);
    for (id, key, token) in &args.credential {
        builder = match token {
            None => builder.credential(id, key),
            Some(token) => builder.temporary_credential(id, key, token, u64::MAX),
        };
    }
    for (uin, id, key) in &args.accounts {
        builder = builder.account_credential(uin, id, key);
    }
    for (region, zone, id) in &args.instance {
        builder = builder.instance(region, zone, id);
    }
    if let Some(quota) = args.snapshot_quota {
        builder = builder.snapshot_quota(quota);
    }
    for zone in &args.zone {
        builder = builder.zone(zone);
    }
    builder = builder.delete_shared(args.delete_shared);
    builder = builder.copy_tags(args.copy_tags);
    if let Some(window) = args.client_token_window {
        builder = builder.client_token_window(window);
    }
    for (zone, disk_type) in &args.sold_out {
        builder = builder.sold_out(zone.clone(), disk_type.clone());
    }
    if let Some(duration) = args.copy_duration {
        builder = builder.copy_duration(duration);
    }
    if let Some(duration) = args.create_duration {
        builder = builder.create_duration(duration);
    }
    if let Some(duration) = args.restore_duration {
        builder = builder.restore_duration(duration);
    }
    if let Some(path) = &args.state {
        builder = builder.state_file(path);
    }
    if let Some(path) = &args.tls {
        builder = builder.tls(path);
    }
    if let Some(path) = &args.faults {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        for fault in parse_fault_file(&text)? {
            builder = builder.fault(fault);
        }
    }
    Ok(builder)
}

fn run(args: Args) -> Result<(), String> {
    let builder = builder(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let handle = builder.start().await.map_err(|e| e.to_string())?;
        // Whoever started us may read the first line and close the pipe: a server
        // keeps serving whether or not anyone reads the rest (println! would panic).
        let mut banner = format!("listening on {}\n", handle.endpoint());
        if let Some(path) = &args.tls {
            banner.push_str(&format!("certificate {}\n", path.display()));
        }
        if args.credential.is_empty() {
            banner.push_str(&format!("credential {DEMO_SECRET_ID}:{DEMO_SECRET_KEY}\n"));
        }
        if let Some(path) = &args.state {
            banner.push_str(&format!("state {}\n", path.display()));
        }
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
        let _ = tokio::signal::ctrl_c().await;
        handle.shutdown().await;
        Ok(())
    })
}
