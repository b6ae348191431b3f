//! The recovery-point check: is the newest usable replica of every selected disk, in
//! every destination, young enough?

use std::time::Duration;

use crate::drill;
use crate::inventory::Book;
use crate::observe::{self, Observation};
use crate::policy::Policy;
use crate::report::{ItemFailure, LeftoverDisk, RpoItem, RpoReport};
use crate::run::Run;

/// The check with `run`'s client: from the owning side (`receiver` false) every region
/// listed and share permissions looked up; from an account the rules share with, only
/// what is shared with it.
pub(crate) async fn check(
    run: &Run,
    policy: &Policy,
    max_age: Duration,
    receiver: bool,
) -> RpoReport {
    let observation = if receiver {
        observe::observe_shared(run, policy).await
    } else {
        let look = observe::Look {
            shares: true,
            ..Default::default()
        };
        observe::observe(run, policy, look).await
    };
    let mut items = recovery_points(policy, &observation, run.now_unix(), Some(max_age));
    if !receiver {
        count_tags(policy, &observation, &mut items);
    }
    let leftovers = leftovers(run, policy).await;
    RpoReport {
        items,
        max_age,
        leftovers,
    }
}

/// For each pair, the replicas lacking tags they should carry, and the tags the newest
/// carries.
fn count_tags(policy: &Policy, observation: &Observation, items: &mut [RpoItem]) {
    let book = Book::of(observation);
    for item in items.iter_mut() {
        let Some(rule) = policy.rules().iter().find(|r| r.name == item.rule) else {
            continue;
        };
        if item.failure.is_some() {
            continue;
        }
        let mut untagged = 0;
        for replica in observation
            .replicas_of(rule, &item.disk_id, &item.destination)
            .filter(|r| r.state == observe::ReplicaState::Normal)
        {
            let Some(desired) = book.desired(&rule.name, &item.disk_id, &replica.name) else {
                continue;
            };
            untagged += usize::from(!desired.missing(replica).is_empty());
            if item.replica_id.as_deref() == Some(replica.id.as_str()) {
                item.tags = desired
                    .tags
                    .into_iter()
                    .filter(|(k, v)| replica.has_tag(k, v))
                    .collect();
            }
        }
        item.untagged = Some(untagged);
    }
}

/// What drills left in every destination (a destination that cannot be listed says
/// nothing of them: its pairs are offenders anyway).
async fn leftovers(run: &Run, policy: &Policy) -> Vec<LeftoverDisk> {
    let mut found = Vec::new();
    for region in policy.destinations() {
        match drill::leftovers(run, &region).await {
            Ok(disks) => found.extend(disks),
            Err(error) => {
                tracing::warn!(region = %region, error = %error, "looking for disks drills left failed")
            }
        }
    }
    found
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
        // Pairs that cannot be met whatever the destinations hold: a disk that does
        // not exist, a rule that selects none. Each is an offender of its own.
        let mut unmeetable: Vec<(&str, ItemFailure)> = sources
            .missing
            .iter()
            .map(|d| {
                (
                    d.as_str(),
                    ItemFailure::no_such_disk(d, &rule.source_region),
                )
            })
            .collect();
        if source_failure.is_none() && sources.disks.is_empty() && sources.missing.is_empty() {
            unmeetable.push(("*", ItemFailure::no_disks(&rule.name, &rule.source_region)));
        }
        for (disk_id, failure) in unmeetable {
            for destination in &rule.destinations {
                items.push(RpoItem {
                    rule: rule.name.clone(),
                    disk_id: disk_id.to_owned(),
                    destination: destination.clone(),
                    replica_id: None,
                    data_age: None,
                    replicas: 0,
                    unshared: Vec::new(),
                    untagged: None,
                    tags: Vec::new(),
                    ok: false,
                    failure: Some(failure.clone()),
                });
            }
        }
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
                    .replicas_of(rule, disk_id, destination)
                    .filter(|r| r.state == observe::ReplicaState::Normal)
                    .count();
                items.push(RpoItem {
                    rule: rule.name.clone(),
                    disk_id: disk_id.to_owned(),
                    destination: destination.clone(),
                    replica_id: newest.map(|r| r.id.clone()),
                    data_age,
                    replicas,
                    untagged: None,
                    tags: Vec::new(),
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
