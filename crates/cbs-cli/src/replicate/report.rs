//! `replicate apply`'s output: a line per item, the failures grouped, the summary; or
//! the engine's own JSON. And its progress, from the run's events.

use std::time::Duration;

use cbs_dr::{Outcome, ReplicationEvent, Report, ReportItem};
use serde_json::Value;

use super::{failure_text, opt};
use crate::cli::Output;
use crate::commands::print_json;
use crate::progress::{Progress, Stream, Style, Update};
use crate::table;
use crate::table::say;

pub fn print(output: Output, report: &Report) {
    if output == Output::Json {
        print_json(&serde_json::to_value(report).unwrap_or(Value::Null));
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
    for item in report.items.iter().filter(|i| i.warning.is_some()) {
        say!(
            "warning: {} in {}: {}",
            item.replica_id.as_deref().unwrap_or(&item.disk_id),
            item.destination.as_deref().unwrap_or("-"),
            item.warning.as_deref().unwrap_or_default()
        );
    }
    let tagged = report.items.iter().filter(|i| i.tagged).count();
    if tagged > 0 {
        println!(
            "tagged {tagged} replicas with their lineage, inventory and the source's own tags"
        );
    }
    for item in report
        .items
        .iter()
        .filter(|i| i.outcome == Outcome::NoDisks)
    {
        say!(
            "warning: rule {} selects no disk in {}: nothing of it is replicated; check its disk_ids and disk_name",
            item.rule,
            item.source_region
        );
    }
    println!(
        "\n{} of {} items fine; {}",
        report.succeeded(),
        report.items.len(),
        summary(report)
    );
}

/// What the run's items add up to.
fn summary(report: &Report) -> String {
    if report.converged {
        return "everything is replicated".to_owned();
    }
    let open = report.count(Outcome::Incomplete);
    let failed = report.failed() - open;
    match (failed, open) {
        (0, 0) => "not converged: run again (it picks up where this run stopped)".to_owned(),
        (0, open) => format!(
            "not converged: {open} still in flight or unknown; run again (it picks up where this run stopped)"
        ),
        (failed, 0) => format!("not converged: {failed} failed (see above)"),
        (failed, open) => format!(
            "not converged: {failed} failed (see above), {open} still in flight or unknown; run again"
        ),
    }
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
            say!(
                "failed: {} {} -> {}: {}",
                item.disk_id,
                opt(&item.source_snapshot_id),
                opt(&item.destination),
                failure_text(f)
            );
        } else {
            say!(
                "failed: {count} items -> {}: {}",
                opt(&item.destination),
                failure_text(f)
            );
        }
    }
}

/// How `apply` shows replicas done per destination: a bar on a terminal, else a line
/// when something changed, at most every 30 s per destination unless it finished.
const APPLY_STYLE: Style = Style {
    template: "{prefix:<16} [{bar:30}] {pos}/{len} {msg}",
    step: u64::MAX,
    interval: Duration::from_secs(30),
};

/// `apply`'s progress on standard error (none for JSON or Prometheus output).
pub fn progress(quiet: bool) -> Progress {
    Progress::new(Stream::Stderr, APPLY_STYLE, quiet)
}

/// Shows one of the run's events.
pub fn show(progress: &Progress, event: &ReplicationEvent) {
    match event {
        ReplicationEvent::Planned { totals } => progress.note(&format!(
            "plan: {} to copy ({} GB), {} in flight, {} up to date, {} to prune",
            totals.copies, totals.copy_gb, totals.in_flight, totals.up_to_date, totals.prunes
        )),
        ReplicationEvent::Progress {
            destination,
            done,
            failed,
            in_flight,
            total,
        } => progress.show(Update {
            key: destination,
            // Finished when every item is done or given up on.
            position: (*done + *failed) as u64,
            length: *total as u64,
            message: format!("{in_flight} in flight, {failed} failed"),
            line: format!(
                "{destination:<16} {done}/{total} replicated, {in_flight} in flight, {failed} failed"
            ),
            milestone: None,
        }),
        ReplicationEvent::RestoreProgress {
            usable,
            waiting,
            total,
        } => progress.show(Update {
            key: "restore",
            position: *usable as u64,
            length: *total as u64,
            message: format!("{waiting} loading"),
            line: format!("restore          {usable}/{total} usable, {waiting} loading"),
            milestone: None,
        }),
        _ => {}
    }
}
