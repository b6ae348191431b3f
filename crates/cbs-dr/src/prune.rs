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
        for chunk in items.chunks(crate::disks::IDS_PER_CALL) {
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
        tagged: false,
        warning: None,
        failure,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::PruneReason;
    use crate::testing::{self, Call, error, item, of};

    fn prune(disk: &str, replica: &str) -> PlanItem {
        item(
            disk,
            "ap-beijing",
            PlanAction::Prune {
                replica_id: replica.into(),
                reason: PruneReason::BeyondKeep,
            },
        )
    }

    fn unshare(disk: &str, replica: &str) -> PlanItem {
        item(
            disk,
            "ap-beijing",
            PlanAction::Unshare {
                replica_id: replica.into(),
                accounts: Vec::new(),
            },
        )
    }

    #[tokio::test(start_paused = true)]
    async fn shares_end_before_a_delete_and_a_replica_still_shared_is_kept() {
        let (client, calls) = testing::client(|call: &Call| {
            match (call.action.as_str(), call.body["SnapshotId"].as_str()) {
                ("DescribeSnapshotSharePermission", Some("snap-rb")) => {
                    error("AuthFailure.UnauthorizedOperation")
                }
                ("DescribeSnapshotSharePermission", _) => {
                    Ok(json!({"SharePermissionSet": [{"AccountId": "100"}]}))
                }
                _ => Ok(json!({})),
            }
        });
        let run = testing::run(&client);
        let items = [
            unshare("a", "snap-ra"),
            prune("a", "snap-ra"),
            unshare("b", "snap-rb"),
            prune("b", "snap-rb"),
            prune("c", "snap-rc"),
        ];
        let items: Vec<&PlanItem> = items.iter().collect();
        let lines = carry_out(&run, &items, |_| true).await;
        let seen: Vec<(&str, Option<&str>, Outcome)> = lines
            .iter()
            .map(|l| (l.disk_id.as_str(), l.account.as_deref(), l.outcome))
            .collect();
        assert_eq!(
            seen,
            [
                ("disk-a", Some("100"), Outcome::Unshared),
                ("disk-b", None, Outcome::Failed),
                ("disk-a", None, Outcome::Pruned),
                ("disk-c", None, Outcome::Pruned),
            ]
        );
        let cancels = of(&calls, "ModifySnapshotsSharePermission");
        assert_eq!(cancels.len(), 1);
        assert_eq!(cancels[0].body["Permission"], "CANCEL");
        let deletes = of(&calls, "DeleteSnapshots");
        assert_eq!(deletes.len(), 1, "one call per region for up to 100");
        assert_eq!(
            deletes[0].body["SnapshotIds"],
            json!(["snap-ra", "snap-rc"])
        );
    }

    #[tokio::test(start_paused = true)]
    async fn without_pruning_nothing_is_called() {
        let (client, calls) = testing::client(|_| Ok(json!({})));
        let run = testing::run(&client);
        let items = [prune("a", "snap-ra")];
        let items: Vec<&PlanItem> = items.iter().collect();
        let lines = carry_out(&run, &items, |_| false).await;
        assert_eq!(lines[0].outcome, Outcome::WouldPrune);
        assert!(calls.lock().unwrap().is_empty());
        let policy = Policy::new(vec![
            crate::Rule::new("prod", "ap-guangzhou", ["ap-beijing"])
                .disk_ids(["disk-a"])
                .prune(true),
            crate::Rule::new("keep", "ap-guangzhou", ["ap-beijing"]).disk_ids(["disk-b"]),
        ])
        .unwrap();
        let mut kept = prune("b", "snap-rb");
        kept.rule = "keep".into();
        assert!(deletes(&policy, false, &prune("a", "snap-ra")));
        assert!(!deletes(&policy, false, &kept));
        assert!(deletes(&policy, true, &kept));
    }
}
