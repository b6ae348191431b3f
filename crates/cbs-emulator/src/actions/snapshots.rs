//! Snapshots: create, copy across regions, describe, modify, share, roll back, delete.

use cbs_model::*;

use super::{
    Answer, ApiFailure, Call, Filters, disk, disk_mut, not_found, not_owned, one, order, page,
    snapshot, tag_values, tags,
};
use crate::clock;
use crate::state::{Snapshot, Transition, World, is_region};

/// The most accounts a snapshot can be shared with.
const SHARE_LIMIT: usize = 50;

pub(super) fn create(
    world: &mut World,
    call: &Call<'_>,
    request: CreateSnapshotRequest,
) -> Answer<CreateSnapshotResponse> {
    let region = call.region()?.to_owned();
    if let Some(backup_id) = &request.disk_backup_id {
        // A snapshot of a disk backup: it belongs to the backup's disk.
        let backup = world
            .backups
            .get(backup_id)
            .filter(|b| b.region == region)
            .ok_or_else(|| not_found("InvalidParameterValue", "disk backup", backup_id))?;
        if request
            .disk_id
            .as_ref()
            .is_some_and(|d| *d != backup.disk_id)
        {
            return Err(ApiFailure::invalid("The backup belongs to another disk."));
        }
    }
    let disk_id = match (&request.disk_id, &request.disk_backup_id) {
        (Some(id), _) => id.clone(),
        (None, Some(backup)) => world.backups[backup].disk_id.clone(),
        (None, None) => {
            return Err(ApiFailure::new(
                "MissingParameter",
                "The request is missing the required parameter `DiskId`.",
            ));
        }
    };
    let source = disk(world, &region, &disk_id)?.clone();
    if source.recycled {
        return Err(ApiFailure::new(
            "InvalidDisk.Expire",
            format!("The disk `{disk_id}` is in the recycle bin."),
        ));
    }
    if source
        .rollback
        .as_ref()
        .is_some_and(|r| r.at(world.now_ms).is_some())
    {
        return Err(ApiFailure::new(
            "ResourceInUse.DiskRollbacking",
            format!("The disk `{disk_id}` is rolling back."),
        ));
    }
    if world.snapshots.values().any(|s| {
        s.disk_id == disk_id && s.region == region && s.copied_from.is_none() && world.is_running(s)
    }) {
        return Err(ApiFailure::new(
            "InvalidDisk.SnapshotCreating",
            format!("A snapshot of `{disk_id}` is being created."),
        ));
    }
    if world.snapshots_in(&region).count() >= world.snapshot_quota(&region) {
        return Err(ApiFailure::new(
            "InsufficientSnapshotQuota",
            "The snapshot quota of this region is used up.",
        ));
    }
    let deadline = request
        .deadline
        .as_deref()
        .map(|text| {
            clock::parse_datetime(text)
                .filter(|&d| d > world.now_ms)
                .ok_or_else(|| {
                    ApiFailure::invalid(format!(
                        "Deadline `{text}` is not a future `YYYY-MM-DD HH:MM:SS`."
                    ))
                })
        })
        .transpose()?;
    let name = request
        .snapshot_name
        .clone()
        .unwrap_or_else(|| format!("{} snapshot", source.name));
    let duration = world.create_duration(source.size_gb);
    let id = world.add_snapshot_of(&source, &name, duration);
    if let Some(snapshot) = world.snapshots.get_mut(&id) {
        snapshot.tags = tags(request.tags.as_deref());
        snapshot.local = request.local_snap.unwrap_or(false);
        if let Some(deadline) = deadline {
            snapshot.permanent = false;
            snapshot.deadline_ms = Some(deadline);
        }
    }
    let mut response = CreateSnapshotResponse::default();
    response.snapshot_id = Some(id);
    Ok(response)
}

pub(super) fn copy_cross_regions(
    world: &mut World,
    call: &Call<'_>,
    request: CopySnapshotCrossRegionsRequest,
) -> Answer<CopySnapshotCrossRegionsResponse> {
    let source = match world.snapshots.get(&request.snapshot_id) {
        Some(source) => source.clone(),
        None => {
            return Err(not_owned(
                world,
                call,
                &request.snapshot_id,
                "UnsupportedOperation.SnapshotNotSupportCopy",
                "copied",
            ));
        }
    };
    if call
        .region
        .is_some_and(|r| !r.is_empty() && r != source.region)
    {
        return Err(not_found(
            "InvalidSnapshotId.NotFound",
            "snapshot",
            &request.snapshot_id,
        ));
    }
    if world.is_running(&source) {
        return Err(ApiFailure::new(
            "UnsupportedOperation.SnapshotNotSupportCopy",
            format!(
                "The snapshot `{}` is not NORMAL and cannot be copied.",
                source.id
            ),
        ));
    }
    let mut copying_to = world.copying_to(&source.id);
    let mut results = Vec::new();
    for destination in &request.destination_regions {
        let mut result = SnapshotCopyResult::default();
        result.destination_region = Some(destination.clone());
        let failure = if !is_region(destination) {
            Some((
                "InvalidParameterValue",
                format!("The region `{destination}` is not supported."),
            ))
        } else if *destination == source.region {
            Some((
                "InvalidParameterValue",
                format!("The snapshot is already in `{destination}`."),
            ))
        } else if copying_to.contains(destination) {
            Some((
                "ResourceInUse.CopySnapshotConflict",
                format!("The snapshot is already being copied to `{destination}`."),
            ))
        } else if world.snapshots_in(destination).count() >= world.snapshot_quota(destination) {
            Some((
                "InsufficientSnapshotQuota",
                format!("The snapshot quota of `{destination}` is used up."),
            ))
        } else {
            None
        };
        match failure {
            Some((code, message)) => {
                result.code = Some(code.to_owned());
                result.message = Some(message);
                result.snapshot_id = Some(String::new());
            }
            None => {
                let name = request
                    .snapshot_name
                    .clone()
                    .unwrap_or_else(|| format!("Copied {} from {}", source.id, source.region));
                let id = world.new_id("snap");
                let seq = world.next_seq();
                let now = world.now_ms;
                let duration = world.copy_duration(source.disk_size_gb).max(1_000);
                let mut copy = source.clone();
                copy.id = id.clone();
                copy.region = destination.clone();
                copy.zone = crate::state::default_zone(destination);
                copy.name = name;
                copy.permanent = true;
                copy.deadline_ms = None;
                copy.created_ms = now;
                copy.modified_ms = now;
                copy.progress = Some(Transition::new("COPYING_FROM_REMOTE", now, duration));
                copy.copied_from = Some((source.id.clone(), source.region.clone()));
                copy.policy_id = None;
                copy.group_id = None;
                copy.shared_with = Vec::new();
                if !world.settings.copy_tags {
                    copy.tags = Vec::new();
                }
                copy.seq = seq;
                world.snapshots.insert(id.clone(), copy);
                copying_to.push(destination.clone());
                result.code = Some("Success".to_owned());
                result.message = Some(String::new());
                result.snapshot_id = Some(id);
            }
        }
        results.push(result);
    }
    let mut response = CopySnapshotCrossRegionsResponse::default();
    response.snapshot_copy_result_set = Some(results);
    Ok(response)
}

pub(super) fn describe(
    world: &mut World,
    call: &Call<'_>,
    request: DescribeSnapshotsRequest,
) -> Answer<DescribeSnapshotsResponse> {
    let region = call.region()?;
    if request.snapshot_ids.is_some() && request.filters.is_some() {
        return Err(ApiFailure::new(
            "InvalidParameter",
            "SnapshotIds and Filters cannot be used together.",
        ));
    }
    let filters = Filters::new(
        request.filters.as_deref(),
        &[
            "snapshot-id",
            "snapshot-name",
            "snapshot-state",
            "snapshot-type",
            "disk-id",
            "disk-usage",
            "encrypt",
            "zone",
            "project-id",
            "tag-key",
            "tag-value",
            "tag:",
        ],
    )?;
    let wanted: Option<std::collections::HashSet<&str>> = request
        .snapshot_ids
        .as_ref()
        .map(|ids| ids.iter().map(String::as_str).collect());
    let world: &World = world;
    // What others share with the caller is listed when asked for by id or by the
    // `snapshot-type` filter `SHARED_SNAPSHOT`; a plain listing is the caller's own.
    let foreign = wanted.is_some() || filters.asks("snapshot-type", "SHARED_SNAPSHOT");
    let shared =
        crate::state::shared_with(call.others, &world.settings.account, region).filter(|_| foreign);
    let mut matching: Vec<(&World, &Snapshot)> = world
        .snapshots_in(region)
        .map(|s| (world, s))
        .chain(shared)
        .filter(|(_, s)| {
            wanted
                .as_ref()
                .is_none_or(|ids| ids.contains(s.id.as_str()))
        })
        .filter(|(owner, s)| {
            // Only what filters need is worked out for every snapshot; the full view
            // (which looks for copies in flight) only for the page returned.
            filters.matches(|name| match name {
                "snapshot-id" => one(&s.id),
                "snapshot-name" => one(&s.name),
                "snapshot-state" => one(owner.snapshot_state(s).0),
                "snapshot-type" => one(owner.snapshot_type(s).as_str()),
                "disk-id" => one(&s.disk_id),
                "disk-usage" => one(&s.disk_usage),
                "encrypt" => one(s.encrypt.to_string().to_uppercase()),
                "project-id" => one(0),
                "zone" => one(&s.zone),
                other => tag_values(&s.tags, other),
            })
        })
        .collect();
    order(
        &mut matching,
        request.order.as_deref(),
        request.order_field.as_deref(),
        |(_, s), field| match field {
            "DISK_SIZE" => s.disk_size_gb,
            _ => s.created_ms * 1_000_000 + s.seq % 1_000_000,
        },
    )?;
    let (total, page) = page(matching, request.offset, request.limit)?;
    let own: Vec<&Snapshot> = page
        .iter()
        .filter(|(owner, _)| std::ptr::eq(*owner, world))
        .map(|(_, s)| *s)
        .collect();
    let mut own_views = world.snapshot_views(&own).into_iter();
    let page = page
        .iter()
        .map(|(owner, s)| {
            if std::ptr::eq(*owner, world) {
                own_views.next().unwrap_or_default()
            } else {
                owner.snapshot_view(s)
            }
        })
        .collect();
    let mut response = DescribeSnapshotsResponse::default();
    response.total_count = Some(total);
    response.snapshot_set = Some(page);
    Ok(response)
}

pub(super) fn delete(
    world: &mut World,
    call: &Call<'_>,
    request: DeleteSnapshotsRequest,
) -> Answer<DeleteSnapshotsResponse> {
    let region = call.region()?;
    // All or nothing: check every id before deleting any.
    for id in &request.snapshot_ids {
        let record = snapshot(world, region, id)
            .map_err(|_| not_owned(world, call, id, "InvalidSnapshot.NotSupported", "deleted"))?;
        if !record.shared_with.is_empty() && !world.settings.delete_shared {
            return Err(ApiFailure::new(
                "UnsupportedOperation.SnapHasShared",
                format!("The snapshot `{id}` is shared; stop sharing it first."),
            ));
        }
        if record.group_id.is_some() {
            return Err(ApiFailure::new(
                "InvalidSnapshot.NotSupported",
                format!("The snapshot `{id}` belongs to a snapshot group; delete the group."),
            ));
        }
    }
    for id in &request.snapshot_ids {
        world.snapshots.remove(id);
    }
    Ok(DeleteSnapshotsResponse::default())
}

pub(super) fn modify(
    world: &mut World,
    call: &Call<'_>,
    request: ModifySnapshotAttributeRequest,
) -> Answer<ModifySnapshotAttributeResponse> {
    let region = call.region()?;
    snapshot(world, region, &request.snapshot_id).map_err(|_| {
        not_owned(
            world,
            call,
            &request.snapshot_id,
            "InvalidSnapshot.NotSupported",
            "renamed or changed",
        )
    })?;
    let deadline = match (&request.deadline, request.is_permanent) {
        (Some(_), Some(true)) => {
            return Err(ApiFailure::invalid("A permanent snapshot has no deadline."));
        }
        (Some(text), _) => Some(
            clock::parse_datetime(text)
                .filter(|&d| d > world.now_ms)
                .ok_or_else(|| {
                    ApiFailure::invalid(format!(
                        "Deadline `{text}` is not a future `YYYY-MM-DD HH:MM:SS`."
                    ))
                })?,
        ),
        (None, _) => None,
    };
    let now = world.now_ms;
    let record = world
        .snapshots
        .get_mut(&request.snapshot_id)
        .expect("checked above");
    if let Some(name) = request.snapshot_name {
        record.name = name;
    }
    match (request.is_permanent, deadline) {
        (Some(true), _) => {
            record.permanent = true;
            record.deadline_ms = None;
        }
        (_, Some(deadline)) => {
            record.permanent = false;
            record.deadline_ms = Some(deadline);
        }
        (Some(false), None) if record.deadline_ms.is_none() => {
            return Err(ApiFailure::invalid(
                "A snapshot that is not permanent needs a Deadline.",
            ));
        }
        _ => {}
    }
    record.modified_ms = now;
    Ok(ModifySnapshotAttributeResponse::default())
}

pub(super) fn apply(
    world: &mut World,
    call: &Call<'_>,
    request: ApplySnapshotRequest,
) -> Answer<ApplySnapshotResponse> {
    let region = call.region()?;
    let source = snapshot(world, region, &request.snapshot_id)?.clone();
    if world.is_running(&source) {
        return Err(ApiFailure::new(
            "InvalidSnapshot.NotSupported",
            format!("The snapshot `{}` is not NORMAL yet.", source.id),
        ));
    }
    let now = world.now_ms;
    let duration = world.create_duration(source.disk_size_gb).max(1_000);
    let target = disk(world, region, &request.disk_id)?;
    if source.disk_id != target.id && source.copied_from.is_none() {
        return Err(ApiFailure::new(
            "InvalidSnapshot.NotSupported",
            format!("The snapshot `{}` was taken of another disk.", source.id),
        ));
    }
    if target
        .rollback
        .as_ref()
        .is_some_and(|r| r.at(now).is_some())
    {
        return Err(ApiFailure::new(
            "ResourceInUse.DiskRollbacking",
            format!("The disk `{}` is already rolling back.", target.id),
        ));
    }
    if target.instance_id.is_some() && request.auto_stop_instance != Some(true) {
        return Err(ApiFailure::new(
            "UnsupportedOperation.InstanceNotStopped",
            "The disk is attached to a running instance; set AutoStopInstance or detach it.",
        ));
    }
    let target = disk_mut(world, region, &request.disk_id)?;
    target.rollback = Some(Transition::new("ROLLBACKING", now, duration));
    Ok(ApplySnapshotResponse::default())
}

pub(super) fn overview(
    world: &mut World,
    call: &Call<'_>,
    _: DescribeSnapshotOverviewRequest,
) -> Answer<DescribeSnapshotOverviewResponse> {
    let (count, size) = totals(world, call.region()?);
    let mut response = DescribeSnapshotOverviewResponse::default();
    response.total_nums = Some(count);
    response.total_size = Some(size);
    response.real_trade_size = Some(size);
    response.free_quota = Some(0.0);
    Ok(response)
}

#[allow(deprecated)] // The service still answers it; so does the emulator.
pub(super) fn legacy_overview(
    world: &mut World,
    call: &Call<'_>,
    _: GetSnapOverviewRequest,
) -> Answer<GetSnapOverviewResponse> {
    let (count, size) = totals(world, call.region()?);
    let mut response = GetSnapOverviewResponse::default();
    response.total_nums = Some(count as i64);
    response.total_size = Some(size);
    response.real_trade_size = Some(size);
    response.free_quota = Some(0.0);
    Ok(response)
}

/// How many snapshots a region holds and their size in GB.
fn totals(world: &World, region: &str) -> (u64, f64) {
    world
        .snapshots_in(region)
        .fold((0, 0.0), |(n, gb), s| (n + 1, gb + s.disk_size_gb as f64))
}

pub(super) fn share_permission(
    world: &mut World,
    call: &Call<'_>,
    request: DescribeSnapshotSharePermissionRequest,
) -> Answer<DescribeSnapshotSharePermissionResponse> {
    let record = snapshot(world, call.region()?, &request.snapshot_id)?;
    let set = record
        .shared_with
        .iter()
        .map(|(account, at)| {
            let mut permission = SharePermission::default();
            permission.account_id = Some(account.clone());
            permission.created_time = Some(clock::datetime(*at));
            permission
        })
        .collect();
    let mut response = DescribeSnapshotSharePermissionResponse::default();
    response.share_permission_set = Some(set);
    Ok(response)
}

pub(super) fn modify_share_permission(
    world: &mut World,
    call: &Call<'_>,
    request: ModifySnapshotsSharePermissionRequest,
) -> Answer<ModifySnapshotsSharePermissionResponse> {
    let region = call.region()?;
    let share = match request.permission.as_str() {
        "SHARE" => true,
        "CANCEL" => false,
        other => {
            return Err(ApiFailure::invalid(format!(
                "Permission `{other}` is neither SHARE nor CANCEL."
            )));
        }
    };
    for account in &request.account_ids {
        if account.is_empty() || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiFailure::invalid(format!(
                "`{account}` is not an account id."
            )));
        }
        if *account == world.settings.account {
            return Err(ApiFailure::invalid(
                "A snapshot cannot be shared with its own account.",
            ));
        }
    }
    for id in &request.snapshot_ids {
        let record = snapshot(world, region, id)?;
        if world.is_running(record) {
            return Err(ApiFailure::new(
                "InvalidSnapshot.NotSupported",
                format!("The snapshot `{id}` is not NORMAL yet."),
            ));
        }
        // "Only data disk snapshots can be shared" (the action's documentation); the
        // code is the catalogue's for an operation the snapshot does not support.
        if share && record.disk_usage == "SYSTEM_DISK" {
            return Err(ApiFailure::new(
                "InvalidSnapshot.NotSupported",
                format!(
                    "The snapshot `{id}` is of a system disk; only data disk snapshots can be shared."
                ),
            ));
        }
        if share {
            let mut accounts: Vec<&String> = record.shared_with.iter().map(|(a, _)| a).collect();
            accounts.extend(request.account_ids.iter());
            accounts.sort();
            accounts.dedup();
            if accounts.len() > SHARE_LIMIT {
                return Err(ApiFailure::new(
                    "InvalidParameterValue.LimitExceeded",
                    format!("A snapshot can be shared with at most {SHARE_LIMIT} accounts."),
                ));
            }
        }
    }
    let now = world.now_ms;
    for id in &request.snapshot_ids {
        let record = world.snapshots.get_mut(id).expect("checked above");
        for account in &request.account_ids {
            let present = record.shared_with.iter().any(|(a, _)| a == account);
            if share && !present {
                record.shared_with.push((account.clone(), now));
            } else if !share {
                record.shared_with.retain(|(a, _)| a != account);
            }
        }
    }
    Ok(ModifySnapshotsSharePermissionResponse::default())
}
