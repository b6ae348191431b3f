//! Letting go of what retention no longer keeps: only this tool's replicas, only when
//! pruning is asked for (by the run or the rule), never the newest `NORMAL` one (the
//! plan never proposes it); a shared one's shares are ended first.

use std::collections::{BTreeMap, BTreeSet};

use crate::observe;
use crate::plan::{PlanAction, PlanItem};
use crate::policy::Policy;
use crate::report::{ItemFailure, Outcome, ReportItem};
use crate::run::{ReplicationEvent, Run};
use crate::share;

/// Whether a run deletes the replica of `item` (a [`Prune`](PlanAction::Prune) item
/// of a plan): pruning was asked for (`prune`), or the item's rule prunes on every run.
pub(crate) fn deletes(policy: &Policy, prune: bool, item: &PlanItem) -> bool {
    prune
        || policy
            .rules()
            .iter()
            .any(|r| r.name == item.rule && r.prune)
}

/// Deletes what retention lets go where `deletes` says so; reports the rest as
/// `WouldPrune`. `items` are a plan's [`Prune`](PlanAction::Prune) items and the
/// [`Unshare`](PlanAction::Unshare) items of the shared ones: a shared replica's
/// shares are ended first (the service refuses to delete a shared snapshot), with the
/// accounts looked up then.
pub(crate) async fn carry_out(
    run: &Run,
    items: &[&PlanItem],
    deletes: impl Fn(&PlanItem) -> bool,
) -> Vec<ReportItem> {
    let shared: BTreeSet<&str> = items
        .iter()
        .filter_map(|i| match &i.action {
            PlanAction::Unshare { replica_id, .. } => Some(replica_id.as_str()),
            _ => None,
        })
        .collect();
    let mut report = Vec::new();
    let mut deletions: BTreeMap<String, Vec<&PlanItem>> = BTreeMap::new();
    for &item in items {
        if !matches!(item.action, PlanAction::Prune { .. }) {
            continue;
        }
        if !deletes(item) {
            report.push(prune_report(item, Outcome::WouldPrune, None));
            continue;
        }
        let region = item.destination.clone().unwrap_or_default();
        if let Some(id) = replica_id(item).filter(|id| shared.contains(id.as_str())) {
            match unshare(run, &region, &id).await {
                Ok(accounts) => {
                    let line = prune_report(item, Outcome::Unshared, None);
                    report.extend(accounts.iter().map(|account| ReportItem {
                        account: Some(account.clone()),
                        ..line.clone()
                    }));
                }
                Err(failure) => {
                    // Still shared: not deleted (the service would refuse anyway).
                    let failed = prune_report(item, Outcome::Failed, Some(failure));
                    run.emit(ReplicationEvent::Finished(failed.clone()));
                    report.push(failed);
                    continue;
                }
            }
        }
        deletions.entry(region).or_default().push(item);
    }
    for (region, items) in deletions {
        for chunk in items.chunks(observe::IDS_PER_CALL) {
            let ids: Vec<String> = chunk.iter().filter_map(|i| replica_id(i)).collect();
            let answer = run
                .client
                .delete_snapshots()
                .region(region.clone())
                .snapshot_ids(ids.iter().cloned())
                .retry_config(run.patience())
                .send()
                .await;
            let failure = answer.err().map(|e| ItemFailure::of_error(&e));
            for item in chunk {
                let outcome = if failure.is_some() {
                    Outcome::Failed
                } else {
                    Outcome::Pruned
                };
                let pruned = prune_report(item, outcome, failure.clone());
                run.emit(ReplicationEvent::Finished(pruned.clone()));
                report.push(pruned);
            }
        }
    }
    report
}

/// Ends every share of `replica_id` in `region`, as its permissions say now; the
/// accounts it was shared with.
async fn unshare(run: &Run, region: &str, replica_id: &str) -> Result<Vec<String>, ItemFailure> {
    let accounts: Vec<String> = observe::share_permissions(run, region, replica_id)
        .await
        .map_err(|e| ItemFailure::of_error(&e))?
        .into_iter()
        .collect();
    if accounts.is_empty() {
        return Ok(accounts);
    }
    share::set_permission(run, region, replica_id, &accounts, share::CANCEL)
        .await
        .map_err(|e| ItemFailure::of_error(&e))?;
    Ok(accounts)
}

fn replica_id(item: &PlanItem) -> Option<String> {
    match &item.action {
        PlanAction::Prune { replica_id, .. } => Some(replica_id.clone()),
        _ => None,
    }
}

fn prune_report(item: &PlanItem, outcome: Outcome, failure: Option<ItemFailure>) -> ReportItem {
    ReportItem {
        rule: item.rule.clone(),
        disk_id: item.disk_id.clone(),
        source_region: item.source_region.clone(),
        source_snapshot_id: item.source_snapshot_id.clone(),
        destination: item.destination.clone(),
        replica_id: replica_id(item),
        state: Some("NORMAL".to_owned()),
        size_gb: item.size_gb,
        outcome,
        copy_started: false,
        account: None,
        failure,
    }
}
