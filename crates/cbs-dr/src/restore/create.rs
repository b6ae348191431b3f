//! Making the disks and waiting for them: the run's disks found by their tag
//! ([`run_disks`]), each disk created once with its `ClientToken` ([`create_all`]), and
//! polled a hundred a call until usable ([`wait_usable`]).

use std::collections::BTreeMap;

use tencentcloud_cbs::model::{DiskState, Filter, Placement, Tag as DiskTag};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::choose::Spec;
use super::{CONCURRENT_CREATES, RESTORED_FROM_TAG, RUN_TAG, RestoreItem, RestoreOutcome};
use crate::disks::IDS_PER_CALL;
use crate::report::ItemFailure;
use crate::run::{ReplicationEvent, Run};

/// A disk this run made earlier, as the region lists it.
#[derive(Clone, Debug)]
pub(super) struct Made {
    pub(super) disk_id: String,
    pub(super) usable: bool,
    /// The instance it is attached to.
    pub(super) instance: Option<String>,
}

/// The disks of `region` tagged with the run, by the replica each was made from.
pub(super) async fn run_disks(
    run: &Run,
    region: &str,
    name: &str,
) -> Result<BTreeMap<String, Made>, tencentcloud_cbs::Error> {
    let mut items = run
        .client
        .describe_disks()
        .region(region)
        .filters([Filter::new(format!("tag:{RUN_TAG}"), [name])])
        .limit(IDS_PER_CALL as u64)
        .retry_config(run.patience())
        .into_paginator()
        .items();
    let mut made = BTreeMap::new();
    while let Some(disk) = items.next_item().await {
        let disk = disk?;
        let tags = disk.tags.clone().unwrap_or_default();
        let tag = |key: &str| {
            tags.iter()
                .find(|t| t.key.as_deref() == Some(key))
                .and_then(|t| t.value.clone())
        };
        if tag(RUN_TAG).as_deref() != Some(name) {
            continue;
        }
        let (Some(replica), Some(disk_id)) = (tag(RESTORED_FROM_TAG), disk.disk_id.clone()) else {
            continue;
        };
        made.insert(
            replica,
            Made {
                disk_id,
                usable: usable(&disk),
                instance: disk.instance_id.clone().filter(|i| !i.is_empty()),
            },
        );
    }
    Ok(made)
}

/// Whether a disk can be used: attached or ready to be, its data loaded.
pub(super) fn usable(disk: &tencentcloud_cbs::model::Disk) -> bool {
    matches!(
        disk.disk_state,
        Some(DiskState::Unattached) | Some(DiskState::Attached)
    ) && disk.rollbacking != Some(true)
}

/// Creates every disk of `specs` this run has not made yet, with its `ClientToken`, as
/// many at once as the rate limit lets through; a creation that may have run although
/// its answer was lost is settled by looking the run's disks up again.
pub(super) async fn create_all(
    run: &Run,
    region: &str,
    run_name: &str,
    started: Instant,
    specs: &[Option<Spec>],
    made: &mut BTreeMap<String, Made>,
    items: &mut [RestoreItem],
) {
    let mut running = JoinSet::new();
    let to_make: Vec<(usize, &Spec)> = specs
        .iter()
        .enumerate()
        .filter_map(|(index, spec)| Some((index, spec.as_ref()?)))
        .filter(|(_, spec)| !made.contains_key(&spec.replica_id))
        .collect();
    let mut queue = to_make.into_iter();
    let mut doubtful = Vec::new();
    loop {
        while running.len() < CONCURRENT_CREATES {
            let Some((index, spec)) = queue.next() else {
                break;
            };
            let run = run.clone();
            let region = region.to_owned();
            let token = format!("tccbs-{run_name}-{}", spec.replica_id);
            let spec = spec.clone();
            running.spawn(async move { (index, create(&run, &region, &spec, &token).await) });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let (index, result) = done.expect("creation tasks do not panic");
        let replica = specs[index].as_ref().expect("queued").replica_id.clone();
        match result {
            Ok(None) => {
                items[index].outcome = RestoreOutcome::Failed;
                items[index].failure = Some(ItemFailure::new(
                    "NoDiskId",
                    "CreateDisks answered without a disk id",
                ));
            }
            Ok(Some(disk_id)) => {
                made.insert(
                    replica,
                    Made {
                        disk_id,
                        usable: false,
                        instance: None,
                    },
                );
                items[index].outcome = RestoreOutcome::Created;
                items[index].time_to_created = Some(started.elapsed());
            }
            Err(error) => {
                if error.may_have_executed() {
                    doubtful.push(index);
                }
                items[index].outcome = RestoreOutcome::Failed;
                items[index].failure = Some(ItemFailure::of_error(&error));
            }
        }
    }
    for (item, spec) in items.iter_mut().zip(specs) {
        if spec.is_some() && item.outcome == RestoreOutcome::WouldAdopt {
            item.outcome = RestoreOutcome::Adopted;
        }
    }
    if doubtful.is_empty() {
        return;
    }
    // Lost answers: what the region holds now says whether they ran.
    if let Ok(found) = run_disks(run, region, run_name).await {
        for index in doubtful {
            let replica = &specs[index].as_ref().expect("queued").replica_id;
            if let Some(disk) = found.get(replica) {
                made.insert(replica.clone(), disk.clone());
                items[index].outcome = RestoreOutcome::Adopted;
                items[index].failure = None;
            }
        }
    }
}

/// One `CreateDisks` call (its `ClientToken` makes the client's retries safe).
pub(super) async fn create(
    run: &Run,
    region: &str,
    spec: &Spec,
    token: &str,
) -> Result<Option<String>, tencentcloud_cbs::Error> {
    let answer = run
        .client
        .create_disks()
        .region(region)
        .placement(Placement::new(spec.zone.clone()))
        .disk_charge_type("POSTPAID_BY_HOUR")
        .disk_type(spec.disk_type.as_str())
        .disk_size(spec.size_gb)
        .snapshot_id(spec.replica_id.clone())
        .disk_name(spec.name.clone())
        .tags(spec.tags.iter().map(|(k, v)| DiskTag::new(k, v)))
        .client_token(token)
        .retry_config(run.patience())
        .send()
        .await?;
    Ok(answer.disk_id_set.into_iter().flatten().next())
}

/// Polls the run's disks, a hundred a call, until every one is usable, gone, or the
/// deadline comes; the time each became usable is counted from the run's start.
pub(super) async fn wait_usable(
    run: &Run,
    region: &str,
    started: Instant,
    made: &BTreeMap<String, Made>,
    members: &[usize],
    items: &mut [RestoreItem],
) {
    // Disk id → item index, for the items restored or adopted.
    let mut waiting: BTreeMap<String, usize> = BTreeMap::new();
    for &index in members {
        let item = &mut items[index];
        if !matches!(
            item.outcome,
            RestoreOutcome::Created | RestoreOutcome::Adopted
        ) {
            continue;
        }
        let Some(disk) = item.replica_id.as_ref().and_then(|r| made.get(r)) else {
            continue;
        };
        item.restored_disk_id = Some(disk.disk_id.clone());
        item.attached = disk.instance.is_some() && disk.instance == item.standby;
        if disk.usable {
            item.time_to_usable = Some(started.elapsed());
        } else {
            waiting.insert(disk.disk_id.clone(), index);
        }
    }
    let total = items.len();
    let progress = |waiting: usize, items: &[RestoreItem]| {
        if run.is_heard() {
            run.emit(ReplicationEvent::RestoreProgress {
                usable: items.iter().filter(|i| i.time_to_usable.is_some()).count(),
                waiting,
                total,
            });
        }
    };
    progress(waiting.len(), items);
    let (mut interval, poll_max) = run.poll;
    while !waiting.is_empty() {
        if run.is_over() {
            for index in waiting.values() {
                items[*index].failure = Some(ItemFailure::new(
                    "Timeout",
                    "the restored disk was not usable by the run's deadline",
                ));
                items[*index].outcome = RestoreOutcome::Failed;
            }
            return;
        }
        tokio::time::sleep(interval.min(run.left())).await;
        interval = (interval * 3 / 2).min(poll_max);
        let ids: Vec<String> = waiting.keys().cloned().collect();
        for chunk in ids.chunks(IDS_PER_CALL) {
            let Ok(page) = crate::disks::by_ids(run, region, chunk).await else {
                // The next round asks again.
                continue;
            };
            let listed: BTreeMap<String, bool> = page
                .iter()
                .filter_map(|d| Some((d.disk_id.clone()?, usable(d))))
                .collect();
            for id in chunk {
                match listed.get(id) {
                    Some(true) => {
                        let index = waiting.remove(id).expect("waiting");
                        items[index].time_to_usable = Some(started.elapsed());
                    }
                    Some(false) => {}
                    None => {
                        let index = waiting.remove(id).expect("waiting");
                        items[index].outcome = RestoreOutcome::Failed;
                        items[index].failure = Some(ItemFailure::new(
                            "InvalidDiskId.NotFound",
                            format!("{id} is gone (deleted by someone else?)"),
                        ));
                    }
                }
            }
        }
        progress(waiting.len(), items);
    }
}
