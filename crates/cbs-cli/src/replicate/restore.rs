//! `replicate restore`'s output: a line per disk (what it was, the recovery point it
//! gets, where it goes, what became of it), the instances and how consistent their
//! disks' times are, notes and failures, and the recovery time; or the engine's JSON.

use cbs_dr::{CleanupReport, RestoreOutcome, RestoreReport, WaveOutcome};
use serde_json::Value;

use super::{failure_text, opt};
use crate::cli::Output;
use crate::commands::print_json;
use crate::table;
use crate::table::say;

/// `1h02m`, `45m`, `30s`: a short duration for a table.
fn short(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..=119 => format!("{secs}s"),
        120..=7199 => format!("{}m", secs / 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

pub fn print(output: Output, report: &RestoreReport) {
    if output == Output::Json {
        print_json(&serde_json::to_value(report).unwrap_or(Value::Null));
        return;
    }
    let mut headers = vec![
        "RESULT",
        "DISK",
        "NAME",
        "INSTANCE",
        "REPLICA",
        "DATA_AGE",
        "TYPE",
        "SIZE_GB",
        "ZONE",
        "RESTORED_DISK",
        "TO_USABLE",
    ];
    let standbys = report.items.iter().any(|i| i.standby.is_some());
    let waves = report.waves.len() > 1;
    if standbys {
        headers.push("STANDBY");
    }
    if waves {
        headers.push("GROUP");
    }
    if report.dry_run {
        headers.push("PRICE/H");
    }
    let rows: Vec<Vec<String>> = report
        .items
        .iter()
        .map(|i| {
            let mut row = vec![
                i.outcome.as_str().to_owned(),
                i.disk_id.clone(),
                opt(&i.name),
                match (&i.instance, i.order) {
                    (Some(instance), Some(order)) => format!("{instance}/{order}"),
                    (Some(instance), None) => instance.clone(),
                    _ => "-".to_owned(),
                },
                opt(&i.replica_id),
                i.data_age.map(short).unwrap_or_else(|| "-".into()),
                opt(&i.disk_type),
                i.size_gb.to_string(),
                opt(&i.zone),
                opt(&i.restored_disk_id),
                i.time_to_usable
                    .map(|t| format!("{:.0}s", t.as_secs_f64()))
                    .unwrap_or_else(|| "-".into()),
            ];
            if standbys {
                row.push(match (&i.standby, i.attached) {
                    (Some(s), true) => format!("{s} attached"),
                    (Some(s), false) => s.clone(),
                    (None, _) => "-".into(),
                });
            }
            if waves {
                row.push(i.wave.clone());
            }
            if report.dry_run {
                row.push(
                    i.hourly_price
                        .map(|p| format!("{p:.4}"))
                        .unwrap_or_else(|| "-".into()),
                );
            }
            row
        })
        .collect();
    table::print(&headers, &rows);
    for group in &report.groups {
        let spread = group.spread.map(short).unwrap_or_else(|| "-".into());
        if group.consistent {
            say!(
                "instance {}: {} disks from one moment (within {spread})",
                group.instance,
                group.disks.len()
            );
        } else {
            say!(
                "instance {}: INCONSISTENT: no moment all {} disks have a replica of; the closest set spans {spread}",
                group.instance,
                group.disks.len()
            );
        }
    }
    if waves {
        for (n, wave) in report.waves.iter().enumerate() {
            let optional = if wave.optional { ", optional" } else { "" };
            let when = match (wave.started, wave.finished) {
                (Some(s), Some(f)) => format!(" from {} to {}", short(s), short(f)),
                _ => String::new(),
            };
            let outcome = match wave.outcome {
                WaveOutcome::Planned => "planned",
                WaveOutcome::Done => "done",
                WaveOutcome::Failed => "FAILED",
                WaveOutcome::NotStarted => "not started",
                _ => "?",
            };
            say!(
                "group {} {}: {} disks{optional}: {outcome}{when}",
                n + 1,
                wave.name,
                wave.disks
            );
        }
    }
    for offer in &report.offers {
        let used = report.items.iter().filter(|i| {
            i.zone.as_deref() == Some(offer.zone.as_str())
                && i.disk_type.as_deref() == Some(offer.disk_type.as_str())
        });
        let (disks, gb) = used.fold((0, 0), |(n, gb), i| (n + 1, gb + i.size_gb));
        let sizes = match (offer.min_size_gb, offer.max_size_gb) {
            (Some(min), Some(max)) => format!(" ({min} to {max} GB a disk)"),
            _ => String::new(),
        };
        if !offer.available {
            say!("zone {}: {} not sold now", offer.zone, offer.disk_type);
        } else if report.dry_run && disks > 0 {
            say!(
                "zone {}: {} sold{sizes}: {disks} disks, {gb} GB to make here",
                offer.zone,
                offer.disk_type
            );
        }
    }
    for item in &report.items {
        for note in &item.notes {
            say!("note: {}: {note}", item.disk_id);
        }
        if let Some(f) = &item.failure {
            say!("failed: {}: {}", item.disk_id, failure_text(f));
        }
    }
    let count =
        |outcome: RestoreOutcome| report.items.iter().filter(|i| i.outcome == outcome).count();
    if report.dry_run {
        let gb: u64 = report
            .items
            .iter()
            .filter(|i| i.outcome == RestoreOutcome::WouldCreate)
            .map(|i| i.size_gb)
            .sum();
        println!(
            "\nrun {}: {} disks to make ({gb} GB, {} an hour), {} made already, {} need an image, {} cannot be restored",
            report.run,
            count(RestoreOutcome::WouldCreate),
            report
                .hourly_price()
                .map(|p| format!("{p:.2}"))
                .unwrap_or_else(|| "price unknown".into()),
            count(RestoreOutcome::WouldAdopt),
            count(RestoreOutcome::NeedsImage),
            count(RestoreOutcome::Failed)
        );
    } else {
        let attached = report.items.iter().filter(|i| i.attached).count();
        let to_attach = report.items.iter().filter(|i| i.standby.is_some()).count();
        let attached = if to_attach > 0 {
            format!(", {attached} of {to_attach} attached")
        } else {
            String::new()
        };
        println!(
            "\nrun {}: {} of {} disks restored ({} made, {} adopted{attached}), {} need an image, {} failed; recovery time {}",
            report.run,
            report.succeeded(),
            report.items.len(),
            count(RestoreOutcome::Created),
            count(RestoreOutcome::Adopted),
            count(RestoreOutcome::NeedsImage),
            count(RestoreOutcome::Failed),
            report.rto.map(short).unwrap_or_else(|| "-".into())
        );
    }
}

pub fn print_cleanup(output: Output, report: &CleanupReport) {
    if output == Output::Json {
        print_json(&serde_json::to_value(report).unwrap_or(Value::Null));
        return;
    }
    if let Some(f) = &report.failure {
        say!(
            "failed: the disks of run {} in {} could not be listed: {}",
            report.run,
            report.region,
            failure_text(f)
        );
        return;
    }
    let rows: Vec<Vec<String>> = report
        .items
        .iter()
        .map(|i| {
            vec![
                if i.deleted { "deleted" } else { "FAILED" }.to_owned(),
                i.disk_id.clone(),
                opt(&i.name),
                if i.detached { "yes" } else { "no" }.to_owned(),
            ]
        })
        .collect();
    table::print(&["RESULT", "DISK", "NAME", "DETACHED"], &rows);
    for item in &report.items {
        if let (Some(f), Some(command)) = (&item.failure, &item.left_behind) {
            say!(
                "left: {}: {}; delete it with: {command}",
                item.disk_id,
                failure_text(f)
            );
        }
    }
    let deleted = report.items.iter().filter(|i| i.deleted).count();
    println!(
        "\nrun {} in {}: {deleted} of {} disks removed",
        report.run,
        report.region,
        report.items.len()
    );
}
