//! The recovery-point check: is the newest usable replica of every selected disk, in
//! every destination, young enough?

use std::time::Duration;

use super::Replication;
use super::observe::{self, Observation, ReplicaState};
use super::policy::Policy;
use super::report::ItemFailure;
use super::run::Run;
use crate::Error;

/// Where one (disk, destination) stands: its newest usable replica and how old its
/// data is. An RPO check's line, and what a run's metrics are made of.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RpoItem {
    /// The rule.
    pub rule: String,
    /// The source disk (`*` for a rule whose source region could not be listed).
    pub disk_id: String,
    /// The destination region.
    pub destination: String,
    /// The newest `NORMAL` replica there, if any.
    pub replica_id: Option<String>,
    /// How old its data is (since the source snapshot was taken).
    pub data_age: Option<Duration>,
    /// This tool's `NORMAL` replicas of the disk held there.
    pub replicas: usize,
    /// Accounts of the rule's `share_with` the newest replica is not shared with (a
    /// check from the owning side looks; a run's own report only knows what its
    /// final listing says).
    pub unshared: Vec<String>,
    /// Whether a replica exists, its data is within the limit (for a run's own
    /// report, which has no limit: whether a replica exists) and it is shared with
    /// every account the rule names.
    pub ok: bool,
    /// Why the region could not be looked at; the pair then counts as not ok.
    pub failure: Option<ItemFailure>,
}

/// The result of [`Replication::check`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RpoReport {
    /// Every (disk, destination), in policy order.
    pub items: Vec<RpoItem>,
    /// The limit checked against.
    pub max_age: Duration,
}

impl RpoReport {
    /// The (disk, destination) pairs without a young enough replica, or that could not
    /// be looked at.
    pub fn offenders(&self) -> impl Iterator<Item = &RpoItem> {
        self.items.iter().filter(|i| !i.ok)
    }

    /// Whether every pair is within the limit.
    pub fn is_ok(&self) -> bool {
        self.offenders().next().is_none()
    }
}

impl Replication {
    /// Checks that every selected disk has, in every destination, a `NORMAL` replica
    /// whose data is at most `max_age` old, shared with every account its rule's
    /// `share_with` names (looked up with `DescribeSnapshotSharePermission`).
    /// Read-only. A region that cannot be listed makes its pairs offenders, with the
    /// failure; the others are checked as usual.
    pub async fn check(&self, max_age: Duration) -> Result<RpoReport, Error> {
        let run = Run::start(&self.client, self.deadline).await?;
        let observation = self
            .observe(
                &run,
                observe::Look {
                    shares: true,
                    ..Default::default()
                },
            )
            .await;
        let items = recovery_points(&self.policy, &observation, self.now_unix(), Some(max_age));
        Ok(RpoReport { items, max_age })
    }
}

impl Replication {
    /// The recovery-point check from the receiving side: `receiver` is a client of an
    /// account the rules share replicas with, holding none of the owner's keys. Every
    /// selected disk must have, in every destination, a `NORMAL` replica shared with
    /// that account whose data is at most `max_age` old. Read-only.
    ///
    /// The receiver sees replicas, not the owner's disks: a rule's disks are its
    /// `disk_ids` and, for a rule naming disks by pattern, the disks of its source
    /// region with a replica shared in any of its destinations (name disks by id for a
    /// disk never shared at all to count as missing).
    pub async fn check_as_receiver(
        &self,
        receiver: &crate::Client,
        max_age: Duration,
    ) -> Result<RpoReport, Error> {
        let run = Run::start(receiver, self.deadline).await?;
        let observation = observe::observe_shared(&run, &self.policy).await;
        let items = recovery_points(&self.policy, &observation, self.now_unix(), Some(max_age));
        Ok(RpoReport { items, max_age })
    }
}

/// Every (disk, destination) of `policy` as `observation` shows it at `now` (Unix
/// seconds), measured against `max_age` when given.
pub(crate) fn recovery_points(
    policy: &Policy,
    observation: &Observation,
    now: i64,
    max_age: Option<Duration>,
) -> Vec<RpoItem> {
    let mut items = Vec::new();
    for (rule, sources) in policy.rules().iter().zip(&observation.rules) {
        let source_failure = observation.unavailable.get(&rule.source_region);
        let disks: Vec<&str> = match source_failure {
            Some(_) => vec!["*"],
            None => sources.disks.iter().map(String::as_str).collect(),
        };
        for disk_id in disks {
            for destination in &rule.destinations {
                let newest = observation.newest_normal(rule, disk_id, destination);
                let unshared: Vec<String> = rule
                    .share_with
                    .iter()
                    .filter(|a| newest.is_some_and(|r| r.is_shared_with(a) == Some(false)))
                    .cloned()
                    .collect();
                let shares_unknown = (!rule.share_with.is_empty())
                    .then(|| observation.shares_unknown.get(destination))
                    .flatten();
                let failure = source_failure
                    .or_else(|| observation.unavailable.get(destination))
                    .or(shares_unknown)
                    .cloned();
                let data_age =
                    newest.map(|r| {
                        Duration::from_secs(
                            now.saturating_sub(r.name.source_created_unix).max(0) as u64
                        )
                    });
                let replicas = observation
                    .replicas
                    .get(destination)
                    .into_iter()
                    .flatten()
                    .filter(|r| {
                        r.disk_id == disk_id
                            && r.name.source_region == rule.source_region
                            && r.state == ReplicaState::Normal
                    })
                    .count();
                items.push(RpoItem {
                    rule: rule.name.clone(),
                    disk_id: disk_id.to_owned(),
                    destination: destination.clone(),
                    replica_id: newest.map(|r| r.id.clone()),
                    data_age,
                    replicas,
                    ok: failure.is_none()
                        && unshared.is_empty()
                        && data_age.is_some_and(|age| max_age.is_none_or(|max| age <= max)),
                    unshared,
                    failure,
                });
            }
        }
    }
    items
}
