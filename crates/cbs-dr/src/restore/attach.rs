//! Attaching restored disks to standby instances: what the region says of each standby
//! before anything is made ([`look_up`]: its zone, its room for disks), and the calls
//! that attach one instance's disks in their source order, ten a call at most
//! ([`send`]). When to send them, and whether they ran, is the group's loop's
//! (`group.rs`): it sends once all of an instance's disks are usable, skips disks its
//! polls show on the standby already (a lost answer, a re-run), and settles a refused
//! or unanswered call by its next poll. A failure fails that instance's items only.

use std::collections::{BTreeMap, BTreeSet};

use tencentcloud_cbs::model::Filter;

use crate::disks::IDS_PER_CALL;
use crate::report::ItemFailure;
use crate::run::Run;

/// The most disks one `AttachDisks` call takes (the API reference: `DiskIds`, at most
/// 10).
pub(super) const DISKS_PER_ATTACH: usize = 10;
/// Looks after which a disk still unattached counts as refused.
pub(super) const UNATTACHED_LOOKS: usize = 3;
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

/// Attaches `disks` to `standby` in their order, ten a call. A call whose answer was
/// lost is settled by looking at its disks before the next call goes (the order
/// matters); whether a call that failed outright ran after all is for the caller's
/// next look to say.
pub(super) async fn send(
    run: &Run,
    region: &str,
    standby: &str,
    disks: &[String],
) -> Result<(), ItemFailure> {
    for chunk in disks.chunks(DISKS_PER_ATTACH) {
        let sent = run
            .client
            .attach_disks()
            .region(region)
            .instance_id(standby)
            .disk_ids(chunk.iter().cloned())
            .retry_config(run.patience())
            .send()
            .await;
        let Err(error) = sent else {
            continue;
        };
        if error.may_have_executed() {
            let on = crate::disks::by_ids(run, region, chunk).await;
            let ran = on.is_ok_and(|listed| {
                chunk.iter().all(|d| {
                    listed.iter().any(|l| {
                        l.disk_id.as_ref() == Some(d) && l.instance_id.as_deref() == Some(standby)
                    })
                })
            });
            if ran {
                continue;
            }
        }
        let mut failure = ItemFailure::of_error(&error);
        failure.message = format!("attaching to {standby}: {}", failure.message);
        return Err(failure);
    }
    Ok(())
}
