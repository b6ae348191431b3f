//! The state of an apply: one target per (source snapshot, destination) with where it
//! stands, and what the run has learnt about each destination. The phases (`start`,
//! `wait`, `share`) are functions over it; `apply` builds it from a plan
//! ([`ApplyState::of_plan`]) and reads the report off it ([`target_report`]).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::time::Instant;

use crate::plan::{PlanAction, PlanItem};
use crate::report::{ItemFailure, Outcome, ReportItem};

/// Consecutive rounds in which a region's polls failed before its targets are given
/// up on (the copies go on in the service; the next run adopts them).
const FAILED_ROUNDS_BEFORE_GIVING_UP: u32 = 5;

/// Where one (source snapshot, destination) stands during a run.
#[derive(Clone, Debug)]
pub(crate) enum Status {
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
    pub(crate) fn is_final(&self) -> bool {
        matches!(self, Status::Done { .. } | Status::Failed(_))
    }

    pub(crate) fn occupies_a_slot(&self) -> bool {
        matches!(
            self,
            Status::Copying { .. } | Status::Busy { .. } | Status::Unknown { .. }
        )
    }
}

#[derive(Debug)]
pub(crate) struct Target {
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
    /// When the destination was last looked at for this replica: a copy is sent only
    /// on a look younger than [`ApplyState::fresh_for`] (or [`OVERLAP_FRESH_FOR`]).
    pub looked_at: Instant,
}

impl Target {
    pub(crate) fn destination(&self) -> &str {
        self.item.destination.as_deref().unwrap_or_default()
    }

    pub(crate) fn source_id(&self) -> &str {
        self.item.source_snapshot_id.as_deref().unwrap_or_default()
    }

    pub(crate) fn name(&self) -> String {
        self.item
            .replica_name()
            .map(|n| n.to_string())
            .unwrap_or_default()
    }
}

/// What a run has learnt about each destination: limits the service made known, and
/// regions that keep failing.
#[derive(Debug, Default)]
pub(crate) struct Regions {
    /// Copies that may be in flight to a region at once: the policy's cap, lowered
    /// when the service says it is busy.
    pub caps: BTreeMap<String, usize>,
    /// Snapshots that still fit in a region, when its quota is known (given, or learnt
    /// from a refusal).
    pub room: BTreeMap<String, u64>,
    /// Snapshots a region held at the plan's look: what listing it again costs.
    pub held: BTreeMap<String, u64>,
    /// Consecutive failed rounds and the last failure, per region.
    failing: BTreeMap<String, (u32, ItemFailure)>,
}

impl Regions {
    /// Notes the outcome of one round of calls to some regions.
    pub(crate) fn round(
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
    pub(crate) fn given_up(&self, region: &str) -> Option<&ItemFailure> {
        self.failing
            .get(region)
            .filter(|(rounds, _)| *rounds >= FAILED_ROUNDS_BEFORE_GIVING_UP)
            .map(|(_, failure)| failure)
    }
}

/// Everything an apply works on between its phases.
#[derive(Debug)]
pub(crate) struct ApplyState {
    /// One per (source snapshot, destination), in plan order.
    pub targets: Vec<Target>,
    /// What the run has learnt about each destination.
    pub regions: Regions,
    /// How long a look at a destination vouches for "no replica there yet": an older
    /// one is made again before a copy is sent, so that a run overlapping this one
    /// (cron on another host, a run that took longer than its hour) and finishing
    /// the same copy meanwhile does not get a second one. Shorter than a copy takes.
    pub fresh_for: Duration,
    /// Whether another run is at work on the same copies (its copy in flight at the
    /// plan, or a copy refused as in flight): looks are then renewed far more often
    /// ([`OVERLAP_FRESH_FOR`]).
    pub overlap: bool,
}

/// How long a look vouches for a replica not being there while another run works on
/// the same copies: its copies may finish any moment.
pub(crate) const OVERLAP_FRESH_FOR: Duration = Duration::from_secs(2);

impl ApplyState {
    /// The state a plan's items start from, with what is known of the destinations
    /// (caps, room), and the report lines of the items with nothing to do (no
    /// snapshot, not shareable, unavailable).
    /// `looked_at`: when the look the plan was made from began.
    pub(crate) fn of_plan(
        items: Vec<PlanItem>,
        regions: Regions,
        looked_at: Instant,
        fresh_for: Duration,
    ) -> (ApplyState, Vec<ReportItem>) {
        let (targets, settled) = targets_of(items, looked_at);
        // A copy of ours in flight that this run did not send: another run's (or one
        // killed before it could wait).
        let overlap = targets
            .iter()
            .any(|t| matches!(t.status, Status::Copying { .. } | Status::Busy { .. }));
        let state = ApplyState {
            targets,
            regions,
            fresh_for,
            overlap,
        };
        (state, settled)
    }

    /// Whether every target is final.
    pub(crate) fn is_settled(&self) -> bool {
        self.targets.iter().all(|t| t.status.is_final())
    }

    /// Fails the targets whose destination or source region the run has given up on.
    pub(crate) fn give_up_failing_regions(&mut self) {
        for target in self.targets.iter_mut().filter(|t| !t.status.is_final()) {
            let failure = self
                .regions
                .given_up(target.destination())
                .or_else(|| self.regions.given_up(&target.item.source_region));
            if let Some(failure) = failure {
                target.status = Status::Failed(failure.clone());
            }
        }
    }

    /// Fails the targets whose copy never started (the deadline came first).
    pub(crate) fn fail_unstarted(&mut self) {
        for target in self.targets.iter_mut() {
            if matches!(target.status, Status::Pending { .. }) {
                target.status = Status::Failed(ItemFailure::new(
                    "Timeout",
                    "the run's deadline came before this copy could start",
                ));
            }
        }
    }

    /// Per destination: replicas done, items failed, copies in flight, items in all.
    pub(crate) fn progress(&self) -> BTreeMap<&str, Progress> {
        let mut per_region: BTreeMap<&str, Progress> = BTreeMap::new();
        for target in &self.targets {
            let entry = per_region.entry(target.destination()).or_default();
            entry.total += 1;
            match target.status {
                Status::Done { .. } => entry.done += 1,
                Status::Failed(_) => entry.failed += 1,
                Status::Copying { .. } | Status::Busy { .. } | Status::Unknown { .. } => {
                    entry.in_flight += 1
                }
                Status::Pending { .. } => {}
            }
        }
        per_region
    }
}

/// Where one destination stands, in counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Progress {
    pub done: usize,
    pub failed: usize,
    pub in_flight: usize,
    pub total: usize,
}

/// Identifies a target: source region, source snapshot, destination.
type TargetKey = (String, Option<String>, Option<String>);

/// The report of an item settled by the plan alone (no snapshot, no such disk, no disk
/// at all, a region unavailable, a disk whose replicas cannot be shared).
fn settled_report(item: PlanItem) -> ReportItem {
    let (outcome, failure) = match item.action {
        PlanAction::Unavailable { failure, .. } => (Outcome::Failed, Some(failure)),
        PlanAction::NoSuchDisk => (
            Outcome::Failed,
            Some(ItemFailure::no_such_disk(
                &item.disk_id,
                &item.source_region,
            )),
        ),
        PlanAction::NoDisks => (Outcome::NoDisks, None),
        PlanAction::NotShareable => (
            Outcome::Failed,
            Some(ItemFailure::new(
                "NotShareable",
                "the disk is a system disk, whose snapshots cannot be shared: its replicas are kept but not shared",
            )),
        ),
        _ => (
            Outcome::NoSnapshot,
            Some(ItemFailure::new(
                "NoSnapshot",
                "the disk has no NORMAL snapshot to replicate (within max_snapshot_age)",
            )),
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
        tagged: false,
        warning: None,
        failure,
    }
}

/// The targets of a plan's items (one per source snapshot and destination, with the
/// shares its rules want), and the report lines of the items with nothing to do
/// (no snapshot, not shareable, unavailable).
fn targets_of(items: Vec<PlanItem>, looked_at: Instant) -> (Vec<Target>, Vec<ReportItem>) {
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
                        looked_at,
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
            PlanAction::NoSnapshot
            | PlanAction::NoSuchDisk
            | PlanAction::NoDisks
            | PlanAction::NotShareable
            | PlanAction::Unavailable { .. } => {
                settled.push(settled_report(item));
                continue;
            }
            // Pruning (and ending shares first) is decided after the copies, from a
            // fresh look; so is tagging what the copies did not make.
            PlanAction::Prune { .. } | PlanAction::Unshare { .. } | PlanAction::Tag { .. } => {
                continue;
            }
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
            looked_at,
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

pub(crate) fn target_report(target: &Target) -> ReportItem {
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
        tagged: false,
        warning: None,
        failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::item;

    fn failure(code: &str) -> ItemFailure {
        ItemFailure::new(code, "scripted")
    }

    #[test]
    fn a_plan_becomes_one_target_per_copy_and_report_lines_for_the_rest() {
        let mut other_rule = item("a", "ap-beijing", PlanAction::Copy);
        other_rule.rule = "other".into();
        let mut other_share = item(
            "a",
            "ap-beijing",
            PlanAction::Share {
                replica_id: None,
                account: "200".into(),
            },
        );
        other_share.rule = "other".into();
        let items = vec![
            item("a", "ap-beijing", PlanAction::Copy),
            item(
                "a",
                "ap-beijing",
                PlanAction::Share {
                    replica_id: None,
                    account: "100".into(),
                },
            ),
            // A second rule wanting the same copy: the same target, its shares added.
            other_rule,
            other_share,
            item(
                "b",
                "ap-beijing",
                PlanAction::Adopt {
                    replica_id: Some("snap-rb".into()),
                    percent: 40,
                },
            ),
            item(
                "c",
                "ap-beijing",
                PlanAction::Adopt {
                    replica_id: None,
                    percent: 0,
                },
            ),
            item(
                "d",
                "ap-beijing",
                PlanAction::UpToDate {
                    replica_id: "snap-rd".into(),
                },
            ),
            item("e", "ap-beijing", PlanAction::NoSnapshot),
            item(
                "f",
                "ap-beijing",
                PlanAction::Unavailable {
                    region: "ap-beijing".into(),
                    failure: failure("AuthFailure.UnauthorizedOperation"),
                },
            ),
            // An older replica retention keeps, shared already: only its share line.
            item(
                "g",
                "ap-beijing",
                PlanAction::Shared {
                    replica_id: "snap-rg".into(),
                    account: "100".into(),
                },
            ),
            // Pruning is decided after the copies, from a fresh look.
            item(
                "h",
                "ap-beijing",
                PlanAction::Prune {
                    replica_id: "snap-rh".into(),
                    reason: crate::plan::PruneReason::BeyondKeep,
                },
            ),
        ];
        let (state, settled) = crate::testing::of_plan(items, Regions::default());
        let shown: Vec<(&str, &str)> = state
            .targets
            .iter()
            .map(|t| {
                let status = match &t.status {
                    Status::Pending { tries: 0 } => "pending",
                    Status::Copying {
                        replica_id,
                        percent: 40,
                        ..
                    } if replica_id == "snap-rb" => "copying",
                    Status::Busy { .. } => "busy",
                    Status::Done { replica_id } if t.share_only => {
                        assert_eq!(replica_id, "snap-rg");
                        "share only"
                    }
                    Status::Done { .. } if t.was_up_to_date => "up to date",
                    other => panic!("{other:?}"),
                };
                (t.item.disk_id.as_str(), status)
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("disk-a", "pending"),
                ("disk-b", "copying"),
                ("disk-c", "busy"),
                ("disk-d", "up to date"),
                ("disk-g", "share only"),
            ]
        );
        let shares = |i: usize| -> Vec<(&str, bool)> {
            state.targets[i]
                .shares
                .iter()
                .map(|(a, s)| (a.as_str(), *s))
                .collect()
        };
        assert_eq!(shares(0), [("100", false), ("200", false)]);
        assert_eq!(shares(4), [("100", true)]);
        let settled: Vec<(&str, Outcome, &str)> = settled
            .iter()
            .map(|r| {
                let code = r.failure.as_ref().map(|f| f.code.as_str()).unwrap_or("");
                (r.disk_id.as_str(), r.outcome, code)
            })
            .collect();
        assert_eq!(
            settled,
            [
                ("disk-e", Outcome::NoSnapshot, "NoSnapshot"),
                (
                    "disk-f",
                    Outcome::Failed,
                    "AuthFailure.UnauthorizedOperation"
                ),
            ]
        );
        // Nothing was sent by this run: no line claims a copy.
        assert!(state.targets.iter().all(|t| !t.sent_by_us));
    }

    #[test]
    fn a_region_is_given_up_after_failed_rounds_in_a_row_and_forgiven_by_a_good_one() {
        let asked: BTreeSet<String> = ["ap-beijing".to_owned()].into();
        let failed = || BTreeMap::from([("ap-beijing".to_owned(), failure("InternalError"))]);
        let mut regions = Regions::default();
        for _ in 1..FAILED_ROUNDS_BEFORE_GIVING_UP {
            regions.round(&asked, failed());
        }
        assert!(regions.given_up("ap-beijing").is_none());
        regions.round(&asked, BTreeMap::new());
        for _ in 1..FAILED_ROUNDS_BEFORE_GIVING_UP {
            regions.round(&asked, failed());
        }
        assert!(
            regions.given_up("ap-beijing").is_none(),
            "a good round resets"
        );
        regions.round(&asked, failed());
        assert_eq!(
            regions.given_up("ap-beijing").unwrap().code,
            "InternalError"
        );

        let (mut state, _) = crate::testing::of_plan(
            vec![
                item("a", "ap-beijing", PlanAction::Copy),
                item("b", "ap-shanghai", PlanAction::Copy),
            ],
            regions,
        );
        state.give_up_failing_regions();
        assert!(matches!(&state.targets[0].status, Status::Failed(f) if f.code == "InternalError"));
        assert!(matches!(state.targets[1].status, Status::Pending { .. }));
        let progress = state.progress();
        assert_eq!(
            (progress["ap-beijing"].failed, progress["ap-shanghai"].total),
            (1, 1)
        );
        state.fail_unstarted();
        assert!(state.is_settled());
        let report = target_report(&state.targets[1]);
        assert_eq!(
            (report.outcome, report.failure.unwrap().code.as_str()),
            (Outcome::Failed, "Timeout")
        );
    }

    #[test]
    fn a_targets_report_says_who_made_the_replica() {
        let (mut state, _) = crate::testing::of_plan(
            vec![
                item("a", "ap-beijing", PlanAction::Copy),
                item("b", "ap-beijing", PlanAction::Copy),
                item("c", "ap-beijing", PlanAction::Copy),
            ],
            Regions::default(),
        );
        let done = || Status::Done {
            replica_id: "snap-r".into(),
        };
        state.targets[0].sent_by_us = true;
        state.targets[0].status = done();
        state.targets[1].status = done();
        state.targets[2].status = Status::Copying {
            replica_id: "snap-rc".into(),
            percent: 70,
            misses: 0,
        };
        let outcomes: Vec<Outcome> = state
            .targets
            .iter()
            .map(|t| target_report(t).outcome)
            .collect();
        assert_eq!(
            outcomes,
            [Outcome::Copied, Outcome::Adopted, Outcome::Incomplete]
        );
        assert_eq!(
            target_report(&state.targets[2]).state.as_deref(),
            Some("COPYING_FROM_REMOTE (70%)")
        );
    }
}
