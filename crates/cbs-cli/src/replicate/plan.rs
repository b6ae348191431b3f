//! `replicate plan`'s output: the items, the destinations, the totals; as a table or
//! as the engine's own JSON.

use cbs_dr::{DestinationPlan, Plan, PlanAction, PlanItem, QuotaSource, Replication};
use serde_json::Value;

use super::{failure_text, opt};
use crate::cli::Output;
use crate::commands::print_json;
use crate::table;
use crate::table::say;

/// Prints `plan` as `replication` would carry it out (`would_prune` where its settings
/// do not delete), with transfer costs at `price` per GB when given.
pub fn print(output: Output, replication: &Replication, plan: &Plan, price: Option<f64>) {
    let action = |item: &PlanItem| plan_action(replication, item);
    if output == Output::Json {
        let mut value = serde_json::to_value(plan).unwrap_or(Value::Null);
        for (item, json) in plan.items().iter().zip(items_mut(&mut value, "items")) {
            json["action"] = action(item).into();
        }
        for (d, json) in plan
            .destinations()
            .iter()
            .zip(items_mut(&mut value, "destinations"))
        {
            json["transfer_cost"] = price.map(|p| p * d.transfer_gb as f64).into();
        }
        print_json(&value);
        return;
    }
    let totals = plan.totals();
    let rows: Vec<Vec<String>> = plan
        .items()
        .iter()
        .map(|item| {
            vec![
                plan_action_text(item, action(item)),
                item.rule.clone(),
                item.disk_id.clone(),
                opt(&item.source_snapshot_id),
                opt(&item.destination),
                item.action.replica_id().unwrap_or("-").to_owned(),
                item.size_gb.to_string(),
            ]
        })
        .collect();
    table::print(
        &[
            "ACTION",
            "RULE",
            "DISK",
            "SOURCE_SNAPSHOT",
            "DESTINATION",
            "REPLICA",
            "SIZE_GB",
        ],
        &rows,
    );
    println!();
    print_destinations(plan.destinations(), price);
    println!(
        "\n{} to copy ({} GB), {} in flight, {} up to date, {} to prune ({} GB), {} disks without a snapshot",
        totals.copies,
        totals.copy_gb,
        totals.in_flight,
        totals.up_to_date,
        totals.prunes,
        totals.prune_gb,
        totals.no_snapshot
    );
    if totals.to_tag > 0 {
        let lacking: usize = plan.destinations().iter().map(|d| d.untagged).sum();
        println!(
            "{} replicas to tag ({lacking} lack their lineage and inventory)",
            totals.to_tag
        );
    }
    if totals.shares + totals.shared + totals.unshares + totals.not_shareable > 0 {
        println!(
            "{} shares to make, {} in place, {} replicas to unshare before pruning, {} system disks whose replicas cannot be shared",
            totals.shares, totals.shared, totals.unshares, totals.not_shareable
        );
    }
    if plan.items().iter().any(|i| action(i) == "would_prune") {
        println!(
            "would_prune: retention lets these go; `apply --prune` deletes them (preview it with `plan --prune`)"
        );
    }
    if totals.no_such_disk > 0 {
        say!(
            "{} disks named by id do not exist: {}",
            totals.no_such_disk,
            plan.items()
                .iter()
                .filter(|i| i.action == PlanAction::NoSuchDisk)
                .map(|i| i.disk_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for item in plan
        .items()
        .iter()
        .filter(|i| i.action == PlanAction::NoDisks)
    {
        say!(
            "warning: rule {} selects no disk in {}: check its disk_ids and disk_name",
            item.rule,
            item.source_region
        );
    }
    for item in plan.items() {
        if let PlanAction::Unavailable { region, failure } = &item.action
            && item.destination.as_deref().is_none_or(|d| d == region)
        {
            say!(
                "unavailable: rule {} in {region}: {}",
                item.rule,
                failure_text(failure)
            );
        }
    }
}

/// The objects of `value[key]`, to amend.
fn items_mut<'v>(value: &'v mut Value, key: &str) -> impl Iterator<Item = &'v mut Value> {
    value[key].as_array_mut().into_iter().flatten()
}

/// `prune` only where the same settings' apply deletes it; `would_prune` otherwise.
fn plan_action(replication: &Replication, item: &PlanItem) -> &'static str {
    match &item.action {
        PlanAction::Prune { .. } if !replication.prunes(item) => "would_prune",
        other => other.as_str(),
    }
}

fn print_destinations(destinations: &[DestinationPlan], price: Option<f64>) {
    let mut headers = vec![
        "DESTINATION",
        "COPIES",
        "TRANSFER_GB",
        "SNAPSHOTS_HELD",
        "QUOTA",
        "REPLICA_GB_AFTER",
        "TAGS_TO_ADD",
    ];
    if price.is_some() {
        headers.push("TRANSFER_COST");
    }
    let rows: Vec<Vec<String>> = destinations
        .iter()
        .map(|d| {
            let quota = match (d.snapshot_quota, d.quota_source) {
                (Some(q), Some(QuotaSource::Given)) => q.to_string(),
                (Some(q), _) => format!("~{q} (estimated)"),
                _ => "-".to_owned(),
            };
            let mut row = vec![
                d.region.clone(),
                d.copies.to_string(),
                d.transfer_gb.to_string(),
                d.held_snapshots
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "unavailable".to_owned()),
                quota,
                d.replica_gb_after.to_string(),
                d.tags_to_add.to_string(),
            ];
            if let Some(price) = price {
                row.push(format!("{:.2}", price * d.transfer_gb as f64));
            }
            row
        })
        .collect();
    table::print(&headers, &rows);
    for d in destinations {
        let shortfall = d.shortfall();
        if shortfall > 0 {
            let known = if d.quota_source == Some(QuotaSource::Given) {
                "apply will not start them"
            } else {
                "an estimate: pass --snapshot-quota N if you know the quota"
            };
            say!(
                "quota: {} runs out: {} copies, room for {} ({} held of {}): {shortfall} will not fit ({known})",
                d.region,
                d.copies,
                d.room().unwrap_or(0),
                d.held_snapshots.unwrap_or(0),
                d.snapshot_quota.unwrap_or(0),
            );
        }
    }
}

fn plan_action_text(item: &PlanItem, action: &str) -> String {
    match &item.action {
        PlanAction::Adopt { percent, .. } => format!("in flight ({percent}%)"),
        PlanAction::Prune { reason, .. } => format!("{action} ({})", reason.as_str()),
        PlanAction::UpToDate { .. } => "up to date".to_owned(),
        PlanAction::NoSnapshot => "no snapshot".to_owned(),
        PlanAction::Unavailable { failure, .. } => format!("unavailable ({})", failure.code),
        PlanAction::Share { account, .. } => format!("share with {account}"),
        PlanAction::Shared { account, .. } => format!("shared with {account}"),
        PlanAction::Unshare { accounts, .. } if !accounts.is_empty() => {
            format!("unshare ({})", accounts.join(", "))
        }
        PlanAction::NotShareable => "not shareable (system disk)".to_owned(),
        PlanAction::Tag { missing, .. } => format!("tag ({missing} tags)"),
        other => other.as_str().to_owned(),
    }
}
