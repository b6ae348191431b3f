//! `cbs-emulator`: run the local CBS endpoint.
//!
//! ```text
//! cbs-emulator [--bind ADDR] [--credential ID:KEY]... [--seed-demo]
//!              [--copy-duration SECONDS] [--rate-limit N] [--faults FILE]
//! ```
//!
//! Prints `listening on http://IP:PORT` once ready and serves until interrupted.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use cbs_emulator::{DEMO_SECRET_ID, DEMO_SECRET_KEY, Emulator, parse_fault_file};

const USAGE: &str = "usage: cbs-emulator [--bind ADDR] [--credential ID:KEY]... [--seed-demo] [--copy-duration SECONDS] [--rate-limit N] [--faults FILE]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cbs-emulator: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut builder = Emulator::builder();
    let mut args = std::env::args().skip(1);
    let mut any_credential = false;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--bind" => {
                let addr: SocketAddr = value("--bind")?
                    .parse()
                    .map_err(|e| format!("--bind: {e}"))?;
                builder = builder.bind(addr);
            }
            "--credential" => {
                let pair = value("--credential")?;
                let (id, key) = pair.split_once(':').ok_or("--credential takes ID:KEY")?;
                if id.is_empty() || key.is_empty() {
                    return Err("--credential takes ID:KEY, both non-empty".into());
                }
                builder = builder.credential(id, key);
                any_credential = true;
            }
            "--seed-demo" => builder = builder.seed_demo(true),
            "--copy-duration" => {
                let secs: f64 = value("--copy-duration")?
                    .parse()
                    .map_err(|e| format!("--copy-duration: {e}"))?;
                if !(0.0..=86_400.0).contains(&secs) {
                    return Err("--copy-duration must be between 0 and 86400 seconds".into());
                }
                builder = builder.copy_duration(Duration::from_secs_f64(secs));
            }
            "--rate-limit" => {
                let n: u32 = value("--rate-limit")?
                    .parse()
                    .map_err(|e| format!("--rate-limit: {e}"))?;
                builder = builder.rate_limit(n);
            }
            "--faults" => {
                let path = value("--faults")?;
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
                for fault in parse_fault_file(&text)? {
                    builder = builder.fault(fault);
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let handle = builder
            .start()
            .await
            .map_err(|e| format!("cannot listen: {e}"))?;
        println!("listening on {}", handle.endpoint());
        if !any_credential {
            println!("credential {DEMO_SECRET_ID}:{DEMO_SECRET_KEY}");
        }
        let _ = tokio::signal::ctrl_c().await;
        handle.shutdown().await;
        Ok(())
    })
}
