//! Remote disks (China site): created for an instance, attached, detached, renewed,
//! terminated, with state like disks.

use cbs_model::*;

use super::{Answer, ApiFailure, Call, Filters, not_found, one};
use crate::state::{RemoteDisk, World};

const MONTH_MS: u64 = 30 * 86_400_000;

fn remote<'w>(world: &'w World, region: &str, id: &str) -> Answer<&'w RemoteDisk> {
    world
        .remote_disks
        .get(id)
        .filter(|r| r.region == region && !r.terminated)
        .ok_or_else(|| not_found("InvalidDiskId.NotFound", "remote disk", id))
}

fn all(world: &World, region: &str, ids: &[String]) -> Answer<()> {
    for id in ids {
        remote(world, region, id)?;
    }
    Ok(())
}

fn instance_in<'w>(world: &'w World, region: &str, id: &str) -> Answer<&'w crate::state::Instance> {
    world
        .instances
        .get(id)
        .filter(|i| i.region == region)
        .ok_or_else(|| not_found("InvalidInstanceId.NotFound", "instance", id))
}

pub(super) fn create(
    world: &mut World,
    call: &Call<'_>,
    request: CreateRemoteDisksRequest,
) -> Answer<CreateRemoteDisksResponse> {
    let region = call.region()?.to_owned();
    let instance = instance_in(world, &region, &request.instance_id)?.clone();
    let zone = request
        .placement
        .zone
        .clone()
        .unwrap_or_else(|| instance.zone.clone());
    if !world.is_zone_of(&zone, &region) || zone != instance.zone {
        return Err(ApiFailure::new(
            "ResourceUnavailable.ZoneNotMatch",
            "A remote disk is created in its instance's zone.",
        ));
    }
    if !(10..=32_000).contains(&request.disk_size) {
        return Err(ApiFailure::new(
            "InvalidParameter.DiskSizeNotMatch",
            "A remote disk holds 10 to 32000 GB.",
        ));
    }
    let count = request.disk_count.unwrap_or(1);
    if !(1..=20).contains(&count) {
        return Err(ApiFailure::invalid("DiskCount must be between 1 and 20."));
    }
    let now = world.now_ms;
    let deadline = request
        .disk_charge_prepaid
        .as_ref()
        .map(|p| now + p.period * MONTH_MS);
    for _ in 0..count {
        let id = world.new_id("rdisk");
        let seq = world.next_seq();
        world.remote_disks.insert(
            id.clone(),
            RemoteDisk {
                id,
                region: region.clone(),
                zone: zone.clone(),
                name: request
                    .disk_name
                    .clone()
                    .unwrap_or_else(|| "remote disk".to_owned()),
                size_gb: request.disk_size,
                charge_type: request.disk_charge_type.as_str().to_owned(),
                renew_flag: request
                    .disk_charge_prepaid
                    .as_ref()
                    .and_then(|p| p.renew_flag.as_ref())
                    .map_or_else(|| "NOTIFY_AND_MANUAL_RENEW".to_owned(), |f| f.to_string()),
                project_id: request.placement.project_id.unwrap_or(0),
                instance_id: Some(instance.id.clone()),
                created_ms: now,
                deadline_ms: deadline,
                terminated: false,
                seq,
            },
        );
    }
    Ok(CreateRemoteDisksResponse::default())
}

pub(super) fn describe(
    world: &mut World,
    call: &Call<'_>,
    request: DescribeRemoteDisksRequest,
) -> Answer<DescribeRemoteDisksResponse> {
    let region = call.region()?;
    let filters = Filters::new(
        request.filters.as_deref(),
        &[
            "remote-disk-id",
            "remote-disk-name",
            "instance-id",
            "zone",
            "remote-disk-state",
        ],
    )?;
    let mut matching: Vec<&RemoteDisk> = world
        .remote_disks
        .values()
        .filter(|r| r.region == region && !r.terminated)
        .filter(|r| {
            filters.matches(|name| match name {
                "remote-disk-id" => one(&r.id),
                "remote-disk-name" => one(&r.name),
                "instance-id" => r.instance_id.iter().cloned().collect(),
                "zone" => one(&r.zone),
                _ => one(world.remote_view(r).remote_disk_state.unwrap_or_default()),
            })
        })
        .collect();
    matching.sort_by_key(|r| std::cmp::Reverse(r.seq));
    let views: Vec<RemoteDiskDetail> = matching.into_iter().map(|r| world.remote_view(r)).collect();
    let mut response = DescribeRemoteDisksResponse::default();
    response.total_count = Some(views.len() as u64);
    response.remote_disk_set = Some(views);
    Ok(response)
}

pub(super) fn attach(
    world: &mut World,
    call: &Call<'_>,
    request: AttachRemoteDisksRequest,
) -> Answer<AttachRemoteDisksResponse> {
    let region = call.region()?;
    let instance = instance_in(world, region, &request.instance_id)?.clone();
    all(world, region, &request.remote_disk_ids)?;
    for id in &request.remote_disk_ids {
        let record = &world.remote_disks[id];
        if record.instance_id.is_some() {
            return Err(ApiFailure::new(
                "ResourceUnavailable.Attached",
                format!("The remote disk `{id}` is already attached."),
            ));
        }
        if record.zone != instance.zone {
            return Err(ApiFailure::new(
                "ResourceUnavailable.ZoneNotMatch",
                format!("The remote disk `{id}` is in another zone than the instance."),
            ));
        }
    }
    for id in &request.remote_disk_ids {
        if let Some(record) = world.remote_disks.get_mut(id) {
            record.instance_id = Some(instance.id.clone());
        }
    }
    Ok(AttachRemoteDisksResponse::default())
}

pub(super) fn detach(
    world: &mut World,
    call: &Call<'_>,
    request: DetachRemoteDisksRequest,
) -> Answer<DetachRemoteDisksResponse> {
    let region = call.region()?;
    all(world, region, &request.remote_disk_ids)?;
    for id in &request.remote_disk_ids {
        if world.remote_disks[id].instance_id.as_deref() != Some(request.instance_id.as_str()) {
            return Err(ApiFailure::invalid(format!(
                "The remote disk `{id}` is not attached to `{}`.",
                request.instance_id
            )));
        }
    }
    for id in &request.remote_disk_ids {
        if let Some(record) = world.remote_disks.get_mut(id) {
            record.instance_id = None;
        }
    }
    Ok(DetachRemoteDisksResponse::default())
}

pub(super) fn modify(
    world: &mut World,
    call: &Call<'_>,
    request: ModifyRemoteDiskAttributesRequest,
) -> Answer<ModifyRemoteDiskAttributesResponse> {
    let region = call.region()?;
    all(world, region, &request.remote_disk_ids)?;
    for id in &request.remote_disk_ids {
        if let Some(record) = world.remote_disks.get_mut(id) {
            if let Some(name) = &request.disk_name {
                record.name = name.clone();
            }
            if let Some(project) = request.project_id {
                record.project_id = project;
            }
            if let Some(flag) = &request.auto_renew_flag {
                record.renew_flag = flag.clone();
            }
        }
    }
    Ok(ModifyRemoteDiskAttributesResponse::default())
}

pub(super) fn renew(
    world: &mut World,
    call: &Call<'_>,
    request: RenewRemoteDiskRequest,
) -> Answer<RenewRemoteDiskResponse> {
    let region = call.region()?;
    remote(world, region, &request.remote_disk_id)?;
    if request.disk_charge_prepaid.period == 0 {
        return Err(ApiFailure::invalid("Period must be at least 1 month."));
    }
    let now = world.now_ms;
    if let Some(record) = world.remote_disks.get_mut(&request.remote_disk_id) {
        let from = record.deadline_ms.unwrap_or(now).max(now);
        record.deadline_ms = Some(from + request.disk_charge_prepaid.period * MONTH_MS);
    }
    Ok(RenewRemoteDiskResponse::default())
}

pub(super) fn terminate(
    world: &mut World,
    call: &Call<'_>,
    request: TerminateRemoteDisksRequest,
) -> Answer<TerminateRemoteDisksResponse> {
    let region = call.region()?;
    all(world, region, &request.remote_disk_ids)?;
    for id in &request.remote_disk_ids {
        if world.remote_disks[id].instance_id.is_some() {
            return Err(ApiFailure::new(
                "ResourceUnavailable.Attached",
                format!("The remote disk `{id}` is attached; detach it first."),
            ));
        }
    }
    for id in &request.remote_disk_ids {
        if let Some(record) = world.remote_disks.get_mut(id) {
            record.terminated = true;
        }
    }
    Ok(TerminateRemoteDisksResponse::default())
}

pub(super) fn denied_actions(
    world: &mut World,
    call: &Call<'_>,
    request: DescribeRemoteDisksDeniedActionsRequest,
) -> Answer<DescribeRemoteDisksDeniedActionsResponse> {
    all(world, call.region()?, &request.remote_disk_ids)?;
    Ok(DescribeRemoteDisksDeniedActionsResponse::default())
}

pub(super) fn config_quota(
    _: &mut World,
    call: &Call<'_>,
    request: DescribeRemoteDiskConfigQuotaRequest,
) -> Answer<DescribeRemoteDiskConfigQuotaResponse> {
    call.region()?;
    Filters::new(request.filters.as_deref(), &["zone", "instance-family"])?;
    Ok(DescribeRemoteDiskConfigQuotaResponse::default())
}

pub(super) fn switch_create(
    world: &mut World,
    call: &Call<'_>,
    request: SwitchParameterCreateRemoteDisksRequest,
) -> Answer<SwitchParameterCreateRemoteDisksResponse> {
    let region = call.region()?;
    if let Some(zone) = &request.placement.zone
        && !world.is_zone_of(zone, region)
    {
        return Err(ApiFailure::invalid(format!(
            "The zone `{zone}` is not in `{region}`."
        )));
    }
    Ok(SwitchParameterCreateRemoteDisksResponse::default())
}

pub(super) fn switch_renew(
    _: &mut World,
    call: &Call<'_>,
    _: SwitchParameterRenewRemoteDisksRequest,
) -> Answer<SwitchParameterRenewRemoteDisksResponse> {
    call.region()?;
    Ok(SwitchParameterRenewRemoteDisksResponse::default())
}
