//! The restore test: the recovery day rehearsed in one destination (every selected disk
//! restored as `restore` does it: consistent sets per instance, the restore order,
//! standbys if given, the recovery time measured), then deleted again (unless kept). Whatever
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
use tencentcloud_cbs::model::{Disk, DiskState, parse_service_time};

use crate::disks::{hourly_price, terminate};
use crate::policy::Policy;
use crate::report::{ItemFailure, LeftoverDisk, delete_command};
use crate::restore::{self, CleanupReport, Restore, RestoreOutcome, RestoreReport};
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
    /// The drill's run (`drill-<tag>`): its disks carry it in
    /// [`RUN_TAG`](crate::RUN_TAG), so kept ones can be removed with
    /// [`clean_up_restore`](crate::Replication::clean_up_restore).
    pub run: String,
    /// The restore the drill ran, as the recovery day would run it: the recovery time
    /// ([`RestoreReport::rto`]), instances' consistency, groups, attachments. `None`
    /// when the drill was stopped before it finished.
    pub restore: Option<RestoreReport>,
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

/// A drill disk's name: `tccbs-drill-<disk>-<drill>-<until>` (UTC, `yyyyMMddHHmmss`),
/// or `tccbs-kept-<disk>-<drill>` for a drill that keeps its disks.
#[cfg(test)]
fn disk_name(disk_id: &str, tag: &str, until: Option<i64>) -> String {
    let (prefix, suffix) = name_parts(tag, until);
    format!("{prefix}{disk_id}{suffix}")
}

/// What goes before and after the source disk's id in a drill disk's name.
fn name_parts(tag: &str, until: Option<i64>) -> (String, String) {
    match until {
        Some(until) => (
            DRILL_PREFIX.to_owned(),
            format!("-{tag}-{}", crate::name::stamp(until)),
        ),
        None => (KEPT_PREFIX.to_owned(), format!("-{tag}")),
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

/// A drill: the restore `request` asks for (its region, rules, disks, time, standbys,
/// order), run as the recovery day would run it but into a run of its own
/// (`drill-<tag>`, its disks named as drills name them), stopped when `stop`
/// completes; then, unless `keep`, that run's disks are removed. From an account the
/// rules share with (`receiver`), from the replicas shared with it.
pub(crate) async fn drill(
    run: &Run,
    policy: &Policy,
    request: &Restore,
    keep: bool,
    receiver: bool,
    stop: impl Future<Output = ()>,
) -> DrillReport {
    let region = request.region().to_owned();
    let swept = sweep(run, &region).await;
    let tag = run_tag();
    // Until when this drill may run, clean-up included: a sweep of a later drill
    // removes its disks only after that.
    let until = (!keep).then(|| {
        run.now_unix()
            .saturating_add((run.left() + CLEANUP_BUDGET).as_secs() as i64)
    });
    let run_name = format!("drill-{tag}");
    let request = request
        .clone()
        .for_drill(run_name.clone(), name_parts(&tag, until));
    let mut report = DrillReport {
        swept,
        run: run_name.clone(),
        ..DrillReport::default()
    };
    tokio::select! {
        restored = restore::restore(run, policy, &request, false, receiver) => {
            report.restore = Some(restored);
        }
        () = stop => report.interrupted = true,
    }
    let cleanup = if keep {
        None
    } else if report.interrupted {
        Some(restore::clean_up(&run.within(INTERRUPTED_CLEANUP_BUDGET), &region, &run_name).await)
    } else {
        Some(restore::clean_up(&run.extended(CLEANUP_BUDGET), &region, &run_name).await)
    };
    report.items = items(&region, report.restore.as_ref(), cleanup.as_ref());
    report
}

/// The drill's items: one per disk the restore selected (or, when it was stopped, per
/// disk it made), with what the clean-up did to it.
fn items(
    region: &str,
    restored: Option<&RestoreReport>,
    cleanup: Option<&CleanupReport>,
) -> Vec<DrillItem> {
    let removal = |disk: &Option<String>| {
        cleanup.and_then(|c| c.items.iter().find(|i| Some(&i.disk_id) == disk.as_ref()))
    };
    let listing_failed = cleanup.and_then(|c| c.failure.clone());
    let mut items: Vec<DrillItem> = match restored {
        Some(restored) => restored
            .items
            .iter()
            .map(|i| {
                let failure = match i.outcome {
                    RestoreOutcome::NeedsImage => Some(ItemFailure::new(
                        "NeedsImage",
                        i.notes.last().cloned().unwrap_or_default(),
                    )),
                    _ => i.failure.clone(),
                };
                DrillItem {
                    rule: i.rule.clone(),
                    disk_id: i.disk_id.clone(),
                    region: region.to_owned(),
                    replica_id: i.replica_id.clone(),
                    restored_disk_id: i.restored_disk_id.clone(),
                    time_to_usable: i.time_to_usable,
                    deleted: false,
                    failure,
                    left_behind: None,
                }
            })
            .collect(),
        None => Vec::new(),
    };
    if let Some(cleanup) = cleanup {
        // Disks the run made that its report does not name (it was stopped, or an
        // answer was lost): items of their own, so none goes unmentioned.
        for found in &cleanup.items {
            if !items
                .iter()
                .any(|i| i.restored_disk_id.as_deref() == Some(found.disk_id.as_str()))
            {
                items.push(DrillItem {
                    rule: String::new(),
                    disk_id: found.source_disk_id.clone().unwrap_or_default(),
                    region: region.to_owned(),
                    replica_id: found.replica_id.clone(),
                    restored_disk_id: Some(found.disk_id.clone()),
                    time_to_usable: None,
                    deleted: false,
                    failure: None,
                    left_behind: None,
                });
            }
        }
    }
    for item in &mut items {
        let Some(disk) = item.restored_disk_id.clone() else {
            continue;
        };
        match removal(&item.restored_disk_id) {
            Some(removed) if removed.deleted => item.deleted = true,
            Some(removed) => {
                if let Some(failure) = &removed.failure {
                    item.failure.get_or_insert(failure.clone());
                }
                item.left_behind = removed.left_behind.clone();
            }
            None if cleanup.is_some() => {
                // Not listed with the run's disks: gone already, or the listing failed.
                if let Some(failure) = &listing_failed {
                    item.failure.get_or_insert(failure.clone());
                    item.left_behind = Some(delete_command(region, &disk));
                } else {
                    item.deleted = true;
                }
            }
            None => {}
        }
    }
    items
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
        .limit(crate::disks::IDS_PER_CALL as u64)
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
