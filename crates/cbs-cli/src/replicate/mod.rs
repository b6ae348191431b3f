//! `tccbs replicate`: plan, apply, check and drill a replication policy. Each command
//! is here, top to bottom; how its report is shown is in a module of its own.

mod drill;
mod html;
mod lock;
mod plan;
mod report;
mod restore;
mod rpo;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cbs_dr::{ItemFailure, Plan, Policy, Replication};

use crate::cli::{
    ApplyArgs, CheckArgs, DrillArgs, Output, PlanArgs, PolicyArgs, RestoreArgs, RestoreShapeArgs,
};
use crate::commands::{exit_for, exit_status};
use crate::context::Context;
use crate::failure::Failure;
use crate::metrics::{self, RunMetrics};
use crate::signals;
use crate::table::say;

/// Exit status of `check` when the recovery point is not met.
const RPO_MISSED: u8 = 4;

/// The largest policy file read: a policy is a few kilobytes, and a path such as
/// `/dev/zero` must end in an error, not in all the memory there is.
const MAX_POLICY_BYTES: u64 = 1 << 20;

fn load(args: &PolicyArgs) -> Result<Policy, Failure> {
    let text = read_small(&args.policy, "a policy")?;
    Policy::from_toml(&text).map_err(|e| Failure::Usage(format!("{}: {e}", args.policy.display())))
}

/// A small TOML file of the user's (a policy, a standby table, a restore order): UTF-8
/// text of at most 1 MiB, or a usage error saying why not.
fn read_small(path: &std::path::Path, what: &str) -> Result<String, Failure> {
    use std::io::Read;
    let shown = path.display();
    let cannot = |why: String| Failure::Usage(format!("cannot read {shown}: {why}"));
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_POLICY_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| cannot(e.to_string()))?;
    if bytes.len() as u64 > MAX_POLICY_BYTES {
        return Err(cannot(format!(
            "larger than {} KiB; {what} is a few KB",
            MAX_POLICY_BYTES / 1024
        )));
    }
    String::from_utf8(bytes).map_err(|_| cannot("not UTF-8 text".into()))
}

fn replication(ctx: &Context, policy: Policy, args: &PolicyArgs) -> Replication {
    Replication::new(&ctx.client, policy)
        .poll_interval(Duration::from_secs(2), Duration::from_secs(30))
        .deadline(args.deadline)
        .snapshot_quota(args.snapshot_quota)
}

/// Prints the metrics (`--output prometheus`) and writes them (`--metrics-file`); the
/// exit status: the run's own when it is not 0 (a missed RPO or failed items say more
/// than a metrics file that could not be written), else 1 when the metrics could not
/// be written. A failure to write is reported on standard error either way.
fn emit_metrics(ctx: &Context, path: Option<&std::path::Path>, run: &RunMetrics<'_>) -> u8 {
    emit(ctx, path, run.exit_status, || metrics::render(run))
}

/// [`emit_metrics`] for any command's metrics, `text` made only when wanted.
fn emit(
    ctx: &Context,
    path: Option<&std::path::Path>,
    exit_status: u8,
    text: impl FnOnce() -> String,
) -> u8 {
    if ctx.output != Output::Prometheus && path.is_none() {
        return exit_status;
    }
    let text = text();
    if ctx.output == Output::Prometheus {
        print!("{text}");
    }
    if let Some(path) = path
        && let Err(e) = metrics::write_atomically(path, &text)
    {
        say!("error: cannot write the metrics to {}: {e}", path.display());
        return if exit_status == 0 { 1 } else { exit_status };
    }
    exit_status
}

fn opt(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "-".to_owned())
}

pub async fn plan(ctx: &Context, args: PlanArgs) -> Result<ExitCode, Failure> {
    let policy = load(&args.policy)?;
    let replication = replication(ctx, policy, &args.policy).prune(args.prune);
    let plan = replication.plan().await?;
    plan::print(ctx.output, &replication, &plan, args.price_per_gb);
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
    // One apply of a policy at a time on this host; the wait counts against the
    // deadline.
    let _lock = match ctx.account_key() {
        Some(key) => lock::acquire(&args.policy.policy, &key, args.policy.deadline).await?,
        None => None,
    };
    let left = args.policy.deadline.saturating_sub(started.elapsed());
    let progress = Arc::new(report::progress(ctx.output != Output::Table));
    let events = progress.clone();
    let report = replication(ctx, policy, &args.policy)
        .deadline(left)
        .look_again_after(args.look_again_after)
        .prune(args.prune)
        .on_event(move |event| report::show(&events, event))
        .apply()
        .await;
    progress.finish();
    let report = report?;
    if ctx.output != Output::Prometheus {
        report::print(ctx.output, &report);
    }
    let status = exit_status(report.succeeded(), report.items.len());
    let run = RunMetrics {
        command: "apply",
        recovery_points: &report.recovery_points,
        report: Some(&report),
        leftovers: &[],
        duration: started.elapsed(),
        exit_status: status,
    };
    Ok(ExitCode::from(emit_metrics(
        ctx,
        args.metrics_file.as_deref(),
        &run,
    )))
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
        rpo::print(ctx.output, &report);
    }
    let status = if report.is_ok() { 0 } else { RPO_MISSED };
    let run = RunMetrics {
        command: "check",
        recovery_points: &report.items,
        report: None,
        leftovers: &report.leftovers,
        duration: started.elapsed(),
        exit_status: status,
    };
    Ok(ExitCode::from(emit_metrics(
        ctx,
        args.metrics_file.as_deref(),
        &run,
    )))
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
    // The first SIGINT or SIGTERM stops the drill, which then removes what it made;
    // the report is printed all the same, and the status says it was stopped.
    let (stop, caught) = signals::stop_on_signal(
        "the drill removes the disks it made (within a minute)",
        "the drill's disks are left; the next drill in this region removes them, and `replicate check` lists them",
    )
    .map_err(|e| Failure::Other(format!("cannot watch for signals: {e}")))?;
    let request = shaped(
        cbs_dr::Restore::new(region.clone(), "drill").expect("a valid run name"),
        &args.shape,
    )?;
    let report = match &args.as_profile {
        Some(profile) => {
            let receiver = ctx.receiver(profile)?;
            replication
                .drill_as_receiver_with(&receiver, &request, args.keep, stop)
                .await?
        }
        None => replication.drill_with(&request, args.keep, stop).await?,
    };
    drill::print(ctx.output, &report);
    let mut status = exit_status(report.succeeded(), report.items.len());
    if let (Some(path), Some(restored)) = (&args.shape.report, &report.restore)
        && let Err(e) = html::write(path, restored)
    {
        say!("cannot write the report {}: {e}", path.display());
        if status == 0 {
            status = 1;
        }
    }
    if let Some(status) = caught.exit_status() {
        return Ok(ExitCode::from(status));
    }
    Ok(ExitCode::from(status))
}

pub async fn restore(
    ctx: &Context,
    args: RestoreArgs,
    region: Option<String>,
) -> Result<ExitCode, Failure> {
    let policy = load(&args.policy)?;
    let region = region
        .ok_or_else(|| Failure::Usage("restore needs --region: the region to restore in".into()))?;
    let replicating: Vec<&str> = policy
        .rules()
        .iter()
        .filter(|r| r.destinations.contains(&region))
        .map(|r| r.name.as_str())
        .collect();
    if replicating.is_empty() {
        return Err(Failure::Usage(format!(
            "no rule of the policy replicates into {region} (its destinations: {})",
            policy.destinations().join(", ")
        )));
    }
    if let Some(unknown) = args
        .rules
        .iter()
        .find(|r| !replicating.contains(&r.as_str()))
    {
        return Err(Failure::Usage(format!(
            "--rule {unknown}: no such rule replicates into {region}"
        )));
    }
    let progress = Arc::new(report::progress(ctx.output != Output::Table));
    let events = progress.clone();
    let replication =
        replication(ctx, policy, &args.policy).on_event(move |event| report::show(&events, event));
    let receiver = match &args.as_profile {
        Some(profile) => Some(ctx.receiver(profile)?),
        None => None,
    };
    if let Some(run) = &args.cleanup {
        let report = match &receiver {
            Some(receiver) => {
                replication
                    .clean_up_restore_as_receiver(receiver, &region, run)
                    .await?
            }
            None => replication.clean_up_restore(&region, run).await?,
        };
        restore::print_cleanup(ctx.output, &report);
        if report.failure.is_some() {
            return Ok(ExitCode::FAILURE);
        }
        let removed = report.items.iter().filter(|i| i.deleted).count();
        return Ok(if removed == report.items.len() {
            ExitCode::SUCCESS
        } else {
            exit_for(removed, report.items.len())
        });
    }
    let run = args.run.clone().unwrap_or_else(default_run_name);
    let mut request = cbs_dr::Restore::new(region.clone(), run)
        .map_err(|e| Failure::Usage(format!("--run: {e}")))?
        .rules(args.rules.iter().cloned())
        .disks(args.disks.iter().cloned())
        .consistency_window(args.consistency_window);
    if let Some(at) = &args.at {
        request = request.at(parse_at(at)?);
    }
    if let Some(disk_type) = &args.disk_type {
        request = request.disk_type(disk_type.clone());
    }
    for (from, to) in &args.zones {
        request = request.zone(from.clone(), to.clone());
    }
    request = shaped(request, &args.shape)?;
    if args.run.is_none() && !args.dry_run {
        say!(
            "run {}: run the same command again to finish it; --run NAME makes another set",
            request.run()
        );
    }
    let report = match (&receiver, args.dry_run) {
        (Some(receiver), dry_run) => {
            replication
                .restore_as_receiver(receiver, &request, dry_run)
                .await
        }
        (None, true) => replication.restore_plan(&request).await,
        (None, false) => replication.restore(&request).await,
    };
    progress.finish();
    let report = report?;
    if ctx.output != Output::Prometheus {
        restore::print(ctx.output, &report);
    }
    let mut status = exit_status(report.succeeded(), report.items.len());
    if let Some(path) = &args.shape.report
        && let Err(e) = html::write(path, &report)
    {
        say!("cannot write the report {}: {e}", path.display());
        // As for the metrics file: the run's own status wins.
        if status == 0 {
            status = 1;
        }
    }
    Ok(ExitCode::from(emit(
        ctx,
        args.metrics_file.as_deref(),
        status,
        || metrics::render_restore(&report, status),
    )))
}

/// `request` with the standby table of `--attach` and the groups of `--order`, where
/// given (the policy's otherwise).
fn shaped(
    mut request: cbs_dr::Restore,
    shape: &RestoreShapeArgs,
) -> Result<cbs_dr::Restore, Failure> {
    if let Some(path) = &shape.attach {
        let text = read_small(path, "a standby table")?;
        let table = cbs_dr::standby_from_toml(&text)
            .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?;
        for (source, standby) in table {
            request = request.standby(source, standby);
        }
    }
    if let Some(path) = &shape.order {
        let text = read_small(path, "a restore order")?;
        let waves = cbs_dr::restore_order_from_toml(&text)
            .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?;
        request = request.order(waves);
    }
    Ok(request)
}

/// `restore-<UTC date>`: the same all day, so running the command again finishes the
/// day's run rather than making a second set.
fn default_run_name() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let day = tencentcloud_cbs::model::format_service_time(
        now - tencentcloud_cbs::model::SERVICE_UTC_OFFSET_SECS,
    );
    let digits: String = day.chars().filter(char::is_ascii_digit).take(8).collect();
    format!("restore-{digits}")
}

/// `--at`: an RFC 3339 time with its offset, or a duration ago (`6h`).
fn parse_at(text: &str) -> Result<i64, Failure> {
    if let Some(unix) = cbs_dr::parse_time(text) {
        return Ok(unix);
    }
    let ago = crate::cli::parse_duration(text).map_err(|_| {
        Failure::Usage(format!(
            "--at `{}`: give a time with its offset (2026-12-07T12:30:00Z, 2026-12-07T20:30:00+08:00) or how long ago (6h, 2d)",
            crate::table::terminal_safe(text)
        ))
    })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Ok(now - ago.as_secs() as i64)
}
