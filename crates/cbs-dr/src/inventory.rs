//! What a replica carries to say where it comes from, so that a recovery needs nothing
//! from the source region: its lineage and its source disk's inventory as tags under
//! one prefix ([`TAG_PREFIX`]; the keys are listed on [`Inventory`]), and the source
//! disk's and source snapshot's own tags as they are.

use std::collections::BTreeMap;

use crate::name::ReplicaName;
use crate::observe::{Observation, Replica, SourceDisk};

/// What the keys of a replica's lineage and inventory tags start with.
pub const TAG_PREFIX: &str = "tccbs:";

const SOURCE: &str = "tccbs:source";
const TAKEN: &str = "tccbs:taken";
const RULE: &str = "tccbs:rule";
const DISK: &str = "tccbs:disk";
const NAME: &str = "tccbs:name";
const INSTANCE: &str = "tccbs:instance";

/// The most tags a resource may carry (the Tag service's limit).
const MAX_TAGS: usize = 50;

/// A replica's lineage and its source disk's inventory, as its tags say.
///
/// | key | value |
/// | --- | --- |
/// | `tccbs:source` | `<source region>/<source disk>/<source snapshot>` |
/// | `tccbs:taken` | when the source snapshot was taken, UTC: `2026-12-01T08:30:00Z` |
/// | `tccbs:rule` | the rule that keeps it |
/// | `tccbs:disk` | `<type>/<size GB>/<zone>/<system or data>[/<throughput MB/s>]` |
/// | `tccbs:name` | the source disk's name (characters a tag cannot hold become `_`) |
/// | `tccbs:instance` | `<instance>/<place among its disks, 0 first>`, when attached |
///
/// Six tags, so that one `TagResources` call (at most ten tags) binds them with room for
/// four of the source's own; the fields are packed into few keys for that reason.
///
/// ```
/// use cbs_dr::Inventory;
/// let tags = [
///     ("tccbs:source", "ap-guangzhou/disk-aaaa1111/snap-8dkx2lq9"),
///     ("tccbs:taken", "2026-12-01T08:30:00Z"),
///     ("tccbs:rule", "prod"),
///     ("tccbs:disk", "CLOUD_PREMIUM/200/ap-guangzhou-3/data"),
///     ("tccbs:name", "prod-db-1"),
///     ("tccbs:instance", "ins-0001/1"),
/// ];
/// let inventory = Inventory::from_tags(tags.iter().map(|(k, v)| (*k, *v))).unwrap();
/// assert_eq!(inventory.disk_id, "disk-aaaa1111");
/// assert_eq!(inventory.size_gb, Some(200));
/// assert_eq!(inventory.instance.as_deref(), Some("ins-0001"));
/// assert_eq!(inventory.order, Some(1));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Inventory {
    /// The region the source disk is in.
    pub source_region: String,
    /// The source disk.
    pub disk_id: String,
    /// The source snapshot.
    pub snapshot_id: String,
    /// When the source snapshot was taken (Unix seconds).
    pub taken_unix: Option<i64>,
    /// The rule.
    pub rule: Option<String>,
    /// The source disk's type.
    pub disk_type: Option<String>,
    /// Its size in GB.
    pub size_gb: Option<u64>,
    /// Its zone.
    pub zone: Option<String>,
    /// Whether it was an instance's system disk.
    pub system_disk: Option<bool>,
    /// Its throughput setting (MB/s).
    pub throughput: Option<u64>,
    /// Its name.
    pub name: Option<String>,
    /// The instance it was attached to.
    pub instance: Option<String>,
    /// Its place among that instance's disks (0 first).
    pub order: Option<usize>,
}

impl Inventory {
    /// Reads the inventory from a replica's tags; `None` without the lineage tag
    /// (`tccbs:source`). Fields whose tags are missing or unreadable are `None`.
    pub fn from_tags<'t>(tags: impl IntoIterator<Item = (&'t str, &'t str)>) -> Option<Inventory> {
        let tags: BTreeMap<&str, &str> = tags.into_iter().collect();
        let mut source = tags.get(SOURCE)?.splitn(3, '/');
        let mut inventory = Inventory {
            source_region: source.next()?.to_owned(),
            disk_id: source.next()?.to_owned(),
            snapshot_id: source.next()?.to_owned(),
            ..Inventory::default()
        };
        inventory.taken_unix = tags.get(TAKEN).and_then(|t| parse_utc(t));
        inventory.rule = tags.get(RULE).map(|r| r.to_string());
        if let Some(disk) = tags.get(DISK) {
            let fields: Vec<&str> = disk.split('/').collect();
            inventory.disk_type = fields.first().map(|t| t.to_string());
            inventory.size_gb = fields.get(1).and_then(|s| s.parse().ok());
            inventory.zone = fields.get(2).map(|z| z.to_string());
            inventory.system_disk = fields.get(3).map(|u| *u == "system");
            inventory.throughput = fields.get(4).and_then(|t| t.parse().ok());
        }
        inventory.name = tags.get(NAME).map(|n| n.to_string());
        if let Some((instance, order)) = tags.get(INSTANCE).and_then(|i| i.split_once('/')) {
            inventory.instance = Some(instance.to_owned());
            inventory.order = order.parse().ok();
        }
        Some(inventory)
    }
}

/// The tags a replica should carry, and what could not be had (reported, never
/// silently dropped).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Desired {
    /// Ours first, then the source's own.
    pub tags: Vec<(String, String)>,
    /// What was left out or changed, in words.
    pub problems: Vec<String>,
}

impl Desired {
    /// The tags `replica` does not carry (or carries with another value).
    pub(crate) fn missing(&self, replica: &Replica) -> Vec<(String, String)> {
        self.tags
            .iter()
            .filter(|(k, v)| !replica.has_tag(k, v))
            .cloned()
            .collect()
    }

    /// Whether `replica` lacks any of its lineage and inventory tags (ours).
    pub(crate) fn lacks_inventory(&self, replica: &Replica) -> bool {
        self.tags
            .iter()
            .filter(|(k, _)| k.starts_with(TAG_PREFIX))
            .any(|(k, v)| !replica.has_tag(k, v))
    }
}

/// What the tags of the replicas of a fleet are made from: the selected source disks
/// and the source snapshots' own tags, as one look at the regions saw them. Owned, so a
/// run keeps it (a few hundred bytes a disk) after the look itself is let go.
#[derive(Clone, Debug, Default)]
pub(crate) struct Book {
    disks: BTreeMap<String, SourceDisk>,
    snapshot_tags: BTreeMap<String, Vec<(String, String)>>,
}

impl Book {
    /// The book of what `observation` saw.
    pub(crate) fn of(observation: &Observation) -> Book {
        let snapshot_tags = observation
            .rules
            .iter()
            .flat_map(|r| &r.snapshots)
            .filter(|s| !s.tags.is_empty())
            .map(|s| (s.id.clone(), s.tags.clone()))
            .collect();
        Book {
            disks: observation.disks.clone(),
            snapshot_tags,
        }
    }

    /// The tags the replica `name` of `disk_id`, kept by `rule`, should carry; `None`
    /// when the source disk was not seen (its region could not be listed, or it is
    /// gone: the replica keeps what it has).
    pub(crate) fn desired(&self, rule: &str, disk_id: &str, name: &ReplicaName) -> Option<Desired> {
        let disk = self.disks.get(disk_id)?;
        let mut desired = Desired::default();
        let mut ours = vec![
            (
                SOURCE.to_owned(),
                format!(
                    "{}/{disk_id}/{}",
                    name.source_region, name.source_snapshot_id
                ),
            ),
            (
                TAKEN.to_owned(),
                crate::name::format_time(name.source_created_unix),
            ),
            (RULE.to_owned(), rule.to_owned()),
        ];
        let mut fields = vec![
            disk.disk_type.clone().unwrap_or_else(|| "-".to_owned()),
            disk.size_gb.to_string(),
            disk.zone.clone().unwrap_or_else(|| "-".to_owned()),
            if disk.system_disk { "system" } else { "data" }.to_owned(),
        ];
        if let Some(throughput) = disk.throughput {
            fields.push(throughput.to_string());
        }
        ours.push((DISK.to_owned(), fields.join("/")));
        if let Some(name) = &disk.name {
            let (value, changed) = tag_value(name);
            if changed {
                desired
                    .problems
                    .push(format!("the disk's name {name:?} is kept as {value:?} (tags cannot hold all its characters)"));
            }
            if !value.is_empty() {
                ours.push((NAME.to_owned(), value));
            }
        }
        if let (Some(instance), Some(order)) = (&disk.instance, disk.order) {
            ours.push((INSTANCE.to_owned(), format!("{instance}/{order}")));
        }
        desired.tags = ours;
        // The source's own tags, the snapshot's over the disk's for one key.
        let mut own: BTreeMap<&str, &str> = BTreeMap::new();
        let snapshot_tags = self
            .snapshot_tags
            .get(&name.source_snapshot_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (key, value) in disk.tags.iter().chain(snapshot_tags) {
            own.insert(key, value);
        }
        let mut dropped = Vec::new();
        for (key, value) in own {
            if key.starts_with(TAG_PREFIX) {
                desired.problems.push(format!(
                    "the source's tag {key:?} collides with this tool's own and is not copied"
                ));
            } else if let Some(problem) = tencentcloud_cbs::tag::Tag::new(key, value).problem() {
                // Read from the service, so this takes a change of the rules (or a
                // service that does not keep them): the rest is still bound.
                desired.problems.push(format!(
                    "the source's tag {key:?} cannot be bound ({problem}) and is not copied"
                ));
            } else if desired.tags.len() >= MAX_TAGS {
                dropped.push(key);
            } else {
                desired.tags.push((key.to_owned(), value.to_owned()));
            }
        }
        if !dropped.is_empty() {
            desired.problems.push(format!(
                "a resource carries at most {MAX_TAGS} tags: {} of the source's own are not copied ({})",
                dropped.len(),
                dropped.join(", ")
            ));
        }
        Some(desired)
    }
}

/// `text` as a tag value: characters a tag cannot hold become `_`, no space at either
/// end, at most 255 characters; and whether anything changed.
fn tag_value(text: &str) -> (String, bool) {
    let mapped: String = text
        .chars()
        .map(|c| {
            if tencentcloud_cbs::tag::allowed(c) {
                c
            } else {
                '_'
            }
        })
        .take(tencentcloud_cbs::tag::MAX_VALUE_CHARS)
        .collect();
    let value = mapped.trim().to_owned();
    let changed = value != text;
    (value, changed)
}

/// `2026-12-01T08:30:00Z` as Unix seconds.
fn parse_utc(text: &str) -> Option<i64> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    (text.len() == 20 && text.ends_with('Z'))
        .then(|| crate::name::parse_stamp(&digits))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a look saw of one disk and of the snapshot `snap-s1`.
    fn observed(disk: SourceDisk) -> Observation {
        let snapshot = crate::observe::SourceSnapshot {
            id: "snap-s1".into(),
            disk_id: disk.id.clone(),
            created: 0,
            size_gb: 200,
            copying_to: Vec::new(),
            system_disk: false,
            tags: vec![
                ("stage".into(), "nightly".into()),
                ("team".into(), "db".into()),
            ],
        };
        Observation {
            rules: vec![crate::observe::RuleSources {
                snapshots: vec![snapshot],
                ..Default::default()
            }],
            disks: [(disk.id.clone(), disk)].into(),
            ..Default::default()
        }
    }

    fn disk() -> SourceDisk {
        SourceDisk {
            id: "disk-d1".into(),
            region: "ap-guangzhou".into(),
            name: Some("prod db #1".into()),
            disk_type: Some("CLOUD_SSD".into()),
            size_gb: 200,
            zone: Some("ap-guangzhou-3".into()),
            system_disk: false,
            instance: Some("ins-1".into()),
            order: Some(2),
            throughput: Some(100),
            created: None,
            tags: vec![
                ("team".into(), "storage".into()),
                ("owner".into(), "alice".into()),
            ],
        }
    }

    #[test]
    fn lineage_inventory_and_own_tags_round_trip() {
        let name = ReplicaName::new("snap-s1", "ap-guangzhou", 1_764_577_800);
        let observation = observed(disk());
        let desired = Book::of(&observation)
            .desired("prod", "disk-d1", &name)
            .unwrap();
        let tags: Vec<(&str, &str)> = desired
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            tags,
            [
                ("tccbs:source", "ap-guangzhou/disk-d1/snap-s1"),
                ("tccbs:taken", "2025-12-01T08:30:00Z"),
                ("tccbs:rule", "prod"),
                ("tccbs:disk", "CLOUD_SSD/200/ap-guangzhou-3/data/100"),
                ("tccbs:name", "prod db _1"),
                ("tccbs:instance", "ins-1/2"),
                ("owner", "alice"),
                ("stage", "nightly"),
                // The snapshot's value wins over the disk's.
                ("team", "db"),
            ]
        );
        assert_eq!(desired.problems.len(), 1, "{:?}", desired.problems);
        for (key, value) in &desired.tags {
            assert!(
                tencentcloud_cbs::tag::Tag::new(key, value)
                    .problem()
                    .is_none(),
                "{key}={value}"
            );
        }
        let read = Inventory::from_tags(tags).unwrap();
        assert_eq!(read.taken_unix, Some(1_764_577_800));
        assert_eq!(read.disk_type.as_deref(), Some("CLOUD_SSD"));
        assert_eq!(read.system_disk, Some(false));
        assert_eq!(read.throughput, Some(100));
        assert_eq!(
            (read.instance.as_deref(), read.order),
            (Some("ins-1"), Some(2))
        );
    }

    #[test]
    fn collisions_and_the_fifty_tag_limit_are_reported() {
        let mut many = disk();
        many.tags = (0..60)
            .map(|i| (format!("k{i:02}"), "v".to_owned()))
            .collect();
        many.tags.push(("tccbs:rule".into(), "forged".into()));
        let name = ReplicaName::new("snap-s2", "ap-guangzhou", 1_764_577_800);
        let observation = observed(many);
        let desired = Book::of(&observation)
            .desired("prod", "disk-d1", &name)
            .unwrap();
        assert_eq!(desired.tags.len(), 50);
        assert!(
            desired
                .tags
                .iter()
                .any(|(k, v)| k == "tccbs:rule" && v == "prod")
        );
        let said = desired.problems.join("; ");
        assert!(said.contains("collides"), "{said}");
        assert!(
            said.contains("16 of the source's own are not copied"),
            "{said}"
        );
    }

    #[test]
    fn a_source_tag_the_service_would_refuse_is_reported_and_the_rest_bound() {
        let mut odd = disk();
        odd.tags = vec![
            ("qcs:system".into(), "x".into()),
            ("empty".into(), String::new()),
            ("owner".into(), "alice".into()),
        ];
        let name = ReplicaName::new("snap-s3", "ap-guangzhou", 1_764_577_800);
        let observation = observed(odd);
        let desired = Book::of(&observation)
            .desired("prod", "disk-d1", &name)
            .unwrap();
        let keys: Vec<&str> = desired.tags.iter().map(|(k, _)| k.as_str()).collect();
        assert!(keys.contains(&"owner"), "{keys:?}");
        assert!(!keys.contains(&"qcs:system") && !keys.contains(&"empty"));
        let said = desired.problems.join("; ");
        assert!(said.contains("\"qcs:system\" cannot be bound"), "{said}");
        assert!(said.contains("\"empty\" cannot be bound"), "{said}");
    }
}
