//! `tccbs replicate`: plan, apply, check and drill a replication policy.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cbs_dr::{
    DestinationPlan, DrillReport, ItemFailure, Plan, PlanAction, PlanItem, Policy, QuotaSource,
    Replication, ReplicationEvent, Report, ReportItem, RpoItem, RpoReport,
};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use crate::cli::{ApplyArgs, CheckArgs, DrillArgs, Output, PlanArgs, PolicyArgs};
use crate::commands::{exit_for, exit_status, print_json};
use crate::context::Context;
use crate::failure::Failure;
use crate::metrics::{self, RunMetrics};
use crate::table;

/// Exit status of `check` when the recovery point is not met.
const RPO_MISSED: u8 = 4;

fn load(args: &PolicyArgs) -> Result<Policy, Failure> {
    let text = std::fs::read_to_string(&args.policy)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", args.policy.display())))?;
    Policy::from_toml(&text).map_err(|e| Failure::Usage(format!("{}: {e}", args.policy.display())))
}

fn replication(ctx: &Context, policy: Policy, args: &PolicyArgs) -> Replication {
    Replication::new(&ctx.client, policy)
        .poll_interval(Duration::from_secs(2), Duration::from_secs(30))
        .deadline(args.deadline)
        .snapshot_quota(args.snapshot_quota)
}

/// Prints the metrics (`--output prometheus`) and writes them (`--metrics-file`).
fn emit_metrics(
    ctx: &Context,
    path: Option<&std::path::Path>,
    run: &RunMetrics<'_>,
) -> Result<(), Failure> {
    if ctx.output != Output::Prometheus && path.is_none() {
        return Ok(());
    }
    let text = metrics::render(run);
    if ctx.output == Output::Prometheus {
        print!("{text}");
    }
    if let Some(path) = path {
        metrics::write_atomically(path, &text).map_err(|e| {
            Failure::Other(format!(
                "cannot write the metrics to {}: {e}",
                path.display()
            ))
        })?;
    }
    Ok(())
}

fn opt(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "-".to_owned())
}

pub async fn plan(ctx: &Context, args: PlanArgs) -> Result<ExitCode, Failure> {
    let policy = load(&args.policy)?;
    let replication = replication(ctx, policy, &args.policy).prune(args.prune);
    let plan = replication.plan().await?;
    let totals = plan.totals();
    let action = |item: &PlanItem| plan_action(&replication, item);
    if ctx.output == Output::Json {
        let items: Vec<Value> = plan
            .items()
            .iter()
            .map(|i| plan_item_json(i, action(i)))
            .collect();
        let destinations: Vec<Value> = plan
            .destinations()
            .iter()
            .map(|d| destination_json(d, args.price_per_gb))
            .collect();
        print_json(&json!({
            "items": items,
            "destinations": destinations,
            "totals": {
                "copies": totals.copies, "copy_gb": totals.copy_gb,
                "in_flight": totals.in_flight, "up_to_date": totals.up_to_date,
                "prunes": totals.prunes, "prune_gb": totals.prune_gb,
                "no_snapshot": totals.no_snapshot, "unavailable": totals.unavailable,
                "shares": totals.shares, "shared": totals.shared,
                "unshares": totals.unshares, "not_shareable": totals.not_shareable,
            },
        }));
        return Ok(plan_exit(&plan));
    }
    let rows: Vec<Vec<String>> = plan
        .items()
        .iter()
        .map(|i| plan_item_row(i, action(i)))
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
    print_destinations(plan.destinations(), args.price_per_gb);
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
    for item in plan.items() {
        if let PlanAction::Unavailable { region, failure } = &item.action
            && item.destination.as_deref().is_none_or(|d| d == region)
        {
            eprintln!(
                "unavailable: rule {} in {region}: {}",
                item.rule,
                failure_text(failure)
            );
        }
    }
    Ok(plan_exit(&plan))
}

/// A plan is shown whole even when regions were unavailable; exit 3 says so.
fn plan_exit(plan: &Plan) -> ExitCode {
    if plan.totals().unavailable > 0 {
        ExitCode::from(crate::commands::PARTIAL_FAILURE)
    } else {
        ExitCode::SUCCESS
    }
}

/// `prune` only where the same settings' apply deletes it; `would_prune` otherwise.
fn plan_action(replication: &Replication, item: &PlanItem) -> &'static str {
    match &item.action {
        PlanAction::Prune { .. } if !replication.prunes(item) => "would_prune",
        other => other.as_str(),
    }
}

fn destination_json(d: &DestinationPlan, price: Option<f64>) -> Value {
    json!({
        "region": d.region,
        "copies": d.copies,
        "transfer_gb": d.transfer_gb,
        "transfer_cost": price.map(|p| p * d.transfer_gb as f64),
        "held_snapshots": d.held_snapshots,
        "snapshot_quota": d.snapshot_quota,
        "quota_source": d.quota_source.map(|s| match s {
            QuotaSource::Given => "given",
            _ => "estimated",
        }),
        "shortfall": d.shortfall(),
        "replica_gb_after": d.replica_gb_after,
        "error": failure_json(&d.unavailable),
    })
}

fn print_destinations(destinations: &[DestinationPlan], price: Option<f64>) {
    let mut headers = vec![
        "DESTINATION",
        "COPIES",
        "TRANSFER_GB",
        "SNAPSHOTS_HELD",
        "QUOTA",
        "REPLICA_GB_AFTER",
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
            eprintln!(
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

fn plan_replica(item: &PlanItem) -> Option<String> {
    match &item.action {
        PlanAction::Adopt { replica_id, .. } | PlanAction::Share { replica_id, .. } => {
            replica_id.clone()
        }
        PlanAction::UpToDate { replica_id }
        | PlanAction::Prune { replica_id, .. }
        | PlanAction::Shared { replica_id, .. }
        | PlanAction::Unshare { replica_id, .. } => Some(replica_id.clone()),
        _ => None,
    }
}

/// The accounts a share item is about: one for a share, those known for an unshare.
fn plan_accounts(item: &PlanItem) -> Option<Vec<String>> {
    match &item.action {
        PlanAction::Share { account, .. } | PlanAction::Shared { account, .. } => {
            Some(vec![account.clone()])
        }
        PlanAction::Unshare { accounts, .. } => Some(accounts.clone()),
        _ => None,
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
        other => other.as_str().to_owned(),
    }
}

fn plan_item_row(item: &PlanItem, action: &str) -> Vec<String> {
    vec![
        plan_action_text(item, action),
        item.rule.clone(),
        item.disk_id.clone(),
        opt(&item.source_snapshot_id),
        opt(&item.destination),
        opt(&plan_replica(item)),
        item.size_gb.to_string(),
    ]
}

fn plan_item_json(item: &PlanItem, action: &str) -> Value {
    let mut value = json!({
        "action": action,
        "rule": item.rule,
        "disk_id": item.disk_id,
        "source_region": item.source_region,
        "source_snapshot_id": item.source_snapshot_id,
        "destination": item.destination,
        "replica_id": plan_replica(item),
        "replica_name": item.replica_name().map(|n| n.to_string()),
        "size_gb": item.size_gb,
    });
    if let Some(accounts) = plan_accounts(item) {
        value["accounts"] = json!(accounts);
    }
    match &item.action {
        PlanAction::Prune { reason, .. } => value["reason"] = json!(reason.as_str()),
        PlanAction::Unavailable { failure, .. } => {
            value["error"] = failure_json(&Some(failure.clone()))
        }
        _ => {}
    }
    value
}

fn failure_text(f: &ItemFailure) -> String {
    format!(
        "{}: {}{}",
        f.code,
        f.message,
        f.request_id
            .as_ref()
            .map(|r| format!(" (request id {r})"))
            .unwrap_or_default()
    )
}

pub async fn apply(ctx: &Context, args: ApplyArgs) -> Result<ExitCode, Failure> {
    let started = Instant::now();
    let mut policy = load(&args.policy)?;
    if let Some(max) = args.max_in_flight {
        policy = policy.with_max_in_flight_per_region(max);
    }
    let progress = Arc::new(ApplyProgress::new(ctx.output != Output::Table));
    let events = progress.clone();
    let report = replication(ctx, policy, &args.policy)
        .prune(args.prune)
        .on_event(move |event| events.update(event))
        .apply()
        .await;
    progress.finish();
    let report = report?;
    if ctx.output != Output::Prometheus {
        print_report(ctx.output, &report);
    }
    let status = exit_status(report.succeeded(), report.items.len());
    let run = RunMetrics {
        command: "apply",
        recovery_points: &report.recovery_points,
        report: Some(&report),
        duration: started.elapsed(),
        exit_status: status,
    };
    emit_metrics(ctx, args.metrics_file.as_deref(), &run)?;
    Ok(ExitCode::from(status))
}

fn failure_json(failure: &Option<ItemFailure>) -> Value {
    match failure {
        None => Value::Null,
        Some(f) => json!({"code": f.code, "message": f.message, "request_id": f.request_id}),
    }
}

fn report_item_json(item: &ReportItem) -> Value {
    json!({
        "rule": item.rule,
        "disk_id": item.disk_id,
        "source_region": item.source_region,
        "source_snapshot_id": item.source_snapshot_id,
        "destination": item.destination,
        "replica_id": item.replica_id,
        "state": item.state,
        "size_gb": item.size_gb,
        "account": item.account,
        "action": item.outcome.as_str(),
        "error": failure_json(&item.failure),
    })
}

/// One line per failed item; items of one destination failing for one reason (a
/// region refusing, its quota used up) are one line.
fn print_failures(items: &[ReportItem]) {
    let mut groups: Vec<(&ReportItem, usize)> = Vec::new();
    for item in items.iter().filter(|i| !i.outcome.is_success()) {
        let Some(f) = &item.failure else { continue };
        let same = |other: &ReportItem| {
            other.destination == item.destination
                && other
                    .failure
                    .as_ref()
                    .is_some_and(|g| g.code == f.code && g.message == f.message)
        };
        match groups.iter_mut().find(|(first, _)| same(first)) {
            Some((_, count)) => *count += 1,
            None => groups.push((item, 1)),
        }
    }
    for (item, count) in groups {
        let Some(f) = &item.failure else { continue };
        if count == 1 {
            eprintln!(
                "failed: {} {} -> {}: {}",
                item.disk_id,
                opt(&item.source_snapshot_id),
                opt(&item.destination),
                failure_text(f)
            );
        } else {
            eprintln!(
                "failed: {count} items -> {}: {}",
                opt(&item.destination),
                failure_text(f)
            );
        }
    }
}

fn print_report(output: Output, report: &Report) {
    if output == Output::Json {
        let items: Vec<Value> = report.items.iter().map(report_item_json).collect();
        print_json(&json!({
            "converged": report.converged,
            "succeeded": report.succeeded(),
            "failed": report.failed(),
            "items": items,
        }));
        return;
    }
    // The account column only when the policy shares.
    let accounts = report.items.iter().any(|i| i.account.is_some());
    let rows: Vec<Vec<String>> = report
        .items
        .iter()
        .map(|i| {
            let mut row = vec![
                i.outcome.as_str().to_owned(),
                i.rule.clone(),
                i.disk_id.clone(),
                opt(&i.source_snapshot_id),
                opt(&i.destination),
                opt(&i.replica_id),
                opt(&i.state),
            ];
            if accounts {
                row.push(opt(&i.account));
            }
            row
        })
        .collect();
    let mut headers = vec![
        "RESULT",
        "RULE",
        "DISK",
        "SOURCE_SNAPSHOT",
        "DESTINATION",
        "REPLICA",
        "STATE",
    ];
    if accounts {
        headers.push("ACCOUNT");
    }
    table::print(&headers, &rows);
    print_failures(&report.items);
    println!(
        "\n{} of {} items fine; {}",
        report.succeeded(),
        report.items.len(),
        if report.converged {
            "everything is replicated"
        } else {
            "not converged: run again (it picks up where this run stopped)"
        }
    );
}

pub async fn check(ctx: &Context, args: CheckArgs) -> Result<ExitCode, Failure> {
    let started = Instant::now();
    let policy = load(&args.policy)?;
    let replication = replication(ctx, policy, &args.policy);
    let report = match &args.as_profile {
        Some(profile) => {
            let receiver = ctx.receiver(profile)?;
            replication
                .check_as_receiver(&receiver, args.max_age)
                .await?
        }
        None => replication.check(args.max_age).await?,
    };
    if ctx.output != Output::Prometheus {
        print_rpo(ctx.output, &report);
    }
    let status = if report.is_ok() { 0 } else { RPO_MISSED };
    let run = RunMetrics {
        command: "check",
        recovery_points: &report.items,
        report: None,
        duration: started.elapsed(),
        exit_status: status,
    };
    emit_metrics(ctx, args.metrics_file.as_deref(), &run)?;
    Ok(ExitCode::from(status))
}

fn age_text(age: Option<Duration>) -> String {
    age.map(|a| humantime::format_duration(Duration::from_secs(a.as_secs())).to_string())
        .unwrap_or_else(|| "-".to_owned())
}

fn rpo_word(item: &RpoItem) -> &'static str {
    match (item.ok, &item.failure) {
        (true, _) => "ok",
        (false, Some(_)) => "UNKNOWN",
        (false, None) => "MISSED",
    }
}

fn print_rpo(output: Output, report: &RpoReport) {
    if output == Output::Json {
        let items: Vec<Value> = report
            .items
            .iter()
            .map(|i| {
                json!({
                    "rule": i.rule, "disk_id": i.disk_id, "destination": i.destination,
                    "replica_id": i.replica_id, "data_age_secs": i.data_age.map(|a| a.as_secs()),
                    "replicas": i.replicas, "unshared": i.unshared, "ok": i.ok,
                    "error": failure_json(&i.failure),
                })
            })
            .collect();
        print_json(&json!({
            "ok": report.is_ok(),
            "max_age_secs": report.max_age.as_secs(),
            "items": items,
        }));
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
            eprintln!(
                "unknown: rule {} -> {}: {}",
                item.rule,
                item.destination,
                failure_text(f)
            );
        }
    }
    print_offenders(report);
    let missed = report.offenders().count();
    if missed > 0 {
        eprintln!(
            "{missed} disk/destination pairs have no NORMAL replica newer than {}",
            humantime::format_duration(report.max_age)
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
        eprintln!("missed: {} in {}: {why}", item.disk_id, item.destination);
    }
    if offenders.len() > OFFENDERS_NAMED {
        eprintln!("missed: … and {} more", offenders.len() - OFFENDERS_NAMED);
    }
}

pub async fn drill(
    ctx: &Context,
    args: DrillArgs,
    region: Option<String>,
) -> Result<ExitCode, Failure> {
    let policy = load(&args.policy)?;
    let region = region.ok_or_else(|| {
        Failure::Usage("drill needs --region: the destination to restore in".into())
    })?;
    if !policy.destinations().contains(&region) {
        return Err(Failure::Usage(format!(
            "{region} is not a destination of the policy (its destinations: {})",
            policy.destinations().join(", ")
        )));
    }
    let replication = replication(ctx, policy, &args.policy);
    let report = match &args.as_profile {
        Some(profile) => {
            let receiver = ctx.receiver(profile)?;
            replication
                .drill_as_receiver(&receiver, &region, args.keep)
                .await?
        }
        None => replication.drill(&region, args.keep).await?,
    };
    print_drill(ctx.output, &report);
    Ok(exit_for(report.succeeded(), report.items.len()))
}

fn print_drill(output: Output, report: &DrillReport) {
    if output == Output::Json {
        let items: Vec<Value> = report
            .items
            .iter()
            .map(|i| {
                json!({
                    "rule": i.rule, "disk_id": i.disk_id, "region": i.region,
                    "replica_id": i.replica_id, "restored_disk_id": i.restored_disk_id,
                    "seconds_to_usable": i.time_to_usable.map(|t| t.as_secs_f64()),
                    "deleted": i.deleted, "error": failure_json(&i.failure),
                    "left_behind": i.left_behind,
                })
            })
            .collect();
        print_json(&json!({"items": items}));
        return;
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
            eprintln!("failed: {}: {}", item.disk_id, failure_text(f));
        }
    }
    for (disk, command) in report.left_behind() {
        eprintln!("left behind: {disk} could not be deleted; delete it with: {command}");
    }
}

/// Per destination: done, failed, in flight, total; when the last line was printed.
type DestinationLines = Mutex<HashMap<String, ((usize, usize, usize), Instant)>>;

/// Progress of `apply`: one bar per destination on a terminal, sparse lines on
/// standard error otherwise, nothing for JSON.
enum ApplyProgress {
    Bars {
        multi: MultiProgress,
        bars: Mutex<HashMap<String, ProgressBar>>,
    },
    Lines(DestinationLines),
    Quiet,
}

/// Plain lines are printed for a destination at most this often, unless it finished.
const LINE_INTERVAL: Duration = Duration::from_secs(30);

impl ApplyProgress {
    fn new(json: bool) -> Self {
        if json {
            ApplyProgress::Quiet
        } else if std::io::stderr().is_terminal() {
            ApplyProgress::Bars {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: Mutex::new(HashMap::new()),
            }
        } else {
            ApplyProgress::Lines(Mutex::new(HashMap::new()))
        }
    }

    fn update(&self, event: &ReplicationEvent) {
        match (self, event) {
            (ApplyProgress::Quiet, _) => {}
            (_, ReplicationEvent::Planned { totals }) => {
                let line = format!(
                    "plan: {} to copy ({} GB), {} in flight, {} up to date, {} to prune",
                    totals.copies,
                    totals.copy_gb,
                    totals.in_flight,
                    totals.up_to_date,
                    totals.prunes
                );
                match self {
                    ApplyProgress::Bars { multi, .. } => {
                        let _ = multi.println(line);
                    }
                    _ => eprintln!("{line}"),
                }
            }
            (
                ApplyProgress::Bars { multi, bars },
                ReplicationEvent::Progress {
                    destination,
                    done,
                    failed,
                    in_flight,
                    total,
                },
            ) => {
                let mut bars = bars.lock().unwrap_or_else(|e| e.into_inner());
                let bar = bars.entry(destination.clone()).or_insert_with(|| {
                    let bar = multi.add(ProgressBar::new(*total as u64));
                    let style =
                        ProgressStyle::with_template("{prefix:<16} [{bar:30}] {pos}/{len} {msg}")
                            .map(|s| s.progress_chars("=> "))
                            .unwrap_or_else(|_| ProgressStyle::default_bar());
                    bar.set_style(style);
                    bar.set_prefix(destination.clone());
                    bar
                });
                bar.set_length(*total as u64);
                bar.set_position(*done as u64);
                bar.set_message(format!("{in_flight} in flight, {failed} failed"));
            }
            (
                ApplyProgress::Lines(last),
                ReplicationEvent::Progress {
                    destination,
                    done,
                    failed,
                    in_flight,
                    total,
                },
            ) => {
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                let state = (*done, *failed, *in_flight);
                let finished = done + failed == *total;
                let print = match last.get(destination) {
                    None => true,
                    Some((previous, at)) => {
                        *previous != state && (finished || now.duration_since(*at) >= LINE_INTERVAL)
                    }
                };
                if print {
                    eprintln!(
                        "{destination:<16} {done}/{total} replicated, {in_flight} in flight, {failed} failed"
                    );
                    last.insert(destination.clone(), (state, now));
                }
            }
            _ => {}
        }
    }

    fn finish(&self) {
        if let ApplyProgress::Bars { bars, .. } = self {
            for bar in bars.lock().unwrap_or_else(|e| e.into_inner()).values() {
                bar.abandon();
            }
        }
    }
}
