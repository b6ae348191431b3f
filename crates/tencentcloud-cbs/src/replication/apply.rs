//! Carrying a plan out, exactly once.
//!
//! Each (source snapshot, destination) is a target with a status. Copies start grouped
//! by source snapshot (one call carrying every destination that has room under the
//! in-flight cap); copies in flight are polled in batches, one `DescribeSnapshots` per
//! destination per round for up to 100 replicas. A copy whose answer was lost, or that
//! the service refused as already in flight, is never sent again on a guess: the
//! regions are asked (the replica's name in the destination, `CopyingToRegions` on the
//! source) and the target goes on from what they say. When nothing is left in flight
//! the regions are listed once more; that final look decides what converged and what
//! retention prunes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use cbs_model::{ErrorCode, Filter, RegionCopy, SnapshotState};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::observe::{self, ReplicaState};
use super::plan::{PlanAction, PlanItem};
use super::{Replication, ReplicationEvent};
use crate::{Client, Error};

/// Copy calls under way at once; the client's rate limit paces them.
const CONCURRENT_COPY_CALLS: usize = 32;
/// Names per `snapshot-name` filter when looking replicas up by name.
const NAMES_PER_FILTER: usize = 5;
/// Polls a replica may be missing from its region's answer before it is looked up
/// again by name (a new copy can take a moment to be listed).
const MISSES_BEFORE_LOOKUP: u32 = 3;
/// Times a copy refused without running (throttled, say) is tried again in one run.
const RETRIES_WHEN_NOT_RUN: u32 = 3;
/// Consecutive rounds in which every poll failed before the run gives up waiting.
const FAILED_ROUNDS_BEFORE_GIVING_UP: u32 = 5;

/// What happened to one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// This run started the copy and it is `NORMAL`.
    Copied,
    /// A copy already in flight (or one the service said was) finished; none was sent.
    Adopted,
    /// The replica was there before the run.
    UpToDate,
    /// The replica was deleted by retention.
    Pruned,
    /// Retention would delete the replica; pruning was not asked for.
    WouldPrune,
    /// The disk has no snapshot to replicate.
    NoSnapshot,
    /// It failed; see the item's failure.
    Failed,
    /// Still in flight when the run stopped waiting.
    Incomplete,
}

impl Outcome {
    /// `copied`, `adopted`, `up_to_date`, `pruned`, `would_prune`, `no_snapshot`,
    /// `failed`, `incomplete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Copied => "copied",
            Outcome::Adopted => "adopted",
            Outcome::UpToDate => "up_to_date",
            Outcome::Pruned => "pruned",
            Outcome::WouldPrune => "would_prune",
            Outcome::NoSnapshot => "no_snapshot",
            Outcome::Failed => "failed",
            Outcome::Incomplete => "incomplete",
        }
    }

    /// Whether the item ended as the policy wants.
    pub fn is_success(self) -> bool {
        matches!(
            self,
            Outcome::Copied
                | Outcome::Adopted
                | Outcome::UpToDate
                | Outcome::Pruned
                | Outcome::WouldPrune
        )
    }
}

/// Why an item failed, as the service said it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ItemFailure {
    /// The error code (`InsufficientSnapshotQuota`, …), or a code of this tool's
    /// (`Timeout`, `NoSnapshot`) where the service gave none.
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// The request id of the call that failed, when there was one.
    pub request_id: Option<String>,
}

impl ItemFailure {
    pub(crate) fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ItemFailure {
            code: code.into(),
            message: message.into(),
            request_id: None,
        }
    }

    pub(crate) fn of_error(error: &Error) -> Self {
        ItemFailure {
            code: error
                .code()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_else(|| "ClientError".to_owned()),
            message: error.to_string(),
            request_id: error.request_id().map(str::to_owned),
        }
    }
}

/// One line of a run's report.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReportItem {
    /// The rule.
    pub rule: String,
    /// The source disk.
    pub disk_id: String,
    /// The source region.
    pub source_region: String,
    /// The source snapshot.
    pub source_snapshot_id: Option<String>,
    /// The destination region.
    pub destination: Option<String>,
    /// The replica.
    pub replica_id: Option<String>,
    /// The replica's last known state (`NORMAL`, `COPYING_FROM_REMOTE`, …).
    pub state: Option<String>,
    /// The size in GB.
    pub size_gb: u64,
    /// What happened.
    pub outcome: Outcome,
    /// Why it failed.
    pub failure: Option<ItemFailure>,
}

/// What a run did, item by item.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Every item, in plan order.
    pub items: Vec<ReportItem>,
    /// Whether the final look at the regions found nothing left to copy or wait for.
    pub converged: bool,
}

impl Report {
    /// Items that ended as the policy wants.
    pub fn succeeded(&self) -> usize {
        self.items.iter().filter(|i| i.outcome.is_success()).count()
    }

    /// Items that did not.
    pub fn failed(&self) -> usize {
        self.items.len() - self.succeeded()
    }
}

/// Where one (source snapshot, destination) stands during a run.
#[derive(Clone, Debug)]
enum Status {
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
    fn is_final(&self) -> bool {
        matches!(self, Status::Done { .. } | Status::Failed(_))
    }

    fn occupies_a_slot(&self) -> bool {
        matches!(
            self,
            Status::Copying { .. } | Status::Busy { .. } | Status::Unknown { .. }
        )
    }
}

struct Target {
    item: PlanItem,
    status: Status,
    /// Whether this run sent the copy (else it adopted one).
    sent_by_us: bool,
    /// Whether it was there before the run.
    was_up_to_date: bool,
}

impl Target {
    fn destination(&self) -> &str {
        self.item.destination.as_deref().unwrap_or_default()
    }

    fn source_id(&self) -> &str {
        self.item.source_snapshot_id.as_deref().unwrap_or_default()
    }

    fn name(&self) -> String {
        self.item
            .replica_name()
            .map(|n| n.to_string())
            .unwrap_or_default()
    }
}

impl Replication {
    /// Carries the policy out: copies what is missing, waits for every copy, then
    /// prunes (if asked) what retention lets go. Safe to run again at any moment, from
    /// any point of an earlier run: it starts from what the regions report.
    pub async fn apply(&self) -> Result<Report, Error> {
        let plan = self.plan().await?;
        self.emit(ReplicationEvent::Planned {
            totals: plan.totals(),
        });
        let mut targets = Vec::new();
        let mut no_snapshot = Vec::new();
        let mut seen = BTreeSet::new();
        for item in plan.into_items() {
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
                PlanAction::NoSnapshot => {
                    no_snapshot.push(item);
                    continue;
                }
                // Pruning is decided after the copies, from a fresh look.
                _ => continue,
            };
            // Two rules may want the same copy; it is one target.
            let key = (
                item.source_region.clone(),
                item.source_snapshot_id.clone(),
                item.destination.clone(),
            );
            if !seen.insert(key) {
                continue;
            }
            let was_up_to_date = matches!(status, Status::Done { .. });
            targets.push(Target {
                item,
                status,
                sent_by_us: false,
                was_up_to_date,
            });
        }

        self.converge(&mut targets).await;
        let mut report = Report {
            converged: false,
            items: targets.iter().map(target_report).collect(),
        };
        drop(targets);

        // The final look: what converged, and what retention lets go.
        let (final_plan, _) = self.observe_and_plan().await?;
        report.converged = final_plan
            .items()
            .iter()
            .all(|i| !matches!(i.action, PlanAction::Copy | PlanAction::Adopt { .. }));
        for item in no_snapshot {
            report.items.push(ReportItem {
                rule: item.rule,
                disk_id: item.disk_id,
                source_region: item.source_region,
                source_snapshot_id: None,
                destination: None,
                replica_id: None,
                state: None,
                size_gb: 0,
                outcome: Outcome::NoSnapshot,
                failure: Some(ItemFailure::new(
                    "NoSnapshot",
                    "the disk has no NORMAL snapshot to replicate (within max_snapshot_age)",
                )),
            });
        }
        let prunes: Vec<&PlanItem> = final_plan
            .items()
            .iter()
            .filter(|i| matches!(i.action, PlanAction::Prune { .. }))
            .collect();
        report.items.extend(self.carry_out_prunes(&prunes).await);
        Ok(report)
    }

    /// Copies and waits until every target is final or the wait runs out.
    async fn converge(&self, targets: &mut [Target]) {
        let deadline = Instant::now() + self.max_wait;
        let mut interval = self.poll_min;
        let mut failed_rounds = 0;
        loop {
            self.start_copies(targets).await;
            self.report_progress(targets);
            if targets.iter().all(|t| t.status.is_final()) {
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            tokio::time::sleep(interval.min(deadline - now)).await;
            interval = (interval * 3 / 2).min(self.poll_max);
            let polled = self.poll(targets).await;
            let looked = self.look_up(targets, interval).await;
            if polled && looked {
                failed_rounds = 0;
            } else {
                failed_rounds += 1;
                if failed_rounds >= FAILED_ROUNDS_BEFORE_GIVING_UP {
                    break;
                }
            }
        }
        for target in targets.iter_mut().filter(|t| !t.status.is_final()) {
            if matches!(target.status, Status::Pending { .. }) {
                target.status = Status::Failed(ItemFailure::new(
                    "Timeout",
                    "the run stopped waiting before this copy could start",
                ));
            }
        }
    }

    /// Starts every pending copy that fits under the in-flight caps: one call per
    /// source snapshot for all of its destinations.
    async fn start_copies(&self, targets: &mut [Target]) {
        let cap = self.policy.max_in_flight_per_region() as usize;
        let mut in_flight: BTreeMap<String, usize> = BTreeMap::new();
        for target in targets.iter().filter(|t| t.status.occupies_a_slot()) {
            *in_flight
                .entry(target.destination().to_owned())
                .or_default() += 1;
        }
        // (source region, source snapshot) → target indexes, in plan order.
        let mut calls: Vec<((String, String), Vec<usize>)> = Vec::new();
        for (index, target) in targets.iter().enumerate() {
            if !matches!(target.status, Status::Pending { .. }) {
                continue;
            }
            let slots = in_flight
                .entry(target.destination().to_owned())
                .or_default();
            if *slots >= cap {
                continue;
            }
            *slots += 1;
            let key = (
                target.item.source_region.clone(),
                target.source_id().to_owned(),
            );
            match calls.iter_mut().find(|(k, _)| *k == key) {
                Some((_, indexes)) => indexes.push(index),
                None => calls.push((key, vec![index])),
            }
        }
        let mut running = JoinSet::new();
        let mut queue = calls.into_iter();
        loop {
            while running.len() < CONCURRENT_COPY_CALLS {
                let Some(((region, snapshot_id), indexes)) = queue.next() else {
                    break;
                };
                let destinations: Vec<String> = indexes
                    .iter()
                    .map(|&i| targets[i].destination().to_owned())
                    .collect();
                let name = targets[indexes[0]].name();
                let client = self.client.clone();
                self.emit(ReplicationEvent::CopyStarted {
                    source_snapshot_id: snapshot_id.clone(),
                    destinations: destinations.clone(),
                });
                running.spawn(async move {
                    let answer = copy(&client, &region, &snapshot_id, &destinations, &name).await;
                    (indexes, answer)
                });
            }
            let Some(done) = running.join_next().await else {
                break;
            };
            let (indexes, answer) = done.expect("copy tasks do not panic");
            for index in indexes {
                let target = &mut targets[index];
                let tries = match target.status {
                    Status::Pending { tries } => tries,
                    _ => 0,
                };
                target.status = copy_status(&answer, target.destination(), tries);
                if matches!(target.status, Status::Copying { .. }) {
                    target.sent_by_us = true;
                }
            }
        }
    }

    /// Polls the replicas being copied, one call per destination per 100 replicas.
    /// Returns whether every poll succeeded.
    async fn poll(&self, targets: &mut [Target]) -> bool {
        let mut by_region: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for target in targets.iter() {
            if let Status::Copying { replica_id, .. } = &target.status {
                by_region
                    .entry(target.destination().to_owned())
                    .or_default()
                    .push(replica_id.clone());
            }
        }
        let mut polls = JoinSet::new();
        for (region, ids) in by_region {
            let client = self.client.clone();
            polls.spawn(async move {
                let found = observe::describe_ids(&client, &region, &ids, |snapshot| {
                    let state = observe::replica_state(&snapshot);
                    Some((snapshot.snapshot_id?, state))
                })
                .await;
                (region, found)
            });
        }
        let mut seen: BTreeMap<(String, String), ReplicaState> = BTreeMap::new();
        let mut failed_regions = BTreeSet::new();
        while let Some(done) = polls.join_next().await {
            let (region, found) = done.expect("poll tasks do not panic");
            match found {
                Ok(states) => {
                    for (id, state) in states {
                        seen.insert((region.clone(), id), state);
                    }
                }
                Err(error) => {
                    // That region's replicas stay as they are until the next round.
                    tracing::warn!(region = %region, error = %error, "polling replicas failed; trying again next round");
                    failed_regions.insert(region);
                }
            }
        }
        for target in targets.iter_mut() {
            let Status::Copying {
                replica_id, misses, ..
            } = &target.status
            else {
                continue;
            };
            if failed_regions.contains(target.destination()) {
                continue;
            }
            let key = (target.destination().to_owned(), replica_id.clone());
            target.status = match seen.remove(&key) {
                Some(state) => match state {
                    ReplicaState::Normal => Status::Done {
                        replica_id: replica_id.clone(),
                    },
                    ReplicaState::Copying { percent } => Status::Copying {
                        replica_id: replica_id.clone(),
                        percent,
                        misses: 0,
                    },
                    ReplicaState::Other(state) => Status::Failed(ItemFailure::new(
                        "ReplicaFailed",
                        format!("the replica {replica_id} went to state {state}"),
                    )),
                },
                None if misses + 1 >= MISSES_BEFORE_LOOKUP => Status::Unknown {
                    since: Instant::now(),
                },
                None => Status::Copying {
                    replica_id: replica_id.clone(),
                    percent: 0,
                    misses: misses + 1,
                },
            };
        }
        failed_regions.is_empty()
    }

    /// Resolves targets whose copy may or may not be running, from what the regions
    /// report: the replica by name in the destination, `CopyingToRegions` on the
    /// source. Looks only once `settle` has passed since the doubt arose, so a copy
    /// just started has time to show. Returns whether every look succeeded.
    async fn look_up(&self, targets: &mut [Target], settle: Duration) -> bool {
        let now = Instant::now();
        let due: Vec<usize> = targets
            .iter()
            .enumerate()
            .filter(|(_, t)| match t.status {
                Status::Busy { since } | Status::Unknown { since } => now >= since + settle,
                _ => false,
            })
            .map(|(i, _)| i)
            .collect();
        if due.is_empty() {
            return true;
        }
        let mut names: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut sources: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for &i in &due {
            let target = &targets[i];
            names
                .entry(target.destination().to_owned())
                .or_default()
                .push(target.name());
            sources
                .entry(target.item.source_region.clone())
                .or_default()
                .push(target.source_id().to_owned());
        }
        let (found, copying) = match self.look(names, sources).await {
            Ok(looked) => looked,
            Err(error) => {
                tracing::warn!(error = %error, "looking up copies failed; trying again next round");
                return false;
            }
        };
        for i in due {
            let target = &mut targets[i];
            let name = target.name();
            let key = (target.destination().to_owned(), name);
            target.status = match found.get(&key) {
                Some((id, ReplicaState::Normal)) => Status::Done {
                    replica_id: id.clone(),
                },
                Some((id, ReplicaState::Copying { percent })) => Status::Copying {
                    replica_id: id.clone(),
                    percent: *percent,
                    misses: 0,
                },
                _ => match copying.get(&(
                    target.item.source_region.clone(),
                    target.source_id().to_owned(),
                )) {
                    None => Status::Failed(ItemFailure::new(
                        "SourceGone",
                        "the source snapshot is no longer NORMAL in its region",
                    )),
                    Some(regions) if regions.iter().any(|r| r == target.destination()) => {
                        Status::Busy { since: now }
                    }
                    // Nothing in flight and no replica: the copy did not happen.
                    Some(_) => Status::Pending { tries: 0 },
                },
            };
        }
        true
    }

    /// Replicas by name per destination, and `CopyingToRegions` per source snapshot.
    #[allow(clippy::type_complexity)]
    async fn look(
        &self,
        names: BTreeMap<String, Vec<String>>,
        sources: BTreeMap<String, Vec<String>>,
    ) -> Result<
        (
            BTreeMap<(String, String), (String, ReplicaState)>,
            BTreeMap<(String, String), Vec<String>>,
        ),
        Error,
    > {
        let mut found = BTreeMap::new();
        for (region, names) in names {
            for chunk in names.chunks(NAMES_PER_FILTER) {
                let mut items = self
                    .client
                    .describe_snapshots()
                    .region(region.clone())
                    .filters([Filter::new("snapshot-name", chunk.iter().cloned())])
                    .limit(observe::IDS_PER_CALL as u64)
                    .into_paginator()
                    .items();
                while let Some(snapshot) = items.next_item().await {
                    let snapshot = snapshot?;
                    let state = observe::replica_state(&snapshot);
                    if let (Some(id), Some(name)) = (snapshot.snapshot_id, snapshot.snapshot_name)
                        && !matches!(state, ReplicaState::Other(_))
                    {
                        found.entry((region.clone(), name)).or_insert((id, state));
                    }
                }
            }
        }
        let mut copying = BTreeMap::new();
        for (region, mut ids) in sources {
            ids.sort();
            ids.dedup();
            let normal = observe::describe_ids(&self.client, &region, &ids, |snapshot| {
                if snapshot.snapshot_state != Some(SnapshotState::Normal) {
                    return None;
                }
                Some((
                    snapshot.snapshot_id?,
                    snapshot.copying_to_regions.unwrap_or_default(),
                ))
            })
            .await?;
            for (id, regions) in normal {
                copying.insert((region.clone(), id), regions);
            }
        }
        Ok((found, copying))
    }

    /// Deletes what retention lets go, for rules that prune (or every rule when the
    /// run was told to); reports the rest as `WouldPrune`.
    async fn carry_out_prunes(&self, prunes: &[&PlanItem]) -> Vec<ReportItem> {
        let mut report = Vec::new();
        let mut deletions: BTreeMap<String, Vec<&PlanItem>> = BTreeMap::new();
        for &item in prunes {
            let rule_prunes = self
                .policy
                .rules()
                .iter()
                .any(|r| r.name == item.rule && r.prune);
            if self.prune || rule_prunes {
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
                let answer = self
                    .client
                    .delete_snapshots()
                    .region(region.clone())
                    .snapshot_ids(ids)
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
                    self.emit(ReplicationEvent::Finished(pruned.clone()));
                    report.push(pruned);
                }
            }
        }
        report
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
        failure,
    }
}

fn target_report(target: &Target) -> ReportItem {
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
                "still copying when the run stopped waiting; a later run adopts it",
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
        failure,
    }
}

/// One copy call.
async fn copy(
    client: &Client,
    region: &str,
    snapshot_id: &str,
    destinations: &[String],
    name: &str,
) -> Result<cbs_model::CopySnapshotCrossRegionsResponse, Error> {
    client
        .copy_snapshot_cross_regions()
        .region(region)
        .snapshot_id(snapshot_id)
        .destination_regions(destinations.iter().cloned())
        .snapshot_name(name)
        .send()
        .await
}

/// A target's status after its copy call answered (or did not).
fn copy_status(
    answer: &Result<cbs_model::CopySnapshotCrossRegionsResponse, Error>,
    destination: &str,
    tries: u32,
) -> Status {
    match answer {
        Ok(response) => {
            let copies = response.region_copies();
            match copies.iter().find(|c| c.region() == destination) {
                Some(RegionCopy::Started { snapshot_id, .. }) => Status::Copying {
                    replica_id: snapshot_id.clone(),
                    percent: 0,
                    misses: 0,
                },
                Some(RegionCopy::Refused { code, .. })
                    if *code == ErrorCode::ResourceInUseCopySnapshotConflict =>
                {
                    // Already in flight: adopt it, never send another.
                    Status::Busy {
                        since: Instant::now(),
                    }
                }
                Some(RegionCopy::Refused { code, message, .. }) => Status::Failed(ItemFailure {
                    code: code.as_str().to_owned(),
                    message: message.clone(),
                    request_id: Some(response.request_id.clone()),
                }),
                // Left out of the answer: it may have started.
                _ => Status::Unknown {
                    since: Instant::now(),
                },
            }
        }
        Err(error) if error.may_have_executed() => Status::Unknown {
            since: Instant::now(),
        },
        Err(error) if error.is_retryable() && tries + 1 < RETRIES_WHEN_NOT_RUN => {
            Status::Pending { tries: tries + 1 }
        }
        Err(error) => Status::Failed(ItemFailure::of_error(error)),
    }
}

#[allow(dead_code)]
fn _assert_send(replication: &Replication) {
    fn send<T: Send>(_: T) {}
    send(replication.apply());
}
