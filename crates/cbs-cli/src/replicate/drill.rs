//! `replicate drill`'s output: a line per restored disk, failures and disks left
//! behind named; or the engine's own JSON.

use cbs_dr::DrillReport;
use serde_json::Value;

use super::{failure_text, opt};
use crate::cli::Output;
use crate::commands::print_json;
use crate::table;
use crate::table::say;

pub fn print(output: Output, report: &DrillReport) {
    if output == Output::Json {
        print_json(&serde_json::to_value(report).unwrap_or(Value::Null));
        return;
    }
    for disk in &report.swept {
        let what = format!(
            "{} ({}, {} GB) that an earlier drill left",
            disk.disk_id, disk.name, disk.size_gb
        );
        match (&disk.failure, disk.removed) {
            (_, true) => say!("swept: removed {what}"),
            (Some(f), false) => say!(
                "swept: could not remove {what}: {}; delete it with: {}",
                failure_text(f),
                disk.delete_command()
            ),
            (None, false) => say!("swept: left {what}: it is attached to an instance"),
        }
    }
    let rows: Vec<Vec<String>> = report
        .items
        .iter()
        .map(|i| {
            vec![
                if i.failure.is_none() { "ok" } else { "FAILED" }.to_owned(),
                i.disk_id.clone(),
                opt(&i.replica_id),
                opt(&i.restored_disk_id),
                i.time_to_usable
                    .map(|t| format!("{:.1}s", t.as_secs_f64()))
                    .unwrap_or_else(|| "-".into()),
                if i.deleted { "deleted" } else { "kept" }.to_owned(),
            ]
        })
        .collect();
    table::print(
        &[
            "DRILL",
            "DISK",
            "REPLICA",
            "RESTORED_DISK",
            "TO_USABLE",
            "AFTER",
        ],
        &rows,
    );
    for item in &report.items {
        if let Some(f) = &item.failure {
            say!("failed: {}: {}", item.disk_id, failure_text(f));
        }
    }
    for (disk, command) in report.left_behind() {
        say!("left behind: {disk} could not be deleted; delete it with: {command}");
    }
    if let Some(restored) = &report.restore {
        for group in restored.groups.iter().filter(|g| !g.consistent) {
            say!(
                "instance {}: INCONSISTENT: no moment all {} disks have a replica of",
                group.instance,
                group.disks.len()
            );
        }
        let attached = restored.items.iter().filter(|i| i.attached).count();
        let attached = if attached > 0 {
            format!(", {attached} attached to standbys")
        } else {
            String::new()
        };
        println!(
            "\ndrill {}: {} of {} disks restored{attached}; recovery time {} (the restore as the recovery day would run it); {}",
            report.run,
            restored.succeeded(),
            restored.items.len(),
            restored
                .rto
                .map(|d| format!("{:.0}s", d.as_secs_f64()))
                .unwrap_or_else(|| "-".into()),
            if report.items.iter().all(|i| i.deleted) {
                "every disk removed again".to_owned()
            } else if report.items.iter().any(|i| i.left_behind.is_some()) {
                "some disks are left (above)".to_owned()
            } else {
                format!(
                    "disks kept: remove them with `replicate restore --cleanup {}`",
                    report.run
                )
            }
        );
    }
    if report.interrupted {
        let left = report.left_behind().count();
        say!(
            "interrupted: the drill stopped before restoring every disk; {}",
            if left == 0 {
                "every disk it made was removed".to_owned()
            } else {
                format!("{left} disks it made are left (above); the next drill here removes them")
            }
        );
    }
}
