//! `tccbs replicate`: plan, apply, check and drill a replication policy.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use tencentcloud_cbs::replication::{
    DrillReport, ItemFailure, PlanAction, PlanItem, Policy, Replication, ReplicationEvent, Report,
    ReportItem, RpoReport,
};

use crate::cli::{ApplyArgs, CheckArgs, DrillArgs, Output, PolicyArgs};
use crate::commands::{exit_for, print_json};
use crate::context::Context;
use crate::failure::Failure;
use crate::table;

/// Exit status of `check` when the recovery point is not met.
const RPO_MISSED: u8 = 4;

fn load(args: &PolicyArgs) -> Result<Policy, Failure> {
    let text = std::fs::read_to_string(&args.policy)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", args.policy.display())))?;
    Policy::from_toml(&text).map_err(|e| Failure::Usage(format!("{}: {e}", args.policy.display())))
}

fn replication(ctx: &Context, policy: Policy) -> Replication {
    ctx.client
        .replication(policy)
        .poll_interval(Duration::from_secs(2), Duration::from_secs(30))
}

fn opt(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "-".to_owned())
}

pub async fn plan(ctx: &Context, args: PolicyArgs) -> Result<ExitCode, Failure> {
    let policy = load(&args)?;
    let plan = replication(ctx, policy).plan().await?;
    let totals = plan.totals();
    if ctx.output == Output::Json {
        let items: Vec<Value> = plan.items().iter().map(plan_item_json).collect();
        print_json(&json!({
            "items": items,
            "totals": {
                "copies": totals.copies, "copy_gb": totals.copy_gb,
                "in_flight": totals.in_flight, "up_to_date": totals.up_to_date,
                "prunes": totals.prunes, "prune_gb": totals.prune_gb,
                "no_snapshot": totals.no_snapshot,
            },
        }));
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = plan.items().iter().map(plan_item_row).collect();
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
    Ok(ExitCode::SUCCESS)
}

fn plan_replica(item: &PlanItem) -> Option<String> {
    match &item.action {
        PlanAction::Adopt { replica_id, .. } => replica_id.clone(),
        PlanAction::UpToDate { replica_id } | PlanAction::Prune { replica_id, .. } => {
            Some(replica_id.clone())
        }
        _ => None,
    }
}

fn plan_action_text(item: &PlanItem) -> String {
    match &item.action {
        PlanAction::Adopt { percent, .. } => format!("in flight ({percent}%)"),
        PlanAction::Prune { reason, .. } => format!("prune ({})", reason.as_str()),
        PlanAction::UpToDate { .. } => "up to date".to_owned(),
        PlanAction::NoSnapshot => "no snapshot".to_owned(),
        other => other.as_str().to_owned(),
    }
}

fn plan_item_row(item: &PlanItem) -> Vec<String> {
    vec![
        plan_action_text(item),
        item.rule.clone(),
        item.disk_id.clone(),
        opt(&item.source_snapshot_id),
        opt(&item.destination),
        opt(&plan_replica(item)),
        item.size_gb.to_string(),
    ]
}

fn plan_item_json(item: &PlanItem) -> Value {
    let mut value = json!({
        "action": item.action.as_str(),
        "rule": item.rule,
        "disk_id": item.disk_id,
        "source_region": item.source_region,
        "source_snapshot_id": item.source_snapshot_id,
        "destination": item.destination,
        "replica_id": plan_replica(item),
        "replica_name": item.replica_name().map(|n| n.to_string()),
        "size_gb": item.size_gb,
    });
    if let PlanAction::Prune { reason, .. } = &item.action {
        value["reason"] = json!(reason.as_str());
    }
    value
}

pub async fn apply(ctx: &Context, args: ApplyArgs) -> Result<ExitCode, Failure> {
    let mut policy = load(&args.policy)?;
    if let Some(max) = args.max_in_flight {
        policy = policy.with_max_in_flight_per_region(max);
    }
    let progress = Arc::new(ApplyProgress::new(ctx.output == Output::Json));
    let events = progress.clone();
    let report = replication(ctx, policy)
        .prune(args.prune)
        .max_wait(args.max_wait)
        .on_event(move |event| events.update(event))
        .apply()
        .await;
    progress.finish();
    let report = report?;
    print_report(ctx.output, &report);
    let relevant = report.items.len();
    Ok(exit_for(report.succeeded(), relevant))
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
        "action": item.outcome.as_str(),
        "error": failure_json(&item.failure),
    })
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
    let rows: Vec<Vec<String>> = report
        .items
        .iter()
        .map(|i| {
            vec![
                i.outcome.as_str().to_owned(),
                i.rule.clone(),
                i.disk_id.clone(),
                opt(&i.source_snapshot_id),
                opt(&i.destination),
                opt(&i.replica_id),
                opt(&i.state),
            ]
        })
        .collect();
    table::print(
        &[
            "RESULT",
            "RULE",
            "DISK",
            "SOURCE_SNAPSHOT",
            "DESTINATION",
            "REPLICA",
            "STATE",
        ],
        &rows,
    );
    for item in &report.items {
        if let Some(f) = &item.failure {
            eprintln!(
                "failed: {} {} -> {}: {}: {}{}",
                item.disk_id,
                opt(&item.source_snapshot_id),
                opt(&item.destination),
                f.code,
                f.message,
                f.request_id
                    .as_ref()
                    .map(|r| format!(" (request id {r})"))
                    .unwrap_or_default()
            );
        }
    }
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
    let policy = load(&args.policy)?;
    let report = replication(ctx, policy).check(args.max_age).await?;
    print_rpo(ctx.output, &report);
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(RPO_MISSED)
    })
}

fn age_text(age: Option<Duration>) -> String {
    age.map(|a| humantime::format_duration(Duration::from_secs(a.as_secs())).to_string())
        .unwrap_or_else(|| "-".to_owned())
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
                    "ok": i.ok,
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
                if i.ok { "ok" } else { "MISSED" }.to_owned(),
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
    let missed = report.offenders().count();
    if missed > 0 {
        eprintln!(
            "{missed} disk/destination pairs have no NORMAL replica newer than {}",
            humantime::format_duration(report.max_age)
        );
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
    let report = replication(ctx, policy).drill(&region, args.keep).await?;
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
            eprintln!("failed: {}: {}: {}", item.disk_id, f.code, f.message);
        }
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
