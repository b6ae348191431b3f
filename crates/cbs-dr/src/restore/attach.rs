//! Attaching restored disks to standby instances: what the region says of each standby
//! before anything is made ([`look_up`]: its zone, its room for disks), then, once a
//! group's disks are usable, each instance's disks attached in their source order, ten
//! a call at most ([`attach_all`]).
//!
//! Safe to repeat: each instance's disks are looked at first, so a disk already on its
//! standby (a lost answer, a re-run) is not attached again, and a refused or unanswered
//! call is settled by looking again. A failure fails that instance's items only.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tencentcloud_cbs::model::{DiskState, Filter};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{RestoreItem, RestoreOutcome};
use crate::disks::IDS_PER_CALL;
use crate::report::ItemFailure;
use crate::run::Run;

/// The most disks one `AttachDisks` call takes (the API reference: `DiskIds`, at most
/// 10).
pub(super) const DISKS_PER_ATTACH: usize = 10;
/// Looks after which a disk still unattached counts as refused.
const UNATTACHED_LOOKS: usize = 3;
/// Instances per `DescribeDisks` filter when looking for the standbys' zones.
const INSTANCES_PER_FILTER: usize = 10;

/// A standby instance as the region shows it.
#[derive(Clone, Debug, Default)]
pub(super) struct Standby {
    /// Its zone, from a disk attached to it (its system disk, usually); `None` when the
    /// region shows none.
    pub zone: Option<String>,
    /// How many more disks it takes (`DescribeInstancesDiskNum`), when the region says.
    pub room: Option<u64>,
    /// Why it cannot take disks at all (not in the region).
    pub failure: Option<ItemFailure>,
}

/// What the region says of each standby: one `DescribeDisks` per ten instances for
/// their zones, one `DescribeInstancesDiskNum` for their room (per instance when the
/// batch is refused, so one unknown instance fails alone).
pub(super) async fn look_up(
    run: &Run,
    region: &str,
    standbys: &BTreeSet<String>,
) -> BTreeMap<String, Standby> {
    let mut found: BTreeMap<String, Standby> = standbys
        .iter()
        .map(|s| (s.clone(), Standby::default()))
        .collect();
    let ids: Vec<&String> = standbys.iter().collect();
    for chunk in ids.chunks(INSTANCES_PER_FILTER) {
        let mut disks = run
            .client
            .describe_disks()
            .region(region)
            .filters([Filter::new("instance-id", chunk.iter().map(|s| s.as_str()))])
            .limit(IDS_PER_CALL as u64)
            .retry_config(run.patience())
            .into_paginator()
            .items();
        while let Some(disk) = disks.next_item().await {
            let Ok(disk) = disk else {
                // Zones unknown: the disks go where the replicas say, and attaching
                // tells.
                break;
            };
            if let (Some(instance), Some(zone)) =
                (disk.instance_id, disk.placement.and_then(|p| p.zone))
                && let Some(standby) = found.get_mut(&instance)
            {
                standby.zone.get_or_insert(zone);
            }
        }
    }
    for chunk in ids.chunks(IDS_PER_CALL) {
        let batch = room(run, region, chunk.iter().map(|s| s.as_str())).await;
        let answers = match batch {
            Ok(answers) => answers,
            Err(_) => {
                let mut one_by_one = BTreeMap::new();
                for id in chunk {
                    match room(run, region, [id.as_str()]).await {
                        Ok(answer) => one_by_one.extend(answer),
                        Err(failure) => {
                            if let Some(standby) = found.get_mut(*id) {
                                standby.failure = Some(failure);
                            }
                        }
                    }
                }
                one_by_one
            }
        };
        for (id, left) in answers {
            if let Some(standby) = found.get_mut(&id) {
                standby.room = Some(left);
            }
        }
    }
    found
}

/// How many more disks each instance takes.
async fn room(
    run: &Run,
    region: &str,
    ids: impl IntoIterator<Item = &str>,
) -> Result<BTreeMap<String, u64>, ItemFailure> {
    let answer = run
        .client
        .describe_instances_disk_num()
        .region(region)
        .instance_ids(ids.into_iter().map(str::to_owned))
        .retry_config(run.patience())
        .send()
        .await
        .map_err(|e| ItemFailure::of_error(&e))?;
    Ok(answer
        .attach_detail
        .into_iter()
        .flatten()
        .filter_map(|d| {
            let left = d.max_attach_count?.saturating_sub(d.attached_disk_count?);
            Some((d.instance_id?, left))
        })
        .collect())
}

/// One standby's disks to attach: item indexes and restored disk ids, in the source
/// instance's order.
pub(super) type Attachment = (String, Vec<(usize, String)>);

/// Attaches every standby's disks (instances at once, the client's rate limit pacing
/// the calls) and records on each item where it went and when, or why not.
pub(super) async fn attach_all(
    run: &Run,
    region: &str,
    started: Instant,
    attachments: Vec<Attachment>,
    items: &mut [RestoreItem],
) {
    let mut running = JoinSet::new();
    for (standby, disks) in attachments {
        let run = run.clone();
        let region = region.to_owned();
        running.spawn(async move {
            let ids: Vec<String> = disks.iter().map(|(_, d)| d.clone()).collect();
            let result = attach_one(&run, &region, &standby, &ids, started).await;
            (standby, disks, result)
        });
    }
    while let Some(done) = running.join_next().await {
        let (_, disks, result) = done.expect("attach tasks do not panic");
        for (index, _) in disks {
            let item = &mut items[index];
            match &result {
                Ok(when) => {
                    item.attached = true;
                    item.time_to_attached = Some(*when);
                }
                Err(failure) => {
                    item.outcome = RestoreOutcome::Failed;
                    item.failure = Some(failure.clone());
                }
            }
        }
    }
}

/// Attaches `disks` to `standby` in their order, ten a call, skipping those already on
/// it, and waits until the region shows them attached; the time since `started`.
async fn attach_one(
    run: &Run,
    region: &str,
    standby: &str,
    disks: &[String],
    started: Instant,
) -> Result<Duration, ItemFailure> {
    let now = look(run, region, disks).await?;
    for disk in disks {
        if let Some((_, Some(other))) = now.get(disk)
            && other != standby
        {
            return Err(ItemFailure::new(
                "ResourceUnavailable.Attached",
                format!("{disk} is attached to {other}, not to the standby {standby}"),
            ));
        }
    }
    let todo: Vec<String> = disks
        .iter()
        .filter(|d| now.get(*d).and_then(|(_, on)| on.as_deref()) != Some(standby))
        .cloned()
        .collect();
    for chunk in todo.chunks(DISKS_PER_ATTACH) {
        let sent = run
            .client
            .attach_disks()
            .region(region)
            .instance_id(standby)
            .disk_ids(chunk.iter().cloned())
            .retry_config(run.patience())
            .send()
            .await;
        if let Err(error) = sent {
            // A lost answer, or a retry of a call that did run: the region says.
            let again = look(run, region, chunk).await?;
            let done = chunk
                .iter()
                .all(|d| again.get(d).and_then(|(_, on)| on.as_deref()) == Some(standby));
            if !done {
                let mut failure = ItemFailure::of_error(&error);
                failure.message = format!("attaching to {standby}: {}", failure.message);
                return Err(failure);
            }
        }
    }
    // The service attaches in the background (ATTACHING, then ATTACHED); a disk still
    // unattached a few looks after the call was taken was refused.
    let (mut interval, poll_max) = run.poll;
    let mut looks = 0;
    loop {
        looks += 1;
        let now = look(run, region, disks).await?;
        let attached = |d: &String| {
            now.get(d).is_some_and(|(state, on)| {
                *state == Some(DiskState::Attached) && on.as_deref() == Some(standby)
            })
        };
        if disks.iter().all(attached) {
            return Ok(started.elapsed());
        }
        if let Some(gone) = disks.iter().find(|d| !now.contains_key(*d)) {
            return Err(ItemFailure::new(
                "InvalidDiskId.NotFound",
                format!("{gone} is gone (deleted by someone else?)"),
            ));
        }
        let unattached = disks.iter().find(|d| {
            now.get(*d)
                .is_some_and(|(state, _)| *state == Some(DiskState::Unattached))
        });
        if let Some(fell_back) = unattached.filter(|_| looks > UNATTACHED_LOOKS) {
            return Err(ItemFailure::new(
                "AttachFailed",
                format!("{fell_back} is not attached to {standby} although the call was taken"),
            ));
        }
        if run.is_over() {
            return Err(ItemFailure::new(
                "Timeout",
                format!("the disks were not attached to {standby} by the run's deadline"),
            ));
        }
        tokio::time::sleep(interval.min(run.left())).await;
        interval = (interval * 3 / 2).min(poll_max);
    }
}

/// Each disk's state and the instance it is on.
async fn look(
    run: &Run,
    region: &str,
    disks: &[String],
) -> Result<BTreeMap<String, (Option<DiskState>, Option<String>)>, ItemFailure> {
    let listed = crate::disks::by_ids(run, region, disks)
        .await
        .map_err(|e| ItemFailure::of_error(&e))?;
    Ok(listed
        .into_iter()
        .filter_map(|disk| {
            // An unattached disk's InstanceId is empty, not absent.
            let on = disk.instance_id.filter(|i| !i.is_empty());
            Some((disk.disk_id?, (disk.disk_state, on)))
        })
        .collect())
}
