//! From what the regions report to what to do: [`plan`] is a pure function, so a plan
//! can be shown without side effects and re-made at any moment from a fresh look
//! ([`look_and_plan`]).

use std::collections::{BTreeMap, BTreeSet};

use crate::inventory::Book;
use crate::name::ReplicaName;
use crate::observe::{self, Observation, Replica, ReplicaState, SourceSnapshot};
use crate::policy::{Policy, Rule, Selection};
use crate::report::{ItemFailure, PlanTotals};
use crate::run::Run;

/// What to do about one source snapshot in one destination, or one replica.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanAction {
    /// Start a copy.
    Copy,
    /// A copy is already in flight: wait for it instead of starting another. The
    /// replica id is known when the copy is this tool's (found by name); `None` when
    /// the source reports a copy to the destination (`CopyingToRegions`) that is not
    /// visible there yet, or was started by someone else.
    Adopt {
        /// The replica being copied, when known.
        replica_id: Option<String>,
        /// How far it is, in percent.
        percent: u64,
    },
    /// A `NORMAL` replica exists.
    UpToDate {
        /// The replica.
        replica_id: String,
    },
    /// One of this tool's replicas that retention no longer keeps.
    Prune {
        /// The replica.
        replica_id: String,
        /// Why.
        reason: PruneReason,
    },
    /// The disk has no `NORMAL` snapshot (within `max_snapshot_age`) to replicate.
    NoSnapshot,
    /// The rule names the disk by id, but the source region has no such disk.
    NoSuchDisk,
    /// The rule selects no disk at all (a pattern that matches none): nothing to
    /// replicate, which is worth a warning. One item per rule (its `disk_id` is `*`).
    NoDisks,
    /// Share the replica with an account of the rule's `share_with` once it is
    /// `NORMAL` (it is not known to be shared with it).
    Share {
        /// The replica, when it exists already (else the copy this plan starts).
        replica_id: Option<String>,
        /// The account.
        account: String,
    },
    /// The replica is shared with the account already.
    Shared {
        /// The replica.
        replica_id: String,
        /// The account.
        account: String,
    },
    /// End a replica's shares before it is pruned (the service refuses to delete a
    /// shared snapshot).
    Unshare {
        /// The replica.
        replica_id: String,
        /// The accounts it is shared with, when looked up (else: found out then).
        accounts: Vec<String>,
    },
    /// The rule shares replicas, but the disk is a system disk, whose snapshots
    /// cannot be shared: its replicas are made, not shared. One item per disk.
    NotShareable,
    /// Bind the tags a kept replica lacks: its lineage and inventory
    /// ([`Inventory`](crate::Inventory)) and the source's own tags.
    Tag {
        /// The replica.
        replica_id: String,
        /// How many tags it lacks (or carries with another value); which ones, `apply`
        /// works out when it binds them (a fleet's worth would not be held at once).
        missing: usize,
        /// Whether it lacks some of its lineage and inventory tags (not only the
        /// source's own).
        lacks_inventory: bool,
        /// What the replica cannot carry (a key of the source's that collides with
        /// ours, tags past the limit of 50), in words.
        problems: Vec<String>,
    },
    /// A region the item needs could not be listed (refused, unreachable): the item
    /// fails alone, every other region goes on. For the source region of a rule, one
    /// item stands for the whole rule (its `disk_id` is `*`).
    Unavailable {
        /// The region.
        region: String,
        /// Why.
        failure: ItemFailure,
    },
}

impl PlanAction {
    /// The replica the action is about, when there is one (for a copy, none yet; for
    /// an adoption or a share, when it is known).
    pub fn replica_id(&self) -> Option<&str> {
        match self {
            PlanAction::Adopt { replica_id, .. } | PlanAction::Share { replica_id, .. } => {
                replica_id.as_deref()
            }
            PlanAction::UpToDate { replica_id }
            | PlanAction::Prune { replica_id, .. }
            | PlanAction::Shared { replica_id, .. }
            | PlanAction::Tag { replica_id, .. }
            | PlanAction::Unshare { replica_id, .. } => Some(replica_id),
            PlanAction::Copy
            | PlanAction::NoSnapshot
            | PlanAction::NoSuchDisk
            | PlanAction::NoDisks
            | PlanAction::NotShareable
            | PlanAction::Unavailable { .. } => None,
        }
    }

    /// A short lowercase name: `copy`, `adopt`, `up_to_date`, `prune`, `no_snapshot`,
    /// `no_such_disk`, `no_disks`, `share`, `shared`, `unshare`, `not_shareable`,
    /// `tag`, `unavailable`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PlanAction::Copy => "copy",
            PlanAction::Adopt { .. } => "adopt",
            PlanAction::UpToDate { .. } => "up_to_date",
            PlanAction::Prune { .. } => "prune",
            PlanAction::NoSnapshot => "no_snapshot",
            PlanAction::NoSuchDisk => "no_such_disk",
            PlanAction::NoDisks => "no_disks",
            PlanAction::Share { .. } => "share",
            PlanAction::Shared { .. } => "shared",
            PlanAction::Unshare { .. } => "unshare",
            PlanAction::NotShareable => "not_shareable",
            PlanAction::Tag { .. } => "tag",
            PlanAction::Unavailable { .. } => "unavailable",
        }
    }
}

/// Why a replica is pruned.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PruneReason {
    /// More replicas of the disk than `keep`; this is among the oldest.
    BeyondKeep,
    /// Its data is older than `max_replica_age`.
    TooOld,
    /// Another replica of the same source snapshot is kept.
    Duplicate,
}

impl PruneReason {
    /// `beyond_keep`, `too_old`, `duplicate`.
    pub fn as_str(self) -> &'static str {
        match self {
            PruneReason::BeyondKeep => "beyond_keep",
            PruneReason::TooOld => "too_old",
            PruneReason::Duplicate => "duplicate",
        }
    }
}

/// One line of a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlanItem {
    /// The rule it comes from.
    pub rule: String,
    /// The source disk.
    pub disk_id: String,
    /// The source region.
    pub source_region: String,
    /// The source snapshot (for [`NoSnapshot`](PlanAction::NoSnapshot), none).
    pub source_snapshot_id: Option<String>,
    /// When the source snapshot was taken (Unix seconds).
    pub source_created_unix: Option<i64>,
    /// The destination region (for [`NoSnapshot`](PlanAction::NoSnapshot), none).
    pub destination: Option<String>,
    /// The snapshot's size in GB.
    pub size_gb: u64,
    /// What to do.
    pub action: PlanAction,
}

impl PlanItem {
    /// The name the replica has (or will have).
    pub fn replica_name(&self) -> Option<ReplicaName> {
        Some(ReplicaName::new(
            self.source_snapshot_id.clone()?,
            self.source_region.clone(),
            self.source_created_unix?,
        ))
    }
}

/// Where the snapshot quota of a destination comes from.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum QuotaSource {
    /// Given by the caller ([`Replication::snapshot_quota`](crate::Replication::snapshot_quota)).
    Given,
    /// Estimated with [`estimated_snapshot_quota`] from the region's disks: the API
    /// reports no snapshot-count quota, so the number may be off.
    Estimated,
}

/// The snapshot quota of a region with `disks` disks: 64 snapshots plus 64 per disk,
/// the per-account, per-region rule Tencent Cloud published when snapshots became billed
/// (2019). The API reports no such number (`DescribeSnapshotOverview` gives counts and
/// sizes, and its `FreeQuota` is free storage in GB, not a count) and accounts can have
/// theirs raised, so plans call it an estimate; the emulator applies the same rule by
/// default, and both take a given number instead.
pub fn estimated_snapshot_quota(disks: u64) -> u64 {
    64u64.saturating_add(64u64.saturating_mul(disks))
}

/// What a plan means for one destination: the copies it receives, what it holds, and
/// whether they fit.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DestinationPlan {
    /// The destination region.
    pub region: String,
    /// Copies to start there.
    pub copies: usize,
    /// GB those copies carry across regions (billed as traffic).
    pub transfer_gb: u64,
    /// Snapshots the region holds now, anyone's (`None`: it could not be listed).
    pub held_snapshots: Option<u64>,
    /// Its snapshot quota, when given or estimated.
    pub snapshot_quota: Option<u64>,
    /// Where the quota comes from.
    pub quota_source: Option<QuotaSource>,
    /// GB of this tool's replicas there once the copies land and retention prunes.
    pub replica_gb_after: u64,
    /// Why the region could not be listed.
    pub unavailable: Option<ItemFailure>,
    /// Tags to bind there: those kept replicas lack, and those the new copies will
    /// carry.
    pub tags_to_add: u64,
    /// Kept replicas there that lack some of their lineage and inventory tags.
    pub untagged: usize,
}

impl DestinationPlan {
    /// Snapshots that still fit under the quota, when both are known.
    pub fn room(&self) -> Option<u64> {
        Some(self.snapshot_quota?.saturating_sub(self.held_snapshots?))
    }

    /// Copies that will not fit: how far the quota runs out (0 when it does not, or
    /// is not known).
    pub fn shortfall(&self) -> u64 {
        self.room()
            .map(|room| (self.copies as u64).saturating_sub(room))
            .unwrap_or(0)
    }
}

/// Everything to do, in a stable order (rule, disk, source snapshot, destination).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    items: Vec<PlanItem>,
    destinations: Vec<DestinationPlan>,
}

impl Plan {
    /// The items.
    pub fn items(&self) -> &[PlanItem] {
        &self.items
    }

    /// Per destination, sorted by region: transfer, holdings, quota.
    pub fn destinations(&self) -> &[DestinationPlan] {
        &self.destinations
    }

    /// The items, by value.
    pub fn into_items(self) -> Vec<PlanItem> {
        self.items
    }

    /// Whether there is nothing to copy, wait for, share or prune, and nothing wrong.
    pub fn is_converged(&self) -> bool {
        self.items.iter().all(|i| {
            matches!(
                i.action,
                PlanAction::UpToDate { .. } | PlanAction::Shared { .. }
            )
        })
    }

    /// Counts and sizes.
    pub fn totals(&self) -> PlanTotals {
        let mut t = PlanTotals::default();
        for item in &self.items {
            match item.action {
                PlanAction::Copy => {
                    t.copies += 1;
                    t.copy_gb = t.copy_gb.saturating_add(item.size_gb);
                }
                PlanAction::Adopt { .. } => t.in_flight += 1,
                PlanAction::UpToDate { .. } => t.up_to_date += 1,
                PlanAction::Prune { .. } => {
                    t.prunes += 1;
                    t.prune_gb = t.prune_gb.saturating_add(item.size_gb);
                }
                PlanAction::NoSnapshot => t.no_snapshot += 1,
                PlanAction::NoSuchDisk => t.no_such_disk += 1,
                PlanAction::NoDisks => t.no_disks += 1,
                PlanAction::Share { .. } => t.shares += 1,
                PlanAction::Shared { .. } => t.shared += 1,
                PlanAction::Unshare { .. } => t.unshares += 1,
                PlanAction::NotShareable => t.not_shareable += 1,
                PlanAction::Unavailable { .. } => t.unavailable += 1,
                PlanAction::Tag { .. } => t.to_tag += 1,
            }
        }
        t
    }
}

/// The source snapshots a rule keeps replicated for one disk, newest first.
pub(crate) fn wanted<'o>(
    rule: &Rule,
    snapshots: &'o [SourceSnapshot],
    disk_id: &str,
    now: i64,
) -> Vec<&'o SourceSnapshot> {
    let fresh = |s: &&SourceSnapshot| {
        rule.max_snapshot_age
            .is_none_or(|age| now - s.created <= age.as_secs() as i64)
    };
    let mut of_disk = snapshots
        .iter()
        .filter(|s| s.disk_id == disk_id)
        .filter(fresh);
    match rule.snapshots {
        Selection::Latest => of_disk.next().into_iter().collect(),
        Selection::All => of_disk
            .take(rule.keep as usize)
            .enumerate()
            // Copying what retention would prune at once is waste; the newest stays.
            .filter(|(i, s)| *i == 0 || !too_old(rule, s.created, now))
            .map(|(_, s)| s)
            .collect(),
    }
}

fn too_old(rule: &Rule, created: i64, now: i64) -> bool {
    rule.max_replica_age
        .is_some_and(|age| now - created > age.as_secs() as i64)
}

/// A look at every region the policy touches (share permissions included; the
/// destinations' disks counted when the quota is not given), and the plan from it.
pub(crate) async fn look_and_plan(run: &Run, policy: &Policy, quota: Option<u64>) -> Plan {
    let look = observe::Look {
        count_disks: quota.is_none(),
        shares: true,
    };
    let observation = observe::observe(run, policy, look).await;
    plan(policy, &observation, run.now_unix(), quota)
}

/// The plan for `policy` given what the regions report, at `now` (Unix seconds);
/// `quota`: the destinations' snapshot quota when the caller knows it.
pub(crate) fn plan(
    policy: &Policy,
    observation: &Observation,
    now: i64,
    quota: Option<u64>,
) -> Plan {
    let mut items = Vec::new();
    // Rules may overlap (two select one disk into one destination): a replica any of
    // them keeps is kept, a copy they both want is made once (under the first rule),
    // and a replica is pruned once.
    let kept = kept_by_any_rule(policy, observation, now);
    let mut planned: BTreeSet<(&str, &str, &str)> = BTreeSet::new();
    let mut pruned: BTreeSet<&str> = BTreeSet::new();
    let book = Book::of(observation);
    let mut tagged: BTreeSet<&str> = BTreeSet::new();
    // Tags the new copies will carry, per destination.
    let mut future_tags: BTreeMap<&str, u64> = BTreeMap::new();
    for (rule, sources) in policy.rules().iter().zip(&observation.rules) {
        if let Some(failure) = observation.unavailable.get(&rule.source_region) {
            items.push(PlanItem {
                rule: rule.name.clone(),
                disk_id: "*".to_owned(),
                source_region: rule.source_region.clone(),
                source_snapshot_id: None,
                source_created_unix: None,
                destination: None,
                size_gb: 0,
                action: PlanAction::Unavailable {
                    region: rule.source_region.clone(),
                    failure: failure.clone(),
                },
            });
            continue;
        }
        let settled = |disk_id: &str, action| PlanItem {
            rule: rule.name.clone(),
            disk_id: disk_id.to_owned(),
            source_region: rule.source_region.clone(),
            source_snapshot_id: None,
            source_created_unix: None,
            destination: None,
            size_gb: 0,
            action,
        };
        for disk_id in &sources.missing {
            items.push(settled(disk_id, PlanAction::NoSuchDisk));
        }
        if sources.disks.is_empty() && sources.missing.is_empty() {
            items.push(settled("*", PlanAction::NoDisks));
        }
        for disk_id in &sources.disks {
            let item = |snapshot: Option<&SourceSnapshot>,
                        destination: Option<&str>,
                        size_gb,
                        action| PlanItem {
                rule: rule.name.clone(),
                disk_id: disk_id.clone(),
                source_region: rule.source_region.clone(),
                source_snapshot_id: snapshot.map(|s| s.id.clone()),
                source_created_unix: snapshot.map(|s| s.created),
                destination: destination.map(str::to_owned),
                size_gb,
                action,
            };
            let wanted = wanted(rule, &sources.snapshots, disk_id, now);
            if wanted.is_empty() {
                items.push(item(None, None, 0, PlanAction::NoSnapshot));
            }
            let shares = !rule.share_with.is_empty();
            let shareable = !wanted.iter().any(|s| s.system_disk);
            if shares && !shareable {
                items.push(item(None, None, 0, PlanAction::NotShareable));
            }
            for destination in &rule.destinations {
                if let Some(failure) = observation.unavailable.get(destination) {
                    for snapshot in &wanted {
                        let action = PlanAction::Unavailable {
                            region: destination.clone(),
                            failure: failure.clone(),
                        };
                        items.push(item(
                            Some(snapshot),
                            Some(destination),
                            snapshot.size_gb,
                            action,
                        ));
                    }
                    continue;
                }
                let replicas: Vec<&Replica> = observation
                    .replicas_of(rule, disk_id, destination)
                    .collect();
                for snapshot in &wanted {
                    let action = action_for(snapshot, destination, &replicas);
                    let sharing = if shares && shareable {
                        share_actions(rule, &action, &replicas)
                    } else {
                        Vec::new()
                    };
                    let key = (
                        rule.source_region.as_str(),
                        snapshot.id.as_str(),
                        destination.as_str(),
                    );
                    if planned.insert(key) {
                        if action == PlanAction::Copy {
                            let name = ReplicaName::new(
                                snapshot.id.clone(),
                                rule.source_region.clone(),
                                snapshot.created,
                            );
                            let count = book
                                .desired(&rule.name, disk_id, &name)
                                .map_or(0, |d| d.tags.len() as u64);
                            *future_tags.entry(destination.as_str()).or_default() += count;
                        }
                        items.push(item(
                            Some(snapshot),
                            Some(destination),
                            snapshot.size_gb,
                            action,
                        ));
                    }
                    for action in sharing {
                        items.push(item(Some(snapshot), Some(destination), 0, action));
                    }
                }
                let replica_item = |replica: &Replica, size_gb, action| PlanItem {
                    rule: rule.name.clone(),
                    disk_id: disk_id.clone(),
                    source_region: rule.source_region.clone(),
                    source_snapshot_id: Some(replica.name.source_snapshot_id.clone()),
                    source_created_unix: Some(replica.name.source_created_unix),
                    destination: Some(destination.clone()),
                    size_gb,
                    action,
                };
                let prunable: Vec<(&Replica, PruneReason)> =
                    prunable(rule, &replicas, &wanted, now)
                        .into_iter()
                        .filter(|(r, _)| !kept.contains(r.id.as_str()))
                        .collect();
                if shares && shareable {
                    // Older replicas retention keeps are restore points too: shared as
                    // well, not only the newest.
                    let kept_older = replicas.iter().filter(|r| {
                        r.state == ReplicaState::Normal
                            && !wanted.iter().any(|s| s.id == r.name.source_snapshot_id)
                            && !prunable.iter().any(|(p, _)| p.id == r.id)
                    });
                    for replica in kept_older {
                        let kept = PlanAction::UpToDate {
                            replica_id: replica.id.clone(),
                        };
                        for action in share_actions(rule, &kept, &replicas) {
                            items.push(replica_item(replica, 0, action));
                        }
                    }
                }
                // The kept replicas (and those in flight) carry their lineage,
                // inventory and the source's own tags: bind what they lack.
                for replica in &replicas {
                    let keeps = !matches!(replica.state, ReplicaState::Other(_))
                        && !prunable.iter().any(|(p, _)| p.id == replica.id);
                    let Some(desired) = book.desired(&rule.name, disk_id, &replica.name) else {
                        continue;
                    };
                    let missing = desired.missing(replica);
                    if keeps && !missing.is_empty() && tagged.insert(replica.id.as_str()) {
                        let action = PlanAction::Tag {
                            replica_id: replica.id.clone(),
                            lacks_inventory: desired.lacks_inventory(replica),
                            missing: missing.len(),
                            problems: desired.problems,
                        };
                        items.push(replica_item(replica, 0, action));
                    }
                }
                for (replica, reason) in prunable {
                    if !pruned.insert(replica.id.as_str()) {
                        continue;
                    }
                    if replica.may_be_shared() {
                        items.push(replica_item(
                            replica,
                            0,
                            PlanAction::Unshare {
                                replica_id: replica.id.clone(),
                                accounts: replica.shared_with.iter().flatten().cloned().collect(),
                            },
                        ));
                    }
                    items.push(replica_item(
                        replica,
                        replica.size_gb,
                        PlanAction::Prune {
                            replica_id: replica.id.clone(),
                            reason,
                        },
                    ));
                }
            }
        }
    }
    let destinations = destination_plans(policy, observation, &items, quota, &future_tags);
    Plan {
        items,
        destinations,
    }
}

/// The replicas some rule keeps: `NORMAL` ones of its disks in its destinations that
/// its retention does not let go.
fn kept_by_any_rule<'o>(
    policy: &Policy,
    observation: &'o Observation,
    now: i64,
) -> BTreeSet<&'o str> {
    let mut kept = BTreeSet::new();
    for (rule, sources) in policy.rules().iter().zip(&observation.rules) {
        for disk_id in &sources.disks {
            let wanted = wanted(rule, &sources.snapshots, disk_id, now);
            for destination in &rule.destinations {
                let replicas: Vec<&Replica> = observation
                    .replicas_of(rule, disk_id, destination)
                    .collect();
                let prunable = prunable(rule, &replicas, &wanted, now);
                kept.extend(
                    replicas
                        .iter()
                        .filter(|r| r.state == ReplicaState::Normal)
                        .filter(|r| !prunable.iter().any(|(p, _)| p.id == r.id))
                        .map(|r| r.id.as_str()),
                );
            }
        }
    }
    kept
}

/// Copy, adopt or nothing, for one wanted snapshot in one destination.
fn action_for(snapshot: &SourceSnapshot, destination: &str, replicas: &[&Replica]) -> PlanAction {
    let ours = |state: fn(&ReplicaState) -> bool| {
        replicas
            .iter()
            .filter(|r| r.name.source_snapshot_id == snapshot.id && state(&r.state))
            .min_by(|a, b| a.keep_order().cmp(&b.keep_order()))
    };
    if let Some(ready) = ours(|s| *s == ReplicaState::Normal) {
        PlanAction::UpToDate {
            replica_id: ready.id.clone(),
        }
    } else if let Some(copying) = ours(|s| matches!(s, ReplicaState::Copying { .. })) {
        let percent = match copying.state {
            ReplicaState::Copying { percent } => percent,
            _ => 0,
        };
        PlanAction::Adopt {
            replica_id: Some(copying.id.clone()),
            percent,
        }
    } else if snapshot.copying_to.iter().any(|r| r == destination) {
        PlanAction::Adopt {
            replica_id: None,
            percent: 0,
        }
    } else {
        PlanAction::Copy
    }
}

/// The shares a wanted replica needs, per account of the rule: made already, or to
/// make (when not known to be made, the share phase looks before sharing).
fn share_actions(rule: &Rule, action: &PlanAction, replicas: &[&Replica]) -> Vec<PlanAction> {
    let (replica_id, replica) = match action {
        PlanAction::UpToDate { replica_id } => (
            Some(replica_id.clone()),
            replicas.iter().find(|r| r.id == *replica_id),
        ),
        PlanAction::Adopt { replica_id, .. } => (replica_id.clone(), None),
        PlanAction::Copy => (None, None),
        _ => return Vec::new(),
    };
    rule.share_with
        .iter()
        .map(
            |account| match (&replica_id, replica.and_then(|r| r.is_shared_with(account))) {
                (Some(id), Some(true)) => PlanAction::Shared {
                    replica_id: id.clone(),
                    account: account.clone(),
                },
                _ => PlanAction::Share {
                    replica_id: replica_id.clone(),
                    account: account.clone(),
                },
            },
        )
        .collect()
}

/// Sizes come from the service: a sum saturates rather than wrap or panic.
fn total_gb(sizes: impl Iterator<Item = u64>) -> u64 {
    sizes.fold(0, u64::saturating_add)
}

/// Transfer, holdings and quota per destination.
fn destination_plans(
    policy: &Policy,
    observation: &Observation,
    items: &[PlanItem],
    quota: Option<u64>,
    future_tags: &BTreeMap<&str, u64>,
) -> Vec<DestinationPlan> {
    policy
        .destinations()
        .into_iter()
        .map(|region| {
            let here = || {
                items
                    .iter()
                    .filter(|i| i.destination.as_deref() == Some(region.as_str()))
            };
            let copies: Vec<&PlanItem> = here().filter(|i| i.action == PlanAction::Copy).collect();
            let prune_gb = total_gb(
                here()
                    .filter(|i| matches!(i.action, PlanAction::Prune { .. }))
                    .map(|i| i.size_gb),
            );
            let transfer_gb = total_gb(copies.iter().map(|i| i.size_gb));
            let held_gb = total_gb(
                observation
                    .replicas
                    .get(&region)
                    .into_iter()
                    .flatten()
                    .filter(|r| !matches!(r.state, ReplicaState::Other(_)))
                    .map(|r| r.size_gb),
            );
            let holdings = observation.holdings.get(&region);
            let (snapshot_quota, quota_source) = match (quota, holdings.and_then(|h| h.disks)) {
                (Some(q), _) => (Some(q), Some(QuotaSource::Given)),
                (None, Some(disks)) => (
                    Some(estimated_snapshot_quota(disks)),
                    Some(QuotaSource::Estimated),
                ),
                (None, None) => (None, None),
            };
            DestinationPlan {
                copies: copies.len(),
                transfer_gb,
                held_snapshots: holdings.map(|h| h.snapshots),
                snapshot_quota,
                quota_source,
                replica_gb_after: held_gb.saturating_add(transfer_gb).saturating_sub(prune_gb),
                unavailable: observation.unavailable.get(&region).cloned(),
                tags_to_add: here()
                    .map(|i| match &i.action {
                        PlanAction::Tag { missing, .. } => *missing as u64,
                        _ => 0,
                    })
                    .sum::<u64>()
                    + future_tags.get(region.as_str()).copied().unwrap_or(0),
                untagged: here()
                    .filter(|i| {
                        matches!(
                            i.action,
                            PlanAction::Tag {
                                lacks_inventory: true,
                                ..
                            }
                        )
                    })
                    .count(),
                region,
            }
        })
        .collect()
}

/// The replicas of one disk in one destination that retention lets go. Only `NORMAL`
/// replicas are ever pruned; the newest of them never; nor one whose source is wanted.
fn prunable<'o>(
    rule: &Rule,
    replicas: &[&'o Replica],
    wanted: &[&SourceSnapshot],
    now: i64,
) -> Vec<(&'o Replica, PruneReason)> {
    let mut by_source: BTreeMap<&str, Vec<&'o Replica>> = BTreeMap::new();
    for replica in replicas.iter().filter(|r| r.state == ReplicaState::Normal) {
        by_source
            .entry(replica.name.source_snapshot_id.as_str())
            .or_default()
            .push(replica);
    }
    let mut out = Vec::new();
    let mut kept: Vec<&'o Replica> = Vec::new();
    for (_, mut group) in by_source {
        group.sort_by(|a, b| a.keep_order().cmp(&b.keep_order()));
        kept.push(group[0]);
        out.extend(group[1..].iter().map(|r| (*r, PruneReason::Duplicate)));
    }
    // Newest data first; ties by id, so the choice is stable.
    kept.sort_by(|a, b| {
        b.name
            .source_created_unix
            .cmp(&a.name.source_created_unix)
            .then_with(|| a.id.cmp(&b.id))
    });
    for (i, replica) in kept.into_iter().enumerate() {
        if i == 0
            || wanted
                .iter()
                .any(|s| s.id == replica.name.source_snapshot_id)
        {
            continue;
        }
        if i >= rule.keep as usize {
            out.push((replica, PruneReason::BeyondKeep));
        } else if too_old(rule, replica.name.source_created_unix, now) {
            out.push((replica, PruneReason::TooOld));
        }
    }
    out.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::observe::RuleSources;

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_800_000_000;

    fn source(id: &str, disk: &str, age_days: i64) -> SourceSnapshot {
        SourceSnapshot {
            id: id.into(),
            disk_id: disk.into(),
            created: NOW - age_days * DAY,
            size_gb: 100,
            copying_to: Vec::new(),
            system_disk: false,
            tags: Vec::new(),
        }
    }

    fn replica(id: &str, of: &SourceSnapshot, state: ReplicaState) -> Replica {
        Replica {
            id: id.into(),
            region: "ap-beijing".into(),
            name: ReplicaName::new(of.id.clone(), "ap-guangzhou", of.created),
            disk_id: of.disk_id.clone(),
            state,
            size_gb: of.size_gb,
            zone: None,
            share_count: Some(0),
            shared_with: None,
            made: None,
            tags: Vec::new(),
        }
    }

    fn observed(snapshots: Vec<SourceSnapshot>, replicas: Vec<Replica>) -> Observation {
        let mut sorted = snapshots;
        sorted.sort_by_key(|s| std::cmp::Reverse(s.created));
        Observation {
            rules: vec![RuleSources {
                disks: ["disk-a".to_owned()].into(),
                missing: Default::default(),
                snapshots: sorted,
            }],
            replicas: [("ap-beijing".to_owned(), replicas)].into(),
            ..Observation::default()
        }
    }

    fn policy(rule: Rule) -> Policy {
        Policy::new(vec![rule.disk_ids(["disk-a"])]).unwrap()
    }

    fn actions(plan: &Plan) -> Vec<(Option<String>, &'static str, Option<String>)> {
        plan.items()
            .iter()
            .map(|i| {
                let replica = match &i.action {
                    PlanAction::UpToDate { replica_id } | PlanAction::Prune { replica_id, .. } => {
                        Some(replica_id.clone())
                    }
                    PlanAction::Adopt { replica_id, .. } => replica_id.clone(),
                    _ => None,
                };
                (i.source_snapshot_id.clone(), i.action.as_str(), replica)
            })
            .collect()
    }

    #[test]
    fn latest_copies_the_newest_and_recognises_what_is_there() {
        let rule = Rule::new("prod", "ap-guangzhou", ["ap-beijing"]);
        let (old, new) = (
            source("snap-old", "disk-a", 2),
            source("snap-new", "disk-a", 1),
        );
        let nothing = plan(
            &policy(rule.clone()),
            &observed(vec![old.clone(), new.clone()], vec![]),
            NOW,
            None,
        );
        assert_eq!(actions(&nothing), [(Some("snap-new".into()), "copy", None)]);

        let copying = replica("snap-r1", &new, ReplicaState::Copying { percent: 40 });
        let adopt = plan(
            &policy(rule.clone()),
            &observed(vec![new.clone()], vec![copying]),
            NOW,
            None,
        );
        assert_eq!(
            actions(&adopt),
            [(Some("snap-new".into()), "adopt", Some("snap-r1".into()))]
        );

        let mut busy = new.clone();
        busy.copying_to = vec!["ap-beijing".into()];
        let foreign = plan(
            &policy(rule.clone()),
            &observed(vec![busy], vec![]),
            NOW,
            None,
        );
        assert_eq!(
            actions(&foreign),
            [(Some("snap-new".into()), "adopt", None)]
        );

        let done = replica("snap-r2", &new, ReplicaState::Normal);
        let there = plan(
            &policy(rule.clone()),
            &observed(vec![new.clone()], vec![done]),
            NOW,
            None,
        );
        assert!(there.is_converged());

        let none = plan(&policy(rule), &observed(vec![], vec![]), NOW, None);
        assert_eq!(actions(&none), [(None, "no_snapshot", None)]);
    }

    #[test]
    fn retention_keeps_the_newest_and_prunes_only_normal_replicas() {
        let rule = Rule::new("prod", "ap-guangzhou", ["ap-beijing"])
            .keep(2)
            .max_replica_age(Duration::from_secs(10 * DAY as u64));
        let s: Vec<SourceSnapshot> = (1..=5)
            .map(|d| source(&format!("snap-{d}"), "disk-a", d * 4))
            .collect();
        // Replicas of sources aged 4, 8, 12 (too old) and 16 days; one duplicate of the
        // 8-day one; the 20-day one still copying.
        let replicas = vec![
            replica("r-4", &s[0], ReplicaState::Normal),
            replica("r-8", &s[1], ReplicaState::Normal),
            replica("r-8b", &s[1], ReplicaState::Normal),
            replica("r-12", &s[2], ReplicaState::Normal),
            replica("r-16", &s[3], ReplicaState::Normal),
            replica("r-20", &s[4], ReplicaState::Copying { percent: 5 }),
        ];
        // Only the newest source is wanted: the disk's sources list holds just it.
        let planned = plan(
            &policy(rule.clone()),
            &observed(vec![s[0].clone()], replicas.clone()),
            NOW,
            None,
        );
        let pruned: Vec<(String, PruneReason)> = planned
            .items()
            .iter()
            .filter_map(|i| match &i.action {
                PlanAction::Prune { replica_id, reason } => Some((replica_id.clone(), *reason)),
                _ => None,
            })
            .collect();
        assert_eq!(
            pruned,
            [
                ("r-12".to_owned(), PruneReason::BeyondKeep),
                ("r-16".to_owned(), PruneReason::BeyondKeep),
                ("r-8b".to_owned(), PruneReason::Duplicate),
            ]
        );
        // The newest NORMAL replica is never pruned, however old.
        let ancient = vec![replica(
            "r-old",
            &source("snap-x", "disk-a", 400),
            ReplicaState::Normal,
        )];
        let kept = plan(&policy(rule), &observed(vec![], ancient), NOW, None);
        assert!(kept.items().iter().all(|i| i.action.as_str() != "prune"));
    }

    #[test]
    fn overlapping_rules_keep_the_union_and_plan_each_copy_once() {
        let s: Vec<SourceSnapshot> = (1..=5)
            .map(|d| source(&format!("snap-{d}"), "disk-a", d))
            .collect();
        let replicas: Vec<Replica> = s[1..]
            .iter()
            .map(|src| replica(&format!("r-{}", src.id), src, ReplicaState::Normal))
            .collect();
        let keep3 = Rule::new("three", "ap-guangzhou", ["ap-beijing"])
            .disk_ids(["disk-a"])
            .keep(3);
        let keep1 = Rule::new("one", "ap-guangzhou", ["ap-beijing"])
            .disk_ids(["disk-a"])
            .keep(1);
        let policy = Policy::new(vec![keep3, keep1]).unwrap();
        let mut observation = observed(vec![s[0].clone()], replicas);
        observation.rules.push(observation.rules[0].clone());
        let planned = plan(&policy, &observation, NOW, None);
        // One copy of the newest snapshot, under the first rule; of the four older
        // replicas "three" keeps three ("one" would keep one), so only the oldest is
        // let go, once.
        assert_eq!(planned.totals().copies, 1, "{:#?}", planned.items());
        let copy = planned
            .items()
            .iter()
            .find(|i| i.action == PlanAction::Copy);
        assert_eq!(copy.unwrap().rule, "three");
        let prunes: Vec<&str> = planned
            .items()
            .iter()
            .filter_map(|i| match &i.action {
                PlanAction::Prune { replica_id, .. } => Some(replica_id.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(prunes, ["r-snap-5"]);
        // Either order of the rules gives the same plan.
        let reversed = Policy::new(policy.rules().iter().rev().cloned().collect()).unwrap();
        let planned_reversed = plan(&reversed, &observation, NOW, None);
        assert_eq!(planned_reversed.totals(), planned.totals());
    }

    #[test]
    fn all_takes_as_many_as_keep_within_the_ages() {
        let rule = Rule::new("prod", "ap-guangzhou", ["ap-beijing"])
            .snapshots(Selection::All)
            .keep(3)
            .max_snapshot_age(Duration::from_secs(30 * DAY as u64))
            .max_replica_age(Duration::from_secs(7 * DAY as u64));
        let snapshots = vec![
            source("snap-1", "disk-a", 1),
            source("snap-3", "disk-a", 3),
            source("snap-9", "disk-a", 9),
            source("snap-20", "disk-a", 20),
            source("snap-40", "disk-a", 40),
        ];
        let planned = plan(&policy(rule), &observed(snapshots, vec![]), NOW, None);
        let copies: Vec<_> = actions(&planned)
            .into_iter()
            .map(|a| a.0.unwrap())
            .collect();
        assert_eq!(copies, ["snap-1", "snap-3"]);
    }
}
