//! Snapshot groups: a consistent snapshot of several disks, and rolling them back
//! together.

use cbs_model::*;

use super::{Answer, ApiFailure, Call, Filters, all_disks, disk, not_found, one, page};
use crate::state::{Group, Transition, World};

fn group<'w>(world: &'w World, region: &str, id: &str) -> Answer<&'w Group> {
    world
        .groups
        .get(id)
        .filter(|g| g.region == region)
        .ok_or_else(|| not_found("ResourceNotFound.NotFound", "snapshot group", id))
}

pub(super) fn create(
    world: &mut World,
    call: &Call<'_>,
    request: CreateSnapshotGroupRequest,
) -> Answer<CreateSnapshotGroupResponse> {
    let region = call.region()?.to_owned();
    all_disks(world, &region, &request.disk_ids)?;
    let mut instances: Vec<Option<String>> = request
        .disk_ids
        .iter()
        .map(|id| world.disks[id].instance_id.clone())
        .collect();
    instances.sort();
    instances.dedup();
    if instances.len() > 1 {
        return Err(ApiFailure::new(
            "UnsupportedOperation.SnapshotGroupDiskAttachMultiInstance",
            "The disks of a snapshot group are attached to one instance.",
        ));
    }
    let needed = request.disk_ids.len();
    if world.snapshots_in(&region).count() + needed > world.snapshot_quota(&region) {
        return Err(ApiFailure::new(
            "InsufficientSnapshotQuota",
            "The snapshot quota of this region is used up.",
        ));
    }
    let id = world.new_id("csnap");
    let name = request
        .snapshot_group_name
        .unwrap_or_else(|| "snapshot group".to_owned());
    let mut snapshot_ids = Vec::new();
    for disk_id in &request.disk_ids {
        let source = world.disks[disk_id].clone();
        let duration = world.create_duration(source.size_gb);
        let snapshot_id = world.add_snapshot_of(&source, &format!("{name}-{disk_id}"), duration);
        if let Some(snapshot) = world.snapshots.get_mut(&snapshot_id) {
            snapshot.group_id = Some(id.clone());
        }
        snapshot_ids.push(snapshot_id);
    }
    let seq = world.next_seq();
    let now = world.now_ms;
    world.groups.insert(
        id.clone(),
        Group {
            id: id.clone(),
            region,
            name,
            snapshot_ids,
            created_ms: now,
            modified_ms: now,
            seq,
        },
    );
    let mut response = CreateSnapshotGroupResponse::default();
    response.snapshot_group_id = Some(id);
    Ok(response)
}

pub(super) fn describe(
    world: &mut World,
    call: &Call<'_>,
    request: DescribeSnapshotGroupsRequest,
) -> Answer<DescribeSnapshotGroupsResponse> {
    let region = call.region()?;
    let filters = Filters::new(
        request.filters.as_deref(),
        &[
            "snapshot-group-id",
            "snapshot-group-name",
            "snapshot-id",
            "snapshot-group-state",
        ],
    )?;
    let mut matching: Vec<&Group> = world
        .groups
        .values()
        .filter(|g| g.region == region)
        .filter(|g| {
            filters.matches(|name| match name {
                "snapshot-group-id" => one(&g.id),
                "snapshot-group-name" => one(&g.name),
                "snapshot-id" => g.snapshot_ids.clone(),
                _ => one(world
                    .group_view(g)
                    .snapshot_group_state
                    .map_or(String::new(), |s| s.as_str().to_owned())),
            })
        })
        .collect();
    matching.sort_by_key(|g| std::cmp::Reverse(g.seq));
    let views = matching.into_iter().map(|g| world.group_view(g)).collect();
    let (total, page) = page(views, request.offset, request.limit)?;
    let mut response = DescribeSnapshotGroupsResponse::default();
    response.total_count = Some(total);
    response.snapshot_group_set = Some(page);
    Ok(response)
}

pub(super) fn delete(
    world: &mut World,
    call: &Call<'_>,
    request: DeleteSnapshotGroupRequest,
) -> Answer<DeleteSnapshotGroupResponse> {
    let region = call.region()?;
    let mut ids: Vec<String> = request.snapshot_group_ids.unwrap_or_default();
    ids.extend(request.snapshot_group_id);
    if ids.is_empty() {
        return Err(ApiFailure::new(
            "MissingParameter",
            "SnapshotGroupId or SnapshotGroupIds names the groups to delete.",
        ));
    }
    for id in &ids {
        group(world, region, id)?;
    }
    for id in &ids {
        if let Some(group) = world.groups.remove(id) {
            for snapshot in group.snapshot_ids {
                world.snapshots.remove(&snapshot);
            }
        }
    }
    Ok(DeleteSnapshotGroupResponse::default())
}

pub(super) fn apply(
    world: &mut World,
    call: &Call<'_>,
    request: ApplySnapshotGroupRequest,
) -> Answer<ApplySnapshotGroupResponse> {
    let region = call.region()?;
    let record = group(world, region, &request.snapshot_group_id)?.clone();
    if world.group_view(&record).snapshot_group_state != Some(SnapshotGroupState::Normal) {
        return Err(ApiFailure::new(
            "InvalidSnapshot.NotSupported",
            "The snapshot group is not NORMAL yet.",
        ));
    }
    for pair in &request.apply_disks {
        if !record.snapshot_ids.contains(&pair.snapshot_id) {
            return Err(ApiFailure::invalid(format!(
                "The snapshot `{}` is not in the group.",
                pair.snapshot_id
            )));
        }
        let target = disk(world, region, &pair.disk_id)?;
        if target.instance_id.is_some() && request.auto_stop_instance != Some(true) {
            return Err(ApiFailure::new(
                "UnsupportedOperation.InstanceNotStopped",
                "A disk is attached to a running instance; set AutoStopInstance or detach it.",
            ));
        }
    }
    let now = world.now_ms;
    for pair in &request.apply_disks {
        let size = world.snapshots[&pair.snapshot_id].disk_size_gb;
        let duration = world.create_duration(size).max(1_000);
        if let Some(target) = world.disks.get_mut(&pair.disk_id) {
            target.rollback = Some(Transition::new("ROLLBACKING", now, duration));
        }
    }
    Ok(ApplySnapshotGroupResponse::default())
}
