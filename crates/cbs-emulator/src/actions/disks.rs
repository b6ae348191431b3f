//! Disks: create, attach and detach, resize, modify, charge and renew, terminate.

use cbs_model::*;

use super::{
    Answer, ApiFailure, Call, Filters, all_disks, disk, disk_mut, not_found, one, order, page,
    readable_snapshot, tag_values, tags,
};
use crate::state::{Transition, World};

/// The most disks an instance takes. The product's usage limits say 20 elastic disks
/// per instance; the `DescribeInstancesDiskNum` example shows a `MaxAttachCount` of 10
/// (an older or smaller instance): the emulator answers 20 for every instance.
const MAX_DISKS_PER_INSTANCE: u64 = 20;
/// The most disks one `AttachDisks` call takes (the API reference of `DiskIds`).
const DISKS_PER_ATTACH: usize = 10;
/// Disk sizes the service accepts, in GB.
const SIZES: std::ops::RangeInclusive<u64> = 10..=32_000;
const MONTH_MS: u64 = 30 * 86_400_000;

/// A disk only grows: `new_gb` must be above what `id` holds now (resizing and its
/// price inquiry both ask).
pub(super) fn check_growth(id: &str, current_gb: u64, new_gb: u64) -> Answer<()> {
    if new_gb > current_gb {
        Ok(())
    } else {
        Err(ApiFailure::new(
            "InvalidParameter.DiskSizeNotMatch",
            format!("A disk only grows: `{id}` already holds {current_gb} GB."),
        ))
    }
}

fn check_size(size: u64) -> Answer<()> {
    if SIZES.contains(&size) {
        Ok(())
    } else {
        Err(ApiFailure::new(
            "InvalidParameter.DiskSizeNotMatch",
            format!(
                "A disk holds {} to {} GB, not {size}.",
                SIZES.start(),
                SIZES.end()
            ),
        ))
    }
}

/// A model enum as the record keeps it, its wire string.
fn wire<T: std::fmt::Display>(value: &T) -> String {
    value.to_string()
}

pub(super) fn create(
    world: &mut World,
    call: &Call<'_>,
    request: CreateDisksRequest,
) -> Answer<CreateDisksResponse> {
    let region = call.region()?.to_owned();
    if let Some(ids) = request
        .client_token
        .as_ref()
        .and_then(|token| world.token_result(token))
    {
        // The service runs a request once per token: a repeat answers as the first did.
        let mut response = CreateDisksResponse::default();
        response.disk_id_set = Some(ids.clone());
        return Ok(response);
    }
    if request.client_token.as_ref().is_some_and(|t| t.len() > 64) {
        return Err(ApiFailure::new(
            "InvalidParameter.InvalidClientToken",
            "ClientToken takes at most 64 characters.",
        ));
    }
    let zone = request
        .placement
        .zone
        .clone()
        .ok_or_else(|| ApiFailure::new("MissingParameter", "Placement.Zone is required."))?;
    if !world.is_zone_of(&zone, &region) {
        return Err(ApiFailure::invalid(format!(
            "The zone `{zone}` is not in `{region}`."
        )));
    }
    let (size, source) = match (request.disk_size, &request.snapshot_id) {
        (size, Some(id)) => {
            // A snapshot another account shares with the caller serves as well as its
            // own: that is what sharing is for.
            let (owner, source) = readable_snapshot(world, call, &region, id)?;
            let source = source.clone();
            if owner.is_running(&source) {
                return Err(ApiFailure::new(
                    "InvalidSnapshot.NotSupported",
                    format!("The snapshot `{id}` is not NORMAL yet."),
                ));
            }
            let size = size.unwrap_or(source.disk_size_gb);
            if size < source.disk_size_gb {
                return Err(ApiFailure::new(
                    "InvalidParameter.DiskSizeNotMatch",
                    "A disk from a snapshot is at least the snapshot's size.",
                ));
            }
            (size, Some(source))
        }
        (Some(size), None) => (size, None),
        (None, None) => {
            return Err(ApiFailure::new(
                "MissingParameter",
                "The request is missing the required parameter `DiskSize` (or `SnapshotId`).",
            ));
        }
    };
    check_size(size)?;
    if world.is_sold_out(&zone, request.disk_type.as_str()) {
        return Err(ApiFailure::new(
            "ResourceInsufficient",
            format!(
                "{} disks are sold out in {zone}.",
                request.disk_type.as_str()
            ),
        ));
    }
    let count = request.disk_count.unwrap_or(1);
    if !(1..=50).contains(&count) {
        return Err(ApiFailure::invalid("DiskCount must be between 1 and 50."));
    }
    let prepaid = request.disk_charge_type == DiskChargeType::Prepaid;
    if prepaid && request.disk_charge_prepaid.is_none() {
        return Err(ApiFailure::new(
            "MissingParameter",
            "A prepaid disk needs DiskChargePrepaid.",
        ));
    }
    let name = request
        .disk_name
        .clone()
        .unwrap_or_else(|| "disk".to_owned());
    let now = world.now_ms;
    let mut ids = Vec::new();
    for _ in 0..count {
        let id = world.add_disk(&region, &zone, &name, size, request.disk_type.as_str());
        let record = world.disks.get_mut(&id).expect("just added");
        record.charge_type = wire(&request.disk_charge_type);
        record.project_id = request.placement.project_id.unwrap_or(0);
        record.shareable = request.shareable.unwrap_or(false);
        record.encrypt = request.encrypt.as_deref() == Some("ENCRYPT")
            || source.as_ref().is_some_and(|s| s.encrypt);
        record.throughput_performance = request.throughput_performance.unwrap_or(0);
        record.burst_performance = request.burst_performance.unwrap_or(false);
        record.backup_quota = request.disk_backup_quota.unwrap_or(0);
        record.tags = tags(request.tags.as_deref());
        if let Some(prepaid) = request.disk_charge_prepaid.as_ref().filter(|_| prepaid) {
            record.deadline_ms = Some(now + prepaid.period * MONTH_MS);
            if let Some(flag) = &prepaid.renew_flag {
                record.renew_flag = wire(flag);
            }
        }
        if let Some(source) = &source {
            record.usage = source.disk_usage.clone();
        }
        ids.push(id);
        let loading = source
            .as_ref()
            .map(|_| world.restore_duration(size))
            .filter(|ms| *ms > 0);
        if let Some(duration) = loading {
            let record = world
                .disks
                .get_mut(ids.last().expect("just pushed"))
                .expect("just added");
            record.rollback = Some(Transition::new("ROLLBACKING", now, duration));
        }
    }
    if let Some(token) = request.client_token.filter(|t| !t.is_empty()) {
        world.remember_token(token, ids.clone());
    }
    let mut response = CreateDisksResponse::default();
    response.disk_id_set = Some(ids);
    Ok(response)
}

pub(super) fn describe(
    world: &mut World,
    call: &Call<'_>,
    request: DescribeDisksRequest,
) -> Answer<DescribeDisksResponse> {
    let region = call.region()?;
    if request.disk_ids.is_some() && request.filters.is_some() {
        return Err(ApiFailure::new(
            "InvalidParameter",
            "DiskIds and Filters cannot be used together.",
        ));
    }
    let filters = Filters::new(
        request.filters.as_deref(),
        &[
            "disk-id",
            "disk-name",
            "disk-usage",
            "disk-type",
            "disk-state",
            "disk-charge-type",
            "portable",
            "project-id",
            "instance-id",
            "zone",
            "encrypt",
            "tag-key",
            "tag-value",
            "tag:",
        ],
    )?;
    let mut matching: Vec<_> = world
        .disks_in(region)
        .filter(|d| {
            request
                .disk_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&d.id))
        })
        .filter(|d| {
            // The full view (which counts snapshots and backups) only for the page.
            filters.matches(|name| match name {
                "disk-id" => one(&d.id),
                "disk-name" => one(&d.name),
                "disk-usage" => one(&d.usage),
                "disk-type" => one(&d.disk_type),
                "disk-state" => one(world.disk_state(d)),
                "disk-charge-type" => one(&d.charge_type),
                "portable" => one(d.portable.to_string().to_uppercase()),
                "project-id" => one(d.project_id),
                "instance-id" => d.instance_id.iter().cloned().collect(),
                "encrypt" => one(d.encrypt.to_string().to_uppercase()),
                "zone" => one(&d.zone),
                other => tag_values(&d.tags, other),
            })
        })
        .collect();
    order(
        &mut matching,
        request.order.as_deref(),
        request.order_field.as_deref(),
        |d, field| match field {
            "DEADLINE" => d.deadline_ms.unwrap_or(u64::MAX),
            _ => d.created_ms * 1_000_000 + d.seq % 1_000_000,
        },
    )?;
    let (total, page) = page(matching, request.offset, request.limit)?;
    let page = page.into_iter().map(|d| world.disk_view(d)).collect();
    let mut response = DescribeDisksResponse::default();
    response.total_count = Some(total);
    response.disk_set = Some(page);
    Ok(response)
}

/// The elastic (data) disks attached to `instance`: what its limit counts (the system
/// disk is not attached by `AttachDisks` and is not among them).
fn data_disks_on(world: &World, instance: &str) -> u64 {
    world
        .disks
        .values()
        .filter(|d| d.instance_id.as_deref() == Some(instance) && d.usage != "SYSTEM_DISK")
        .count() as u64
}

pub(super) fn attach(
    world: &mut World,
    call: &Call<'_>,
    request: AttachDisksRequest,
) -> Answer<AttachDisksResponse> {
    let region = call.region()?;
    if request.disk_ids.is_empty() || request.disk_ids.len() > DISKS_PER_ATTACH {
        return Err(ApiFailure::new(
            "InvalidParameterValue.LimitExceeded",
            format!("DiskIds takes 1 to {DISKS_PER_ATTACH} disks a call."),
        ));
    }
    let instance = world
        .instances
        .get(&request.instance_id)
        .filter(|i| i.region == region)
        .cloned()
        .ok_or_else(|| {
            not_found(
                "InvalidInstanceId.NotFound",
                "instance",
                &request.instance_id,
            )
        })?;
    let attached = data_disks_on(world, &instance.id);
    if attached + request.disk_ids.len() as u64 > MAX_DISKS_PER_INSTANCE {
        return Err(ApiFailure::new(
            "LimitExceeded.InstanceAttachedDisk",
            format!("An instance takes at most {MAX_DISKS_PER_INSTANCE} disks."),
        ));
    }
    for id in &request.disk_ids {
        let record = disk(world, region, id)?;
        if record.instance_id.is_some() {
            return Err(ApiFailure::new(
                "ResourceUnavailable.Attached",
                format!("The disk `{id}` is already attached."),
            ));
        }
        if record.recycled {
            return Err(ApiFailure::new(
                "InvalidDisk.Expire",
                format!("The disk `{id}` is in the recycle bin."),
            ));
        }
        if record.zone != instance.zone {
            return Err(ApiFailure::new(
                "ResourceUnavailable.ZoneNotMatch",
                format!("The disk `{id}` is in another zone than the instance."),
            ));
        }
    }
    for id in &request.disk_ids {
        let record = disk_mut(world, region, id)?;
        record.instance_id = Some(instance.id.clone());
        record.attach_mode = request.attach_mode.clone();
        if let Some(delete) = request.delete_with_instance {
            record.delete_with_instance = delete;
        }
    }
    Ok(AttachDisksResponse::default())
}

pub(super) fn detach(
    world: &mut World,
    call: &Call<'_>,
    request: DetachDisksRequest,
) -> Answer<DetachDisksResponse> {
    let region = call.region()?;
    for id in &request.disk_ids {
        let record = disk(world, region, id)?;
        match (&record.instance_id, &request.instance_id) {
            (None, _) => {
                return Err(ApiFailure::new(
                    "InvalidDisk.NotSupported",
                    format!("The disk `{id}` is not attached."),
                ));
            }
            (Some(on), Some(asked)) if on != asked => {
                return Err(ApiFailure::invalid(format!(
                    "The disk `{id}` is attached to `{on}`, not `{asked}`."
                )));
            }
            _ => {}
        }
    }
    for id in &request.disk_ids {
        let record = disk_mut(world, region, id)?;
        record.instance_id = None;
        record.attach_mode = None;
    }
    Ok(DetachDisksResponse::default())
}

pub(super) fn resize(
    world: &mut World,
    call: &Call<'_>,
    request: ResizeDiskRequest,
) -> Answer<ResizeDiskResponse> {
    let region = call.region()?;
    let id = request
        .disk_id
        .ok_or_else(|| ApiFailure::new("MissingParameter", "DiskId is required."))?;
    check_size(request.disk_size)?;
    let record = disk_mut(world, region, &id)?;
    check_growth(&id, record.size_gb, request.disk_size)?;
    record.size_gb = request.disk_size;
    Ok(ResizeDiskResponse::default())
}

pub(super) fn modify(
    world: &mut World,
    call: &Call<'_>,
    request: ModifyDiskAttributesRequest,
) -> Answer<ModifyDiskAttributesResponse> {
    let region = call.region()?;
    all_disks(world, region, &request.disk_ids)?;
    if request.disk_ids.len() > 1 && request.disk_name.is_some() {
        return Err(ApiFailure::invalid("DiskName changes one disk at a time."));
    }
    for id in &request.disk_ids {
        let record = disk_mut(world, region, id)?;
        if let Some(name) = &request.disk_name {
            record.name = name.clone();
        }
        if let Some(portable) = request.portable {
            record.portable = portable;
        }
        if let Some(project) = request.project_id {
            record.project_id = project;
        }
        if let Some(delete) = request.delete_with_instance {
            record.delete_with_instance = delete;
        }
        if let Some(disk_type) = &request.disk_type {
            record.disk_type = wire(disk_type);
        }
        match request.burst_performance_operation.as_deref() {
            Some("CREATE") => record.burst_performance = true,
            Some("CANCEL") => record.burst_performance = false,
            Some(other) => {
                return Err(ApiFailure::invalid(format!(
                    "BurstPerformanceOperation `{other}` is neither CREATE nor CANCEL."
                )));
            }
            None => {}
        }
    }
    Ok(ModifyDiskAttributesResponse::default())
}

pub(super) fn modify_charge_type(
    world: &mut World,
    call: &Call<'_>,
    request: ModifyDisksChargeTypeRequest,
) -> Answer<ModifyDisksChargeTypeResponse> {
    let region = call.region()?;
    all_disks(world, region, &request.disk_ids)?;
    let now = world.now_ms;
    let (charge, deadline) = match (&request.disk_charge_prepaid, request.disk_charge_postpaid) {
        (Some(prepaid), _) => ("PREPAID", Some(now + prepaid.period * MONTH_MS)),
        (None, Some(true)) => ("POSTPAID_BY_HOUR", None),
        _ => {
            return Err(ApiFailure::new(
                "MissingParameter",
                "Give DiskChargePrepaid or DiskChargePostpaid.",
            ));
        }
    };
    for id in &request.disk_ids {
        let record = disk_mut(world, region, id)?;
        record.charge_type = charge.to_owned();
        record.deadline_ms = deadline;
    }
    Ok(ModifyDisksChargeTypeResponse::default())
}

pub(super) fn modify_renew_flag(
    world: &mut World,
    call: &Call<'_>,
    request: ModifyDisksRenewFlagRequest,
) -> Answer<ModifyDisksRenewFlagResponse> {
    let region = call.region()?;
    all_disks(world, region, &request.disk_ids)?;
    for id in &request.disk_ids {
        if disk(world, region, id)?.charge_type != "PREPAID" {
            return Err(ApiFailure::new(
                "InvalidDisk.NotSupported",
                format!("The disk `{id}` is not prepaid."),
            ));
        }
    }
    for id in &request.disk_ids {
        disk_mut(world, region, id)?.renew_flag = wire(&request.renew_flag);
    }
    Ok(ModifyDisksRenewFlagResponse::default())
}

pub(super) fn modify_extra_performance(
    world: &mut World,
    call: &Call<'_>,
    request: ModifyDiskExtraPerformanceRequest,
) -> Answer<ModifyDiskExtraPerformanceResponse> {
    let region = call.region()?;
    let record = disk_mut(world, region, &request.disk_id)?;
    if !matches!(record.disk_type.as_str(), "CLOUD_TSSD" | "CLOUD_HSSD") {
        return Err(ApiFailure::new(
            "InvalidDisk.TypeError",
            "Extra performance is for CLOUD_TSSD and CLOUD_HSSD disks.",
        ));
    }
    record.throughput_performance = request.throughput_performance;
    Ok(ModifyDiskExtraPerformanceResponse::default())
}

pub(super) fn modify_backup_quota(
    world: &mut World,
    call: &Call<'_>,
    request: ModifyDiskBackupQuotaRequest,
) -> Answer<ModifyDiskBackupQuotaResponse> {
    let region = call.region()?;
    let used = world
        .backups
        .values()
        .filter(|b| b.disk_id == request.disk_id)
        .count() as u64;
    if request.disk_backup_quota > 1024 {
        return Err(ApiFailure::invalid("DiskBackupQuota is at most 1024."));
    }
    if request.disk_backup_quota < used {
        return Err(ApiFailure::invalid(format!(
            "The disk already has {used} backups; delete some first."
        )));
    }
    disk_mut(world, region, &request.disk_id)?.backup_quota = request.disk_backup_quota;
    Ok(ModifyDiskBackupQuotaResponse::default())
}

pub(super) fn initialize(
    world: &mut World,
    call: &Call<'_>,
    request: InitializeDisksRequest,
) -> Answer<InitializeDisksResponse> {
    let region = call.region()?;
    for id in &request.disk_ids {
        if disk(world, region, id)?.instance_id.is_some() {
            return Err(ApiFailure::new(
                "ResourceUnavailable.Attached",
                format!("The disk `{id}` is attached; detach it first."),
            ));
        }
    }
    Ok(InitializeDisksResponse::default())
}

pub(super) fn terminate(
    world: &mut World,
    call: &Call<'_>,
    request: TerminateDisksRequest,
) -> Answer<TerminateDisksResponse> {
    let region = call.region()?;
    for id in &request.disk_ids {
        let record = disk(world, region, id)?;
        if record.instance_id.is_some() {
            return Err(ApiFailure::new(
                "ResourceUnavailable.Attached",
                format!("The disk `{id}` is attached; detach it first."),
            ));
        }
        if record.recycled {
            return Err(ApiFailure::new(
                "ResourceUnavailable.RepeatRefund",
                format!("The disk `{id}` is already in the recycle bin."),
            ));
        }
    }
    for id in &request.disk_ids {
        let prepaid = disk(world, region, id)?.charge_type == "PREPAID";
        if prepaid {
            // A prepaid disk waits in the recycle bin; a postpaid one is gone.
            disk_mut(world, region, id)?.recycled = true;
        } else {
            world.disks.remove(id);
        }
        if request.delete_snapshot == Some(1) {
            world.snapshots.retain(|_, s| {
                !(s.disk_id == *id && s.region == region && s.shared_with.is_empty())
            });
        }
        for policy in world.policies.values_mut() {
            policy.disk_ids.retain(|d| d != id);
        }
    }
    Ok(TerminateDisksResponse::default())
}

pub(super) fn renew(
    world: &mut World,
    call: &Call<'_>,
    request: RenewDiskRequest,
) -> Answer<RenewDiskResponse> {
    let region = call.region()?;
    let now = world.now_ms;
    let record = disk_mut(world, region, &request.disk_id)?;
    if record.charge_type != "PREPAID" {
        return Err(ApiFailure::new(
            "InvalidDisk.NotSupported",
            format!("The disk `{}` is not prepaid.", request.disk_id),
        ));
    }
    if request.disk_charge_prepaid.period == 0 {
        return Err(ApiFailure::invalid("Period must be at least 1 month."));
    }
    let from = record.deadline_ms.unwrap_or(now).max(now);
    record.deadline_ms = Some(from + request.disk_charge_prepaid.period * MONTH_MS);
    record.recycled = false;
    Ok(RenewDiskResponse::default())
}

pub(super) fn instances_disk_num(
    world: &mut World,
    call: &Call<'_>,
    request: DescribeInstancesDiskNumRequest,
) -> Answer<DescribeInstancesDiskNumResponse> {
    let region = call.region()?;
    let mut details = Vec::new();
    for id in &request.instance_ids {
        if world.instances.get(id).is_none_or(|i| i.region != region) {
            return Err(not_found("InvalidInstanceId.NotFound", "instance", id));
        }
        let mut detail = AttachDetail::default();
        detail.instance_id = Some(id.clone());
        detail.attached_disk_count = Some(data_disks_on(world, id));
        detail.max_attach_count = Some(MAX_DISKS_PER_INSTANCE);
        details.push(detail);
    }
    let mut response = DescribeInstancesDiskNumResponse::default();
    response.attach_detail = Some(details);
    Ok(response)
}
