//! The restore test: a disk made from the newest replica of each selected disk in one
//! destination, waited for until usable, then deleted again (unless kept). Whatever
//! happens on the way, every disk the drill made is removed before it returns; one it
//! truly could not remove is named, with the command that removes it.

use std::collections::BTreeMap;
use std::time::Duration;

use tencentcloud_cbs::model::{DiskState, ErrorCode, Filter, Placement};
use tokio::time::Instant;

use crate::observe;
use crate::policy::{Policy, Rule};
use crate::report::ItemFailure;
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DrillReport {
    /// One item per selected disk of every rule replicating into the region.
    pub items: Vec<DrillItem>,
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

/// A rule, a disk of it, and the replica to restore it from (or why there is none).
type DrillTarget<'p> = (&'p Rule, String, Result<observe::Replica, ItemFailure>);

/// How a disk the drill made is created and found again.
struct DrillDisk {
    /// `tccbs-drill-<disk>-<run>`: unique to this drill, so a sweep finds only its own.
    name: String,
    /// Sent with `CreateDisks` on every try, so a repeat creates nothing new.
    client_token: String,
}

/// The drill from the owning side: replicas from every region's listing, the source
/// disks' types read from their regions.
pub(crate) async fn drill(run: &Run, policy: &Policy, region: &str, keep: bool) -> DrillReport {
    let observation = observe::observe(run, policy, observe::Look::default()).await;
    let wanted = drill_targets(policy, &observation, region);
    let types = disk_types(run, policy, &wanted).await;
    restore_all(run, region, wanted, &types, keep).await
}

/// The drill from an account the rules share with: the replicas shared with it, into
/// disks of its own, of the default type.
pub(crate) async fn drill_as_receiver(
    run: &Run,
    policy: &Policy,
    region: &str,
    keep: bool,
) -> DrillReport {
    let observation = observe::observe_shared(run, policy).await;
    let wanted = drill_targets(policy, &observation, region);
    restore_all(run, region, wanted, &BTreeMap::new(), keep).await
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

/// Restores every target with `run`'s client, then (unless `keep`) removes every
/// disk the drill made.
async fn restore_all(
    run: &Run,
    region: &str,
    wanted: Vec<DrillTarget<'_>>,
    types: &BTreeMap<String, String>,
    keep: bool,
) -> DrillReport {
    let tag = run_tag();
    let mut report = DrillReport::default();
    for (rule, disk_id, replica) in wanted {
        let mut item = DrillItem {
            rule: rule.name.clone(),
            disk_id: disk_id.clone(),
            region: region.to_owned(),
            replica_id: replica.as_ref().ok().map(|r| r.id.clone()),
            restored_disk_id: None,
            time_to_usable: None,
            deleted: false,
            failure: None,
            left_behind: None,
        };
        match replica {
            Err(failure) => item.failure = Some(failure),
            Ok(replica) => {
                let disk_type = types
                    .get(&disk_id)
                    .cloned()
                    .unwrap_or_else(|| "CLOUD_PREMIUM".to_owned());
                let disk = DrillDisk {
                    name: format!("tccbs-drill-{disk_id}-{tag}"),
                    client_token: format!("tccbs-drill-{tag}-{disk_id}"),
                };
                restore(run, &mut item, &replica, &disk_type, &disk).await;
            }
        }
        report.items.push(item);
    }
    if !keep {
        clean_up(run, region, &tag, &mut report).await;
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
            // If it may have run, the sweep at the end finds the disk by its name.
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
/// names (a creation whose answer was lost). Patient past the run's deadline, up to
/// [`CLEANUP_BUDGET`].
async fn clean_up(run: &Run, region: &str, tag: &str, report: &mut DrillReport) {
    let cleanup = run.extended(CLEANUP_BUDGET);
    // Disks carrying this drill's names, known or not.
    let suffix = format!("-{tag}");
    let names: Vec<String> = report
        .items
        .iter()
        .filter(|i| i.replica_id.is_some())
        .map(|i| format!("tccbs-drill-{}{suffix}", i.disk_id))
        .collect();
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    for chunk in names.chunks(observe::IDS_PER_CALL.min(5)) {
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
    for item in report.items.iter_mut() {
        let name = format!("tccbs-drill-{}{suffix}", item.disk_id);
        if item.restored_disk_id.is_none() {
            item.restored_disk_id = found.get(&name).cloned();
        }
        let Some(disk_id) = item.restored_disk_id.clone() else {
            continue;
        };
        let deleted = cleanup
            .client
            .terminate_disks()
            .region(region)
            .disk_ids([disk_id.clone()])
            .retry_config(cleanup.patience())
            .send()
            .await;
        match deleted {
            // Gone already: an earlier try did it, its answer lost.
            Err(error) if error.code() == Some(&ErrorCode::InvalidDiskIdNotFound) => {
                item.deleted = true
            }
            Ok(_) => item.deleted = true,
            Err(error) => {
                item.failure
                    .get_or_insert_with(|| ItemFailure::of_error(&error));
                item.left_behind = Some(format!(
                    "tccbs --region {region} cbs TerminateDisks --DiskIds '[\"{disk_id}\"]'"
                ));
            }
        }
    }
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
