//! Which disks, from which replicas, made how: the region's replicas read with their
//! tags ([`list_candidates`]), the disks the request selects ([`select`]), each one's
//! recovery point, an instance's disks from one moment where their replicas allow
//! ([`choose`]), which zones sell what ([`offers`]), and what each disk becomes
//! ([`spec`]: name, type, size, zone, tags).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tencentcloud_cbs::model::{DiskUsage, Filter, Snapshot, SnapshotState};

use super::attach;
use super::{
    InstanceGroup, MAX_DISK_NAME_BYTES, MAX_TAGS, RESTORED_FROM_TAG, RUN_TAG, Restore, ZoneOffer,
};
use crate::inventory::{Inventory, TAG_PREFIX};
use crate::name::{ReplicaName, format_time};
use crate::observe;
use crate::policy::{Rule, glob_match};
use crate::report::ItemFailure;
use crate::run::Run;

/// A replica of the region, with what its tags say.
#[derive(Clone, Debug)]
pub(super) struct Candidate {
    pub(super) id: String,
    pub(super) name: ReplicaName,
    /// The source disk (a copy keeps its source's `DiskId`).
    pub(super) disk_id: String,
    pub(super) size_gb: u64,
    pub(super) zone: Option<String>,
    pub(super) system_disk: bool,
    pub(super) inventory: Option<Inventory>,
    /// The source's own tags, as the replica carries them.
    pub(super) own_tags: Vec<(String, String)>,
}

/// What one selected disk becomes.
#[derive(Clone, Debug)]
pub(super) struct Spec {
    pub(super) replica_id: String,
    pub(super) name: String,
    pub(super) disk_type: String,
    pub(super) size_gb: u64,
    pub(super) zone: String,
    pub(super) tags: Vec<(String, String)>,
}

/// This tool's `NORMAL` replicas in `region` (those shared with the caller, for a
/// receiver), with their tags read.
pub(super) async fn list_candidates(
    run: &Run,
    region: &str,
    receiver: bool,
) -> Result<Vec<Candidate>, tencentcloud_cbs::Error> {
    let filter = receiver.then(|| Filter::new("snapshot-type", ["SHARED_SNAPSHOT"]));
    observe::each_snapshot(run, region, filter, candidate).await
}

/// A snapshot as a candidate, when it is a `NORMAL` replica of this tool.
pub(super) fn candidate(snapshot: Snapshot) -> Option<Candidate> {
    let name = ReplicaName::parse(snapshot.snapshot_name.as_deref()?)?;
    if snapshot.snapshot_state != Some(SnapshotState::Normal) {
        return None;
    }
    let tags: Vec<(String, String)> = snapshot
        .tags
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| Some((t.key?, t.value?)))
        .collect();
    let inventory = Inventory::from_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        // Tags of another replica's lineage are not this one's inventory.
        .filter(|i| i.snapshot_id == name.source_snapshot_id);
    let system_disk = snapshot.disk_usage == Some(DiskUsage::SystemDisk)
        || inventory.as_ref().and_then(|i| i.system_disk) == Some(true);
    Some(Candidate {
        id: snapshot.snapshot_id?,
        name,
        disk_id: snapshot.disk_id.unwrap_or_default(),
        size_gb: snapshot.disk_size.unwrap_or(0),
        zone: snapshot.placement.and_then(|p| p.zone),
        system_disk,
        inventory,
        own_tags: tags
            .into_iter()
            .filter(|(k, _)| !k.starts_with(TAG_PREFIX))
            .collect(),
    })
}

/// A selected disk: its rule, its id, its replicas in the region, newest first.
pub(super) type Selected<'a> = (&'a Rule, String, Vec<&'a Candidate>);

/// A selected disk's recovery point: its rule, its id, the replica or why there is none.
pub(super) type Chosen<'a> = (&'a Rule, String, Result<&'a Candidate, ItemFailure>);

/// The disks of `rules` the request selects, each once (the first rule that selects a
/// disk restores it), with their replicas; a disk a rule names by id has an entry even
/// without a replica.
pub(super) fn select<'a>(
    rules: &[&'a Rule],
    candidates: &'a [Candidate],
    request: &Restore,
) -> Vec<Selected<'a>> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut selected = Vec::new();
    for rule in rules {
        let mut disks: BTreeMap<&str, Vec<&Candidate>> = rule
            .disk_ids
            .iter()
            .map(|d| (d.as_str(), Vec::new()))
            .collect();
        for candidate in candidates {
            if candidate.name.source_region != rule.source_region {
                continue;
            }
            let inventory = candidate.inventory.as_ref();
            // A replica without inventory (made before replicas were tagged, or seen
            // from a recovery account) cannot show its name: a rule selecting by name
            // takes it by its source region, as its spec's note says.
            let by_pattern =
                rule.disk_name_pattern
                    .as_deref()
                    .is_some_and(|pattern| match inventory {
                        Some(i) => i
                            .name
                            .as_deref()
                            .is_some_and(|name| glob_match(pattern, name)),
                        None => true,
                    });
            let by_rule = inventory.and_then(|i| i.rule.as_deref()) == Some(rule.name.as_str());
            if by_pattern || by_rule || disks.contains_key(candidate.disk_id.as_str()) {
                disks
                    .entry(candidate.disk_id.as_str())
                    .or_default()
                    .push(candidate);
            }
        }
        for (disk_id, mut replicas) in disks {
            if !request.disks.is_empty() && !request.disks.iter().any(|d| d == disk_id) {
                continue;
            }
            if !seen.insert(disk_id) {
                continue;
            }
            replicas.sort_by(|a, b| {
                (b.name.source_created_unix, &b.id).cmp(&(a.name.source_created_unix, &a.id))
            });
            selected.push((*rule, disk_id.to_owned(), replicas));
        }
    }
    selected
}

/// Each selected disk's replica (or why there is none), and the instances' groups.
///
/// A disk on its own takes its newest replica at or before `at`. The disks of one
/// instance take, of the sets their replicas allow (for each source time, each disk's
/// newest replica at or before it), the newest whose times lie within `window`; if
/// none does, the one whose times lie closest together (newest first among equals),
/// reported as inconsistent.
pub(super) fn choose<'a>(
    selected: &'a [Selected<'a>],
    at: Option<i64>,
    window: Duration,
) -> (Vec<Chosen<'a>>, Vec<InstanceGroup>) {
    let eligible = |replicas: &'a [&'a Candidate]| -> Vec<&'a Candidate> {
        replicas
            .iter()
            .copied()
            .filter(|c| at.is_none_or(|at| c.name.source_created_unix <= at))
            .collect()
    };
    // Instances by the newest inventory of their disks.
    let instance_of = |replicas: &[&Candidate]| {
        replicas
            .iter()
            .find_map(|c| c.inventory.as_ref())
            .and_then(|i| Some((i.instance.clone()?, i.order.unwrap_or(usize::MAX))))
    };
    let mut by_instance: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
    for (index, (_, _, replicas)) in selected.iter().enumerate() {
        if let Some((instance, order)) = instance_of(replicas) {
            by_instance
                .entry(instance)
                .or_default()
                .push((order, index));
        }
    }
    let mut picks: Vec<Option<&Candidate>> = selected
        .iter()
        .map(|(_, _, replicas)| eligible(replicas).into_iter().next())
        .collect();
    let mut groups = Vec::new();
    for (instance, mut members) in by_instance {
        members.sort();
        let lists: Vec<Vec<&Candidate>> = members
            .iter()
            .map(|(_, index)| eligible(&selected[*index].2))
            .collect();
        let times: BTreeSet<i64> = lists
            .iter()
            .flatten()
            .map(|c| c.name.source_created_unix)
            .collect();
        // (spread, newest time, picks), for every time every disk has a replica by.
        let mut best: Option<(i64, i64, Vec<&Candidate>)> = None;
        let mut consistent = None;
        for &t in times.iter().rev() {
            let set: Option<Vec<&Candidate>> = lists
                .iter()
                .map(|list| {
                    list.iter()
                        .copied()
                        .find(|c| c.name.source_created_unix <= t)
                })
                .collect();
            let Some(set) = set else {
                continue;
            };
            let newest = set
                .iter()
                .map(|c| c.name.source_created_unix)
                .max()
                .unwrap_or(t);
            let oldest = set
                .iter()
                .map(|c| c.name.source_created_unix)
                .min()
                .unwrap_or(t);
            let spread = newest - oldest;
            if spread <= window.as_secs() as i64 {
                consistent = Some((spread, newest, set));
                break;
            }
            if best.as_ref().is_none_or(|(s, _, _)| spread < *s) {
                best = Some((spread, newest, set));
            }
        }
        let is_consistent = consistent.is_some();
        let chosen = consistent.or(best);
        let group = InstanceGroup {
            instance,
            disks: members
                .iter()
                .map(|(_, index)| selected[*index].1.clone())
                .collect(),
            data_time: chosen.as_ref().map(|(_, newest, _)| *newest),
            consistent: is_consistent,
            spread: chosen
                .as_ref()
                .map(|(spread, _, _)| Duration::from_secs(*spread as u64)),
        };
        if let Some((_, _, set)) = chosen {
            for ((_, index), pick) in members.iter().zip(set) {
                picks[*index] = Some(pick);
            }
        }
        // Without a time all share, each keeps its own newest (already in `picks`).
        groups.push(group);
    }
    let chosen = selected
        .iter()
        .zip(picks)
        .map(|((rule, disk_id, replicas), pick)| {
            let result = pick.ok_or_else(|| {
                let what = match (replicas.is_empty(), at) {
                    (true, _) => "no NORMAL replica".to_owned(),
                    (false, Some(at)) => {
                        format!("no NORMAL replica taken at or before {}", format_time(at))
                    }
                    (false, None) => "no NORMAL replica".to_owned(),
                };
                ItemFailure::new("NoReplica", format!("{what} of {disk_id}"))
            });
            (*rule, disk_id.clone(), result)
        })
        .collect();
    (chosen, groups)
}

/// The zones of the region and whether each sells each type (`None` when the region
/// would not say).
pub(super) struct Offers {
    pub(super) offers: Vec<ZoneOffer>,
}

impl Offers {
    fn sells(&self, zone: &str, disk_type: &str) -> Option<bool> {
        self.offers
            .iter()
            .find(|o| o.zone == zone && o.disk_type == disk_type)
            .map(|o| o.available)
    }

    /// The first zone (in the region's order) that sells `disk_type`.
    fn first_selling(&self, disk_type: &str) -> Option<&str> {
        self.offers
            .iter()
            .find(|o| o.disk_type == disk_type && o.available)
            .map(|o| o.zone.as_str())
    }
}

/// Which zones of `region` sell the types the chosen disks need: one
/// `DescribeDiskConfigQuota` call.
pub(super) async fn offers(
    run: &Run,
    region: &str,
    chosen: &[Chosen<'_>],
    request: &Restore,
) -> Option<Offers> {
    let types: BTreeSet<String> = chosen
        .iter()
        .filter_map(|(_, _, pick)| pick.as_ref().ok())
        .filter_map(|c| {
            c.inventory
                .as_ref()
                .and_then(|i| i.disk_type.clone())
                .or_else(|| request.disk_type.clone())
        })
        .collect();
    if types.is_empty() {
        return None;
    }
    let answer = run
        .client
        .describe_disk_config_quota()
        .region(region)
        .inquiry_type("INQUIRY_CBS_CONFIG")
        .disk_charge_type("POSTPAID_BY_HOUR")
        .disk_types(types.iter().map(String::as_str))
        .disk_usage(DiskUsage::DataDisk)
        .retry_config(run.patience())
        .send()
        .await;
    match answer {
        Ok(answer) => Some(Offers {
            offers: answer
                .disk_config_set
                .into_iter()
                .flatten()
                .filter_map(|c| {
                    Some(ZoneOffer {
                        zone: c.zone?,
                        disk_type: c.disk_type?.as_str().to_owned(),
                        available: c.available.unwrap_or(false),
                        min_size_gb: c.min_disk_size,
                        max_size_gb: c.max_disk_size,
                    })
                })
                .collect(),
        }),
        Err(error) => {
            tracing::warn!(region, error = %error, "the region would not say which zones sell which types; restoring into the replicas' zones unchecked");
            None
        }
    }
}

/// What `pick` becomes, and what the run made do with; or why it cannot be made.
pub(super) fn spec(
    pick: &Candidate,
    selected: &[Selected<'_>],
    request: &Restore,
    offers: &Option<Offers>,
    standby: Option<(&str, &attach::Standby)>,
) -> (Result<Spec, ItemFailure>, Vec<String>) {
    let mut notes = Vec::new();
    // The chosen replica's inventory, else the newest of another replica of the disk.
    let inventory = pick.inventory.as_ref().or_else(|| {
        let other = selected
            .iter()
            .find(|(_, d, _)| *d == pick.disk_id)
            .and_then(|(_, _, replicas)| replicas.iter().find_map(|c| c.inventory.as_ref()));
        if other.is_some() {
            notes.push("the replica carries no inventory: taken from a newer replica's".into());
        }
        other
    });
    if inventory.is_none() {
        notes.push(
            "the replica carries no inventory (made before replicas were tagged, or not the caller's to read): size from the snapshot".into(),
        );
    }
    let disk_type = match (
        inventory.and_then(|i| i.disk_type.clone()),
        &request.disk_type,
    ) {
        (Some(t), _) => t,
        (None, Some(t)) => {
            notes.push(format!("type {t} as given"));
            t.clone()
        }
        (None, None) => {
            let failure = ItemFailure::new(
                "NoDiskType",
                "the replica does not say the source disk's type: give one (--disk-type)",
            );
            return (Err(failure), notes);
        }
    };
    let size_gb = pick
        .size_gb
        .max(inventory.and_then(|i| i.size_gb).unwrap_or(0))
        .max(10);
    let source_zone = inventory.and_then(|i| i.zone.as_deref());
    let mapped = source_zone.and_then(|z| request.zones.get(z));
    let sells = |zone: &str| {
        offers
            .as_ref()
            .and_then(|o| o.sells(zone, &disk_type))
            .unwrap_or(true)
    };
    let standby_zone = standby.and_then(|(_, s)| s.zone.as_deref());
    if let Some((name, _)) = standby.filter(|_| standby_zone.is_none()) {
        notes.push(format!(
            "the zone of the standby {name} is unknown (the region shows no disk on it): attaching will tell"
        ));
    }
    if let (Some(mapped), Some(zone), Some((name, _))) = (mapped, standby_zone, standby)
        && mapped != zone
    {
        let failure = ItemFailure::new(
            "ResourceUnavailable.ZoneNotMatch",
            format!("the zone map sends it to {mapped}, its standby {name} is in {zone}"),
        );
        return (Err(failure), notes);
    }
    let zone = if let Some(zone) = mapped {
        zone.clone()
    } else if let Some(zone) = standby_zone {
        if !sells(zone) {
            let failure = ItemFailure::new(
                "ResourceInsufficient",
                format!("{zone}, the zone of its standby, does not sell {disk_type} now"),
            );
            return (Err(failure), notes);
        }
        zone.to_owned()
    } else if let Some(zone) = pick.zone.as_deref().filter(|z| sells(z)) {
        zone.to_owned()
    } else if let Some(zone) = offers.as_ref().and_then(|o| o.first_selling(&disk_type)) {
        notes.push(format!(
            "{disk_type} is not sold in the replica's zone: {zone} instead"
        ));
        zone.to_owned()
    } else {
        let failure = ItemFailure::new(
            "ResourceInsufficient",
            format!("no zone of {} sells {disk_type} now", request.region),
        );
        return (Err(failure), notes);
    };
    let offer = offers.as_ref().and_then(|o| {
        o.offers
            .iter()
            .find(|x| x.zone == zone && x.disk_type == disk_type)
    });
    if let Some(max) = offer.and_then(|o| o.max_size_gb)
        && size_gb > max
    {
        let failure = ItemFailure::new(
            "InvalidParameter.DiskSizeNotMatch",
            format!("{size_gb} GB is more than {zone} makes of {disk_type} ({max} GB at most)"),
        );
        return (Err(failure), notes);
    }
    let size_gb = match offer.and_then(|o| o.min_size_gb) {
        Some(min) if size_gb < min => {
            notes.push(format!("{min} GB, the smallest {disk_type} {zone} makes"));
            min
        }
        _ => size_gb,
    };
    if mapped.is_some() && !sells(&zone) {
        let failure = ItemFailure::new(
            "ResourceInsufficient",
            format!(
                "{zone} (mapped from {}) does not sell {disk_type} now",
                source_zone.unwrap_or("?")
            ),
        );
        return (Err(failure), notes);
    }
    let name = match &request.disk_names {
        Some((prefix, suffix)) => format!("{prefix}{}{suffix}", pick.disk_id),
        None => inventory
            .and_then(|i| i.name.clone())
            .unwrap_or_else(|| format!("restored-{}", pick.disk_id)),
    };
    let mut tags = vec![
        (RUN_TAG.to_owned(), request.run.clone()),
        (RESTORED_FROM_TAG.to_owned(), pick.id.clone()),
        (
            "tccbs:source".to_owned(),
            format!(
                "{}/{}/{}",
                pick.name.source_region, pick.disk_id, pick.name.source_snapshot_id
            ),
        ),
        (
            "tccbs:taken".to_owned(),
            format_time(pick.name.source_created_unix),
        ),
    ];
    let room = MAX_TAGS - tags.len();
    if pick.own_tags.len() > room {
        notes.push(format!(
            "{} of the source's own tags left out (a disk carries at most {MAX_TAGS})",
            pick.own_tags.len() - room
        ));
    }
    tags.extend(pick.own_tags.iter().take(room).cloned());
    let spec = Spec {
        replica_id: pick.id.clone(),
        name: truncate(&name, MAX_DISK_NAME_BYTES),
        disk_type,
        size_gb,
        zone,
        tags,
    };
    (Ok(spec), notes)
}

/// `text` cut to at most `bytes` bytes, at a character boundary.
pub(super) fn truncate(text: &str, bytes: usize) -> String {
    let mut end = text.len().min(bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// The command that makes an image of a system disk's replica.
pub(super) fn image_command(region: &str, spec: &Spec) -> String {
    format!(
        "a system disk's snapshot becomes an image, not a disk: tccli cvm CreateImage --region {region} --ImageName {} --SnapshotIds '[\"{}\"]'",
        spec.name, spec.replica_id
    )
}
