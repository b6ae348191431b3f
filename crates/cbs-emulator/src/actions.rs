//! The actions the emulator implements, on typed requests from `cbs-model`.

use cbs_model::*;
use serde_json::Value;

use crate::world::{Progress, World, default_zone, is_region};

/// An API error to answer with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiFailure {
    pub code: String,
    pub message: String,
}

impl ApiFailure {
    pub(crate) fn new(code: &str, message: impl Into<String>) -> Self {
        ApiFailure {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// What a call carries besides its body.
pub(crate) struct Call<'a> {
    pub region: Option<&'a str>,
    /// Emulated Unix milliseconds.
    pub now: u64,
}

impl Call<'_> {
    fn region(&self) -> Result<&str, ApiFailure> {
        match self.region {
            None | Some("") => Err(ApiFailure::new(
                "MissingParameter",
                "The request is missing the Region parameter (X-TC-Region).",
            )),
            Some(r) if is_region(r) => Ok(r),
            Some(r) => Err(ApiFailure::new(
                "UnsupportedRegion",
                format!("The region `{r}` is not supported."),
            )),
        }
    }
}

/// The actions with real behaviour; every other action of the API answers
/// `UnsupportedOperation`.
pub const IMPLEMENTED: &[&str] = &[
    "CopySnapshotCrossRegions",
    "CreateDisks",
    "CreateSnapshot",
    "DeleteSnapshots",
    "DescribeDisks",
    "DescribeSnapshotOverview",
    "DescribeSnapshots",
    "ModifySnapshotAttribute",
];

pub(crate) fn dispatch(
    world: &mut World,
    action: &str,
    call: &Call<'_>,
    body: Value,
) -> Result<Value, ApiFailure> {
    match action {
        "CopySnapshotCrossRegions" => run(body, |r| copy_snapshot_cross_regions(world, call, r)),
        "DescribeSnapshots" => run(body, |r| describe_snapshots(world, call, r)),
        "CreateSnapshot" => run(body, |r| create_snapshot(world, call, r)),
        "DeleteSnapshots" => run(body, |r| delete_snapshots(world, call, r)),
        "ModifySnapshotAttribute" => run(body, |r| modify_snapshot_attribute(world, call, r)),
        "DescribeDisks" => run(body, |r| describe_disks(world, call, r)),
        "CreateDisks" => run(body, |r| create_disks(world, call, r)),
        "DescribeSnapshotOverview" => run(body, |r| describe_snapshot_overview(world, call, r)),
        other if action_info(other).is_some() => Err(ApiFailure::new(
            "UnsupportedOperation",
            format!("The local emulator does not implement {other}."),
        )),
        other => Err(ApiFailure::new(
            "InvalidAction",
            format!("The action `{other}` does not exist."),
        )),
    }
}

fn run<A: Action>(
    body: Value,
    handler: impl FnOnce(A) -> Result<A::Output, ApiFailure>,
) -> Result<Value, ApiFailure> {
    let request: A = serde_json::from_value(body).map_err(|e| {
        let text = e.to_string();
        match text
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            Some(member) => ApiFailure::new(
                "MissingParameter",
                format!("The request is missing the required parameter `{member}`."),
            ),
            None => ApiFailure::new(
                "InvalidParameter",
                format!("A parameter has the wrong type: {text}."),
            ),
        }
    })?;
    request
        .validate()
        .map_err(|e| ApiFailure::new("InvalidParameterValue", format!("The parameter {e}.")))?;
    let output = handler(request)?;
    serde_json::to_value(output).map_err(|e| ApiFailure::new("InternalError", e.to_string()))
}

fn page<T>(
    items: Vec<T>,
    offset: Option<u64>,
    limit: Option<u64>,
) -> Result<(u64, Vec<T>), ApiFailure> {
    let limit = limit.unwrap_or(20);
    if limit > 100 {
        return Err(ApiFailure::new(
            "InvalidParameterValue",
            "Limit must be at most 100.",
        ));
    }
    let total = items.len() as u64;
    let offset = offset.unwrap_or(0) as usize;
    Ok((
        total,
        items
            .into_iter()
            .skip(offset)
            .take(limit as usize)
            .collect(),
    ))
}

fn copy_snapshot_cross_regions(
    world: &mut World,
    call: &Call<'_>,
    request: CopySnapshotCrossRegionsRequest,
) -> Result<CopySnapshotCrossRegionsResponse, ApiFailure> {
    let now = call.now;
    let source = world
        .snapshots
        .get(&request.snapshot_id)
        .cloned()
        .ok_or_else(|| {
            ApiFailure::new(
                "InvalidSnapshotId.NotFound",
                format!("The snapshot `{}` does not exist.", request.snapshot_id),
            )
        })?;
    if source.status(now).0 != SnapshotState::Normal {
        return Err(ApiFailure::new(
            "UnsupportedOperation.SnapshotNotSupportCopy",
            format!(
                "The snapshot `{}` is not NORMAL and cannot be copied.",
                source.id
            ),
        ));
    }
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
        } else if world.copying_to(&source.id, now).contains(destination) {
            Some((
                "ResourceInUse.CopySnapshotConflict",
                format!("The snapshot is already being copied to `{destination}`."),
            ))
        } else if world.snapshots_in(destination).count() >= world.snapshot_quota {
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
                let progress = Progress::Running {
                    started_ms: now,
                    duration_ms: world.copy_duration.as_millis() as u64,
                    state: SnapshotState::CopyingFromRemote,
                };
                let id = world.add_snapshot(None, destination, &name, None, progress);
                if let Some(copy) = world.snapshots.get_mut(&id) {
                    copy.disk_id = source.disk_id.clone();
                    copy.disk_size = source.disk_size;
                    copy.disk_usage = source.disk_usage.clone();
                    copy.encrypt = source.encrypt;
                    copy.copied_from = Some((source.id.clone(), source.region.clone()));
                }
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

/// A request's filters: by name, the values any of which must match (case-insensitive).
struct Filters<'r>(Vec<(&'r str, &'r [String])>);

impl<'r> Filters<'r> {
    /// The filters, or `InvalidFilter` for a name outside `supported`.
    fn new(filters: Option<&'r [Filter]>, supported: &[&str]) -> Result<Self, ApiFailure> {
        let filters: Vec<_> = filters
            .unwrap_or_default()
            .iter()
            .map(|f| (f.name.as_str(), f.values.as_slice()))
            .collect();
        if let Some((name, _)) = filters.iter().find(|(name, _)| !supported.contains(name)) {
            return Err(ApiFailure::new(
                "InvalidFilter",
                format!("The filter `{name}` is not supported."),
            ));
        }
        Ok(Filters(filters))
    }

    /// Whether every filter matches, given each filter name's value for the resource.
    fn matches(&self, value_of: impl Fn(&str) -> String) -> bool {
        self.0.iter().all(|(name, values)| {
            let value = value_of(name);
            values.iter().any(|v| v.eq_ignore_ascii_case(&value))
        })
    }
}

fn describe_snapshots(
    world: &mut World,
    call: &Call<'_>,
    request: DescribeSnapshotsRequest,
) -> Result<DescribeSnapshotsResponse, ApiFailure> {
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
            "disk-id",
            "disk-usage",
            "encrypt",
            "zone",
        ],
    )?;
    let mut matching: Vec<_> = world
        .snapshots_in(region)
        .filter(|s| {
            request
                .snapshot_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&s.id))
        })
        .filter(|s| {
            let (state, _) = s.status(call.now);
            filters.matches(|name| match name {
                "snapshot-id" => s.id.clone(),
                "snapshot-name" => s.name.clone(),
                "snapshot-state" => state.as_str().to_owned(),
                "disk-id" => s.disk_id.clone(),
                "disk-usage" => s.disk_usage.as_str().to_owned(),
                "encrypt" => s.encrypt.to_string().to_uppercase(),
                _ => s.zone.clone(),
            })
        })
        .collect();
    // Newest first, as the service orders by creation time by default.
    matching.sort_by_key(|s| std::cmp::Reverse(s.seq));
    let views: Vec<Snapshot> = matching
        .iter()
        .map(|s| world.snapshot_view(s, call.now))
        .collect();
    let (total, page) = page(views, request.offset, request.limit)?;
    let mut response = DescribeSnapshotsResponse::default();
    response.total_count = Some(total);
    response.snapshot_set = Some(page);
    Ok(response)
}

fn create_snapshot(
    world: &mut World,
    call: &Call<'_>,
    request: CreateSnapshotRequest,
) -> Result<CreateSnapshotResponse, ApiFailure> {
    let region = call.region()?.to_owned();
    let disk_id = request.disk_id.ok_or_else(|| {
        ApiFailure::new(
            "MissingParameter",
            "The request is missing the required parameter `DiskId`.",
        )
    })?;
    let disk = world
        .disks
        .get(&disk_id)
        .filter(|d| d.region == region)
        .cloned()
        .ok_or_else(|| {
            ApiFailure::new(
                "InvalidDiskId.NotFound",
                format!("The disk `{disk_id}` does not exist."),
            )
        })?;
    if world.snapshots_in(&region).count() >= world.snapshot_quota {
        return Err(ApiFailure::new(
            "InsufficientSnapshotQuota",
            "The snapshot quota of this region is used up.",
        ));
    }
    let progress = if world.create_duration.is_zero() {
        Progress::Done
    } else {
        Progress::Running {
            started_ms: call.now,
            duration_ms: world.create_duration.as_millis() as u64,
            state: SnapshotState::Creating,
        }
    };
    let name = request
        .snapshot_name
        .unwrap_or_else(|| format!("{} snapshot", disk.name));
    let id = world.add_snapshot(None, &region, &name, Some(&disk), progress);
    let mut response = CreateSnapshotResponse::default();
    response.snapshot_id = Some(id);
    Ok(response)
}

fn delete_snapshots(
    world: &mut World,
    call: &Call<'_>,
    request: DeleteSnapshotsRequest,
) -> Result<DeleteSnapshotsResponse, ApiFailure> {
    let region = call.region()?;
    // All or nothing: check every id before deleting any.
    for id in &request.snapshot_ids {
        if world.snapshots.get(id).is_none_or(|s| s.region != region) {
            return Err(ApiFailure::new(
                "InvalidSnapshotId.NotFound",
                format!("The snapshot `{id}` does not exist."),
            ));
        }
    }
    for id in &request.snapshot_ids {
        world.snapshots.remove(id);
    }
    Ok(DeleteSnapshotsResponse::default())
}

fn modify_snapshot_attribute(
    world: &mut World,
    call: &Call<'_>,
    request: ModifySnapshotAttributeRequest,
) -> Result<ModifySnapshotAttributeResponse, ApiFailure> {
    let region = call.region()?;
    let snapshot = world
        .snapshots
        .get_mut(&request.snapshot_id)
        .filter(|s| s.region == region)
        .ok_or_else(|| {
            ApiFailure::new(
                "InvalidSnapshotId.NotFound",
                format!("The snapshot `{}` does not exist.", request.snapshot_id),
            )
        })?;
    if let Some(name) = request.snapshot_name {
        snapshot.name = name;
    }
    if let Some(permanent) = request.is_permanent {
        snapshot.permanent = permanent;
    }
    Ok(ModifySnapshotAttributeResponse::default())
}

fn describe_disks(
    world: &mut World,
    call: &Call<'_>,
    request: DescribeDisksRequest,
) -> Result<DescribeDisksResponse, ApiFailure> {
    let region = call.region()?;
    let filters = Filters::new(
        request.filters.as_deref(),
        &[
            "disk-id",
            "disk-name",
            "disk-usage",
            "disk-type",
            "disk-state",
            "zone",
        ],
    )?;
    let mut matching: Vec<_> = world
        .disks
        .values()
        .filter(|d| d.region == region)
        .filter(|d| {
            request
                .disk_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&d.id))
        })
        .filter(|d| {
            filters.matches(|name| match name {
                "disk-id" => d.id.clone(),
                "disk-name" => d.name.clone(),
                "disk-usage" => d.usage.as_str().to_owned(),
                "disk-type" => d.disk_type.as_str().to_owned(),
                "disk-state" => "UNATTACHED".to_owned(),
                _ => d.zone.clone(),
            })
        })
        .collect();
    matching.sort_by_key(|s| std::cmp::Reverse(s.seq));
    let views: Vec<Disk> = matching.iter().map(|d| world.disk_view(d)).collect();
    let (total, page) = page(views, request.offset, request.limit)?;
    let mut response = DescribeDisksResponse::default();
    response.total_count = Some(total);
    response.disk_set = Some(page);
    Ok(response)
}

fn create_disks(
    world: &mut World,
    call: &Call<'_>,
    request: CreateDisksRequest,
) -> Result<CreateDisksResponse, ApiFailure> {
    let region = call.region()?.to_owned();
    if let Some(ids) = request
        .client_token
        .as_ref()
        .and_then(|token| world.client_tokens.get(token))
    {
        // The service runs a request once per token: a repeat answers as the first did.
        let mut response = CreateDisksResponse::default();
        response.disk_id_set = Some(ids.clone());
        return Ok(response);
    }
    let zone = request
        .placement
        .zone
        .clone()
        .unwrap_or_else(|| default_zone(&region));
    if !zone.starts_with(&format!("{region}-")) {
        return Err(ApiFailure::new(
            "InvalidParameterValue",
            format!("The zone `{zone}` is not in `{region}`."),
        ));
    }
    let size = match (request.disk_size, &request.snapshot_id) {
        (Some(size), _) => size,
        (None, Some(snapshot)) => world
            .snapshots
            .get(snapshot)
            .map(|s| s.disk_size)
            .ok_or_else(|| {
                ApiFailure::new(
                    "InvalidSnapshotId.NotFound",
                    format!("The snapshot `{snapshot}` does not exist."),
                )
            })?,
        (None, None) => {
            return Err(ApiFailure::new(
                "MissingParameter",
                "The request is missing the required parameter `DiskSize`.",
            ));
        }
    };
    let count = request.disk_count.unwrap_or(1);
    if !(1..=100).contains(&count) {
        return Err(ApiFailure::new(
            "InvalidParameterValue",
            "DiskCount must be between 1 and 100.",
        ));
    }
    let name = request.disk_name.unwrap_or_else(|| "disk".to_owned());
    let ids = (0..count)
        .map(|_| {
            let id = world.add_disk(
                &region,
                &zone,
                &name,
                size,
                request.disk_type.clone(),
                DiskUsage::DataDisk,
            );
            if let Some(disk) = world.disks.get_mut(&id) {
                disk.charge_type = request.disk_charge_type.clone();
            }
            id
        })
        .collect::<Vec<_>>();
    if let Some(token) = request.client_token.filter(|t| !t.is_empty()) {
        world.client_tokens.insert(token, ids.clone());
    }
    let mut response = CreateDisksResponse::default();
    response.disk_id_set = Some(ids);
    Ok(response)
}

fn describe_snapshot_overview(
    world: &mut World,
    call: &Call<'_>,
    _: DescribeSnapshotOverviewRequest,
) -> Result<DescribeSnapshotOverviewResponse, ApiFailure> {
    let region = call.region()?;
    let (count, size) = world
        .snapshots_in(region)
        .fold((0u64, 0u64), |(n, gb), s| (n + 1, gb + s.disk_size));
    let mut response = DescribeSnapshotOverviewResponse::default();
    response.total_nums = Some(count);
    response.total_size = Some(size as f64);
    response.real_trade_size = Some(size as f64);
    response.free_quota = Some(0.0);
    Ok(response)
}
