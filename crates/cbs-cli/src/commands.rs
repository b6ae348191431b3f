//! The commands.

use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tencentcloud_cbs::model::{Filter, RegionCopy, Snapshot};
use tencentcloud_cbs::{ErrorCode, RegionOutcome, WaiterError};

use crate::cli::{CallArgs, CallService, CopyArgs, ListArgs, Output, WaitArgs};
use crate::context::Context;
use crate::failure::Failure;
use crate::progress;
use crate::table;

/// Exit status when some items (regions, replicas) succeeded and others failed.
pub const PARTIAL_FAILURE: u8 = 3;

/// 0 when all of `total` succeeded, 1 when none did, 3 in between.
pub fn exit_for(succeeded: usize, total: usize) -> ExitCode {
    ExitCode::from(exit_status(succeeded, total))
}

/// 0 when every item succeeded, 1 when none did, 3 when some did.
pub fn exit_status(succeeded: usize, total: usize) -> u8 {
    match succeeded {
        n if n == total => 0,
        0 => 1,
        _ => PARTIAL_FAILURE,
    }
}

pub fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

pub async fn snapshot_copy(ctx: &Context, args: CopyArgs) -> Result<ExitCode, Failure> {
    let json = ctx.output == Output::Json;
    if !args.wait {
        let mut call = ctx
            .client
            .copy_snapshot_cross_regions()
            .snapshot_id(args.snapshot_id.clone())
            .destination_regions(args.to.clone());
        if let Some(name) = &args.name {
            call = call.snapshot_name(name.clone());
        }
        let response = call.send().await?;
        let answered = response.region_copies();
        // One entry per requested region, in the order asked: a region the answer leaves
        // out is reported as such, and counts as a failure.
        let copies: Vec<Option<&RegionCopy>> = args
            .to
            .iter()
            .map(|region| answered.iter().find(|c| c.region() == region))
            .collect();
        let started = copies
            .iter()
            .filter(|c| matches!(c, Some(RegionCopy::Started { .. })))
            .count();
        if json {
            let items: Vec<Value> = args
                .to
                .iter()
                .zip(&copies)
                .map(|(region, copy)| match copy {
                    Some(copy) => copy_json(copy),
                    None => not_reported_json(region),
                })
                .collect();
            print_json(
                &json!({"snapshot_id": args.snapshot_id, "request_id": response.request_id, "regions": items}),
            );
        } else {
            let rows: Vec<Vec<String>> = args
                .to
                .iter()
                .zip(&copies)
                .map(|(region, copy)| match copy {
                    Some(RegionCopy::Started {
                        region,
                        snapshot_id,
                    }) => vec![region.clone(), snapshot_id.clone(), "copy started".into()],
                    Some(RegionCopy::Refused {
                        region,
                        code,
                        message,
                    }) => refused_row(region, code, message),
                    _ => not_reported_row(region),
                })
                .collect();
            table::print(&["REGION", "SNAPSHOT", "RESULT"], &rows);
            println!("request id {}", response.request_id);
        }
        return Ok(exit_for(started, args.to.len()));
    }

    let display = Arc::new(progress::copies(&args.to, json));
    let progress = display.clone();
    let mut call = ctx
        .client
        .copy_snapshot_and_wait(args.snapshot_id.clone())
        .destination_regions(args.to.clone())
        .max_wait(args.timeout)
        .poll_interval(Duration::from_millis(500), Duration::from_secs(10))
        .on_progress(move |p| progress.copy(p));
    if let Some(name) = &args.name {
        call = call.snapshot_name(name.clone());
    }
    let outcomes = call.send().await;
    display.finish();
    let outcomes = outcomes?;
    let ready = outcomes.iter().filter(|o| o.is_ready()).count();
    if json {
        let items: Vec<Value> = outcomes.iter().map(outcome_json).collect();
        print_json(&json!({"snapshot_id": args.snapshot_id, "regions": items}));
    } else {
        println!();
        let rows: Vec<Vec<String>> = outcomes.iter().map(outcome_row).collect();
        table::print(&["REGION", "SNAPSHOT", "STATE"], &rows);
        for outcome in &outcomes {
            if !outcome.is_ready() {
                eprintln!("failed: {}", outcome_row(outcome).join(" "));
            }
        }
    }
    Ok(exit_for(ready, args.to.len()))
}

/// What a region the service's answer left out means.
const NOT_REPORTED: &str =
    "not in the answer: a copy may have started; check the region before copying again";

fn not_reported_row(region: &str) -> Vec<String> {
    vec![region.to_owned(), "-".into(), NOT_REPORTED.into()]
}

fn not_reported_json(region: &str) -> Value {
    json!({"region": region, "status": "not_reported", "message": NOT_REPORTED})
}

/// A table row for a region that refused the copy.
fn refused_row(region: &str, code: &ErrorCode, message: &str) -> Vec<String> {
    vec![
        region.to_owned(),
        "-".into(),
        format!("refused: {code}: {message}"),
    ]
}

fn copy_json(copy: &RegionCopy) -> Value {
    match copy {
        RegionCopy::Started {
            region,
            snapshot_id,
        } => json!({"region": region, "status": "started", "snapshot_id": snapshot_id}),
        RegionCopy::Refused {
            region,
            code,
            message,
        } => {
            json!({"region": region, "status": "refused", "code": code.as_str(), "message": message})
        }
        other => json!({"region": other.region(), "status": "unknown"}),
    }
}

fn outcome_row(outcome: &RegionOutcome) -> Vec<String> {
    match outcome {
        RegionOutcome::Ready { region, snapshot } => vec![
            region.clone(),
            snapshot.snapshot_id.clone().unwrap_or_default(),
            snapshot
                .snapshot_state
                .as_ref()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
        ],
        RegionOutcome::Refused {
            region,
            code,
            message,
        } => refused_row(region, code, message),
        RegionOutcome::WaitFailed {
            region,
            snapshot_id,
            error,
        } => vec![
            region.clone(),
            snapshot_id.clone(),
            format!("wait failed: {error}"),
        ],
        other => not_reported_row(other.region()),
    }
}

fn outcome_json(outcome: &RegionOutcome) -> Value {
    match outcome {
        RegionOutcome::Ready { region, snapshot } => json!({
            "region": region,
            "status": "ready",
            "snapshot_id": snapshot.snapshot_id,
            "state": snapshot.snapshot_state.as_ref().map(|s| s.as_str()),
        }),
        RegionOutcome::Refused {
            region,
            code,
            message,
        } => {
            json!({"region": region, "status": "refused", "code": code.as_str(), "message": message})
        }
        RegionOutcome::WaitFailed {
            region,
            snapshot_id,
            error,
        } => {
            json!({"region": region, "status": "wait_failed", "snapshot_id": snapshot_id, "message": error.to_string()})
        }
        other => not_reported_json(other.region()),
    }
}

fn require_region(ctx: &Context) -> Result<String, Failure> {
    ctx.region().map(str::to_owned).ok_or_else(|| {
        Failure::Usage(
            "this command needs a region: pass --region or set TENCENTCLOUD_REGION".into(),
        )
    })
}

pub async fn snapshot_list(ctx: &Context, args: ListArgs) -> Result<ExitCode, Failure> {
    let region = require_region(ctx)?;
    let mut filters = Vec::new();
    if let Some(state) = args.state {
        filters.push(Filter::new("snapshot-state", [state]));
    }
    if let Some(disk) = args.disk {
        filters.push(Filter::new("disk-id", [disk]));
    }
    let mut request = ctx.client.describe_snapshots().region(region).limit(100);
    if !filters.is_empty() {
        request = request.filters(filters);
    }
    let snapshots = request.into_paginator().collect_items().await?;
    if ctx.output == Output::Json {
        print_json(&serde_json::to_value(&snapshots).unwrap_or(Value::Null));
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = snapshots.iter().map(snapshot_row).collect();
    table::print(
        &[
            "SNAPSHOT", "NAME", "STATE", "PERCENT", "DISK", "SIZE_GB", "CREATED",
        ],
        &rows,
    );
    Ok(ExitCode::SUCCESS)
}

fn snapshot_row(s: &Snapshot) -> Vec<String> {
    vec![
        s.snapshot_id.clone().unwrap_or_default(),
        s.snapshot_name.clone().unwrap_or_default(),
        s.snapshot_state
            .as_ref()
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default(),
        s.percent.map(|p| format!("{p}%")).unwrap_or_default(),
        s.disk_id.clone().unwrap_or_default(),
        s.disk_size.map(|d| d.to_string()).unwrap_or_default(),
        s.create_time.clone().unwrap_or_default(),
    ]
}

pub async fn snapshot_wait(ctx: &Context, args: WaitArgs) -> Result<ExitCode, Failure> {
    let region = require_region(ctx)?;
    let display = progress::copies(std::slice::from_ref(&region), ctx.output == Output::Json);
    let result = ctx
        .client
        .wait_until_snapshot_normal(region.clone(), args.snapshot_id.clone())
        .max_wait(args.timeout)
        .poll_interval(Duration::from_millis(500), Duration::from_secs(10))
        .on_progress(|p| display.copy(p))
        .wait()
        .await;
    display.finish();
    match result {
        Ok(snapshot) => {
            if ctx.output == Output::Json {
                print_json(&serde_json::to_value(&snapshot).unwrap_or(Value::Null));
            } else {
                table::print(
                    &[
                        "SNAPSHOT", "NAME", "STATE", "PERCENT", "DISK", "SIZE_GB", "CREATED",
                    ],
                    &[snapshot_row(&snapshot)],
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(WaiterError::Operation(e)) => Err(Failure::Call(e)),
        Err(e) => Err(Failure::Other(e.to_string())),
    }
}

pub async fn call(ctx: &Context, args: CallArgs) -> Result<ExitCode, Failure> {
    let (service, version) = match args.service {
        CallService::Cbs => (
            tencentcloud_cbs::model::SERVICE,
            tencentcloud_cbs::model::VERSION,
        ),
        CallService::Tag => (
            tencentcloud_cbs::tag::SERVICE,
            tencentcloud_cbs::tag::VERSION,
        ),
    };
    if args.service == CallService::Cbs
        && tencentcloud_cbs::model::action_info(&args.action).is_none()
    {
        return Err(Failure::Usage(format!(
            "`{}` is not a CBS action; `tccbs actions` lists them",
            args.action
        )));
    }
    let text = match (&args.json, &args.json_file) {
        (Some(text), _) => text.clone(),
        (None, Some(path)) if path.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Failure::Other(format!("cannot read standard input: {e}")))?;
            text
        }
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| Failure::Other(format!("cannot read {}: {e}", path.display())))?,
        (None, None) => "{}".to_owned(),
    };
    let body: Value = serde_json::from_str(&text)
        .map_err(|e| Failure::Usage(format!("the request body is not valid JSON: {e}")))?;
    if !body.is_object() {
        return Err(Failure::Usage(
            "the request body must be a JSON object".into(),
        ));
    }
    let response = ctx
        .client
        .call_json(service, version, &args.action, None, body)
        .await?;
    print_json(&response);
    Ok(ExitCode::SUCCESS)
}

pub fn actions(output: Output) -> Result<ExitCode, Failure> {
    let actions = tencentcloud_cbs::model::ACTIONS;
    if output == Output::Json {
        let names: Vec<Value> = actions
            .iter()
            .map(|a| json!({"name": a.name, "safety": a.safety.as_str(), "sites": a.availability.as_str(), "deprecated": a.deprecated, "required": a.required}))
            .collect();
        print_json(&Value::Array(names));
    } else {
        let rows: Vec<Vec<String>> = actions
            .iter()
            .map(|a| {
                vec![
                    a.name.to_owned(),
                    a.safety.as_str().to_owned(),
                    a.availability.as_str().to_owned(),
                    a.required.join(","),
                    if a.deprecated { "deprecated" } else { "" }.to_owned(),
                ]
            })
            .collect();
        table::print(&["ACTION", "SAFETY", "SITES", "REQUIRED", "NOTE"], &rows);
    }
    Ok(ExitCode::SUCCESS)
}
