//! The recovery day: the disks a policy replicates into one region, rebuilt there as
//! new disks from their replicas, reading nothing but that region (the source region
//! may be refusing, unreachable or gone).
//!
//! Top to bottom, [`restore`] in this file: list the region's replicas with their tags
//! and the disks this run made already; pick each selected disk's recovery point, the
//! disks of one instance from one source time where their replicas allow, and work
//! out what each disk becomes (`choose.rs`); look at the standbys (`attach.rs`); then
//! either price it all (a dry run) or, group by group of the restore order, run one
//! loop (`group.rs`) that creates each disk once (`create.rs`), polls the disks until
//! usable, and attaches an instance's disks as soon as all are usable (`attach.rs`),
//! while the rest are still being made. `results.rs` holds what the report says;
//! `cleanup.rs` removes a run.
//!
//! Exactly once: every disk is created with a `ClientToken` made of the run's name and
//! the replica's id, and the run's disks (tagged `tccbs:run`) are looked up before
//! anything is created and again after a creation whose answer was lost, so a retry or
//! a re-run after a kill adopts the disk made rather than making a second. Two runs
//! with different names make two sets, on purpose.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::time::Instant;

use crate::policy::{Policy, Rule, Wave};
use crate::report::ItemFailure;
use crate::run::Run;

mod attach;
mod choose;
mod cleanup;
mod create;
mod group;
mod results;

use choose::{
    Candidate, Chosen, Spec, choose, image_command, list_candidates, offers, select, spec,
};
pub(crate) use cleanup::clean_up;
use create::run_disks;
use group::Group;
pub use results::{
    CleanupItem, CleanupReport, InstanceGroup, RestoreItem, RestoreOutcome, RestoreReport,
    WaveOutcome, WaveReport, ZoneOffer,
};

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
        Group::new(run, region, &request.run, started, &wave_specs)
            .restore(&members, &mut made, &mut report.items)
            .await;
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
