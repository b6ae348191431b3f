//! Auto snapshot policies: create, bind to disks, modify, describe, delete, copy to
//! another account. They fire on emulated time (see `World::advance_to`).

use cbs_model::*;

use super::{
    Answer, ApiFailure, Call, Filters, all_disks, disk, not_found, one, order, page, tags,
};
use crate::clock;
use crate::state::{self, Schedule, World};

/// Policies a region may hold.
const POLICY_QUOTA: usize = 500;
/// Disks one policy may be bound to.
const DISKS_PER_POLICY: usize = 200;

/// A policy's schedules from the request's `Policy` list, checked.
fn schedules(policies: &[Policy]) -> Answer<Vec<Schedule>> {
    if policies.is_empty() {
        return Err(ApiFailure::new(
            "MissingParameter",
            "Policy needs at least one schedule.",
        ));
    }
    policies
        .iter()
        .map(|p| {
            let schedule = Schedule {
                hours: p.hour.clone().unwrap_or_default(),
                days_of_week: p.day_of_week.clone().unwrap_or_default(),
                days_of_month: p.day_of_month.clone().unwrap_or_default(),
                interval_days: p.interval_days,
            };
            if schedule.hours.is_empty() || schedule.hours.iter().any(|&h| h > 23) {
                return Err(ApiFailure::invalid(
                    "Hour takes hours 0 to 23, at least one.",
                ));
            }
            if schedule.days_of_week.iter().any(|&d| d > 6) {
                return Err(ApiFailure::invalid("DayOfWeek takes 0 (Sunday) to 6."));
            }
            if schedule
                .days_of_month
                .iter()
                .any(|&d| !(1..=31).contains(&d))
            {
                return Err(ApiFailure::invalid("DayOfMonth takes 1 to 31."));
            }
            let kinds = usize::from(!schedule.days_of_week.is_empty())
                + usize::from(!schedule.days_of_month.is_empty())
                + usize::from(schedule.interval_days.is_some());
            if kinds > 1 {
                return Err(ApiFailure::invalid(
                    "A schedule takes one of DayOfWeek, DayOfMonth and IntervalDays.",
                ));
            }
            if schedule
                .interval_days
                .is_some_and(|n| !(1..=365).contains(&n))
            {
                return Err(ApiFailure::invalid("IntervalDays takes 1 to 365."));
            }
            Ok(schedule)
        })
        .collect()
}

fn check_retention(days: Option<u64>) -> Answer<()> {
    if days.is_some_and(|d| d > 65_535) {
        return Err(ApiFailure::invalid("RetentionDays is at most 65535."));
    }
    Ok(())
}

fn policy<'w>(world: &'w World, region: &str, id: &str) -> Answer<&'w crate::state::Policy> {
    world
        .policies
        .get(id)
        .filter(|p| p.region == region)
        .ok_or_else(|| {
            not_found(
                "InvalidAutoSnapshotPolicyId.NotFound",
                "auto snapshot policy",
                id,
            )
        })
}

pub(super) fn create(
    world: &mut World,
    call: &Call<'_>,
    request: CreateAutoSnapshotPolicyRequest,
) -> Answer<CreateAutoSnapshotPolicyResponse> {
    let region = call.region()?.to_owned();
    let schedules = schedules(&request.policy)?;
    check_retention(request.retention_days)?;
    let now = world.now_ms;
    let next = state::next_trigger(&schedules, now, now).map(clock::datetime);
    let mut response = CreateAutoSnapshotPolicyResponse::default();
    response.next_trigger_time = next;
    if request.dry_run == Some(true) {
        return Ok(response);
    }
    if world
        .policies
        .values()
        .filter(|p| p.region == region)
        .count()
        >= POLICY_QUOTA
    {
        return Err(ApiFailure::new(
            "LimitExceeded.AutoSnapshotPolicyOutOfQuota",
            format!("A region holds at most {POLICY_QUOTA} auto snapshot policies."),
        ));
    }
    let id = world.new_id("asp");
    let seq = world.next_seq();
    world.policies.insert(
        id.clone(),
        crate::state::Policy {
            id: id.clone(),
            region,
            name: request
                .auto_snapshot_policy_name
                .unwrap_or_else(|| "Auto snapshot policy".to_owned()),
            schedules,
            activated: request.is_activated.unwrap_or(true),
            permanent: request.is_permanent.unwrap_or(false),
            retention_days: request.retention_days.unwrap_or(7),
            disk_ids: Vec::new(),
            created_ms: now,
            last_run_ms: now,
            copy_from_account: None,
            tags: Vec::new(),
            seq,
        },
    );
    response.auto_snapshot_policy_id = Some(id);
    Ok(response)
}

pub(super) fn describe(
    world: &mut World,
    call: &Call<'_>,
    request: DescribeAutoSnapshotPoliciesRequest,
) -> Answer<DescribeAutoSnapshotPoliciesResponse> {
    let region = call.region()?;
    let filters = Filters::new(
        request.filters.as_deref(),
        &[
            "auto-snapshot-policy-id",
            "auto-snapshot-policy-name",
            "auto-snapshot-policy-state",
        ],
    )?;
    let mut matching: Vec<_> = world
        .policies
        .values()
        .filter(|p| p.region == region)
        .filter(|p| {
            request
                .auto_snapshot_policy_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&p.id))
        })
        .filter(|p| {
            filters.matches(|name| match name {
                "auto-snapshot-policy-id" => one(&p.id),
                "auto-snapshot-policy-name" => one(&p.name),
                _ => one("NORMAL"),
            })
        })
        .collect();
    order(
        &mut matching,
        request.order.as_deref(),
        request.order_field.as_deref(),
        |p, _| p.created_ms * 1_000_000 + p.seq % 1_000_000,
    )?;
    let views = matching.into_iter().map(|p| world.policy_view(p)).collect();
    let (total, page) = page(views, request.offset, request.limit)?;
    let mut response = DescribeAutoSnapshotPoliciesResponse::default();
    response.total_count = Some(total);
    response.auto_snapshot_policy_set = Some(page);
    Ok(response)
}

pub(super) fn modify(
    world: &mut World,
    call: &Call<'_>,
    request: ModifyAutoSnapshotPolicyAttributeRequest,
) -> Answer<ModifyAutoSnapshotPolicyAttributeResponse> {
    let region = call.region()?;
    policy(world, region, &request.auto_snapshot_policy_id)?;
    let schedules = request.policy.as_deref().map(schedules).transpose()?;
    check_retention(request.retention_days)?;
    let record = world
        .policies
        .get_mut(&request.auto_snapshot_policy_id)
        .expect("checked above");
    if let Some(schedules) = schedules {
        record.schedules = schedules;
    }
    if let Some(name) = request.auto_snapshot_policy_name {
        record.name = name;
    }
    if let Some(activated) = request.is_activated {
        record.activated = activated;
    }
    if let Some(permanent) = request.is_permanent {
        record.permanent = permanent;
    }
    if let Some(days) = request.retention_days {
        record.retention_days = days;
    }
    Ok(ModifyAutoSnapshotPolicyAttributeResponse::default())
}

pub(super) fn delete(
    world: &mut World,
    call: &Call<'_>,
    request: DeleteAutoSnapshotPoliciesRequest,
) -> Answer<DeleteAutoSnapshotPoliciesResponse> {
    let region = call.region()?;
    for id in &request.auto_snapshot_policy_ids {
        policy(world, region, id)?;
    }
    for id in &request.auto_snapshot_policy_ids {
        world.policies.remove(id);
    }
    Ok(DeleteAutoSnapshotPoliciesResponse::default())
}

pub(super) fn bind(
    world: &mut World,
    call: &Call<'_>,
    request: BindAutoSnapshotPolicyRequest,
) -> Answer<BindAutoSnapshotPolicyResponse> {
    let region = call.region()?;
    policy(world, region, &request.auto_snapshot_policy_id)?;
    let disk_ids = request.disk_ids.unwrap_or_default();
    if disk_ids.is_empty() {
        return Err(ApiFailure::new(
            "MissingParameter",
            "DiskIds names the disks to bind.",
        ));
    }
    all_disks(world, region, &disk_ids)?;
    let record = world
        .policies
        .get_mut(&request.auto_snapshot_policy_id)
        .expect("checked above");
    for id in disk_ids {
        if !record.disk_ids.contains(&id) {
            record.disk_ids.push(id);
        }
    }
    if record.disk_ids.len() > DISKS_PER_POLICY {
        record.disk_ids.truncate(DISKS_PER_POLICY);
        return Err(ApiFailure::new(
            "InvalidParameterValue.BindDiskLimitExceeded",
            format!("A policy is bound to at most {DISKS_PER_POLICY} disks."),
        ));
    }
    Ok(BindAutoSnapshotPolicyResponse::default())
}

pub(super) fn unbind(
    world: &mut World,
    call: &Call<'_>,
    request: UnbindAutoSnapshotPolicyRequest,
) -> Answer<UnbindAutoSnapshotPolicyResponse> {
    let region = call.region()?;
    policy(world, region, &request.auto_snapshot_policy_id)?;
    let mut disk_ids = request.disk_ids.unwrap_or_default();
    for instance in request.instance_ids.unwrap_or_default() {
        disk_ids.extend(
            world
                .disks
                .values()
                .filter(|d| d.instance_id.as_deref() == Some(instance.as_str()))
                .map(|d| d.id.clone()),
        );
    }
    let record = world
        .policies
        .get_mut(&request.auto_snapshot_policy_id)
        .expect("checked above");
    record.disk_ids.retain(|d| !disk_ids.contains(d));
    Ok(UnbindAutoSnapshotPolicyResponse::default())
}

pub(super) fn of_disk(
    world: &mut World,
    call: &Call<'_>,
    request: DescribeDiskAssociatedAutoSnapshotPolicyRequest,
) -> Answer<DescribeDiskAssociatedAutoSnapshotPolicyResponse> {
    let region = call.region()?;
    disk(world, region, &request.disk_id)?;
    let views: Vec<AutoSnapshotPolicy> = world
        .policies
        .values()
        .filter(|p| p.disk_ids.contains(&request.disk_id))
        .map(|p| world.policy_view(p))
        .collect();
    let mut response = DescribeDiskAssociatedAutoSnapshotPolicyResponse::default();
    response.total_count = Some(views.len() as u64);
    response.auto_snapshot_policy_set = Some(views);
    Ok(response)
}

/// Copies policies to another account. The emulator keeps one account, so the copies
/// land beside the originals, marked with the account they were copied from.
pub(super) fn copy_cross_account(
    world: &mut World,
    call: &Call<'_>,
    request: CopyAutoSnapshotPolicyCrossAccountRequest,
) -> Answer<CopyAutoSnapshotPolicyCrossAccountResponse> {
    let region = call.region()?.to_owned();
    let target = &request.target_account_uin;
    if target.is_empty() || !target.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiFailure::invalid(format!(
            "`{target}` is not an account id."
        )));
    }
    if *target == world.settings.account {
        return Err(ApiFailure::invalid("The target account is this account."));
    }
    let sources: Vec<crate::state::Policy> = request
        .auto_snapshot_policy_ids
        .iter()
        .map(|id| policy(world, &region, id).cloned())
        .collect::<Answer<_>>()?;
    // The copies land in the target account, unbound and with no tags, carrying the
    // account they came from. An account this emulator does not hold stands for one
    // outside it: the call succeeds and the copies are out of sight, as they would be.
    let mut copies = Vec::new();
    for source in sources {
        let id = world.new_id("asp");
        let mut copy = source.clone();
        copy.id = id.clone();
        copy.disk_ids = Vec::new();
        copy.created_ms = world.now_ms;
        copy.last_run_ms = world.now_ms;
        copy.copy_from_account = Some(world.settings.account.clone());
        copy.tags = tags(None);
        if call.knows_account(target) {
            call.deliver_policy(target, copy);
        }
        copies.push(id);
    }
    let mut response = CopyAutoSnapshotPolicyCrossAccountResponse::default();
    response.auto_snapshot_policy_ids = Some(copies);
    response.target_account_uin = Some(request.target_account_uin);
    Ok(response)
}
