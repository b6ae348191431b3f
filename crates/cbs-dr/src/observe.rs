//! What the regions report: the selected disks' snapshots in each source region and
//! this tool's replicas in each destination. A plan is made from this alone; there is
//! no local state.

use std::collections::{BTreeMap, BTreeSet};

use tencentcloud_cbs::Error;
use tencentcloud_cbs::model::{DiskUsage, Filter, Snapshot, SnapshotState, parse_service_time};
use tokio::task::JoinSet;

use crate::disks::IDS_PER_CALL;
use crate::name::ReplicaName;
use crate::policy::{Policy, Rule};
use crate::report::ItemFailure;
use crate::run::Run;

/// Names per `snapshot-name` filter when looking replicas up by name (the service
/// takes at most 5 values per filter).
const NAMES_PER_FILTER: usize = 5;

/// A `NORMAL` snapshot in a source region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SourceSnapshot {
    pub id: String,
    pub disk_id: String,
    /// Unix seconds.
    pub created: i64,
    pub size_gb: u64,
    /// Regions a copy of it is in flight to, whoever started it.
    pub copying_to: Vec<String>,
    /// Whether it is a system disk's (which cannot be shared).
    pub system_disk: bool,
    /// Its own tags, as `(key, value)`.
    pub tags: Vec<(String, String)>,
}

impl SourceSnapshot {
    fn from_snapshot(s: Snapshot) -> Option<SourceSnapshot> {
        Some(SourceSnapshot {
            id: s.snapshot_id?,
            disk_id: s.disk_id?,
            created: s.create_time.as_deref().and_then(parse_service_time)?,
            size_gb: s.disk_size.unwrap_or(0),
            copying_to: s.copying_to_regions.unwrap_or_default(),
            system_disk: s.disk_usage == Some(DiskUsage::SystemDisk),
            tags: pairs(s.tags),
        })
    }
}

/// Where a replica stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ReplicaState {
    /// Ready to restore from.
    Normal,
    /// Still being copied (or checked after the copy).
    Copying { percent: u64 },
    /// Any other state (being deleted, say): neither usable nor in flight.
    Other(String),
}

/// Where a copy stands, from one snapshot record.
pub(crate) fn replica_state(snapshot: &Snapshot) -> ReplicaState {
    match &snapshot.snapshot_state {
        Some(SnapshotState::Normal) => ReplicaState::Normal,
        Some(SnapshotState::CopyingFromRemote)
        | Some(SnapshotState::CheckingCopied)
        | Some(SnapshotState::Creating) => ReplicaState::Copying {
            percent: snapshot.percent.unwrap_or(0).min(100),
        },
        Some(other) => ReplicaState::Other(other.as_str().to_owned()),
        None => ReplicaState::Other("unknown".to_owned()),
    }
}

/// One of this tool's replicas, recognised by its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Replica {
    pub id: String,
    pub region: String,
    pub name: ReplicaName,
    /// The source disk (a copy keeps its source's `DiskId`).
    pub disk_id: String,
    pub state: ReplicaState,
    pub size_gb: u64,
    /// The zone it is in, where a disk made from it goes.
    pub zone: Option<String>,
    /// How many accounts it is shared with (`ShareReference`), when the listing says.
    pub share_count: Option<u64>,
    /// The accounts it is shared with, when looked up
    /// (`DescribeSnapshotSharePermission`).
    pub shared_with: Option<BTreeSet<String>>,
    /// When the copy was made (Unix seconds), when the listing says.
    pub made: Option<i64>,
    /// What tags it carries, as [`tag_hash`]es (sorted): enough to tell which of the
    /// tags it should carry it lacks, in a few bytes a tag.
    pub tags: Vec<u64>,
}

impl Replica {
    /// Whether it may be shared with anyone: not known to be shared with no one.
    pub(crate) fn may_be_shared(&self) -> bool {
        match &self.shared_with {
            Some(accounts) => !accounts.is_empty(),
            None => self.share_count != Some(0),
        }
    }

    /// Whether it is known to be shared with `account`; `None`: not known either way.
    pub(crate) fn is_shared_with(&self, account: &str) -> Option<bool> {
        match &self.shared_with {
            Some(accounts) => Some(accounts.contains(account)),
            None if self.share_count == Some(0) => Some(false),
            None => None,
        }
    }
}

impl Replica {
    pub(crate) fn from_snapshot(s: Snapshot, region: &str) -> Option<Replica> {
        let name = ReplicaName::parse(s.snapshot_name.as_deref()?)?;
        let state = replica_state(&s);
        Some(Replica {
            id: s.snapshot_id?,
            region: region.to_owned(),
            name,
            disk_id: s.disk_id.unwrap_or_default(),
            state,
            size_gb: s.disk_size.unwrap_or(0),
            zone: s.placement.and_then(|p| p.zone),
            share_count: s.share_reference,
            shared_with: None,
            made: s.create_time.as_deref().and_then(parse_service_time),
            tags: {
                let mut hashes: Vec<u64> =
                    pairs(s.tags).iter().map(|(k, v)| tag_hash(k, v)).collect();
                hashes.sort_unstable();
                hashes
            },
        })
    }

    /// Whether it carries the tag `key` = `value`.
    pub(crate) fn has_tag(&self, key: &str, value: &str) -> bool {
        self.tags.binary_search(&tag_hash(key, value)).is_ok()
    }

    /// The order in which replicas of one source are kept: the one made first (a
    /// second copy of a source is the one to let go, and its maker sees the first when
    /// it looks), then the lowest id. Every run orders them alike.
    pub(crate) fn keep_order(&self) -> (i64, &str) {
        keep_order(self.made, &self.id)
    }
}

/// [`Replica::keep_order`] for a replica's creation time and id.
fn keep_order(made: Option<i64>, id: &str) -> (i64, &str) {
    (made.unwrap_or(i64::MAX), id)
}

/// A source disk, as much of it as a recovery needs to rebuild it elsewhere.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SourceDisk {
    pub id: String,
    pub region: String,
    pub name: Option<String>,
    pub disk_type: Option<String>,
    pub size_gb: u64,
    pub zone: Option<String>,
    /// Whether it is an instance's system disk.
    pub system_disk: bool,
    /// The instance it is attached to.
    pub instance: Option<String>,
    /// Its place among that instance's disks this run listed (0: first).
    pub order: Option<usize>,
    /// Its throughput setting (MB/s), when it has one.
    pub throughput: Option<u64>,
    /// Unix seconds.
    pub created: Option<i64>,
    /// Its own tags.
    pub tags: Vec<(String, String)>,
}

impl SourceDisk {
    fn from_disk(disk: tencentcloud_cbs::model::Disk, region: &str) -> Option<SourceDisk> {
        let instance = disk
            .instance_id
            .filter(|i| !i.is_empty())
            .or_else(|| disk.instance_id_list.unwrap_or_default().into_iter().next());
        Some(SourceDisk {
            id: disk.disk_id?,
            region: region.to_owned(),
            name: disk.disk_name.filter(|n| !n.is_empty()),
            disk_type: disk.disk_type.map(|t| t.as_str().to_owned()),
            size_gb: disk.disk_size.unwrap_or(0),
            zone: disk.placement.and_then(|p| p.zone),
            system_disk: disk.disk_usage == Some(DiskUsage::SystemDisk),
            instance,
            order: None,
            throughput: disk.throughput_performance.filter(|t| *t > 0),
            created: disk.create_time.as_deref().and_then(parse_service_time),
            tags: pairs(disk.tags),
        })
    }
}

/// Each disk's place among its instance's disks: the system disk first, then the data
/// disks by when they were made (the CBS API says no more of the order an instance
/// sees them in).
fn number_by_instance(disks: &mut [SourceDisk]) {
    let mut by_instance: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, disk) in disks.iter().enumerate() {
        if let Some(instance) = &disk.instance {
            by_instance.entry(instance.clone()).or_default().push(i);
        }
    }
    for mut members in by_instance.into_values() {
        members.sort_by_key(|&i| {
            let d = &disks[i];
            (!d.system_disk, d.created.unwrap_or(i64::MAX), d.id.clone())
        });
        for (order, i) in members.into_iter().enumerate() {
            disks[i].order = Some(order);
        }
    }
}

/// The `(key, value)` pairs of the model's tags.
fn pairs(tags: Option<Vec<tencentcloud_cbs::model::Tag>>) -> Vec<(String, String)> {
    tags.unwrap_or_default()
        .into_iter()
        .filter_map(|t| Some((t.key?, t.value?)))
        .collect()
}

/// A tag as a number, stable across runs and builds (FNV-1a of key, NUL, value).
pub(crate) fn tag_hash(key: &str, value: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes().chain([0]).chain(value.bytes()) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// What one rule selects in its source region.
#[derive(Clone, Debug, Default)]
pub(crate) struct RuleSources {
    /// The selected disks, sorted.
    pub disks: BTreeSet<String>,
    /// Disks the rule names by id that the source region does not have.
    pub missing: BTreeSet<String>,
    /// Their `NORMAL` snapshots, newest first.
    pub snapshots: Vec<SourceSnapshot>,
}

/// What a destination holds, for the quota.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Holdings {
    /// Snapshots in the region, anyone's, in any state.
    pub snapshots: u64,
    /// Disks in the region (for the default quota rule); `None` when not asked.
    pub disks: Option<u64>,
}

/// Everything a plan is made from.
#[derive(Clone, Debug, Default)]
pub(crate) struct Observation {
    /// Per rule, in the policy's order.
    pub rules: Vec<RuleSources>,
    /// The selected source disks, by id (none from the receiving side, which cannot
    /// list the owner's disks).
    pub disks: BTreeMap<String, SourceDisk>,
    /// This tool's replicas per destination region that could be listed.
    pub replicas: BTreeMap<String, Vec<Replica>>,
    /// What each destination that could be listed holds.
    pub holdings: BTreeMap<String, Holdings>,
    /// Regions (source or destination) that could not be listed, and why. Their items
    /// fail alone; every other region goes on.
    pub unavailable: BTreeMap<String, ItemFailure>,
    /// Destinations whose replicas' share permissions could not be looked up, and why
    /// (their copies go on; whether they are shared is not known).
    pub shares_unknown: BTreeMap<String, ItemFailure>,
}

impl Observation {
    /// This tool's replicas in `region` of `rule`'s `disk_id`, in any state: the one
    /// selection of "a rule's replicas of a disk in a region" that plans, checks and
    /// drills share.
    pub(crate) fn replicas_of<'o>(
        &'o self,
        rule: &Rule,
        disk_id: &str,
        region: &str,
    ) -> impl Iterator<Item = &'o Replica> + use<'o> {
        let (source_region, disk_id) = (rule.source_region.clone(), disk_id.to_owned());
        self.replicas
            .get(region)
            .into_iter()
            .flatten()
            .filter(move |r| r.disk_id == disk_id && r.name.source_region == source_region)
    }

    /// The `NORMAL` replica of `rule`'s `disk_id` in `region` with the newest data.
    pub(crate) fn newest_normal(
        &self,
        rule: &Rule,
        disk_id: &str,
        region: &str,
    ) -> Option<&Replica> {
        self.replicas_of(rule, disk_id, region)
            .filter(|r| r.state == ReplicaState::Normal)
            .max_by_key(|r| r.name.source_created_unix)
    }
}

/// What a look at the regions includes beyond the listings.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Look {
    /// Count each destination's disks (for the default snapshot quota).
    pub count_disks: bool,
    /// When a rule shares replicas: look up whom each replica that may be shared is
    /// shared with (one `DescribeSnapshotSharePermission` each).
    pub shares: bool,
}

/// Lists every region the policy touches, concurrently. A region that cannot be
/// listed is noted in [`Observation::unavailable`] and left out; the others are not
/// held up by it.
pub(crate) async fn observe(run: &Run, policy: &Policy, look: Look) -> Observation {
    let count_disks = look.count_disks;
    let mut sources: BTreeSet<String> = BTreeSet::new();
    // Per source region, the disks to look at: all of them when a rule there names
    // disks by pattern (`None`), else the ids the rules name.
    let mut by_name: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
    for rule in policy.rules() {
        sources.insert(rule.source_region.clone());
        let wanted = by_name
            .entry(rule.source_region.clone())
            .or_insert_with(|| Some(BTreeSet::new()));
        match (rule.disk_name_pattern.is_some(), wanted) {
            (true, wanted) => *wanted = None,
            (false, Some(ids)) => ids.extend(rule.disk_ids.iter().cloned()),
            (false, None) => {}
        }
    }
    let mut tasks = JoinSet::new();
    for region in &sources {
        let (run, region) = (run.clone(), region.clone());
        tasks.spawn(async move {
            let found = list_sources(&run, &region).await;
            Listing::Sources(region, found)
        });
    }
    for (region, ids) in by_name {
        let run = run.clone();
        tasks.spawn(async move {
            let found = list_disks(&run, &region, ids).await;
            Listing::Disks(region, found)
        });
    }
    for region in policy.destinations() {
        let run = run.clone();
        tasks.spawn(async move {
            let found = list_replicas(&run, &region).await;
            let disks = match (&found, count_disks) {
                (Ok(_), true) => Some(count_disks_in(&run, &region).await),
                _ => None,
            };
            Listing::Replicas(region, found, disks)
        });
    }
    let mut snapshots = BTreeMap::new();
    let mut disks = BTreeMap::new();
    let mut observation = Observation::default();
    let mut unavailable = |region: String, error: Error| {
        tracing::warn!(region = %region, error = %error, "a region could not be listed; its items fail, the others go on");
        observation
            .unavailable
            .entry(region)
            .or_insert_with(|| ItemFailure::of_error(&error));
    };
    while let Some(done) = tasks.join_next().await {
        match done.expect("listing tasks do not panic") {
            Listing::Sources(region, Ok(found)) => {
                snapshots.insert(region, found);
            }
            Listing::Disks(region, Ok(found)) => {
                disks.insert(region, found);
            }
            Listing::Replicas(region, Ok((replicas, held)), counted) => {
                let disks = match counted {
                    Some(Err(error)) => {
                        unavailable(region, error);
                        continue;
                    }
                    Some(Ok(n)) => Some(n),
                    None => None,
                };
                observation.holdings.insert(
                    region.clone(),
                    Holdings {
                        snapshots: held,
                        disks,
                    },
                );
                observation.replicas.insert(region, replicas);
            }
            Listing::Sources(region, Err(error))
            | Listing::Disks(region, Err(error))
            | Listing::Replicas(region, Err(error), _) => unavailable(region, error),
        }
    }
    observation.rules = policy
        .rules()
        .iter()
        .map(|rule| select(rule, &snapshots, &disks))
        .collect();
    // Only the selected disks' records are kept: memory follows the fleet, not the
    // regions.
    let selected: BTreeSet<&String> = observation.rules.iter().flat_map(|r| &r.disks).collect();
    observation.disks = disks
        .into_values()
        .flatten()
        .filter(|d| selected.contains(&d.id))
        .map(|d| (d.id.clone(), d))
        .collect();
    if look.shares && policy.rules().iter().any(|r| !r.share_with.is_empty()) {
        look_up_shares(run, &mut observation).await;
    }
    observation
}

/// What an account the policy's rules share with sees: in each destination, the
/// replicas shared with it (`DescribeSnapshots` with `snapshot-type`
/// `SHARED_SNAPSHOT`). It cannot see the owner's disks, so a rule's disks are its
/// `disk_ids` and, for a rule naming disks by pattern, every disk of its source region
/// with a replica shared in one of its destinations. `run` is the receiver's.
pub(crate) async fn observe_shared(run: &Run, policy: &Policy) -> Observation {
    let mut tasks = JoinSet::new();
    for region in policy.destinations() {
        let run = run.clone();
        tasks.spawn(async move {
            let found = list_shared(&run, &region).await;
            (region, found)
        });
    }
    let mut observation = Observation::default();
    while let Some(done) = tasks.join_next().await {
        match done.expect("listing tasks do not panic") {
            (region, Ok(replicas)) => {
                observation.replicas.insert(region, replicas);
            }
            (region, Err(error)) => {
                tracing::warn!(region = %region, error = %error, "a region could not be listed; its items fail, the others go on");
                observation
                    .unavailable
                    .insert(region, ItemFailure::of_error(&error));
            }
        }
    }
    observation.rules = policy
        .rules()
        .iter()
        .map(|rule| {
            let mut disks: BTreeSet<String> = rule.disk_ids.iter().cloned().collect();
            if rule.disk_name_pattern.is_some() {
                for region in &rule.destinations {
                    for replica in observation.replicas.get(region).into_iter().flatten() {
                        if replica.name.source_region == rule.source_region {
                            disks.insert(replica.disk_id.clone());
                        }
                    }
                }
            }
            RuleSources {
                disks,
                missing: BTreeSet::new(),
                snapshots: Vec::new(),
            }
        })
        .collect();
    observation
}

/// This tool's replicas in `region` that others share with the caller.
async fn list_shared(run: &Run, region: &str) -> Result<Vec<Replica>, Error> {
    let filter = Filter::new("snapshot-type", ["SHARED_SNAPSHOT"]);
    each_snapshot(run, region, Some(filter), |snapshot| {
        Replica::from_snapshot(snapshot, region).map(|mut replica| {
            // Shared with the caller, by the listing itself; who else is the owner's.
            replica.share_count = None;
            replica
        })
    })
    .await
}

/// Fills in whom each `NORMAL` replica that may be shared is shared with, one
/// destination at a time per task; a destination whose lookups fail is noted in
/// [`Observation::shares_unknown`] and its remaining replicas stay unknown.
async fn look_up_shares(run: &Run, observation: &mut Observation) {
    let mut tasks = JoinSet::new();
    for (region, replicas) in std::mem::take(&mut observation.replicas) {
        let run = run.clone();
        tasks.spawn(async move {
            let mut replicas = replicas;
            let mut failure = None;
            for replica in replicas.iter_mut() {
                if replica.state != ReplicaState::Normal || !replica.may_be_shared() {
                    continue;
                }
                match share_permissions(&run, &region, &replica.id).await {
                    Ok(accounts) => replica.shared_with = Some(accounts),
                    Err(error) => {
                        tracing::warn!(region = %region, error = %error, "share permissions could not be looked up");
                        failure = Some(ItemFailure::of_error(&error));
                        break;
                    }
                }
            }
            (region, replicas, failure)
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (region, replicas, failure) = done.expect("lookup tasks do not panic");
        if let Some(failure) = failure {
            observation.shares_unknown.insert(region.clone(), failure);
        }
        observation.replicas.insert(region, replicas);
    }
}

/// The accounts `snapshot_id` in `region` is shared with.
pub(crate) async fn share_permissions(
    run: &Run,
    region: &str,
    snapshot_id: &str,
) -> Result<BTreeSet<String>, Error> {
    let answer = run
        .client
        .describe_snapshot_share_permission()
        .region(region)
        .snapshot_id(snapshot_id)
        .retry_config(run.patience())
        .send()
        .await?;
    Ok(answer
        .share_permission_set
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.account_id)
        .collect())
}

enum Listing {
    Sources(String, Result<Vec<SourceSnapshot>, Error>),
    Disks(String, Result<Vec<SourceDisk>, Error>),
    Replicas(
        String,
        Result<(Vec<Replica>, u64), Error>,
        Option<Result<u64, Error>>,
    ),
}

/// A rule's disks and their snapshots, from its region's listings.
fn select(
    rule: &Rule,
    snapshots: &BTreeMap<String, Vec<SourceSnapshot>>,
    disks: &BTreeMap<String, Vec<SourceDisk>>,
) -> RuleSources {
    let listed = disks.get(&rule.source_region);
    let mut selected = BTreeSet::new();
    for disk in listed.into_iter().flatten() {
        if rule.selects_disk(&disk.id, disk.name.as_deref()) {
            selected.insert(disk.id.clone());
        }
    }
    // Named disks the listing does not have do not exist (when it could be listed).
    let missing: BTreeSet<String> = match listed {
        Some(_) => rule
            .disk_ids
            .iter()
            .filter(|id| !selected.contains(*id))
            .cloned()
            .collect(),
        None => BTreeSet::new(),
    };
    let mut chosen: Vec<SourceSnapshot> = snapshots
        .get(&rule.source_region)
        .into_iter()
        .flatten()
        .filter(|s| selected.contains(&s.disk_id))
        .cloned()
        .collect();
    chosen.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
    RuleSources {
        disks: selected,
        missing,
        snapshots: chosen,
    }
}

/// The region's `NORMAL` snapshots that are not replicas themselves.
async fn list_sources(run: &Run, region: &str) -> Result<Vec<SourceSnapshot>, Error> {
    let filter = Filter::new("snapshot-state", ["NORMAL"]);
    each_snapshot(run, region, Some(filter), |snapshot| {
        let is_replica = snapshot
            .snapshot_name
            .as_deref()
            .is_some_and(|n| ReplicaName::parse(n).is_some());
        if is_replica {
            None
        } else {
            SourceSnapshot::from_snapshot(snapshot)
        }
    })
    .await
}

/// What `keep` makes of every snapshot of `region` (those `filter` selects), page by
/// page, so memory follows what is kept rather than what is listed.
pub(crate) async fn each_snapshot<T>(
    run: &Run,
    region: &str,
    filter: Option<Filter>,
    mut keep: impl FnMut(Snapshot) -> Option<T>,
) -> Result<Vec<T>, Error> {
    let mut request = run
        .client
        .describe_snapshots()
        .region(region)
        .limit(IDS_PER_CALL as u64)
        .retry_config(run.patience());
    if let Some(filter) = filter {
        request = request.filters([filter]);
    }
    let mut items = request.into_paginator().items();
    let mut found = Vec::new();
    while let Some(snapshot) = items.next_item().await {
        found.extend(keep(snapshot?));
    }
    Ok(found)
}

/// The disks of the region (`ids: None`), or those of `ids` that exist: 100 per call
/// either way.
async fn list_disks(
    run: &Run,
    region: &str,
    ids: Option<BTreeSet<String>>,
) -> Result<Vec<SourceDisk>, Error> {
    let mut found = Vec::new();
    match ids {
        None => {
            let mut items = run
                .client
                .describe_disks()
                .region(region)
                .limit(IDS_PER_CALL as u64)
                .retry_config(run.patience())
                .into_paginator()
                .items();
            while let Some(disk) = items.next_item().await {
                found.extend(SourceDisk::from_disk(disk?, region));
            }
        }
        Some(ids) => {
            let ids: Vec<String> = ids.into_iter().collect();
            found.extend(
                crate::disks::by_ids(run, region, &ids)
                    .await?
                    .into_iter()
                    .filter_map(|d| SourceDisk::from_disk(d, region)),
            );
        }
    }
    number_by_instance(&mut found);
    Ok(found)
}

/// This tool's replicas in `region`, and how many snapshots the region holds in all
/// (every snapshot is listed; those whose names are not replica names are dropped at
/// once, so memory follows the replicas).
pub(crate) async fn list_replicas(run: &Run, region: &str) -> Result<(Vec<Replica>, u64), Error> {
    let mut held = 0u64;
    let found = each_snapshot(run, region, None, |snapshot| {
        held += 1;
        Replica::from_snapshot(snapshot, region)
    })
    .await?;
    Ok((found, held))
}

/// How many disks `region` has (one call: the total of a one-item page).
async fn count_disks_in(run: &Run, region: &str) -> Result<u64, Error> {
    let page = run
        .client
        .describe_disks()
        .region(region)
        .limit(1)
        .retry_config(run.patience())
        .send()
        .await?;
    Ok(page.total_count.unwrap_or(0))
}

/// What `keep` makes of the current records of `ids` in `region`, `IDS_PER_CALL` per
/// call, each call patient. Each page is reduced as it arrives, so a large poll holds
/// what it needs, not every record.
pub(crate) async fn describe_ids<T>(
    run: &Run,
    region: &str,
    ids: &[String],
    keep: impl Fn(Snapshot) -> Option<T>,
) -> Result<Vec<T>, Error> {
    let mut found = Vec::new();
    for chunk in ids.chunks(IDS_PER_CALL) {
        let page = run
            .client
            .describe_snapshots()
            .region(region)
            .snapshot_ids(chunk.iter().cloned())
            .limit(IDS_PER_CALL as u64)
            .retry_config(run.patience())
            .send()
            .await?;
        found.extend(
            page.snapshot_set
                .unwrap_or_default()
                .into_iter()
                .filter_map(&keep),
        );
    }
    Ok(found)
}

/// This tool's replicas in `region` with one of `names`, in flight or `NORMAL`, by
/// name (where a name is there twice, the one every run keeps). By
/// name, five names a call; or, when `held` (the snapshots the region holds) says a
/// listing of the whole region takes fewer calls, by listing it.
pub(crate) async fn find_replicas(
    run: &Run,
    region: &str,
    names: &[String],
    held: Option<u64>,
) -> Result<BTreeMap<String, (String, ReplicaState)>, Error> {
    let by_name_calls = names.len().div_ceil(NAMES_PER_FILTER) as u64;
    let listing_calls = held.map(|h| h / IDS_PER_CALL as u64 + 1);
    let mut kept: BTreeMap<String, (Option<i64>, String, ReplicaState)> = BTreeMap::new();
    let mut keep = |snapshot: Snapshot| {
        let state = replica_state(&snapshot);
        let made = snapshot.create_time.as_deref().and_then(parse_service_time);
        if let (Some(id), Some(name)) = (snapshot.snapshot_id, snapshot.snapshot_name)
            && !matches!(state, ReplicaState::Other(_))
        {
            let entry = kept
                .entry(name)
                .or_insert_with(|| (made, id.clone(), state.clone()));
            if keep_order(made, &id) < keep_order(entry.0, &entry.1) {
                *entry = (made, id, state);
            }
        }
    };
    if listing_calls.is_some_and(|listing| listing < by_name_calls) {
        let wanted: BTreeSet<&str> = names.iter().map(String::as_str).collect();
        each_snapshot(run, region, None, |snapshot| {
            if snapshot
                .snapshot_name
                .as_deref()
                .is_some_and(|n| wanted.contains(n))
            {
                keep(snapshot);
            }
            None::<()>
        })
        .await?;
    } else {
        for chunk in names.chunks(NAMES_PER_FILTER) {
            let filter = Filter::new("snapshot-name", chunk.iter().cloned());
            for snapshot in each_snapshot(run, region, Some(filter), Some).await? {
                keep(snapshot);
            }
        }
    }
    Ok(kept
        .into_iter()
        .map(|(name, (_, id, state))| (name, (id, state)))
        .collect())
}
