//! Making disks: the run's disks found by their tag ([`run_disks`]), one disk created
//! with its `ClientToken` ([`create`]), and what counts as usable ([`usable`]).

use std::collections::BTreeMap;

use tencentcloud_cbs::model::{Disk, DiskState, Filter, Placement, Tag as DiskTag};

use super::choose::Spec;
use super::{RESTORED_FROM_TAG, RUN_TAG};
use crate::disks::IDS_PER_CALL;
use crate::run::Run;

/// A disk this run made earlier, as the region lists it.
#[derive(Clone, Debug)]
pub(super) struct Made {
    pub(super) disk_id: String,
    pub(super) usable: bool,
    /// The instance it is attached to.
    pub(super) instance: Option<String>,
}

/// Every disk of `region` tagged with the run `name` (the service filters by the tag;
/// the tag is checked again here, so a disk is never taken for the run's on a looser
/// match).
pub(super) async fn tagged_with_run(
    run: &Run,
    region: &str,
    name: &str,
) -> Result<Vec<Disk>, tencentcloud_cbs::Error> {
    let mut items = run
        .client
        .describe_disks()
        .region(region)
        .filters([Filter::new(format!("tag:{RUN_TAG}"), [name])])
        .limit(IDS_PER_CALL as u64)
        .retry_config(run.patience())
        .into_paginator()
        .items();
    let mut found = Vec::new();
    while let Some(disk) = items.next_item().await {
        let disk = disk?;
        if tag(&disk, RUN_TAG).as_deref() == Some(name) {
            found.push(disk);
        }
    }
    Ok(found)
}

/// The value of a disk's tag `key`.
pub(super) fn tag(disk: &Disk, key: &str) -> Option<String> {
    disk.tags
        .iter()
        .flatten()
        .find(|t| t.key.as_deref() == Some(key))
        .and_then(|t| t.value.clone())
}

/// The disks of `region` tagged with the run, by the replica each was made from.
pub(super) async fn run_disks(
    run: &Run,
    region: &str,
    name: &str,
) -> Result<BTreeMap<String, Made>, tencentcloud_cbs::Error> {
    let mut made = BTreeMap::new();
    for disk in tagged_with_run(run, region, name).await? {
        let (Some(replica), Some(disk_id)) = (tag(&disk, RESTORED_FROM_TAG), disk.disk_id.clone())
        else {
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
