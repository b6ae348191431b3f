//! Carrying a plan out, exactly once, one destination's trouble kept to itself.
//!
//! Each (source snapshot, destination) is a target with a status. The phases have a
//! module each: [`start`](super::start) sends copies, [`wait`](super::wait) polls them
//! and resolves doubts, [`share`](super::share) shares what is `NORMAL` with the rules'
//! accounts, [`prune`](super::prune) ends shares and lets go of what retention no
//! longer keeps. This module runs them in rounds until every target is final or the run's
//! deadline comes, then looks at the regions once more: that final look decides what
//! converged and what retention prunes.

use std::collections::{BTreeMap, BTreeSet};

use tokio::time::Instant;

use super::check::recovery_points;
use super::observe;
use super::plan::{PlanAction, PlanItem};
use super::report::{ItemFailure, Outcome, Report, ReportItem};
use super::run::Run;
use super::{Replication, ReplicationEvent};
use crate::Error;

/// Consecutive rounds in which a region's polls failed before its targets are given
/// up on (the copies go on in the service; the next run adopts them).
const FAILED_ROUNDS_BEFORE_GIVING_UP: u32 = 5;

/// Where one (source snapshot, destination) stands during a run.
#[derive(Clone, Debug)]
pub(super) enum Status {
    /// To be copied.
    Pending { tries: u32 },
    /// Copying into this replica.
    Copying {
        replica_id: String,
        percent: u64,
        misses: u32,
    },
    /// The source reports a copy to the destination that is not (yet) ours by name:
    /// wait for it to end, then look again.
    Busy { since: Instant },
    /// A copy may or may not have started; look before doing anything.
    Unknown { since: Instant },
    /// `NORMAL`.
    Done { replica_id: String },
    /// Given up.
    Failed(ItemFailure),
}

impl Status {
    pub(super) fn is_final(&self) -> bool {
        matches!(self, Status::Done { .. } | Status::Failed(_))
    }

    pub(super) fn occupies_a_slot(&self) -> bool {
        matches!(
            self,
            Status::Copying { .. } | Status::Busy { .. } | Status::Unknown { .. }
        )
    }
}

pub(super) struct Target {
    pub item: PlanItem,
    pub status: Status,
    /// Whether this run sent the copy (else it adopted one).
    pub sent_by_us: bool,
    /// Whether it was there before the run.
    pub was_up_to_date: bool,
    /// An older replica retention keeps, here only to be shared: no report line of
    /// its own.
    pub share_only: bool,
    /// The accounts the replica is to be shared with, and whether it is already.
    pub shares: BTreeMap<String, bool>,
}

impl Target {
    pub(super) fn destination(&self) -> &str {
        self.item.destination.as_deref().unwrap_or_default()
    }

    pub(super) fn source_id(&self) -> &str {
        self.item.source_snapshot_id.as_deref().unwrap_or_default()
    }

    pub(super) fn name(&self) -> String {
        self.item
            .replica_name()
            .map(|n| n.to_string())
            .unwrap_or_default()
    }
}

/// What a run has learnt about each destination: limits the service made known, and
/// regions that keep failing.
#[derive(Debug, Default)]
pub(super) struct Regions {
    /// Copies that may be in flight to a region at once: the policy's cap, lowered
    /// when the service says it is busy.
    pub caps: BTreeMap<String, usize>,
    /// Snapshots that still fit in a region, when its quota is known (given, or learnt
    /// from a refusal).
    pub room: BTreeMap<String, u64>,
    /// Consecutive failed rounds and the last failure, per region.
    failing: BTreeMap<String, (u32, ItemFailure)>,
}

impl Regions {
    /// Notes the outcome of one round of calls to some regions.
    pub(super) fn round(
        &mut self,
        asked: &BTreeSet<String>,
        failed: BTreeMap<String, ItemFailure>,
    ) {
        for region in asked {
            match failed.get(region) {
                Some(failure) => {
                    let entry = self
                        .failing
                        .entry(region.clone())
                        .or_insert((0, failure.clone()));
                    entry.0 += 1;
                    entry.1 = failure.clone();
                }
                None => {
                    self.failing.remove(region);
                }
            }
        }
    }

    /// Why `region` is given up on, if it is.
    pub(super) fn given_up(&self, region: &str) -> Option<&ItemFailure> {
        self.failing
            .get(region)
            .filter(|(rounds, _)| *rounds >= FAILED_ROUNDS_BEFORE_GIVING_UP)
            .map(|(_, failure)| failure)
    }
}

impl Replication {
    /// Carries the policy out: copies what is missing, waits for every copy, then
    /// prunes (if asked) what retention lets go. Safe to run again at any moment, from
    /// any point of an earlier run: it starts from what the regions report.
    ///
    /// A region that cannot be reached or refuses (a CAM policy, an outage) fails its
    /// own items, with the service's code and request id; every other region goes on.
    /// Throttling is waited out until the [deadline](Self::deadline).
    pub async fn apply(&self) -> Result<Report, Error> {
        let run = Run::start(&self.client, self.deadline).await?;
        let plan = self.plan_with(&run).await;
        self.emit(ReplicationEvent::Planned {
            totals: plan.totals(),
        });
        let mut regions = Regions::default();
        for destination in plan.destinations() {
            if let Some(cap) = self.policy.max_in_flight_per_region() {
                regions
                    .caps
                    .insert(destination.region.clone(), cap as usize);
            }
            if self.snapshot_quota.is_some()
                && let Some(room) = destination.room()
            {
                regions.room.insert(destination.region.clone(), room);
            }
        }
        let (mut targets, settled) = targets_of(plan.into_items());

        self.converge(&run, &mut targets, &mut regions).await;
        let shares = self.share_replicas(&run, &targets).await;
        let mut report = Report {
            items: targets
                .iter()
                .filter(|t| !t.share_only)
                .map(target_report)
                .collect(),
            ..Report::default()
        };
        drop(targets);
        report.items.extend(shares);
        report.items.extend(settled);

        // The final look: what converged, what retention lets go, where each disk stands.
        let observation = self.observe(&run, observe::Look::default()).await;
        let final_plan = super::plan::plan(&self.policy, &observation, self.now_unix(), None);
        // The final look does not read share permissions (they cost a call per
        // replica); the share items of this run say whether the shares stand.
        let shares_stand = report
            .items
            .iter()
            .filter(|i| i.account.is_some())
            .all(|i| i.outcome.is_success());
        report.converged = shares_stand
            && final_plan.items().iter().all(|i| {
                !matches!(
                    i.action,
                    PlanAction::Copy | PlanAction::Adopt { .. } | PlanAction::Unavailable { .. }
                )
            });
        let prunes: Vec<PlanItem> = final_plan
            .into_items()
            .into_iter()
            .filter(|i| {
                matches!(
                    i.action,
                    PlanAction::Prune { .. } | PlanAction::Unshare { .. }
                )
            })
            .collect();
        // Large fleets: the plan is let go before the recovery points are built.
        let prunes: Vec<&PlanItem> = prunes.iter().collect();
        report
            .items
            .extend(self.carry_out_prunes(&run, &prunes).await);
        report.recovery_points = recovery_points(&self.policy, &observation, self.now_unix(), None);
        Ok(report)
    }

    /// Copies and waits until every target is final or the deadline comes.
    async fn converge(&self, run: &Run, targets: &mut [Target], regions: &mut Regions) {
        let mut interval = self.poll_min;
        loop {
            self.start_copies(run, targets, regions).await;
            self.report_progress(targets);
            if targets.iter().all(|t| t.status.is_final()) || run.is_over() {
                break;
            }
            tokio::time::sleep(interval.min(run.left())).await;
            interval = (interval * 3 / 2).min(self.poll_max);
            self.poll(run, targets, regions).await;
            self.look_up(run, targets, regions, interval).await;
            for target in targets.iter_mut().filter(|t| !t.status.is_final()) {
                let failure = regions
                    .given_up(target.destination())
                    .or_else(|| regions.given_up(&target.item.source_region));
                if let Some(failure) = failure {
                    target.status = Status::Failed(failure.clone());
                }
            }
        }
        for target in targets.iter_mut() {
            if matches!(target.status, Status::Pending { .. }) {
                target.status = Status::Failed(ItemFailure::new(
                    "Timeout",
                    "the run's deadline came before this copy could start",
                ));
            }
        }
    }

    fn report_progress(&self, targets: &[Target]) {
        if self.on_event.is_none() {
            return;
        }
        let mut per_region: BTreeMap<&str, (usize, usize, usize, usize)> = BTreeMap::new();
        for target in targets {
            let entry = per_region.entry(target.destination()).or_default();
            entry.3 += 1;
            match target.status {
                Status::Done { .. } => entry.0 += 1,
                Status::Failed(_) => entry.1 += 1,
                Status::Copying { .. } | Status::Busy { .. } | Status::Unknown { .. } => {
                    entry.2 += 1
                }
                Status::Pending { .. } => {}
            }
        }
        for (region, (done, failed, in_flight, total)) in per_region {
            self.emit(ReplicationEvent::Progress {
                destination: region.to_owned(),
                done,
                failed,
                in_flight,
                total,
            });
        }
    }
}

/// Identifies a target: source region, source snapshot, destination.
type TargetKey = (String, Option<String>, Option<String>);

/// The report of an item settled by the plan alone (no snapshot, a region unavailable,
/// a disk whose replicas cannot be shared).
fn settled_report(item: PlanItem) -> ReportItem {
    let (outcome, failure) = match item.action {
        PlanAction::Unavailable { failure, .. } => (Outcome::Failed, failure),
        PlanAction::NotShareable => (
            Outcome::Failed,
            ItemFailure::new(
                "NotShareable",
                "the disk is a system disk, whose snapshots cannot be shared: its replicas are kept but not shared",
            ),
        ),
        _ => (
            Outcome::NoSnapshot,
            ItemFailure::new(
                "NoSnapshot",
                "the disk has no NORMAL snapshot to replicate (within max_snapshot_age)",
            ),
        ),
    };
    ReportItem {
        rule: item.rule,
        disk_id: item.disk_id,
        source_region: item.source_region,
        source_snapshot_id: item.source_snapshot_id,
        destination: item.destination,
        replica_id: None,
        state: None,
        size_gb: item.size_gb,
        outcome,
        copy_started: false,
        account: None,
        failure: Some(failure),
    }
}

/// The targets of a plan's items (one per source snapshot and destination, with the
/// shares its rules want), and the report lines of the items with nothing to do
/// (no snapshot, not shareable, unavailable).
fn targets_of(items: Vec<PlanItem>) -> (Vec<Target>, Vec<ReportItem>) {
    let mut targets: Vec<Target> = Vec::new();
    let mut settled = Vec::new();
    // Two rules may want the same copy; it is one target (with both rules' shares).
    let mut index: BTreeMap<TargetKey, usize> = BTreeMap::new();
    for item in items {
        let key = (
            item.source_region.clone(),
            item.source_snapshot_id.clone(),
            item.destination.clone(),
        );
        if let Some((account, replica_id, already)) = share_of(&item.action) {
            let i = match (index.get(&key), replica_id) {
                (Some(&i), _) => i,
                // An older replica retention keeps: nothing to copy, only to
                // share; its report lines are its shares'.
                (None, Some(replica_id)) => {
                    index.insert(key, targets.len());
                    let status = Status::Done {
                        replica_id: replica_id.clone(),
                    };
                    targets.push(Target {
                        item: item.clone(),
                        status,
                        sent_by_us: false,
                        was_up_to_date: true,
                        share_only: true,
                        shares: BTreeMap::new(),
                    });
                    targets.len() - 1
                }
                (None, None) => continue,
            };
            let known = targets[i].shares.entry(account.clone()).or_default();
            *known |= already;
            continue;
        }
        let status = match &item.action {
            PlanAction::Copy => Status::Pending { tries: 0 },
            PlanAction::Adopt {
                replica_id: Some(id),
                percent,
            } => Status::Copying {
                replica_id: id.clone(),
                percent: *percent,
                misses: 0,
            },
            PlanAction::Adopt {
                replica_id: None, ..
            } => Status::Busy {
                since: Instant::now(),
            },
            PlanAction::UpToDate { replica_id } => Status::Done {
                replica_id: replica_id.clone(),
            },
            // Taken above.
            PlanAction::Share { .. } | PlanAction::Shared { .. } => continue,
            PlanAction::NoSnapshot | PlanAction::NotShareable | PlanAction::Unavailable { .. } => {
                settled.push(settled_report(item));
                continue;
            }
            // Pruning (and ending shares first) is decided after the copies, from a
            // fresh look.
            PlanAction::Prune { .. } | PlanAction::Unshare { .. } => continue,
        };
        if index.contains_key(&key) {
            continue;
        }
        index.insert(key, targets.len());
        let was_up_to_date = matches!(status, Status::Done { .. });
        targets.push(Target {
            item,
            status,
            sent_by_us: false,
            was_up_to_date,
            share_only: false,
            shares: BTreeMap::new(),
        });
    }
    (targets, settled)
}

/// A share item's account, replica (when it exists) and whether it is shared already.
fn share_of(action: &PlanAction) -> Option<(&String, Option<&String>, bool)> {
    match action {
        PlanAction::Share {
            account,
            replica_id,
        } => Some((account, replica_id.as_ref(), false)),
        PlanAction::Shared {
            account,
            replica_id,
        } => Some((account, Some(replica_id), true)),
        _ => None,
    }
}

pub(super) fn target_report(target: &Target) -> ReportItem {
    let (replica_id, state, outcome, failure) = match &target.status {
        Status::Done { replica_id } => (
            Some(replica_id.clone()),
            Some("NORMAL".to_owned()),
            if target.was_up_to_date {
                Outcome::UpToDate
            } else if target.sent_by_us {
                Outcome::Copied
            } else {
                Outcome::Adopted
            },
            None,
        ),
        Status::Failed(failure) => (None, None, Outcome::Failed, Some(failure.clone())),
        Status::Copying {
            replica_id,
            percent,
            ..
        } => (
            Some(replica_id.clone()),
            Some(format!("COPYING_FROM_REMOTE ({percent}%)")),
            Outcome::Incomplete,
            Some(ItemFailure::new(
                "Timeout",
                "still copying when the run's deadline came; a later run adopts it",
            )),
        ),
        Status::Busy { .. } | Status::Unknown { .. } | Status::Pending { .. } => (
            None,
            None,
            Outcome::Incomplete,
            Some(ItemFailure::new(
                "Timeout",
                "whether a copy is in flight was still unknown when the run stopped; a later run finds out",
            )),
        ),
    };
    ReportItem {
        rule: target.item.rule.clone(),
        disk_id: target.item.disk_id.clone(),
        source_region: target.item.source_region.clone(),
        source_snapshot_id: target.item.source_snapshot_id.clone(),
        destination: target.item.destination.clone(),
        replica_id,
        state,
        size_gb: target.item.size_gb,
        outcome,
        copy_started: target.sent_by_us,
        account: None,
        failure,
    }
}

#[allow(dead_code)]
fn _assert_send(replication: &Replication) {
    fn send<T: Send>(_: T) {}
    send(replication.apply());
}
