//! Copies a snapshot to two regions and waits for both copies, printing each region's
//! progress and the final snapshot id and state.
//!
//! ```text
//! cargo run -p tencentcloud-cbs --example copy_and_wait
//! ```
//!
//! With `TENCENTCLOUD_SECRET_ID` and `TENCENTCLOUD_SECRET_KEY` set, it copies
//! `$SNAPSHOT_ID` (in `$TENCENTCLOUD_REGION`) to `$DESTINATIONS` (comma-separated,
//! default `ap-beijing,ap-shanghai`) for real. Without credentials it starts the local
//! emulator in-process with demo data and copies `snap-demo0001`.

use std::process::ExitCode;
use std::time::Duration;

use tencentcloud_cbs::{Client, Credentials, RegionOutcome};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(3),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let destinations: Vec<String> = std::env::var("DESTINATIONS")
        .unwrap_or_else(|_| "ap-beijing,ap-shanghai".into())
        .split(',')
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .collect();
    let real = std::env::var_os("TENCENTCLOUD_SECRET_ID").is_some();
    // Keeps the emulator alive for the whole run when there is one.
    let mut _emulator = None;
    let (client, snapshot_id) = if real {
        let snapshot_id =
            std::env::var("SNAPSHOT_ID").map_err(|_| "set SNAPSHOT_ID to the snapshot to copy")?;
        (Client::from_env()?, snapshot_id)
    } else {
        let emulator = cbs_emulator::Emulator::builder()
            .seed_demo(true)
            .copy_duration(Duration::from_secs(4))
            .start()
            .await?;
        println!(
            "no credentials in the environment: using the local emulator at {}",
            emulator.endpoint()
        );
        let client = Client::builder()
            .endpoint(emulator.endpoint())
            .region("ap-guangzhou")
            .credentials(Credentials::new(
                cbs_emulator::DEMO_SECRET_ID,
                cbs_emulator::DEMO_SECRET_KEY,
            ))
            .build()?;
        _emulator = Some(emulator);
        (client, "snap-demo0001".to_owned())
    };

    println!("copying {snapshot_id} to {}", destinations.join(", "));
    let outcomes = client
        .copy_snapshot_and_wait(snapshot_id)
        .destination_regions(destinations)
        .poll_interval(
            Duration::from_millis(500),
            Duration::from_secs(if real { 30 } else { 1 }),
        )
        .on_progress(|p| {
            let state = p
                .state
                .as_ref()
                .map(|s| s.as_str())
                .unwrap_or("not visible yet");
            println!(
                "  {:<16} {} {:>3}% {}",
                p.region, p.snapshot_id, p.percent, state
            );
        })
        .send()
        .await?;

    println!("\n{:<16} {:<16} state", "region", "snapshot");
    let mut all_ready = true;
    for outcome in &outcomes {
        match outcome {
            RegionOutcome::Ready { region, snapshot } => {
                let state = snapshot
                    .snapshot_state
                    .as_ref()
                    .map(|s| s.as_str())
                    .unwrap_or("?");
                println!(
                    "{:<16} {:<16} {state}",
                    region,
                    snapshot.snapshot_id.as_deref().unwrap_or("?")
                );
            }
            RegionOutcome::Refused {
                region,
                code,
                message,
            } => {
                all_ready = false;
                println!("{region:<16} {:<16} refused: {code}: {message}", "-");
            }
            RegionOutcome::WaitFailed {
                region,
                snapshot_id,
                error,
            } => {
                all_ready = false;
                println!("{region:<16} {snapshot_id:<16} wait failed: {error}");
            }
            other => {
                all_ready = false;
                println!("{:<16} unexpected outcome", other.region());
            }
        }
    }
    Ok(all_ready)
}
