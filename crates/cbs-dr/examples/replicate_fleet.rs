//! Plans a replication policy, applies it, checks the recovery point, then lives the
//! recovery day: the fleet restored in the destination onto a standby, its recovery
//! time measured, and the restore removed again. The library behind `tccbs
//! replicate`, in one program.
//!
//! ```text
//! cargo run -p cbs-dr --example replicate_fleet
//! ```
//!
//! It starts the local emulator in-process with demo data (no account needed) and
//! replicates the demo fleet's `prod-*` disks from `ap-guangzhou` to `ap-beijing`.

use std::time::Duration;

use cbs_dr::{Policy, Replication, ReplicationEvent, Restore, Rule};
use tencentcloud_cbs::{Client, Credentials};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = cbs_emulator::Emulator::builder()
        .seed_demo(true)
        .copy_duration(Duration::from_secs(3))
        .start()
        .await?;
    let client = Client::builder()
        .endpoint(emulator.endpoint())
        .region("ap-guangzhou")
        .credentials(Credentials::new(
            cbs_emulator::DEMO_SECRET_ID,
            cbs_emulator::DEMO_SECRET_KEY,
        ))
        .build()?;

    let policy = Policy::new(vec![
        Rule::new("prod", "ap-guangzhou", ["ap-beijing"])
            .disk_name_pattern("prod-*")
            .keep(2),
    ])?;
    let replication = Replication::new(&client, policy)
        .poll_interval(Duration::from_millis(500), Duration::from_secs(1))
        .on_event(|event| {
            if let ReplicationEvent::Progress {
                destination,
                done,
                total,
                ..
            } = event
            {
                println!("  {destination}: {done}/{total} replicated");
            }
        });

    let plan = replication.plan().await?;
    println!("plan: {} copies to start", plan.totals().copies);
    let report = replication.apply().await?;
    for item in &report.items {
        println!(
            "{:<10} {} -> {}: {}",
            item.outcome.as_str(),
            item.disk_id,
            item.destination.as_deref().unwrap_or("-"),
            item.replica_id.as_deref().unwrap_or("-"),
        );
    }
    let rpo = replication.check(Duration::from_secs(7 * 86_400)).await?;
    println!(
        "converged: {}; every disk within its recovery point: {}",
        report.converged,
        rpo.is_ok()
    );

    // The recovery day, in Beijing: the databases' instance (ins-guan0001 in the demo)
    // onto a standby there, reading Beijing alone.
    let request = Restore::new("ap-beijing", "example")?.standby("ins-guan0001", "ins-beij0001");
    let restored = replication.restore(&request).await?;
    for item in &restored.items {
        println!(
            "{:<8} {} from {} ({}s old) -> {} {}",
            item.outcome.as_str(),
            item.name.as_deref().unwrap_or(&item.disk_id),
            item.replica_id.as_deref().unwrap_or("-"),
            item.data_age.map_or(0, |a| a.as_secs()),
            item.restored_disk_id.as_deref().unwrap_or("-"),
            if item.attached { "attached" } else { "" },
        );
    }
    println!("recovery time: {:?}", restored.rto);
    let removed = replication
        .clean_up_restore("ap-beijing", "example")
        .await?;
    println!("removed {} disks of the run", removed.items.len());
    Ok(())
}
