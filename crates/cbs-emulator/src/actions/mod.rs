//! Every action of the API, on typed requests from `cbs-model`, against the world.

mod backups;
mod disks;
mod groups;
mod policies;
mod prices;
mod remote;
mod snapshots;

use cbs_model::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use std::cell::RefCell;

use crate::state::{Deliveries, Disk, Others, Snapshot, World, is_region};

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

    fn invalid(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterValue", message)
    }
}

/// The result of an action handler.
type Answer<T> = Result<T, ApiFailure>;

/// What a call carries besides its body, and what it may see beyond its caller's world.
pub(crate) struct Call<'a> {
    pub region: Option<&'a str>,
    /// The other accounts, for what they share with the caller.
    pub others: &'a Others,
    /// What the call leaves for other accounts.
    deliveries: RefCell<Deliveries>,
}

impl<'a> Call<'a> {
    pub(crate) fn new(region: Option<&'a str>, others: &'a Others) -> Self {
        Call {
            region,
            others,
            deliveries: RefCell::default(),
        }
    }

    /// Leaves `policy` for account `target`.
    fn deliver_policy(&self, target: &str, policy: crate::state::Policy) {
        self.deliveries
            .borrow_mut()
            .policies
            .push((target.to_owned(), policy));
    }

    /// Whether `account` is one this emulator holds (besides the caller).
    fn knows_account(&self, account: &str) -> bool {
        self.others.contains_key(account)
    }

    pub(crate) fn into_deliveries(self) -> Deliveries {
        self.deliveries.into_inner()
    }

    fn region(&self) -> Answer<&str> {
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

/// Runs `action` with `body`; `Err` answers with the service's error envelope.
pub(crate) fn dispatch(
    world: &mut World,
    action: &str,
    call: &Call<'_>,
    body: Value,
) -> Result<Value, ApiFailure> {
    use backups as b;
    use disks as d;
    use groups as g;
    use policies as p;
    use prices as q;
    use remote as r;
    use snapshots as s;
    let w = world;
    let c = call;
    match action {
        "ApplyDiskBackup" => run(body, |x| b::apply(w, c, x)),
        "ApplySnapshot" => run(body, |x| s::apply(w, c, x)),
        "ApplySnapshotGroup" => run(body, |x| g::apply(w, c, x)),
        "AttachDisks" => run(body, |x| d::attach(w, c, x)),
        "AttachRemoteDisks" => run(body, |x| r::attach(w, c, x)),
        "BindAutoSnapshotPolicy" => run(body, |x| p::bind(w, c, x)),
        "CopyAutoSnapshotPolicyCrossAccount" => run(body, |x| p::copy_cross_account(w, c, x)),
        "CopySnapshotCrossRegions" => run(body, |x| s::copy_cross_regions(w, c, x)),
        "CreateAutoSnapshotPolicy" => run(body, |x| p::create(w, c, x)),
        "CreateDiskBackup" => run(body, |x| b::create(w, c, x)),
        "CreateDisks" => run(body, |x| d::create(w, c, x)),
        "CreateRemoteDisks" => run(body, |x| r::create(w, c, x)),
        "CreateSnapshot" => run(body, |x| s::create(w, c, x)),
        "CreateSnapshotGroup" => run(body, |x| g::create(w, c, x)),
        "DeleteAutoSnapshotPolicies" => run(body, |x| p::delete(w, c, x)),
        "DeleteDiskBackups" => run(body, |x| b::delete(w, c, x)),
        "DeleteSnapshotGroup" => run(body, |x| g::delete(w, c, x)),
        "DeleteSnapshots" => run(body, |x| s::delete(w, c, x)),
        "DescribeAutoSnapshotPolicies" => run(body, |x| p::describe(w, c, x)),
        "DescribeDedicatedClusterDiskStatistics" => run(body, |x| q::cluster_statistics(w, c, x)),
        "DescribeDiskAssociatedAutoSnapshotPolicy" => run(body, |x| p::of_disk(w, c, x)),
        "DescribeDiskBackups" => run(body, |x| b::describe(w, c, x)),
        "DescribeDiskConfigQuota" => run(body, |x| q::config_quota(w, c, x)),
        "DescribeDiskStoragePool" => run(body, |x| q::storage_pools(w, c, x)),
        "DescribeDisks" => run(body, |x| d::describe(w, c, x)),
        "DescribeInstancesDiskNum" => run(body, |x| d::instances_disk_num(w, c, x)),
        "DescribeRemoteDiskConfigQuota" => run(body, |x| r::config_quota(w, c, x)),
        "DescribeRemoteDisks" => run(body, |x| r::describe(w, c, x)),
        "DescribeRemoteDisksDeniedActions" => run(body, |x| r::denied_actions(w, c, x)),
        "DescribeSnapshotGroups" => run(body, |x| g::describe(w, c, x)),
        "DescribeSnapshotOverview" => run(body, |x| s::overview(w, c, x)),
        "DescribeSnapshotSharePermission" => run(body, |x| s::share_permission(w, c, x)),
        "DescribeSnapshots" => run(body, |x| s::describe(w, c, x)),
        "DetachDisks" => run(body, |x| d::detach(w, c, x)),
        "DetachRemoteDisks" => run(body, |x| r::detach(w, c, x)),
        "GetSnapOverview" => run(body, |x| s::legacy_overview(w, c, x)),
        "InitializeDisks" => run(body, |x| d::initialize(w, c, x)),
        "InquirePriceCreateRemoteDisks" => run(body, |x| q::create_remote(w, c, x)),
        "InquirePriceModifyDiskBackupQuota" => run(body, |x| q::backup_quota(w, c, x)),
        "InquirePriceModifyDiskExtraPerformance" => run(body, |x| q::extra_performance(w, c, x)),
        "InquirePriceRenewRemoteDisks" => run(body, |x| q::renew_remote(w, c, x)),
        "InquiryPriceCreateDisks" => run(body, |x| q::create_disks(w, c, x)),
        "InquiryPriceRenewDisks" => run(body, |x| q::renew_disks(w, c, x)),
        "InquiryPriceResizeDisk" => run(body, |x| q::resize_disk(w, c, x)),
        "ModifyAutoSnapshotPolicyAttribute" => run(body, |x| p::modify(w, c, x)),
        "ModifyDiskAttributes" => run(body, |x| d::modify(w, c, x)),
        "ModifyDiskBackupQuota" => run(body, |x| d::modify_backup_quota(w, c, x)),
        "ModifyDiskExtraPerformance" => run(body, |x| d::modify_extra_performance(w, c, x)),
        "ModifyDisksChargeType" => run(body, |x| d::modify_charge_type(w, c, x)),
        "ModifyDisksRenewFlag" => run(body, |x| d::modify_renew_flag(w, c, x)),
        "ModifyRemoteDiskAttributes" => run(body, |x| r::modify(w, c, x)),
        "ModifySnapshotAttribute" => run(body, |x| s::modify(w, c, x)),
        "ModifySnapshotsSharePermission" => run(body, |x| s::modify_share_permission(w, c, x)),
        "RenewDisk" => run(body, |x| d::renew(w, c, x)),
        "RenewRemoteDisk" => run(body, |x| r::renew(w, c, x)),
        "ResizeDisk" => run(body, |x| d::resize(w, c, x)),
        "SwitchParameterCreateRemoteDisks" => run(body, |x| r::switch_create(w, c, x)),
        "SwitchParameterRenewRemoteDisks" => run(body, |x| r::switch_renew(w, c, x)),
        "TerminateDisks" => run(body, |x| d::terminate(w, c, x)),
        "TerminateRemoteDisks" => run(body, |x| r::terminate(w, c, x)),
        "UnbindAutoSnapshotPolicy" => run(body, |x| p::unbind(w, c, x)),
        other => Err(ApiFailure::new(
            "InvalidAction",
            format!("The action `{other}` does not exist."),
        )),
    }
}

/// Parses the body into the action's request, checks what the types cannot, runs the
/// handler and serializes its output.
fn run<A>(body: Value, handler: impl FnOnce(A) -> Answer<A::Output>) -> Result<Value, ApiFailure>
where
    A: Action + DeserializeOwned,
    A::Output: Serialize,
{
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
        .map_err(|e| ApiFailure::invalid(format!("The parameter {e}.")))?;
    let output = handler(request)?;
    serde_json::to_value(output).map_err(|e| ApiFailure::new("InternalError", e.to_string()))
}

/// A page of `items`: at most `limit` (20 by default, 100 at most) from `offset`.
fn page<T>(items: Vec<T>, offset: Option<u64>, limit: Option<u64>) -> Answer<(u64, Vec<T>)> {
    let limit = limit.unwrap_or(20);
    if limit > 100 {
        return Err(ApiFailure::invalid("Limit must be at most 100."));
    }
    let total = items.len() as u64;
    let offset = usize::try_from(offset.unwrap_or(0)).unwrap_or(usize::MAX);
    Ok((
        total,
        items
            .into_iter()
            .skip(offset)
            .take(limit as usize)
            .collect(),
    ))
}

/// Orders items newest first, or by `Order`/`OrderField` when given.
fn order<T>(
    items: &mut [T],
    order: Option<&str>,
    field: Option<&str>,
    key: impl Fn(&T, &str) -> u64,
) -> Answer<()> {
    let field = field.unwrap_or("CREATE_TIME");
    let descending = match order.unwrap_or("DESC") {
        "DESC" => true,
        "ASC" => false,
        other => {
            return Err(ApiFailure::invalid(format!(
                "Order `{other}` is neither ASC nor DESC."
            )));
        }
    };
    items.sort_by_key(|item| key(item, field));
    if descending {
        items.reverse();
    }
    Ok(())
}

/// A request's filters: by name, the values any of which must match.
struct Filters<'r>(Vec<(&'r str, &'r [String])>);

impl<'r> Filters<'r> {
    /// The filters, or `InvalidFilter` for a name outside `supported`.
    fn new(filters: Option<&'r [Filter]>, supported: &[&str]) -> Answer<Self> {
        let filters: Vec<_> = filters
            .unwrap_or_default()
            .iter()
            .map(|f| (f.name.as_str(), f.values.as_slice()))
            .collect();
        // A supported name ending in `:` (`tag:`) stands for every name it begins.
        let known = |name: &str| {
            supported
                .iter()
                .any(|s| *s == name || (s.ends_with(':') && name.starts_with(s)))
        };
        if let Some((name, _)) = filters.iter().find(|(name, _)| !known(name)) {
            return Err(ApiFailure::new(
                "InvalidFilter",
                format!("The filter `{name}` is not supported."),
            ));
        }
        Ok(Filters(filters))
    }

    /// Whether a filter `name` asks for `value` among its values.
    fn asks(&self, name: &str, value: &str) -> bool {
        self.0
            .iter()
            .any(|(n, values)| *n == name && values.iter().any(|v| v.eq_ignore_ascii_case(value)))
    }

    /// Whether every filter matches, given each filter name's values for the resource
    /// (compared without regard to case).
    fn matches(&self, values_of: impl Fn(&str) -> Vec<String>) -> bool {
        self.0.iter().all(|(name, wanted)| {
            let values = values_of(name);
            wanted
                .iter()
                .any(|w| values.iter().any(|v| v.eq_ignore_ascii_case(w)))
        })
    }
}

fn not_found(code: &str, what: &str, id: &str) -> ApiFailure {
    ApiFailure::new(code, format!("The {what} `{id}` does not exist."))
}

/// The disk `id` of `region`.
fn disk<'w>(world: &'w World, region: &str, id: &str) -> Answer<&'w Disk> {
    world
        .disks
        .get(id)
        .filter(|d| d.region == region)
        .ok_or_else(|| not_found("InvalidDiskId.NotFound", "disk", id))
}

fn disk_mut<'w>(world: &'w mut World, region: &str, id: &str) -> Answer<&'w mut Disk> {
    world
        .disks
        .get_mut(id)
        .filter(|d| d.region == region)
        .ok_or_else(|| not_found("InvalidDiskId.NotFound", "disk", id))
}

/// The snapshot `id` of `region`.
fn snapshot<'w>(world: &'w World, region: &str, id: &str) -> Answer<&'w Snapshot> {
    world
        .snapshots
        .get(id)
        .filter(|s| s.region == region)
        .ok_or_else(|| not_found("InvalidSnapshotId.NotFound", "snapshot", id))
}

/// A snapshot of `region` the caller can read: its own, or one another account shares
/// with it (with that account's world, whose clock says how far the snapshot is).
fn readable_snapshot<'w>(
    world: &'w World,
    call: &Call<'w>,
    region: &str,
    id: &str,
) -> Answer<(&'w World, &'w Snapshot)> {
    if let Ok(own) = snapshot(world, region, id) {
        return Ok((world, own));
    }
    crate::state::shared_snapshot(call.others, &world.settings.account, id)
        .filter(|(_, s)| s.region == region)
        .ok_or_else(|| not_found("InvalidSnapshotId.NotFound", "snapshot", id))
}

/// The answer for an owner's action (`doing`: "renamed", "copied", "deleted") asked of
/// `id` when the caller does not own it: a refusal with `code` if it is a snapshot
/// shared with the caller, else not found.
///
/// The service's documentation says a shared snapshot serves only to create disks and
/// cannot be renamed, but names no code for the refusals; the emulator answers with the
/// catalogue's nearest: `UnsupportedOperation.SnapshotNotSupportCopy` for a copy,
/// `InvalidSnapshot.NotSupported` otherwise.
fn not_owned(world: &World, call: &Call<'_>, id: &str, code: &str, doing: &str) -> ApiFailure {
    match crate::state::shared_snapshot(call.others, &world.settings.account, id) {
        Some(_) => ApiFailure::new(
            code,
            format!(
                "The snapshot `{id}` is shared with this account by another; it can only be used to create disks, not {doing}."
            ),
        ),
        None => not_found("InvalidSnapshotId.NotFound", "snapshot", id),
    }
}

/// Every id of `ids` names a disk of `region` (checked before anything changes).
fn all_disks(world: &World, region: &str, ids: &[String]) -> Answer<()> {
    for id in ids {
        disk(world, region, id)?;
    }
    Ok(())
}

fn tags(tags: Option<&[Tag]>) -> Vec<(String, String)> {
    tags.unwrap_or_default()
        .iter()
        .map(|t| {
            (
                t.key.clone().unwrap_or_default(),
                t.value.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// The values of a tag filter (`tag-key`, `tag-value`, `tag:KEY`) for `tags`.
fn tag_values(tags: &[(String, String)], filter: &str) -> Vec<String> {
    match filter {
        "tag-key" => tags.iter().map(|(k, _)| k.clone()).collect(),
        "tag-value" => tags.iter().map(|(_, v)| v.clone()).collect(),
        other => match other.strip_prefix("tag:") {
            Some(key) => tags
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .collect(),
            None => Vec::new(),
        },
    }
}

/// One value, as the filters compare it.
fn one(value: impl ToString) -> Vec<String> {
    vec![value.to_string()]
}
