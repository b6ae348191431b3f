//! The Tag service (API 2018-08-13), on the same port as CBS and over the same state:
//! a tag bound here shows in `DescribeSnapshots`/`DescribeDisks` (and their tag
//! filters), and one given to `CreateDisks`/`CreateSnapshot` shows here. Per account,
//! like everything else.
//!
//! The actions a client of CBS resources needs: `TagResources`, `UnTagResources`,
//! `GetResources`, `DescribeResourceTagsByResourceIds`, `GetTagKeys`, `GetTagValues`.
//! Their rules, and where each comes from:
//!
//! - Resources are named in the six-segment form
//!   `qcs:<project>:cvm:<region>:<account>:<prefix>/<id>`, CBS snapshots with the prefix
//!   `snapshot` and disks with `volume`, the service segment being `cvm` (the vendor's
//!   Terraform provider, `BuildTagResourceName("cvm", "snapshot", …)` and
//!   `("cvm", "volume", …)`); the account is `uin/` (left out, as that provider sends it)
//!   or `uin/<the caller's account>`. Anything else is refused with
//!   `InvalidParameterValue.ResourceDescriptionError`.
//! - At most 10 resources and 10 tags per `TagResources`, 10 resources and 10 keys per
//!   `UnTagResources` (the API model: "N取值范围：0~9"):
//!   `LimitExceeded.ResourceNumPerRequest`, `LimitExceeded.TagNumPerRequest`.
//! - 50 tags per resource; keys of 1 to 127 and values of 1 to 255 characters; letters,
//!   digits, inner spaces and `+ - = . _ : / @ ( ) [ ] , ; > <`; keys starting with
//!   `qcs:`, `project` or `项目` reserved (the Tag service's "Use Limits" page). A
//!   resource that would pass 50 is listed in `FailedResources` with
//!   `LimitExceeded.ResourceAttachedTags`; the others are tagged.
//! - A resource that does not exist: listed in `FailedResources` with
//!   `InvalidParameterValue.ResourceIdInvalid` (the documentation does not say which code
//!   the service uses; this is one of its published codes).
//! - `GetResources` pages with an opaque token (here, the offset), at most 200 a page (50
//!   unless asked), at most 6 tag filters; `DescribeResourceTagsByResourceIds` takes up
//!   to 50 ids, 15 a page unless asked (the API model).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::actions::ApiFailure;
use crate::state::World;

/// The Tag service's API version.
pub(crate) const VERSION: &str = "2018-08-13";

/// The Tag actions the emulator answers.
pub(crate) const ACTIONS: &[&str] = &[
    "TagResources",
    "UnTagResources",
    "GetResources",
    "DescribeResourceTagsByResourceIds",
    "GetTagKeys",
    "GetTagValues",
];

/// Whether a Tag action only reads.
pub(crate) fn read_only(action: &str) -> bool {
    action.starts_with("Get") || action.starts_with("Describe")
}

const MAX_RESOURCES: usize = 10;
const MAX_TAGS_PER_CALL: usize = 10;
const MAX_TAGS_PER_RESOURCE: usize = 50;
const MAX_KEY_CHARS: usize = 127;
const MAX_VALUE_CHARS: usize = 255;

/// What a six-segment name points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Snapshot,
    Disk,
}

/// A resource the service can tag.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Resource {
    region: String,
    kind: Kind,
    id: String,
}

impl Resource {
    /// The canonical name, with the owner's account (as `GetResources` answers: the
    /// API model's example is `qcs::cvm:ap-beijing:uin/1234567:instance/ins-123`).
    fn name(&self, account: &str) -> String {
        let prefix = match self.kind {
            Kind::Snapshot => "snapshot",
            Kind::Disk => "volume",
        };
        format!(
            "qcs::cvm:{}:uin/{account}:{prefix}/{}",
            self.region, self.id
        )
    }
}

/// Reads a six-segment name; `account` is the caller's.
fn parse(name: &str, account: &str) -> Result<Resource, ApiFailure> {
    let bad = || {
        ApiFailure::new(
            "InvalidParameterValue.ResourceDescriptionError",
            format!("`{name}` is not a six-segment resource name of a CBS snapshot or disk."),
        )
    };
    let parts: Vec<&str> = name.splitn(6, ':').collect();
    let [qcs, _project, service, region, owner, rest] = parts[..] else {
        return Err(bad());
    };
    if qcs != "qcs" || service != "cvm" || !crate::state::is_region(region) {
        return Err(bad());
    }
    match owner.strip_prefix("uin/") {
        Some("") => {}
        Some(uin) if uin == account => {}
        _ => return Err(bad()),
    }
    let (prefix, id) = rest.split_once('/').ok_or_else(bad)?;
    let kind = match prefix {
        "snapshot" if id.starts_with("snap-") => Kind::Snapshot,
        "volume" if id.starts_with("disk-") => Kind::Disk,
        _ => return Err(bad()),
    };
    Ok(Resource {
        region: region.to_owned(),
        kind,
        id: id.to_owned(),
    })
}

/// The regions the resources of a Tag request's body are in, for faults that hit one
/// region's calls.
pub(crate) fn regions_of(body: &[u8]) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    value["ResourceList"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|name| name.split(':').nth(3).map(str::to_owned))
        .collect()
}

/// The tags of a resource, when it exists in `world`.
fn tags_of<'w>(world: &'w mut World, resource: &Resource) -> Option<&'w mut Vec<(String, String)>> {
    match resource.kind {
        Kind::Snapshot => world
            .snapshots
            .get_mut(&resource.id)
            .filter(|s| s.region == resource.region)
            .map(|s| &mut s.tags),
        Kind::Disk => world
            .disks
            .get_mut(&resource.id)
            .filter(|d| d.region == resource.region && !d.recycled)
            .map(|d| &mut d.tags),
    }
}

/// Every taggable resource of `world` with its tags.
fn every_resource(world: &World) -> impl Iterator<Item = (Resource, &Vec<(String, String)>)> {
    let snapshots = world.snapshots.values().map(|s| {
        let resource = Resource {
            region: s.region.clone(),
            kind: Kind::Snapshot,
            id: s.id.clone(),
        };
        (resource, &s.tags)
    });
    let disks = world.disks.values().filter(|d| !d.recycled).map(|d| {
        let resource = Resource {
            region: d.region.clone(),
            kind: Kind::Disk,
            id: d.id.clone(),
        };
        (resource, &d.tags)
    });
    snapshots.chain(disks)
}

/// Why a tag cannot be bound, if it cannot (the "Use Limits" rules).
fn check_tag(key: &str, value: &str) -> Result<(), ApiFailure> {
    let allowed = |c: char| c.is_alphanumeric() || c == ' ' || "+-=._:/@()[],;><【】".contains(c);
    let failure = |code: &str, what: String| Err(ApiFailure::new(code, what));
    if key.is_empty() {
        return failure(
            "InvalidParameterValue.TagKeyEmpty",
            "A tag key is empty.".into(),
        );
    }
    if value.is_empty() {
        return failure(
            "InvalidParameterValue.TagValueEmpty",
            format!("The value of `{key}` is empty."),
        );
    }
    if key.chars().count() > MAX_KEY_CHARS {
        return failure(
            "InvalidParameterValue.TagKeyLengthExceeded",
            format!("A tag key has at most {MAX_KEY_CHARS} characters."),
        );
    }
    if value.chars().count() > MAX_VALUE_CHARS {
        return failure(
            "InvalidParameterValue.TagValueLengthExceeded",
            format!("A tag value has at most {MAX_VALUE_CHARS} characters."),
        );
    }
    if ["qcs:", "project", "项目"]
        .iter()
        .any(|p| key.starts_with(p))
    {
        return failure(
            "InvalidParameterValue.ReservedTagKey",
            format!("The tag key `{key}` is reserved."),
        );
    }
    let spaced = |t: &str| t.starts_with(' ') || t.ends_with(' ');
    if spaced(key) || !key.chars().all(allowed) {
        return failure(
            "InvalidParameterValue.TagKeyCharacterIllegal",
            format!("The tag key `{key}` has a character tags cannot have."),
        );
    }
    if spaced(value) || !value.chars().all(allowed) {
        return failure(
            "InvalidParameterValue.TagValueCharacterIllegal",
            format!("The value of `{key}` has a character tags cannot have."),
        );
    }
    Ok(())
}

/// A list member of the request body, as strings.
fn strings(body: &Value, member: &str) -> Result<Vec<String>, ApiFailure> {
    match &body[member] {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    ApiFailure::new("InvalidParameter", format!("{member} holds strings."))
                })
            })
            .collect(),
        _ => Err(ApiFailure::new(
            "InvalidParameter",
            format!("{member} is a list."),
        )),
    }
}

/// An unsigned member of the request body.
fn number(body: &Value, member: &str) -> Result<Option<u64>, ApiFailure> {
    match &body[member] {
        Value::Null => Ok(None),
        value => value
            .as_u64()
            .map(Some)
            .ok_or_else(|| ApiFailure::new("InvalidParameter", format!("{member} is a number."))),
    }
}

fn required(list: Vec<String>, member: &str) -> Result<Vec<String>, ApiFailure> {
    if list.is_empty() {
        return Err(ApiFailure::new(
            "MissingParameter",
            format!("The request is missing {member}."),
        ));
    }
    Ok(list)
}

fn failed(resource: &str, code: &str, message: String) -> Value {
    json!({"Resource": resource, "Code": code, "Message": message})
}

/// Runs a Tag action for the account `account` owning `world`.
pub(crate) fn dispatch(
    world: &mut World,
    account: &str,
    action: &str,
    body: &Value,
) -> Result<Value, ApiFailure> {
    match action {
        "TagResources" => tag_resources(world, account, body),
        "UnTagResources" => untag_resources(world, account, body),
        "GetResources" => get_resources(world, account, body),
        "DescribeResourceTagsByResourceIds" => by_resource_ids(world, body),
        "GetTagKeys" => tag_keys(world, body),
        "GetTagValues" => tag_values(world, body),
        other => Err(ApiFailure::new(
            "InvalidAction",
            format!("The action `{other}` does not exist."),
        )),
    }
}

fn tag_resources(world: &mut World, account: &str, body: &Value) -> Result<Value, ApiFailure> {
    let names = required(strings(body, "ResourceList")?, "ResourceList")?;
    if names.len() > MAX_RESOURCES {
        return Err(ApiFailure::new(
            "LimitExceeded.ResourceNumPerRequest",
            format!("A call names at most {MAX_RESOURCES} resources."),
        ));
    }
    let tags: Vec<(String, String)> = match &body["Tags"] {
        Value::Array(items) => items
            .iter()
            .map(|t| {
                let text = |m: &str| t[m].as_str().unwrap_or_default().to_owned();
                (text("TagKey"), text("TagValue"))
            })
            .collect(),
        _ => Vec::new(),
    };
    if tags.is_empty() {
        return Err(ApiFailure::new(
            "MissingParameter",
            "The request is missing Tags.",
        ));
    }
    if tags.len() > MAX_TAGS_PER_CALL {
        return Err(ApiFailure::new(
            "LimitExceeded.TagNumPerRequest",
            format!("A call binds at most {MAX_TAGS_PER_CALL} tags."),
        ));
    }
    let mut keys = BTreeSet::new();
    for (key, value) in &tags {
        check_tag(key, value)?;
        if !keys.insert(key) {
            return Err(ApiFailure::new(
                "InvalidParameterValue.TagKeyDuplicate",
                format!("The tag key `{key}` is given twice."),
            ));
        }
    }
    let resources = names
        .iter()
        .map(|n| parse(n, account))
        .collect::<Result<Vec<_>, _>>()?;
    let mut failures = Vec::new();
    for (name, resource) in names.iter().zip(&resources) {
        let Some(held) = tags_of(world, resource) else {
            failures.push(failed(
                name,
                "InvalidParameterValue.ResourceIdInvalid",
                format!("The resource `{}` does not exist.", resource.id),
            ));
            continue;
        };
        let added = tags
            .iter()
            .filter(|(k, _)| !held.iter().any(|(held_key, _)| held_key == k))
            .count();
        if held.len() + added > MAX_TAGS_PER_RESOURCE {
            failures.push(failed(
                name,
                "LimitExceeded.ResourceAttachedTags",
                format!("A resource carries at most {MAX_TAGS_PER_RESOURCE} tags."),
            ));
            continue;
        }
        for (key, value) in &tags {
            match held.iter_mut().find(|(k, _)| k == key) {
                Some(existing) => existing.1 = value.clone(),
                None => held.push((key.clone(), value.clone())),
            }
        }
    }
    Ok(json!({ "FailedResources": failures }))
}

fn untag_resources(world: &mut World, account: &str, body: &Value) -> Result<Value, ApiFailure> {
    let names = required(strings(body, "ResourceList")?, "ResourceList")?;
    let keys = required(strings(body, "TagKeys")?, "TagKeys")?;
    if names.len() > MAX_RESOURCES || keys.len() > MAX_TAGS_PER_CALL {
        return Err(ApiFailure::new(
            "LimitExceeded.ResourceNumPerRequest",
            format!("A call names at most {MAX_RESOURCES} resources and {MAX_TAGS_PER_CALL} keys."),
        ));
    }
    let resources = names
        .iter()
        .map(|n| parse(n, account))
        .collect::<Result<Vec<_>, _>>()?;
    let mut failures = Vec::new();
    for (name, resource) in names.iter().zip(&resources) {
        match tags_of(world, resource) {
            Some(held) => held.retain(|(k, _)| !keys.contains(k)),
            None => failures.push(failed(
                name,
                "InvalidParameterValue.ResourceIdInvalid",
                format!("The resource `{}` does not exist.", resource.id),
            )),
        }
    }
    Ok(json!({ "FailedResources": failures }))
}

fn tag_json(tags: &[(String, String)]) -> Value {
    tags.iter()
        .map(|(k, v)| json!({"TagKey": k, "TagValue": v, "Category": "Custom"}))
        .collect()
}

/// The offset an opaque page token stands for.
fn offset_of(body: &Value) -> Result<usize, ApiFailure> {
    match body["PaginationToken"].as_str() {
        None | Some("") => Ok(0),
        Some(token) => token.parse().map_err(|_| {
            ApiFailure::new(
                "InvalidParameter.PaginationTokenInvalid",
                "The PaginationToken is not one this service gave.",
            )
        }),
    }
}

/// One page of `items` from the request's token, at most `max` long; and the next
/// token (empty after the last page).
fn page<T>(
    items: Vec<T>,
    body: &Value,
    default: u64,
    max: u64,
) -> Result<(Vec<T>, String), ApiFailure> {
    let offset = offset_of(body)?;
    let size = number(body, "MaxResults")?.unwrap_or(default).clamp(1, max) as usize;
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(offset).take(size).collect();
    let next = if offset + size < total {
        (offset + size).to_string()
    } else {
        String::new()
    };
    Ok((page, next))
}

fn get_resources(world: &mut World, account: &str, body: &Value) -> Result<Value, ApiFailure> {
    let names = strings(body, "ResourceList")?;
    if names.len() > MAX_RESOURCES {
        return Err(ApiFailure::new(
            "LimitExceeded.ResourceNumPerRequest",
            format!("A call names at most {MAX_RESOURCES} resources."),
        ));
    }
    let filters: Vec<(String, Vec<String>)> = match &body["TagFilters"] {
        Value::Array(items) => items
            .iter()
            .map(|f| {
                let key = f["TagKey"].as_str().unwrap_or_default().to_owned();
                let values = f["TagValue"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                (key, values)
            })
            .collect(),
        _ => Vec::new(),
    };
    if filters.len() > 6 {
        return Err(ApiFailure::new(
            "InvalidParameterValue.TagFiltersLengthExceeded",
            "At most 6 tag filters.",
        ));
    }
    let wanted = names
        .iter()
        .map(|n| parse(n, account))
        .collect::<Result<Vec<_>, _>>()?;
    let matches = |tags: &[(String, String)]| {
        filters.iter().all(|(key, values)| {
            tags.iter()
                .any(|(k, v)| k == key && (values.is_empty() || values.contains(v)))
        })
    };
    let mut found: Vec<Value> = Vec::new();
    if wanted.is_empty() {
        for (resource, tags) in every_resource(world) {
            // Untagged resources are no tag's; a listing by tag names tagged ones.
            if !tags.is_empty() && matches(tags) {
                found.push(json!({"Resource": resource.name(account), "Tags": tag_json(tags)}));
            }
        }
    } else {
        for (name, resource) in names.iter().zip(&wanted) {
            if let Some(tags) = tags_of(world, resource)
                && matches(tags)
            {
                found.push(json!({"Resource": name, "Tags": tag_json(tags)}));
            }
        }
    }
    let (page, next) = page(found, body, 50, 200)?;
    Ok(json!({"ResourceTagMappingList": page, "PaginationToken": next}))
}

fn by_resource_ids(world: &mut World, body: &Value) -> Result<Value, ApiFailure> {
    let service = body["ServiceType"].as_str().unwrap_or_default();
    let prefix = body["ResourcePrefix"].as_str().unwrap_or_default();
    let region = body["ResourceRegion"].as_str().unwrap_or_default();
    let ids = required(strings(body, "ResourceIds")?, "ResourceIds")?;
    if service != "cvm" {
        return Err(ApiFailure::new(
            "InvalidParameterValue.ServiceTypeInvalid",
            format!("The service type `{service}` has no resources here (CBS's is cvm)."),
        ));
    }
    let kind = match prefix {
        "snapshot" => Kind::Snapshot,
        "volume" => Kind::Disk,
        other => {
            return Err(ApiFailure::new(
                "InvalidParameterValue.ResourcePrefixInvalid",
                format!("The resource prefix `{other}` is not snapshot or volume."),
            ));
        }
    };
    if ids.len() > 50 {
        return Err(ApiFailure::new(
            "LimitExceeded.ResourceNumPerRequest",
            "A call names at most 50 resource ids.",
        ));
    }
    let mut tags = Vec::new();
    for id in &ids {
        let resource = Resource {
            region: region.to_owned(),
            kind,
            id: id.clone(),
        };
        for (key, value) in tags_of(world, &resource)
            .map(|t| t.clone())
            .unwrap_or_default()
        {
            tags.push(json!({
                "TagKey": key, "TagValue": value, "ResourceId": id,
                "ServiceType": "cvm", "Category": "Custom",
            }));
        }
    }
    let total = tags.len();
    let offset = number(body, "Offset")?.unwrap_or(0) as usize;
    let limit = number(body, "Limit")?.unwrap_or(15).max(1) as usize;
    let page: Vec<Value> = tags.into_iter().skip(offset).take(limit).collect();
    Ok(json!({"TotalCount": total, "Offset": offset, "Limit": limit, "Tags": page}))
}

fn tag_keys(world: &mut World, body: &Value) -> Result<Value, ApiFailure> {
    let keys: BTreeSet<String> = every_resource(world)
        .flat_map(|(_, tags)| tags.iter().map(|(k, _)| k.clone()))
        .collect();
    let (page, next) = page(keys.into_iter().collect(), body, 50, 1000)?;
    Ok(json!({"TagKeys": page, "PaginationToken": next}))
}

fn tag_values(world: &mut World, body: &Value) -> Result<Value, ApiFailure> {
    let keys = required(strings(body, "TagKeys")?, "TagKeys")?;
    if keys.len() > 20 {
        return Err(ApiFailure::new(
            "LimitExceeded.TagKey",
            "A call names at most 20 tag keys.",
        ));
    }
    let mut values: BTreeMap<(String, String), ()> = BTreeMap::new();
    for (_, tags) in every_resource(world) {
        for (key, value) in tags {
            if keys.contains(key) {
                values.insert((key.clone(), value.clone()), ());
            }
        }
    }
    let values: Vec<Value> = values
        .into_keys()
        .map(|(k, v)| json!({"TagKey": k, "TagValue": v, "Category": "Custom"}))
        .collect();
    let (page, next) = page(values, body, 50, 1000)?;
    Ok(json!({"Tags": page, "PaginationToken": next}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_or_without_the_account() {
        let snap = parse("qcs::cvm:ap-beijing:uin/:snapshot/snap-1", "100").unwrap();
        assert_eq!((snap.kind, snap.id.as_str()), (Kind::Snapshot, "snap-1"));
        assert!(parse("qcs::cvm:ap-beijing:uin/100:snapshot/snap-1", "100").is_ok());
        assert!(parse("qcs:0:cvm:ap-beijing:uin/100:volume/disk-1", "100").is_ok());
        for bad in [
            "qcs::cvm:ap-beijing:uin/200:snapshot/snap-1",
            "qcs::cbs:ap-beijing:uin/:snapshot/snap-1",
            "qcs::cvm:mars-1:uin/:snapshot/snap-1",
            "qcs::cvm:ap-beijing:uin/:instance/ins-1",
            "qcs::cvm:ap-beijing:uin/:snapshot/disk-1",
            "qcs::cvm:ap-beijing::snapshot/snap-1",
            "snap-1",
        ] {
            assert!(parse(bad, "100").is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_follow_the_published_limits() {
        assert!(check_tag("team", "storage").is_ok());
        assert!(check_tag("tccbs:source", "ap-guangzhou/disk-1/snap-1").is_ok());
        assert!(check_tag("环境", "生产").is_ok());
        for (key, value, code) in [
            ("", "x", "TagKeyEmpty"),
            ("k", "", "TagValueEmpty"),
            ("qcs:x", "y", "ReservedTagKey"),
            ("project", "y", "ReservedTagKey"),
            ("a#b", "y", "TagKeyCharacterIllegal"),
            ("k", " y", "TagValueCharacterIllegal"),
            ("k", "a!b", "TagValueCharacterIllegal"),
        ] {
            let error = check_tag(key, value).unwrap_err();
            assert!(error.code.ends_with(code), "{key}={value}: {error:?}");
        }
        assert!(check_tag(&"k".repeat(128), "v").is_err());
        assert!(check_tag("k", &"v".repeat(256)).is_err());
        assert!(check_tag(&"k".repeat(127), &"v".repeat(255)).is_ok());
    }
}
