//! `replicate check`'s output: a line per disk and destination, each offender named
//! with what is wrong; or the engine's own JSON.

use std::time::Duration;

use cbs_dr::{RpoItem, RpoReport};
use serde_json::Value;

use super::{failure_text, opt};
use crate::cli::Output;
use crate::commands::print_json;
use crate::table;
use crate::table::say;

fn age_text(age: Option<Duration>) -> String {
    age.map(|a| humantime::format_duration(Duration::from_secs(a.as_secs())).to_string())
        .unwrap_or_else(|| "-".to_owned())
}

fn rpo_word(item: &RpoItem) -> &'static str {
    match (item.ok, &item.failure) {
        (true, _) => "ok",
        // Known to be missed: there is no such disk, or the rule selects none.
        (false, Some(f)) if f.code == "NoDisks" || f.code == "InvalidDiskId.NotFound" => "MISSED",
        (false, Some(_)) => "UNKNOWN",
        (false, None) => "MISSED",
    }
}

pub fn print(output: Output, report: &RpoReport) {
    if output == Output::Json {
        print_json(&serde_json::to_value(report).unwrap_or(Value::Null));
        return;
    }
    let rows: Vec<Vec<String>> = report
        .items
        .iter()
        .map(|i| {
            vec![
                rpo_word(i).to_owned(),
                i.rule.clone(),
                i.disk_id.clone(),
                i.destination.clone(),
                opt(&i.replica_id),
                age_text(i.data_age),
            ]
        })
        .collect();
    table::print(
        &[
            "RPO",
            "RULE",
            "DISK",
            "DESTINATION",
            "NEWEST_REPLICA",
            "DATA_AGE",
        ],
        &rows,
    );
    for item in report
        .items
        .iter()
        .filter(|i| i.disk_id == "*" || i.replica_id.is_none())
    {
        if let Some(f) = &item.failure {
            say!(
                "{}: rule {} -> {}: {}",
                rpo_word(item).to_lowercase(),
                item.rule,
                item.destination,
                failure_text(f)
            );
        }
    }
    print_offenders(report);
    let missed = report.offenders().count();
    if missed > 0 {
        say!(
            "{missed} disk/destination pairs have no NORMAL replica newer than {}",
            humantime::format_duration(report.max_age)
        );
    }
    print_untagged(report);
    print_leftovers(report);
}

/// Pairs whose replicas lack tags they should carry (the first [`OFFENDERS_NAMED`]): a
/// recovery without the source region reads them.
fn print_untagged(report: &RpoReport) {
    let untagged: Vec<(&RpoItem, usize)> = report
        .items
        .iter()
        .filter_map(|i| Some((i, i.untagged.filter(|n| *n > 0)?)))
        .collect();
    for (item, count) in untagged.iter().take(OFFENDERS_NAMED) {
        say!(
            "untagged: {} in {}: {count} replicas lack tags they should carry (lineage, inventory, the source's own); the next apply binds them",
            item.disk_id,
            item.destination,
        );
    }
    if untagged.len() > OFFENDERS_NAMED {
        say!("untagged: … and {} more", untagged.len() - OFFENDERS_NAMED);
    }
}

/// Disks drills left, each with what it costs and how to remove it.
fn print_leftovers(report: &RpoReport) {
    for disk in &report.leftovers {
        let price = disk
            .hourly_price
            .map(|p| format!(", about {p:.2} an hour"))
            .unwrap_or_default();
        say!(
            "leftover: {} in {} ({}, {} GB {}{price}) was made by a drill that did not clean up; {}",
            disk.disk_id,
            disk.region,
            disk.name,
            disk.size_gb,
            disk.disk_type.as_deref().unwrap_or("?"),
            if disk.attached {
                "it is attached to an instance now, so no drill removes it".to_owned()
            } else {
                format!(
                    "the next drill there removes it, or: {}",
                    disk.delete_command()
                )
            }
        );
    }
    if !report.leftovers.is_empty() {
        let gb: u64 = report.leftovers.iter().map(|d| d.size_gb).sum();
        let hourly: f64 = report.leftovers.iter().filter_map(|d| d.hourly_price).sum();
        say!(
            "{} disks left by drills: {gb} GB, about {hourly:.2} an hour",
            report.leftovers.len()
        );
    }
}

/// How many offenders `check` names one by one before it only counts.
const OFFENDERS_NAMED: usize = 50;

/// One line per offender (the first [`OFFENDERS_NAMED`]): the disk, the destination
/// and what is wrong.
fn print_offenders(report: &RpoReport) {
    let offenders: Vec<&RpoItem> = report.offenders().filter(|i| i.failure.is_none()).collect();
    for item in offenders.iter().take(OFFENDERS_NAMED) {
        let mut why = Vec::new();
        if item.replica_id.is_none() {
            why.push("no NORMAL replica".to_owned());
        }
        if item.data_age.is_some_and(|age| age > report.max_age) {
            why.push(format!(
                "newest replica's data is {} old (max {})",
                age_text(item.data_age),
                humantime::format_duration(report.max_age)
            ));
        }
        if !item.unshared.is_empty() {
            why.push(format!("not shared with {}", item.unshared.join(", ")));
        }
        let why = why.join("; ");
        say!("missed: {} in {}: {why}", item.disk_id, item.destination);
    }
    if offenders.len() > OFFENDERS_NAMED {
        say!("missed: … and {} more", offenders.len() - OFFENDERS_NAMED);
    }
}
