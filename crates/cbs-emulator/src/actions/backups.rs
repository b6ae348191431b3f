//! Disk backups: create within the disk's quota, describe, roll back to, delete.

use cbs_model::*;

use super::{Answer, ApiFailure, Call, Filters, disk, disk_mut, not_found, one, order, page};
use crate::state::{Backup, Transition, World};

fn backup<'w>(world: &'w World, region: &str, id: &str) -> Answer<&'w Backup> {
    world
        .backups
        .get(id)
        .filter(|b| b.region == region)
        .ok_or_else(|| not_found("ResourceNotFound.NotFound", "disk backup", id))
}

pub(super) fn create(
    world: &mut World,
    call: &Call<'_>,
    request: CreateDiskBackupRequest,
) -> Answer<CreateDiskBackupResponse> {
    let region = call.region()?.to_owned();
    let source = disk(world, &region, &request.disk_id)?.clone();
    let used = world
        .backups
        .values()
        .filter(|b| b.disk_id == source.id)
        .count() as u64;
    if used >= source.backup_quota {
        return Err(ApiFailure::new(
            "ResourceInsufficient.OverQuota",
            format!(
                "The disk `{}` has used its backup quota of {}; raise it with ModifyDiskBackupQuota.",
                source.id, source.backup_quota
            ),
        ));
    }
    if world.backups.values().any(|b| {
        b.disk_id == source.id
            && b.progress
                .as_ref()
                .is_some_and(|p| p.at(world.now_ms).is_some())
    }) {
        return Err(ApiFailure::new(
            "ResourceUnavailable.DiskBackupCreating",
            format!("A backup of `{}` is being created.", source.id),
        ));
    }
    let id = world.new_id("dbp");
    let seq = world.next_seq();
    let now = world.now_ms;
    let duration = world.create_duration(source.size_gb).max(1_000);
    world.backups.insert(
        id.clone(),
        Backup {
            id: id.clone(),
            region,
            disk_id: source.id.clone(),
            disk_size_gb: source.size_gb,
            disk_usage: source.usage.clone(),
            name: request
                .disk_backup_name
                .unwrap_or_else(|| format!("{} backup", source.name)),
            encrypt: source.encrypt,
            created_ms: now,
            progress: Some(Transition::new("CREATING", now, duration)),
            seq,
        },
    );
    let mut response = CreateDiskBackupResponse::default();
    response.disk_backup_id = Some(id);
    Ok(response)
}

pub(super) fn describe(
    world: &mut World,
    call: &Call<'_>,
    request: DescribeDiskBackupsRequest,
) -> Answer<DescribeDiskBackupsResponse> {
    let region = call.region()?;
    let filters = Filters::new(
        request.filters.as_deref(),
        &["disk-backup-id", "disk-id", "disk-usage"],
    )?;
    let mut matching: Vec<&Backup> = world
        .backups
        .values()
        .filter(|b| b.region == region)
        .filter(|b| {
            request
                .disk_backup_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&b.id))
        })
        .filter(|b| {
            filters.matches(|name| match name {
                "disk-backup-id" => one(&b.id),
                "disk-id" => one(&b.disk_id),
                _ => one(&b.disk_usage),
            })
        })
        .collect();
    order(
        &mut matching,
        request.order.as_deref(),
        request.order_field.as_deref(),
        |b, _| b.created_ms * 1_000_000 + b.seq % 1_000_000,
    )?;
    let views = matching.into_iter().map(|b| world.backup_view(b)).collect();
    let (total, page) = page(views, request.offset, request.limit)?;
    let mut response = DescribeDiskBackupsResponse::default();
    response.total_count = Some(total);
    response.disk_backup_set = Some(page);
    Ok(response)
}

pub(super) fn delete(
    world: &mut World,
    call: &Call<'_>,
    request: DeleteDiskBackupsRequest,
) -> Answer<DeleteDiskBackupsResponse> {
    let region = call.region()?;
    for id in &request.disk_backup_ids {
        backup(world, region, id)?;
    }
    for id in &request.disk_backup_ids {
        world.backups.remove(id);
    }
    Ok(DeleteDiskBackupsResponse::default())
}

pub(super) fn apply(
    world: &mut World,
    call: &Call<'_>,
    request: ApplyDiskBackupRequest,
) -> Answer<ApplyDiskBackupResponse> {
    let region = call.region()?;
    let source = backup(world, region, &request.disk_backup_id)?.clone();
    if source.disk_id != request.disk_id {
        return Err(ApiFailure::invalid(
            "A backup rolls back only its own disk.",
        ));
    }
    if source
        .progress
        .as_ref()
        .is_some_and(|p| p.at(world.now_ms).is_some())
    {
        return Err(ApiFailure::new(
            "ResourceUnavailable.DiskBackupCreating",
            "The backup is still being created.",
        ));
    }
    let now = world.now_ms;
    let duration = world.create_duration(source.disk_size_gb).max(1_000);
    let target = disk(world, region, &request.disk_id)?;
    if target.instance_id.is_some() && request.auto_stop_instance != Some(true) {
        return Err(ApiFailure::new(
            "UnsupportedOperation.InstanceNotStopped",
            "The disk is attached to a running instance; set AutoStopInstance or detach it.",
        ));
    }
    disk_mut(world, region, &request.disk_id)?.rollback =
        Some(Transition::new("ROLLBACKING", now, duration));
    Ok(ApplyDiskBackupResponse::default())
}
