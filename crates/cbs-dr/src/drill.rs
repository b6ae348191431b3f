//! The restore test: a disk made from the newest replica of each selected disk in one
//! destination, waited for until usable, then deleted again (unless kept). Whatever
//! happens on the way, every disk the drill made is removed before it returns; one it
//! truly could not remove is named, with the command that removes it.
//!
//! A drill that is told to stop (a signal) stops restoring and removes what it made,
//! within [`INTERRUPTED_CLEANUP_BUDGET`]. One that is killed outright cannot: so its
//! disks carry names that say until when that drill could have run
//! (`tccbs-drill-<disk>-<drill>-<until, UTC>`), every later drill first removes the
//! disks of drills past that time ([`sweep`]), and `check` reports them
//! ([`leftovers`]). The disks of a drill told to keep them are named `tccbs-kept-…`
//! and never swept.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use tencentcloud_cbs::Error;
use tencentcloud_cbs::model::{Disk, DiskState, ErrorCode, Filter, Placement, parse_service_time};
use tokio::time::Instant;

use crate::observe;
use crate::policy::{Policy, Rule};
use crate::report::{ItemFailure, LeftoverDisk, delete_command};
use crate::run::Run;

/// One restored disk.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DrillItem {
    /// The rule.
    pub rule: String,
    /// The source disk.
    pub disk_id: String,
    /// The region restored into.
    pub region: String,
    /// The replica restored from.
    pub replica_id: Option<String>,
    /// The disk made from it.
    pub restored_disk_id: Option<String>,
    /// How long until it was usable.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "seconds_to_usable",
            serialize_with = "crate::json::fractional_seconds"
        )
    )]
    pub time_to_usable: Option<Duration>,
    /// Whether it was deleted again.
    pub deleted: bool,
    /// Why it failed.
    #[cfg_attr(feature = "serde", serde(rename = "error"))]
    pub failure: Option<ItemFailure>,
    /// A disk the drill made but could not delete: the command that deletes it.
    pub left_behind: Option<String>,
}

/// The result of [`Replication::drill`](crate::Replication::drill).
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct DrillReport {
    /// One item per selected disk of every rule replicating into the region.
    pub items: Vec<DrillItem>,
    /// Whether the drill was told to stop before every disk was restored (its disks
    /// were removed all the same, as far as the time allowed).
    pub interrupted: bool,
    /// Disks earlier drills left (killed before they could clean up), found in the
    /// region before this drill began, and whether they were removed.
    pub swept: Vec<LeftoverDisk>,
}

impl DrillReport {
    /// Items that restored (and, unless kept, cleaned up) fine.
    pub fn succeeded(&self) -> usize {
        self.items.iter().filter(|i| i.failure.is_none()).count()
    }

    /// Disks the drill made and could not delete, with the command for each.
    pub fn left_behind(&self) -> impl Iterator<Item = (&str, &str)> {
        self.items.iter().filter_map(|i| {
            Some((
                i.restored_disk_id.as_deref().unwrap_or("?"),
                i.left_behind.as_deref()?,
            ))
        })
    }
}

/// How long a restored disk may take to become usable.
const MAX_RESTORE_WAIT: Duration = Duration::from_secs(30 * 60);
/// How long removing the drill's disks may take, even past the run's deadline:
/// leaving a disk behind costs money until someone notices.
const CLEANUP_BUDGET: Duration = Duration::from_secs(30 * 60);
/// How long removing them may take once the drill is told to stop: a service manager
/// waits a minute and a half before it kills (systemd's default), and what is still
/// left then is removed by the next drill.
pub const INTERRUPTED_CLEANUP_BUDGET: Duration = Duration::from_secs(60);
/// How long a drill from before names carried a time may have run: a disk of one made
/// longer ago than this is a leftover.
const LEGACY_DRILL_LIFETIME: Duration = Duration::from_secs(7 * 3600);

/// What the name of every disk a drill makes (and removes) starts with.
const DRILL_PREFIX: &str = "tccbs-drill-";
/// What the name of every disk a drill keeps starts with: never swept.
const KEPT_PREFIX: &str = "tccbs-kept-";

/// A rule, a disk of it, and the replica to restore it from (or why there is none).
type DrillTarget<'p> = (&'p Rule, String, Result<observe::Replica, ItemFailure>);

/// How a disk the drill made is created and found again.
struct DrillDisk {
    /// Unique to this drill, so its clean-up finds only its own.
    name: String,
    /// Sent with `CreateDisks` on every try, so a repeat creates nothing new.
    client_token: String,
}

/// A drill disk's name: `tccbs-drill-<disk>-<drill>-<until>` (UTC, `yyyyMMddHHmmss`),
/// or `tccbs-kept-<disk>-<drill>` for a drill that keeps its disks.
fn disk_name(disk_id: &str, tag: &str, until: Option<i64>) -> String {
    match until {
        Some(until) => format!(
            "{DRILL_PREFIX}{disk_id}-{tag}-{}",
            crate::name::stamp(until)
        ),
        None => format!("{KEPT_PREFIX}{disk_id}-{tag}"),
    }
}

/// Until when the drill that made a disk named `name` could have run (Unix seconds):
/// `Some(None)` for a drill disk whose name has no time (from before names had one),
/// `None` for a disk that is no drill's to remove.
fn drill_until(name: &str) -> Option<Option<i64>> {
    let rest = name.strip_prefix(DRILL_PREFIX)?;
    let (front, last) = rest.rsplit_once('-')?;
    let is_tag = |t: &str| t.len() == 8 && t.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(until) = crate::name::parse_stamp(last) {
        let (disk, tag) = front.rsplit_once('-')?;
        return (disk.starts_with("disk-") && is_tag(tag)).then_some(Some(until));
    }
    (front.starts_with("disk-") && is_tag(last)).then_some(None)
}

/// A drill of `region` with `run`'s client, stopped when `stop` completes. From the
/// owning side (`receiver` false) it restores from every region's listing, in the
/// source disks' types; from an account the rules share with, from the replicas shared
/// with it, into disks of its own of the default type.
pub(crate) async fn drill(
    run: &Run,
    policy: &Policy,
    region: &str,
    keep: bool,
    receiver: bool,
    stop: impl Future<Output = ()>,
) -> DrillReport {
    let swept = sweep(run, region).await;
    let (wanted, types) = if receiver {
        let observation = observe::observe_shared(run, policy).await;
        (drill_targets(policy, &observation, region), BTreeMap::new())
    } else {
        let observation = observe::observe(run, policy, observe::Look::default()).await;
        let wanted = drill_targets(policy, &observation, region);
        let types = disk_types(run, policy, &wanted).await;
        (wanted, types)
    };
    let mut report = restore_all(run, region, wanted, &types, keep, stop).await;
    report.swept = swept;
    report
}

/// What a drill of `region` restores: per rule replicating there, per disk, the
/// newest `NORMAL` replica, or why there is none.
fn drill_targets<'p>(
    policy: &'p Policy,
    observation: &observe::Observation,
    region: &str,
) -> Vec<DrillTarget<'p>> {
    let mut wanted = Vec::new();
    for (rule, sources) in policy.rules().iter().zip(&observation.rules) {
        if !rule.destinations.iter().any(|d| d == region) {
            continue;
        }
        let unavailable = observation
            .unavailable
            .get(region)
            .or_else(|| observation.unavailable.get(&rule.source_region));
        if let Some(failure) = unavailable {
            wanted.push((rule, "*".to_owned(), Err(failure.clone())));
            continue;
        }
        for disk_id in &sources.missing {
            let failure = ItemFailure::no_such_disk(disk_id, &rule.source_region);
            wanted.push((rule, disk_id.clone(), Err(failure)));
        }
        if sources.disks.is_empty() && sources.missing.is_empty() {
            let failure = ItemFailure::no_disks(&rule.name, &rule.source_region);
            wanted.push((rule, "*".to_owned(), Err(failure)));
        }
        for disk_id in &sources.disks {
            let newest = observation
                .newest_normal(rule, disk_id, region)
                .cloned()
                .ok_or_else(|| {
                    ItemFailure::new(
                        "NoReplica",
                        format!("no NORMAL replica of {disk_id} in {region}"),
                    )
                });
            wanted.push((rule, disk_id.clone(), newest));
        }
    }
    wanted
}

/// Restores every target with `run`'s client until `stop` completes, then (unless
/// `keep`) removes every disk the drill made.
async fn restore_all(
    run: &Run,
    region: &str,
    wanted: Vec<DrillTarget<'_>>,
    types: &BTreeMap<String, String>,
    keep: bool,
    stop: impl Future<Output = ()>,
) -> DrillReport {
    let tag = run_tag();
    // Until when this drill may run, clean-up included: a sweep of a later drill
    // removes its disks only after that.
    let until = (!keep).then(|| {
        run.now_unix()
            .saturating_add((run.left() + CLEANUP_BUDGET).as_secs() as i64)
    });
    let mut report = DrillReport::default();
    let mut jobs = Vec::new();
    for (rule, disk_id, replica) in wanted {
        let item = DrillItem {
            rule: rule.name.clone(),
            disk_id: disk_id.clone(),
            region: region.to_owned(),
            replica_id: replica.as_ref().ok().map(|r| r.id.clone()),
            restored_disk_id: None,
            time_to_usable: None,
            deleted: false,
            failure: replica.as_ref().err().cloned(),
            left_behind: None,
        };
        if let Ok(replica) = replica {
            let disk_type = types
                .get(&disk_id)
                .cloned()
                .unwrap_or_else(|| "CLOUD_PREMIUM".to_owned());
            let disk = DrillDisk {
                name: disk_name(&disk_id, &tag, until),
                client_token: format!("tccbs-drill-{tag}-{disk_id}"),
            };
            jobs.push((report.items.len(), replica, disk_type, disk));
        }
        report.items.push(item);
    }
    let restoring = async {
        for (index, replica, disk_type, disk) in &jobs {
            restore(run, &mut report.items[*index], replica, disk_type, disk).await;
        }
    };
    tokio::select! {
        () = restoring => {}
        () = stop => report.interrupted = true,
    }
    if !keep {
        let cleanup = if report.interrupted {
            run.within(INTERRUPTED_CLEANUP_BUDGET)
        } else {
            run.extended(CLEANUP_BUDGET)
        };
        let names: BTreeMap<usize, String> = jobs
            .into_iter()
            .map(|(index, _, _, disk)| (index, disk.name))
            .collect();
        clean_up(&cleanup, region, &names, &mut report).await;
    }
    report
}

/// The source disks' types, one listing per rule; a type that cannot be read
/// falls back to `CLOUD_PREMIUM`.
async fn disk_types(
    run: &Run,
    policy: &Policy,
    wanted: &[DrillTarget<'_>],
) -> BTreeMap<String, String> {
    let mut types = BTreeMap::new();
    for rule in policy.rules() {
        let ids: Vec<String> = wanted
            .iter()
            .filter(|(r, _, replica)| r.name == rule.name && replica.is_ok())
            .map(|(_, d, _)| d.clone())
            .collect();
        for chunk in ids.chunks(observe::IDS_PER_CALL) {
            let page = run
                .client
                .describe_disks()
                .region(rule.source_region.clone())
                .disk_ids(chunk.iter().cloned())
                .limit(observe::IDS_PER_CALL as u64)
                .retry_config(run.patience())
                .send()
                .await;
            for disk in page
                .map(|p| p.disk_set.unwrap_or_default())
                .unwrap_or_default()
            {
                if let (Some(id), Some(kind)) = (disk.disk_id, disk.disk_type) {
                    types.insert(id, kind.as_str().to_owned());
                }
            }
        }
    }
    types
}

async fn restore(
    run: &Run,
    item: &mut DrillItem,
    replica: &observe::Replica,
    disk_type: &str,
    disk: &DrillDisk,
) {
    let zone = replica
        .zone
        .clone()
        .unwrap_or_else(|| format!("{}-1", replica.region));
    let started = Instant::now();
    let created = run
        .client
        .create_disks()
        .region(replica.region.clone())
        .placement(Placement::new(zone.clone()))
        .disk_charge_type("POSTPAID_BY_HOUR")
        .disk_type(disk_type)
        .disk_size(replica.size_gb.max(10))
        .snapshot_id(replica.id.clone())
        .disk_name(disk.name.clone())
        .client_token(disk.client_token.clone())
        .retry_config(run.patience())
        .send()
        .await;
    let disk_id = match created.map(|r| r.disk_id_set.unwrap_or_default().into_iter().next()) {
        Ok(Some(id)) => id,
        Ok(None) => {
            item.failure = Some(ItemFailure::new(
                "NoDiskId",
                "CreateDisks answered without a disk id",
            ));
            return;
        }
        Err(error) => {
            // If it may have run, the clean-up finds the disk by its name.
            item.failure = Some(ItemFailure::of_error(&error));
            return;
        }
    };
    item.restored_disk_id = Some(disk_id.clone());
    let (mut interval, poll_max) = run.poll;
    loop {
        let page = run
            .client
            .describe_disks()
            .region(replica.region.clone())
            .disk_ids([disk_id.clone()])
            .retry_config(run.patience())
            .send()
            .await;
        match page.map(|p| p.disk_set.unwrap_or_default().into_iter().next()) {
            Ok(Some(disk))
                if matches!(
                    disk.disk_state,
                    Some(DiskState::Unattached) | Some(DiskState::Attached)
                ) && disk.rollbacking != Some(true) =>
            {
                item.time_to_usable = Some(started.elapsed());
                break;
            }
            Ok(_) => {}
            Err(error) => {
                item.failure = Some(ItemFailure::of_error(&error));
                break;
            }
        }
        if started.elapsed() >= MAX_RESTORE_WAIT || run.is_over() {
            item.failure = Some(ItemFailure::new(
                "Timeout",
                "the restored disk did not become usable in time",
            ));
            break;
        }
        tokio::time::sleep(interval.min(run.left())).await;
        interval = (interval * 3 / 2).min(poll_max);
    }
}

/// Deletes every disk this drill made: those it knows, and any carrying one of its
/// names (`names`, by item: a creation whose answer was lost, or one cut short by a
/// stop). Patient until `cleanup`'s deadline.
async fn clean_up(
    cleanup: &Run,
    region: &str,
    names: &BTreeMap<usize, String>,
    report: &mut DrillReport,
) {
    let wanted: Vec<String> = names.values().cloned().collect();
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    for chunk in wanted.chunks(5) {
        let listed = cleanup
            .client
            .describe_disks()
            .region(region)
            .filters([Filter::new("disk-name", chunk.iter().cloned())])
            .limit(observe::IDS_PER_CALL as u64)
            .retry_config(cleanup.patience())
            .send()
            .await;
        match listed {
            Ok(page) => {
                for disk in page.disk_set.unwrap_or_default() {
                    if let (Some(id), Some(name)) = (disk.disk_id, disk.disk_name) {
                        found.insert(name, id);
                    }
                }
            }
            Err(error) => {
                tracing::warn!(region, error = %error, "listing the drill's disks failed; deleting the known ones");
            }
        }
    }
    for (index, item) in report.items.iter_mut().enumerate() {
        if item.restored_disk_id.is_none() {
            item.restored_disk_id = names.get(&index).and_then(|n| found.get(n)).cloned();
        }
        let Some(disk_id) = item.restored_disk_id.clone() else {
            continue;
        };
        match terminate(cleanup, region, &disk_id).await {
            Ok(()) => item.deleted = true,
            Err(failure) => {
                item.failure.get_or_insert(failure);
                item.left_behind = Some(delete_command(region, &disk_id));
            }
        }
    }
}

/// Deletes one disk; one that is gone already (an earlier try did it, its answer lost)
/// counts as deleted.
pub(crate) async fn terminate(run: &Run, region: &str, disk_id: &str) -> Result<(), ItemFailure> {
    let deleted = run
        .client
        .terminate_disks()
        .region(region)
        .disk_ids([disk_id])
        .retry_config(run.patience())
        .send()
        .await;
    match deleted {
        Ok(_) => Ok(()),
        Err(error) if error.code() == Some(&ErrorCode::InvalidDiskIdNotFound) => Ok(()),
        Err(error) => Err(ItemFailure::of_error(&error)),
    }
}

/// The disks in `region` that drills made and no longer need: their drill's time is
/// past (or, for names without a time, they are older than any drill runs). Disks of
/// a drill still running, and kept ones, are not among them. Read-only; prices
/// asked per type and size.
pub(crate) async fn leftovers(run: &Run, region: &str) -> Result<Vec<LeftoverDisk>, Error> {
    let now = run.now_unix();
    let mut found = Vec::new();
    let mut items = run
        .client
        .describe_disks()
        .region(region)
        .limit(observe::IDS_PER_CALL as u64)
        .retry_config(run.patience())
        .into_paginator()
        .items();
    while let Some(disk) = items.next_item().await {
        if let Some(leftover) = leftover(disk?, region, now) {
            found.push(leftover);
        }
    }
    let mut prices: BTreeMap<(Option<String>, u64), Option<f64>> = BTreeMap::new();
    for disk in &mut found {
        let key = (disk.disk_type.clone(), disk.size_gb);
        if !prices.contains_key(&key) {
            let price = hourly_price(run, region, key.0.as_deref(), key.1).await;
            prices.insert(key.clone(), price);
        }
        disk.hourly_price = prices[&key];
    }
    Ok(found)
}

/// A disk as a leftover, when it is one at `now`.
fn leftover(disk: Disk, region: &str, now: i64) -> Option<LeftoverDisk> {
    let name = disk.disk_name?;
    let expired = match drill_until(&name)? {
        Some(until) => until < now,
        None => disk
            .create_time
            .as_deref()
            .and_then(parse_service_time)
            .is_some_and(|made| made + (LEGACY_DRILL_LIFETIME.as_secs() as i64) < now),
    };
    expired.then(|| LeftoverDisk {
        region: region.to_owned(),
        disk_id: disk.disk_id.unwrap_or_default(),
        name,
        size_gb: disk.disk_size.unwrap_or(0),
        disk_type: disk.disk_type.map(|t| t.as_str().to_owned()),
        attached: disk.attached == Some(true) || disk.disk_state == Some(DiskState::Attached),
        hourly_price: None,
        removed: false,
        failure: None,
    })
}

/// What a pay-as-you-go disk of `disk_type` and `size_gb` costs by the hour.
pub(crate) async fn hourly_price(
    run: &Run,
    region: &str,
    disk_type: Option<&str>,
    size_gb: u64,
) -> Option<f64> {
    let price = run
        .client
        .inquiry_price_create_disks()
        .region(region)
        .disk_charge_type("POSTPAID_BY_HOUR")
        .disk_type(disk_type?)
        .disk_size(size_gb.max(10))
        .retry_config(run.patience())
        .send()
        .await
        .ok()?
        .disk_price?;
    price.unit_price_discount.or(price.unit_price)
}

/// Removes what earlier drills left in `region` (unattached ones; an attached one is
/// somebody's now), before this drill begins. A region that cannot be listed sweeps
/// nothing; the drill goes on.
pub(crate) async fn sweep(run: &Run, region: &str) -> Vec<LeftoverDisk> {
    let mut found = match leftovers(run, region).await {
        Ok(found) => found,
        Err(error) => {
            tracing::warn!(region, error = %error, "listing what earlier drills left failed; nothing swept");
            return Vec::new();
        }
    };
    for disk in found.iter_mut().filter(|d| !d.attached) {
        match terminate(run, region, &disk.disk_id).await {
            Ok(()) => disk.removed = true,
            Err(failure) => disk.failure = Some(failure),
        }
    }
    found
}

/// A short tag unique to one drill.
fn run_tag() -> String {
    // The standard library's hasher keys come from the operating system: random enough
    // for a name that only needs to differ between drills.
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!("{:08x}", hasher.finish() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_until_when_their_drill_runs() {
        let name = disk_name("disk-prod0001", "0a1b2c3d", Some(1_800_000_000));
        assert_eq!(name, "tccbs-drill-disk-prod0001-0a1b2c3d-20270115080000");
        assert!(name.len() <= 60);
        assert_eq!(drill_until(&name), Some(Some(1_800_000_000)));
        assert_eq!(
            drill_until("tccbs-drill-disk-prod0001-0a1b2c3d"),
            Some(None)
        );
        let kept = disk_name("disk-prod0001", "0a1b2c3d", None);
        assert_eq!(kept, "tccbs-kept-disk-prod0001-0a1b2c3d");
        for not_ours in [
            kept.as_str(),
            "prod-db-1",
            "tccbs-drill-",
            "tccbs-drill-disk-x-nothex00-20270115080000",
            "tccbs-drill-snap-x-0a1b2c3d",
            "tccbs-drill-disk-x-0a1b2c3d-2027011508",
        ] {
            assert_eq!(drill_until(not_ours), None, "{not_ours}");
        }
    }
}
