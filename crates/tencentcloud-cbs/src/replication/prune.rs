//! Letting go of what retention no longer keeps: only this tool's replicas, only when
//! pruning is asked for (by the run or the rule), never the newest `NORMAL` one (the
//! plan never proposes it).

use std::collections::BTreeMap;

use super::observe;
use super::plan::{PlanAction, PlanItem};
use super::report::{ItemFailure, Outcome, ReportItem};
use super::run::Run;
use super::{Replication, ReplicationEvent};

impl Replication {
    /// Whether a run with these settings deletes the replica of `item` (a
    /// [`Prune`](PlanAction::Prune) item of a plan): pruning was asked for
    /// ([`prune`](Self::prune)), or the item's rule prunes on every run.
    pub fn prunes(&self, item: &PlanItem) -> bool {
        self.prune
            || self
                .policy
                .rules()
                .iter()
                .any(|r| r.name == item.rule && r.prune)
    }

    /// Deletes what retention lets go, for rules that prune (or every rule when the
    /// run was told to); reports the rest as `WouldPrune`.
    pub(super) async fn carry_out_prunes(
        &self,
        run: &Run,
        prunes: &[&PlanItem],
    ) -> Vec<ReportItem> {
        let mut report = Vec::new();
        let mut deletions: BTreeMap<String, Vec<&PlanItem>> = BTreeMap::new();
        for &item in prunes {
            if self.prunes(item) {
                deletions
                    .entry(item.destination.clone().unwrap_or_default())
                    .or_default()
                    .push(item);
            } else {
                report.push(prune_report(item, Outcome::WouldPrune, None));
            }
        }
        for (region, items) in deletions {
            for chunk in items.chunks(observe::IDS_PER_CALL) {
                let ids: Vec<String> = chunk.iter().filter_map(|i| replica_id(i)).collect();
                let answer = run
                    .call(|| {
                        run.client
                            .delete_snapshots()
                            .region(region.clone())
                            .snapshot_ids(ids.iter().cloned())
                            .send()
                    })
                    .await;
                let failure = answer.err().map(|e| ItemFailure::of_error(&e));
                for item in chunk {
                    let outcome = if failure.is_some() {
                        Outcome::Failed
                    } else {
                        Outcome::Pruned
                    };
                    let pruned = prune_report(item, outcome, failure.clone());
                    self.emit(ReplicationEvent::Finished(pruned.clone()));
                    report.push(pruned);
                }
            }
        }
        report
    }
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
        failure,
    }
}
