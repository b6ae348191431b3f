//! The recovery day: the disks a policy replicates into one region, rebuilt there as
//! new disks from their replicas, reading nothing but that region (the source region
//! may be refusing, unreachable or gone).
//!
//! Top to bottom: list the region's replicas with their tags ([`list_candidates`]) and
//! the disks this run made already ([`run_disks`]); pick each selected disk's recovery
//! point, the disks of one instance from one source time where their replicas allow
//! ([`choose`]); work out what each disk becomes ([`spec`]: name, type, size, zone,
//! tags, from the replica's [`Inventory`]); then either price it (a dry run) or create
//! it once and wait until it is usable ([`create_all`], [`wait_usable`]).
//!
//! Exactly once: every disk is created with a `ClientToken` made of the run's name and
//! the replica's id, and the run's disks (tagged `tccbs:run`) are looked up before
//! anything is created and again after a creation whose answer was lost, so a retry or
//! a re-run after a kill adopts the disk made rather than making a second. Two runs
//! with different names make two sets, on purpose.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tencentcloud_cbs::model::{
    DiskState, DiskUsage, Filter, Placement, Snapshot, SnapshotState, Tag as DiskTag,
};
use tokio::task::JoinSet;
use tokio::time::Instant;

mod attach;

use crate::inventory::{Inventory, TAG_PREFIX};
use crate::name::{ReplicaName, format_time};
use crate::observe::{self, IDS_PER_CALL};
use crate::policy::{Policy, Rule, Wave, glob_match};
use crate::report::ItemFailure;
use crate::run::{ReplicationEvent, Run};

/// The tag naming the restore run a disk was made by.
pub const RUN_TAG: &str = "tccbs:run";
/// The tag naming the replica a restored disk was made from.
pub const RESTORED_FROM_TAG: &str = "tccbs:restored-from";
/// The longest run name: it goes into every disk's `ClientToken` (at most 64
/// characters, with room for `tccbs-` and a snapshot id) and into a tag.
pub const MAX_RUN_NAME_CHARS: usize = 32;
/// How far apart the source times of one instance's disks may be and still count as
/// one consistent set, unless told otherwise: snapshots of an instance's disks taken
/// by one schedule land within minutes of each other.
pub const DEFAULT_CONSISTENCY_WINDOW: Duration = Duration::from_secs(10 * 60);

/// Creations under way at once; the client's rate limit paces them.
const CONCURRENT_CREATES: usize = 32;
/// The longest name a disk may have (the API reference of `CreateDisks`: 60 bytes).
const MAX_DISK_NAME_BYTES: usize = 60;
/// Tags a disk may carry (the Tag service's limit).
const MAX_TAGS: usize = 50;

/// What to restore and how; see [`Replication::restore`](crate::Replication::restore).
///
/// ```
/// use cbs_dr::Restore;
/// let restore = Restore::new("ap-beijing", "dr-2026-12-07")
///     .unwrap()
///     .at(1_796_646_600)
///     .zone("ap-guangzhou-3", "ap-beijing-5");
/// assert_eq!(restore.run(), "dr-2026-12-07");
/// assert!(Restore::new("ap-beijing", "two words").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restore {
    region: String,
    run: String,
    at: Option<i64>,
    rules: Vec<String>,
    disks: Vec<String>,
    disk_type: Option<String>,
    zones: BTreeMap<String, String>,
    consistency_window: Duration,
    standby: Option<BTreeMap<String, String>>,
    order: Option<Vec<Wave>>,
    /// For a drill: what goes before and after the source disk's id in each disk's
    /// name (instead of the source disk's name).
    disk_names: Option<(String, String)>,
}

impl Restore {
    /// A restore into `region` named `run`: 1 to 32 letters, digits, `.`, `_` and `-`
    /// (the name goes into every disk's `ClientToken` and tags; run the same name again
    /// to finish a run, another name to make another set).
    pub fn new(region: impl Into<String>, run: impl Into<String>) -> Result<Self, String> {
        let run = run.into();
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if run.is_empty() || run.len() > MAX_RUN_NAME_CHARS || !run.chars().all(plain) {
            return Err(format!(
                "a run name has 1 to {MAX_RUN_NAME_CHARS} letters, digits, '.', '_' and '-'"
            ));
        }
        Ok(Restore {
            region: region.into(),
            run,
            at: None,
            rules: Vec::new(),
            disks: Vec::new(),
            disk_type: None,
            zones: BTreeMap::new(),
            consistency_window: DEFAULT_CONSISTENCY_WINDOW,
            standby: None,
            order: None,
            disk_names: None,
        })
    }

    /// Restores the newest replica whose source snapshot was taken at or before `unix`
    /// (the time before the damage), instead of the newest.
    pub fn at(mut self, unix: i64) -> Self {
        self.at = Some(unix);
        self
    }

    /// Only the rules named (all rules replicating into the region by default).
    pub fn rules(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.rules.extend(names.into_iter().map(Into::into));
        self
    }

    /// Only the source disks named.
    pub fn disks(mut self, ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.disks.extend(ids.into_iter().map(Into::into));
        self
    }

    /// The type of disks whose replicas carry no inventory (made before replicas were
    /// tagged, or seen from a recovery account): without it such disks fail.
    pub fn disk_type(mut self, disk_type: impl Into<String>) -> Self {
        self.disk_type = Some(disk_type.into());
        self
    }

    /// Disks of the source zone `from` go to the zone `to` of the region.
    pub fn zone(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.zones.insert(from.into(), to.into());
        self
    }

    /// How far apart the source times of one instance's disks may be and still count
    /// as consistent ([`DEFAULT_CONSISTENCY_WINDOW`] unless set).
    pub fn consistency_window(mut self, window: Duration) -> Self {
        self.consistency_window = window;
        self
    }

    /// Attaches the disks of the source instance `source` to the instance `standby` of
    /// the region; the first call replaces the policy's standby table for this restore.
    pub fn standby(mut self, source: impl Into<String>, standby: impl Into<String>) -> Self {
        self.standby
            .get_or_insert_with(BTreeMap::new)
            .insert(source.into(), standby.into());
        self
    }

    /// Restores in these groups, one after another, instead of the policy's
    /// `restore_order`.
    pub fn order(mut self, waves: Vec<Wave>) -> Self {
        self.order = Some(waves);
        self
    }

    /// The same restore as a drill runs it: into the run `run`, each disk named
    /// `<prefix><source disk id><suffix>`, and in `CLOUD_PREMIUM` where a replica does
    /// not say its type and none was given (a rehearsal goes on rather than stop).
    pub(crate) fn for_drill(mut self, run: String, names: (String, String)) -> Self {
        self.run = run;
        self.disk_names = Some(names);
        self.disk_type
            .get_or_insert_with(|| "CLOUD_PREMIUM".to_owned());
        self
    }

    /// The region restored into.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The run's name.
    pub fn run(&self) -> &str {
        &self.run
    }
}

/// What became of one disk.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestoreOutcome {
    /// A dry run: the disk would be made.
    WouldCreate,
    /// A dry run: this run made the disk already; it would be adopted.
    WouldAdopt,
    /// Made by this run and usable.
    Created,
    /// Made by an earlier try of this run (a lost answer, a killed run), adopted and
    /// usable.
    Adopted,
    /// A system disk: its replica becomes an image, not a disk (the item's note says
    /// how); nothing was made.
    NeedsImage,
    /// Not restored: see the failure.
    Failed,
}

impl RestoreOutcome {
    /// A short lowercase name: `would_create`, `would_adopt`, `created`, `adopted`,
    /// `needs_image`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            RestoreOutcome::WouldCreate => "would_create",
            RestoreOutcome::WouldAdopt => "would_adopt",
            RestoreOutcome::Created => "created",
            RestoreOutcome::Adopted => "adopted",
            RestoreOutcome::NeedsImage => "needs_image",
            RestoreOutcome::Failed => "failed",
        }
    }
}

/// One source disk of a restore.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RestoreItem {
    /// The rule.
    pub rule: String,
    /// The source disk (`*` for a failure of the whole rule).
    pub disk_id: String,
    /// The region it was in.
    pub source_region: String,
    /// Its name, which the restored disk takes.
    pub name: Option<String>,
    /// The instance it was attached to, and its place among that instance's disks.
    pub instance: Option<String>,
    /// Its place among the instance's disks (0 first).
    pub order: Option<usize>,
    /// The replica restored from.
    pub replica_id: Option<String>,
    /// When the replica's source snapshot was taken (Unix seconds): the recovery point.
    pub data_time: Option<i64>,
    /// How old that data was when the run began.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "data_age_secs",
            serialize_with = "crate::json::whole_seconds"
        )
    )]
    pub data_age: Option<Duration>,
    /// The restored disk's type.
    pub disk_type: Option<String>,
    /// Its size in GB.
    pub size_gb: u64,
    /// Its zone.
    pub zone: Option<String>,
    /// What it costs an hour, pay as you go (a dry run asks).
    pub hourly_price: Option<f64>,
    /// What became of it.
    #[cfg_attr(feature = "serde", serde(rename = "action"))]
    pub outcome: RestoreOutcome,
    /// The group of the restore order it belongs to.
    pub wave: String,
    /// The restored disk.
    pub restored_disk_id: Option<String>,
    /// The standby instance it goes to (a dry run) or went to.
    pub standby: Option<String>,
    /// Whether it is attached to its standby.
    pub attached: bool,
    /// From the run's start until `CreateDisks` answered for it (none when adopted).
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "seconds_to_created",
            serialize_with = "crate::json::fractional_seconds"
        )
    )]
    pub time_to_created: Option<Duration>,
    /// From the run's start until the disk was usable.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "seconds_to_usable",
            serialize_with = "crate::json::fractional_seconds"
        )
    )]
    pub time_to_usable: Option<Duration>,
    /// From the run's start until it was attached to its standby.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "seconds_to_attached",
            serialize_with = "crate::json::fractional_seconds"
        )
    )]
    pub time_to_attached: Option<Duration>,
    /// What the run had to make do with (no inventory on the replica, the type given
    /// for it, a zone other than the source's) or, for a system disk, the command that
    /// makes an image of it.
    pub notes: Vec<String>,
    /// Why it failed.
    #[cfg_attr(feature = "serde", serde(rename = "error"))]
    pub failure: Option<ItemFailure>,
}

/// The disks of one source instance, and how consistent their recovery points are.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstanceGroup {
    /// The source instance.
    pub instance: String,
    /// Its disks restored (source disk ids, in the instance's order).
    pub disks: Vec<String>,
    /// The newest source time among them (Unix seconds).
    pub data_time: Option<i64>,
    /// Whether their source times lie within the consistency window.
    pub consistent: bool,
    /// Between the oldest and the newest source time among them.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "spread_secs", serialize_with = "crate::json::whole_seconds")
    )]
    pub spread: Option<Duration>,
}

/// What became of one group of the restore order.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaveOutcome {
    /// A dry run: it would run in this place.
    Planned,
    /// Every disk of it restored (and attached where asked).
    Done,
    /// Some of its disks failed.
    Failed,
    /// Not started: a group before it failed and was not optional.
    NotStarted,
}

/// One group of the restore order, as it ran.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaveReport {
    /// Its name (`rest` for the disks of instances in no group; `all` without an
    /// order).
    pub name: String,
    /// Whether the groups after it go on when it fails.
    pub optional: bool,
    /// Its disks.
    pub disks: usize,
    /// What became of it.
    pub outcome: WaveOutcome,
    /// From the run's start until it began.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "started_after_secs",
            serialize_with = "crate::json::fractional_seconds"
        )
    )]
    pub started: Option<Duration>,
    /// From the run's start until its last disk was usable (and attached).
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "finished_after_secs",
            serialize_with = "crate::json::fractional_seconds"
        )
    )]
    pub finished: Option<Duration>,
}

/// Whether a zone sells a disk type, as the region says.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ZoneOffer {
    /// The zone.
    pub zone: String,
    /// The disk type.
    pub disk_type: String,
    /// Whether it is sold there now.
    pub available: bool,
    /// The smallest disk of the type the zone makes (GB), when the region says.
    pub min_size_gb: Option<u64>,
    /// The largest (GB), when the region says: a bigger source disk cannot be restored
    /// there.
    pub max_size_gb: Option<u64>,
}

/// The result of [`Replication::restore`](crate::Replication::restore).
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RestoreReport {
    /// The region restored into.
    pub region: String,
    /// The run's name (its disks carry it in [`RUN_TAG`]).
    pub run: String,
    /// Whether this was a dry run (nothing made).
    pub dry_run: bool,
    /// The time asked for, if any (Unix seconds).
    pub at: Option<i64>,
    /// One item per selected disk.
    pub items: Vec<RestoreItem>,
    /// The instances whose disks were restored together.
    pub groups: Vec<InstanceGroup>,
    /// The groups of the restore order, in order.
    pub waves: Vec<WaveReport>,
    /// The zones and types the disks go to, and whether each is sold (empty when the
    /// region would not say).
    pub offers: Vec<ZoneOffer>,
    /// From the run's start until the last disk was usable: the recovery time (none
    /// for a dry run).
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "rto_secs",
            serialize_with = "crate::json::fractional_seconds"
        )
    )]
    pub rto: Option<Duration>,
}

impl RestoreReport {
    /// Items restored (made or adopted, and usable), or that a dry run would restore.
    pub fn succeeded(&self) -> usize {
        self.items
            .iter()
            .filter(|i| {
                matches!(
                    i.outcome,
                    RestoreOutcome::Created
                        | RestoreOutcome::Adopted
                        | RestoreOutcome::WouldCreate
                        | RestoreOutcome::WouldAdopt
                )
            })
            .count()
    }

    /// Items not restored (failed, or system disks that need an image).
    pub fn failed(&self) -> usize {
        self.items.len() - self.succeeded()
    }

    /// The hourly price of every disk a dry run would make, when every price is known.
    pub fn hourly_price(&self) -> Option<f64> {
        self.items
            .iter()
            .filter(|i| i.outcome == RestoreOutcome::WouldCreate)
            .map(|i| i.hourly_price)
            .sum()
    }
}

/// One disk a clean-up found, and what became of it.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CleanupItem {
    /// The disk.
    pub disk_id: String,
    /// Its name.
    pub name: Option<String>,
    /// The source disk it was restored from, as its lineage tag says.
    pub source_disk_id: Option<String>,
    /// The replica it was made from.
    pub replica_id: Option<String>,
    /// Whether it had to be detached first.
    pub detached: bool,
    /// Whether it is gone.
    pub deleted: bool,
    /// Why not.
    #[cfg_attr(feature = "serde", serde(rename = "error"))]
    pub failure: Option<ItemFailure>,
    /// For a disk not removed: the command that removes it.
    pub left_behind: Option<String>,
}

/// The result of [`Replication::clean_up_restore`](crate::Replication::clean_up_restore).
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CleanupReport {
    /// The region.
    pub region: String,
    /// The run whose disks were removed.
    pub run: String,
    /// Every disk tagged with the run.
    pub items: Vec<CleanupItem>,
    /// Why the run's disks could not be listed (nothing was removed).
    pub failure: Option<ItemFailure>,
}

/// A replica of the region, with what its tags say.
#[derive(Clone, Debug)]
struct Candidate {
    id: String,
    name: ReplicaName,
    /// The source disk (a copy keeps its source's `DiskId`).
    disk_id: String,
    size_gb: u64,
    zone: Option<String>,
    system_disk: bool,
    inventory: Option<Inventory>,
    /// The source's own tags, as the replica carries them.
    own_tags: Vec<(String, String)>,
}

/// A disk this run made earlier, as the region lists it.
#[derive(Clone, Debug)]
struct Made {
    disk_id: String,
    usable: bool,
    /// The instance it is attached to.
    instance: Option<String>,
}

/// What one selected disk becomes.
#[derive(Clone, Debug)]
struct Spec {
    replica_id: String,
    name: String,
    disk_type: String,
    size_gb: u64,
    zone: String,
    tags: Vec<(String, String)>,
}

/// Restores what `request` asks for with `run`'s client, or only plans it (`dry_run`).
/// From an account the rules share with (`receiver`), the replicas are those shared
/// with it.
pub(crate) async fn restore(
    run: &Run,
    policy: &Policy,
    request: &Restore,
    dry_run: bool,
    receiver: bool,
) -> RestoreReport {
    let started = Instant::now();
    let now = run.now_unix();
    let region = request.region.as_str();
    let mut report = RestoreReport {
        region: region.to_owned(),
        run: request.run.clone(),
        dry_run,
        at: request.at,
        items: Vec::new(),
        groups: Vec::new(),
        waves: Vec::new(),
        offers: Vec::new(),
        rto: None,
    };
    let rules: Vec<&Rule> = policy
        .rules()
        .iter()
        .filter(|r| r.destinations.iter().any(|d| d == region))
        .filter(|r| request.rules.is_empty() || request.rules.contains(&r.name))
        .collect();
    let listed = match list_candidates(run, region, receiver).await {
        Ok(listed) => run_disks(run, region, &request.run)
            .await
            .map(|made| (listed, made)),
        Err(error) => Err(error),
    };
    let (candidates, mut made) = match listed {
        Ok(found) => found,
        Err(error) => {
            let failure = ItemFailure::of_error(&error);
            for rule in rules {
                report.items.push(failed_item(rule, "*", failure.clone()));
            }
            return report;
        }
    };

    // Which disks, from which replicas.
    let selected = select(&rules, &candidates, request);
    let (chosen, groups) = choose(&selected, request.at, request.consistency_window);
    report.groups = groups;
    let standby_of = request.standby.as_ref().unwrap_or(policy.standby());
    let order = request.order.as_deref().unwrap_or(policy.restore_order());
    let standbys = standby_targets(&chosen, standby_of);
    let standbys = attach::look_up(run, region, &standbys).await;
    let offers = offers(run, region, &chosen, request).await;
    let mut specs: Vec<Option<Spec>> = Vec::new();
    for (rule, disk_id, pick) in &chosen {
        let mut item = failed_item(rule, disk_id, ItemFailure::new("NoReplica", ""));
        let spec = match pick {
            Ok(pick) => {
                let standby = pick
                    .inventory
                    .as_ref()
                    .and_then(|i| i.instance.as_ref())
                    .and_then(|i| standby_of.get(i))
                    .map(|s| (s.as_str(), &standbys[s]));
                let (spec, notes) = spec(pick, &selected, request, &offers, standby);
                describe(&mut item, pick, now, notes);
                item.standby = standby.map(|(s, _)| s.to_owned());
                match spec {
                    Ok(spec) if pick.system_disk => {
                        item.outcome = RestoreOutcome::NeedsImage;
                        item.failure = None;
                        item.standby = None;
                        item.notes.push(image_command(region, &spec));
                        None
                    }
                    Ok(spec) => {
                        item.disk_type = Some(spec.disk_type.clone());
                        item.size_gb = spec.size_gb;
                        item.zone = Some(spec.zone.clone());
                        item.outcome = RestoreOutcome::WouldCreate;
                        item.failure = None;
                        Some(spec)
                    }
                    Err(failure) => {
                        item.failure = Some(failure);
                        None
                    }
                }
            }
            Err(failure) => {
                item.failure = Some(failure.clone());
                None
            }
        };
        if let Some(spec) = &spec
            && let Some(earlier) = made.get(&spec.replica_id)
        {
            item.outcome = RestoreOutcome::WouldAdopt;
            item.restored_disk_id = Some(earlier.disk_id.clone());
            item.attached = earlier.instance.is_some() && earlier.instance == item.standby;
        }
        report.items.push(item);
        specs.push(spec);
    }
    check_room(&standbys, &mut report.items, &mut specs);
    report.offers = offers.map(|o| o.offers).unwrap_or_default();
    let waves = place_in_waves(order, &mut report.items);

    if dry_run {
        price(run, region, &mut report.items).await;
        report.waves = waves
            .into_iter()
            .map(|(wave, members)| WaveReport {
                name: wave.name,
                optional: wave.optional,
                disks: members.len(),
                outcome: WaveOutcome::Planned,
                started: None,
                finished: None,
            })
            .collect();
        return report;
    }
    let mut stopped: Option<String> = None;
    for (wave, members) in waves {
        let mut summary = WaveReport {
            name: wave.name.clone(),
            optional: wave.optional,
            disks: members.len(),
            outcome: WaveOutcome::NotStarted,
            started: None,
            finished: None,
        };
        if let Some(failed) = &stopped {
            for index in &members {
                let item = &mut report.items[*index];
                if matches!(
                    item.outcome,
                    RestoreOutcome::WouldCreate | RestoreOutcome::WouldAdopt
                ) {
                    item.outcome = RestoreOutcome::Failed;
                    item.failure = Some(ItemFailure::new(
                        "NotStarted",
                        format!(
                            "the group {failed} before it failed (mark a group optional to go on past it)"
                        ),
                    ));
                }
            }
            report.waves.push(summary);
            continue;
        }
        summary.started = Some(started.elapsed());
        let wave_specs: Vec<Option<Spec>> = specs
            .iter()
            .enumerate()
            .map(|(index, spec)| spec.clone().filter(|_| members.contains(&index)))
            .collect();
        create_all(
            run,
            region,
            &request.run,
            started,
            &wave_specs,
            &mut made,
            &mut report.items,
        )
        .await;
        wait_usable(run, region, started, &made, &members, &mut report.items).await;
        let attachments = attachments(&members, &mut report.items);
        attach::attach_all(run, region, started, attachments, &mut report.items).await;
        summary.finished = Some(started.elapsed());
        let failed = members
            .iter()
            .any(|i| report.items[*i].outcome == RestoreOutcome::Failed);
        summary.outcome = if failed {
            WaveOutcome::Failed
        } else {
            WaveOutcome::Done
        };
        if failed && !wave.optional {
            stopped = Some(wave.name.clone());
        }
        report.waves.push(summary);
    }
    report.rto = Some(started.elapsed());
    report
}

/// The standby instances the chosen disks go to.
fn standby_targets(
    chosen: &[Chosen<'_>],
    standby_of: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    chosen
        .iter()
        .filter_map(|(_, _, pick)| pick.as_ref().ok())
        .filter_map(|c| c.inventory.as_ref()?.instance.as_ref())
        .filter_map(|i| standby_of.get(i).cloned())
        .collect()
}

/// Fails, before anything is made, the disks of a standby that does not exist in the
/// region or has no room for them all (an instance takes a limited number of disks):
/// restoring them would leave disks nobody can attach.
fn check_room(
    standbys: &BTreeMap<String, attach::Standby>,
    items: &mut [RestoreItem],
    specs: &mut [Option<Spec>],
) {
    for (name, standby) in standbys {
        let members: Vec<usize> = (0..items.len())
            .filter(|i| specs[*i].is_some() && items[*i].standby.as_deref() == Some(name))
            .collect();
        let needed = members.iter().filter(|i| !items[**i].attached).count() as u64;
        let failure = match (&standby.failure, standby.room) {
            (Some(failure), _) => Some(failure.clone()),
            (None, Some(room)) if needed > room => Some(ItemFailure::new(
                "LimitExceeded.InstanceAttachedDisk",
                format!("the standby {name} takes {room} more disks, not {needed}"),
            )),
            _ => None,
        };
        if let Some(failure) = failure {
            for index in members {
                items[index].outcome = RestoreOutcome::Failed;
                items[index].failure = Some(failure.clone());
                specs[index] = None;
            }
        }
    }
}

/// The groups of `order` with their items (indexes), in order, then the disks of
/// instances in no group (`rest`; `all` without an order); empty groups are kept, so
/// the report shows every group. Each item learns its group's name.
fn place_in_waves(order: &[Wave], items: &mut [RestoreItem]) -> Vec<(Wave, Vec<usize>)> {
    let mut waves: Vec<(Wave, Vec<usize>)> =
        order.iter().map(|w| (w.clone(), Vec::new())).collect();
    let rest_name = if order.is_empty() { "all" } else { "rest" };
    let mut rest = Vec::new();
    for (index, item) in items.iter_mut().enumerate() {
        let place = item.instance.as_ref().and_then(|instance| {
            order
                .iter()
                .position(|w| w.instances.iter().any(|i| i == instance))
        });
        match place {
            Some(place) => {
                item.wave = order[place].name.clone();
                waves[place].1.push(index);
            }
            None => {
                item.wave = rest_name.to_owned();
                rest.push(index);
            }
        }
    }
    if !rest.is_empty() || order.is_empty() {
        waves.push((Wave::new(rest_name, Vec::<String>::new()), rest));
    }
    waves
}

/// The usable disks of `members` with a standby not yet attached, by standby, in their
/// source order. An instance some of whose disks were not restored gets none attached
/// (the rest would take the missing disks' places in the order), and those items fail.
fn attachments(members: &[usize], items: &mut [RestoreItem]) -> Vec<attach::Attachment> {
    let mut by_standby: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
    for &index in members {
        if let Some(standby) = &items[index].standby {
            let order = items[index].order.unwrap_or(usize::MAX);
            by_standby
                .entry(standby.clone())
                .or_default()
                .push((order, index));
        }
    }
    let mut attachments = Vec::new();
    for (standby, mut disks) in by_standby {
        disks.sort();
        let missing: Vec<&str> = disks
            .iter()
            .map(|(_, i)| &items[*i])
            .filter(|i| i.outcome == RestoreOutcome::Failed || i.time_to_usable.is_none())
            .map(|i| i.disk_id.as_str())
            .collect();
        if !missing.is_empty() {
            let failure = ItemFailure::new(
                "InstanceIncomplete",
                format!(
                    "not attached to {standby}: {} of its source instance not restored",
                    missing.join(", ")
                ),
            );
            for (_, index) in &disks {
                let item = &mut items[*index];
                if item.outcome != RestoreOutcome::Failed {
                    item.outcome = RestoreOutcome::Failed;
                    item.failure = Some(failure.clone());
                }
            }
            continue;
        }
        let disks = disks
            .into_iter()
            .filter_map(|(_, index)| Some((index, items[index].restored_disk_id.clone()?)))
            .collect();
        attachments.push((standby, disks));
    }
    attachments
}

/// This tool's `NORMAL` replicas in `region` (those shared with the caller, for a
/// receiver), with their tags read.
async fn list_candidates(
    run: &Run,
    region: &str,
    receiver: bool,
) -> Result<Vec<Candidate>, tencentcloud_cbs::Error> {
    let filter = receiver.then(|| Filter::new("snapshot-type", ["SHARED_SNAPSHOT"]));
    observe::each_snapshot(run, region, filter, candidate).await
}

/// A snapshot as a candidate, when it is a `NORMAL` replica of this tool.
fn candidate(snapshot: Snapshot) -> Option<Candidate> {
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

/// The disks of `region` tagged with the run, by the replica each was made from.
async fn run_disks(
    run: &Run,
    region: &str,
    name: &str,
) -> Result<BTreeMap<String, Made>, tencentcloud_cbs::Error> {
    let mut items = run
        .client
        .describe_disks()
        .region(region)
        .filters([Filter::new(format!("tag:{RUN_TAG}"), [name])])
        .limit(IDS_PER_CALL as u64)
        .retry_config(run.patience())
        .into_paginator()
        .items();
    let mut made = BTreeMap::new();
    while let Some(disk) = items.next_item().await {
        let disk = disk?;
        let tags = disk.tags.clone().unwrap_or_default();
        let tag = |key: &str| {
            tags.iter()
                .find(|t| t.key.as_deref() == Some(key))
                .and_then(|t| t.value.clone())
        };
        if tag(RUN_TAG).as_deref() != Some(name) {
            continue;
        }
        let (Some(replica), Some(disk_id)) = (tag(RESTORED_FROM_TAG), disk.disk_id.clone()) else {
            continue;
        };
        made.insert(
            replica,
            Made {
                disk_id,
                usable: usable(&disk),
                instance: disk.instance_id.clone().filter(|i| !i.is_empty()),
            },
        );
    }
    Ok(made)
}

/// Whether a disk can be used: attached or ready to be, its data loaded.
fn usable(disk: &tencentcloud_cbs::model::Disk) -> bool {
    matches!(
        disk.disk_state,
        Some(DiskState::Unattached) | Some(DiskState::Attached)
    ) && disk.rollbacking != Some(true)
}

/// A selected disk: its rule, its id, its replicas in the region, newest first.
type Selected<'a> = (&'a Rule, String, Vec<&'a Candidate>);

/// A selected disk's recovery point: its rule, its id, the replica or why there is none.
type Chosen<'a> = (&'a Rule, String, Result<&'a Candidate, ItemFailure>);

/// The disks of `rules` the request selects, each once (the first rule that selects a
/// disk restores it), with their replicas; a disk a rule names by id has an entry even
/// without a replica.
fn select<'a>(
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
fn choose<'a>(
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
struct Offers {
    offers: Vec<ZoneOffer>,
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
async fn offers(
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
fn spec(
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
fn truncate(text: &str, bytes: usize) -> String {
    let mut end = text.len().min(bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// The command that makes an image of a system disk's replica.
fn image_command(region: &str, spec: &Spec) -> String {
    format!(
        "a system disk's snapshot becomes an image, not a disk: tccli cvm CreateImage --region {region} --ImageName {} --SnapshotIds '[\"{}\"]'",
        spec.name, spec.replica_id
    )
}

/// Fills in what the pick says of the item.
fn describe(item: &mut RestoreItem, pick: &Candidate, now: i64, notes: Vec<String>) {
    let inventory = pick.inventory.as_ref();
    item.source_region = pick.name.source_region.clone();
    item.name = inventory.and_then(|i| i.name.clone());
    item.instance = inventory.and_then(|i| i.instance.clone());
    item.order = inventory.and_then(|i| i.order);
    item.replica_id = Some(pick.id.clone());
    item.data_time = Some(pick.name.source_created_unix);
    item.data_age = Some(Duration::from_secs(
        now.saturating_sub(pick.name.source_created_unix).max(0) as u64,
    ));
    item.notes = notes;
}

/// An item that failed before anything was tried.
fn failed_item(rule: &Rule, disk_id: &str, failure: ItemFailure) -> RestoreItem {
    RestoreItem {
        rule: rule.name.clone(),
        disk_id: disk_id.to_owned(),
        source_region: rule.source_region.clone(),
        name: None,
        instance: None,
        order: None,
        replica_id: None,
        data_time: None,
        data_age: None,
        disk_type: None,
        size_gb: 0,
        zone: None,
        hourly_price: None,
        outcome: RestoreOutcome::Failed,
        wave: String::new(),
        restored_disk_id: None,
        standby: None,
        attached: false,
        time_to_created: None,
        time_to_usable: None,
        time_to_attached: None,
        notes: Vec::new(),
        failure: Some(failure),
    }
}

/// Asks the hourly price of every disk a dry run would make, once per type and size.
async fn price(run: &Run, region: &str, items: &mut [RestoreItem]) {
    let mut prices: BTreeMap<(String, u64), Option<f64>> = BTreeMap::new();
    for item in items.iter_mut() {
        let (Some(disk_type), RestoreOutcome::WouldCreate) = (&item.disk_type, item.outcome) else {
            continue;
        };
        let key = (disk_type.clone(), item.size_gb);
        if !prices.contains_key(&key) {
            let price = crate::disks::hourly_price(run, region, Some(&key.0), key.1).await;
            prices.insert(key.clone(), price);
        }
        item.hourly_price = prices[&key];
    }
}

/// Creates every disk of `specs` this run has not made yet, with its `ClientToken`, as
/// many at once as the rate limit lets through; a creation that may have run although
/// its answer was lost is settled by looking the run's disks up again.
async fn create_all(
    run: &Run,
    region: &str,
    run_name: &str,
    started: Instant,
    specs: &[Option<Spec>],
    made: &mut BTreeMap<String, Made>,
    items: &mut [RestoreItem],
) {
    let mut running = JoinSet::new();
    let to_make: Vec<(usize, &Spec)> = specs
        .iter()
        .enumerate()
        .filter_map(|(index, spec)| Some((index, spec.as_ref()?)))
        .filter(|(_, spec)| !made.contains_key(&spec.replica_id))
        .collect();
    let mut queue = to_make.into_iter();
    let mut doubtful = Vec::new();
    loop {
        while running.len() < CONCURRENT_CREATES {
            let Some((index, spec)) = queue.next() else {
                break;
            };
            let run = run.clone();
            let region = region.to_owned();
            let token = format!("tccbs-{run_name}-{}", spec.replica_id);
            let spec = spec.clone();
            running.spawn(async move { (index, create(&run, &region, &spec, &token).await) });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let (index, result) = done.expect("creation tasks do not panic");
        let replica = specs[index].as_ref().expect("queued").replica_id.clone();
        match result {
            Ok(None) => {
                items[index].outcome = RestoreOutcome::Failed;
                items[index].failure = Some(ItemFailure::new(
                    "NoDiskId",
                    "CreateDisks answered without a disk id",
                ));
            }
            Ok(Some(disk_id)) => {
                made.insert(
                    replica,
                    Made {
                        disk_id,
                        usable: false,
                        instance: None,
                    },
                );
                items[index].outcome = RestoreOutcome::Created;
                items[index].time_to_created = Some(started.elapsed());
            }
            Err(error) => {
                if error.may_have_executed() {
                    doubtful.push(index);
                }
                items[index].outcome = RestoreOutcome::Failed;
                items[index].failure = Some(ItemFailure::of_error(&error));
            }
        }
    }
    for (item, spec) in items.iter_mut().zip(specs) {
        if spec.is_some() && item.outcome == RestoreOutcome::WouldAdopt {
            item.outcome = RestoreOutcome::Adopted;
        }
    }
    if doubtful.is_empty() {
        return;
    }
    // Lost answers: what the region holds now says whether they ran.
    if let Ok(found) = run_disks(run, region, run_name).await {
        for index in doubtful {
            let replica = &specs[index].as_ref().expect("queued").replica_id;
            if let Some(disk) = found.get(replica) {
                made.insert(replica.clone(), disk.clone());
                items[index].outcome = RestoreOutcome::Adopted;
                items[index].failure = None;
            }
        }
    }
}

/// One `CreateDisks` call (its `ClientToken` makes the client's retries safe).
async fn create(
    run: &Run,
    region: &str,
    spec: &Spec,
    token: &str,
) -> Result<Option<String>, tencentcloud_cbs::Error> {
    let answer = run
        .client
        .create_disks()
        .region(region)
        .placement(Placement::new(spec.zone.clone()))
        .disk_charge_type("POSTPAID_BY_HOUR")
        .disk_type(spec.disk_type.as_str())
        .disk_size(spec.size_gb)
        .snapshot_id(spec.replica_id.clone())
        .disk_name(spec.name.clone())
        .tags(spec.tags.iter().map(|(k, v)| DiskTag::new(k, v)))
        .client_token(token)
        .retry_config(run.patience())
        .send()
        .await?;
    Ok(answer.disk_id_set.into_iter().flatten().next())
}

/// Polls the run's disks, a hundred a call, until every one is usable, gone, or the
/// deadline comes; the time each became usable is counted from the run's start.
async fn wait_usable(
    run: &Run,
    region: &str,
    started: Instant,
    made: &BTreeMap<String, Made>,
    members: &[usize],
    items: &mut [RestoreItem],
) {
    // Disk id → item index, for the items restored or adopted.
    let mut waiting: BTreeMap<String, usize> = BTreeMap::new();
    for &index in members {
        let item = &mut items[index];
        if !matches!(
            item.outcome,
            RestoreOutcome::Created | RestoreOutcome::Adopted
        ) {
            continue;
        }
        let Some(disk) = item.replica_id.as_ref().and_then(|r| made.get(r)) else {
            continue;
        };
        item.restored_disk_id = Some(disk.disk_id.clone());
        item.attached = disk.instance.is_some() && disk.instance == item.standby;
        if disk.usable {
            item.time_to_usable = Some(started.elapsed());
        } else {
            waiting.insert(disk.disk_id.clone(), index);
        }
    }
    let total = items.len();
    let progress = |waiting: usize, items: &[RestoreItem]| {
        if run.is_heard() {
            run.emit(ReplicationEvent::RestoreProgress {
                usable: items.iter().filter(|i| i.time_to_usable.is_some()).count(),
                waiting,
                total,
            });
        }
    };
    progress(waiting.len(), items);
    let (mut interval, poll_max) = run.poll;
    while !waiting.is_empty() {
        if run.is_over() {
            for index in waiting.values() {
                items[*index].failure = Some(ItemFailure::new(
                    "Timeout",
                    "the restored disk was not usable by the run's deadline",
                ));
                items[*index].outcome = RestoreOutcome::Failed;
            }
            return;
        }
        tokio::time::sleep(interval.min(run.left())).await;
        interval = (interval * 3 / 2).min(poll_max);
        let ids: Vec<String> = waiting.keys().cloned().collect();
        for chunk in ids.chunks(IDS_PER_CALL) {
            let Ok(page) = crate::disks::by_ids(run, region, chunk).await else {
                // The next round asks again.
                continue;
            };
            let listed: BTreeMap<String, bool> = page
                .iter()
                .filter_map(|d| Some((d.disk_id.clone()?, usable(d))))
                .collect();
            for id in chunk {
                match listed.get(id) {
                    Some(true) => {
                        let index = waiting.remove(id).expect("waiting");
                        items[index].time_to_usable = Some(started.elapsed());
                    }
                    Some(false) => {}
                    None => {
                        let index = waiting.remove(id).expect("waiting");
                        items[index].outcome = RestoreOutcome::Failed;
                        items[index].failure = Some(ItemFailure::new(
                            "InvalidDiskId.NotFound",
                            format!("{id} is gone (deleted by someone else?)"),
                        ));
                    }
                }
            }
        }
        progress(waiting.len(), items);
    }
}

/// Removes every disk of `region` tagged with the run `name` (detaching it first if
/// attached), and only those.
pub(crate) async fn clean_up(run: &Run, region: &str, name: &str) -> CleanupReport {
    let mut report = CleanupReport {
        region: region.to_owned(),
        run: name.to_owned(),
        ..CleanupReport::default()
    };
    let mut listed = run
        .client
        .describe_disks()
        .region(region)
        .filters([Filter::new(format!("tag:{RUN_TAG}"), [name])])
        .limit(IDS_PER_CALL as u64)
        .retry_config(run.patience())
        .into_paginator()
        .items();
    let mut disks = Vec::new();
    while let Some(disk) = listed.next_item().await {
        match disk {
            Ok(disk) => {
                let ours =
                    disk.tags.iter().flatten().any(|t| {
                        t.key.as_deref() == Some(RUN_TAG) && t.value.as_deref() == Some(name)
                    });
                if ours {
                    disks.push(disk);
                }
            }
            Err(error) => {
                report.failure = Some(ItemFailure::of_error(&error));
                return report;
            }
        }
    }
    for disk in disks {
        let Some(disk_id) = disk.disk_id.clone() else {
            continue;
        };
        let tag = |key: &str| {
            disk.tags
                .iter()
                .flatten()
                .find(|t| t.key.as_deref() == Some(key))
                .and_then(|t| t.value.clone())
        };
        let mut item = CleanupItem {
            disk_id: disk_id.clone(),
            name: disk.disk_name.clone(),
            source_disk_id: tag("tccbs:source")
                .and_then(|s| s.split('/').nth(1).map(str::to_owned)),
            replica_id: tag(RESTORED_FROM_TAG),
            detached: false,
            deleted: false,
            failure: None,
            left_behind: None,
        };
        let result = remove(run, region, &disk, &mut item).await;
        if let Err(failure) = result {
            item.failure = Some(failure);
            item.left_behind = Some(crate::report::delete_command(region, &disk_id));
        } else {
            item.deleted = true;
        }
        report.items.push(item);
    }
    report
}

/// Detaches `disk` if attached, waits until it is, then deletes it.
async fn remove(
    run: &Run,
    region: &str,
    disk: &tencentcloud_cbs::model::Disk,
    item: &mut CleanupItem,
) -> Result<(), ItemFailure> {
    if disk.disk_state == Some(DiskState::Attached) {
        run.client
            .detach_disks()
            .region(region)
            .disk_ids([item.disk_id.clone()])
            .retry_config(run.patience())
            .send()
            .await
            .map_err(|e| ItemFailure::of_error(&e))?;
        item.detached = true;
        let (mut interval, poll_max) = run.poll;
        loop {
            let state = crate::disks::by_ids(run, region, std::slice::from_ref(&item.disk_id))
                .await
                .map_err(|e| ItemFailure::of_error(&e))?
                .into_iter()
                .next()
                .and_then(|d| d.disk_state);
            match state {
                Some(DiskState::Unattached) => break,
                None => return Ok(()),
                _ if run.is_over() => {
                    return Err(ItemFailure::new(
                        "Timeout",
                        "the disk was still attached at the deadline",
                    ));
                }
                _ => {}
            }
            tokio::time::sleep(interval.min(run.left())).await;
            interval = (interval * 3 / 2).min(poll_max);
        }
    }
    crate::disks::terminate(run, region, &item.disk_id).await
}
