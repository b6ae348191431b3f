//! The emulated cloud: every resource, the settings that shape its behaviour, and what
//! emulated time does to it (auto snapshot policies firing, snapshots expiring).

mod accounts;
mod records;
mod seed;
mod views;
mod zones;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub(crate) use accounts::{Accounts, Deliveries, Others, shared_snapshot, shared_with};
pub(crate) use records::*;

use crate::clock;
use crate::ids::resource_id;

/// The regions the emulator serves: every region CBS is offered in.
pub use cbs_model::REGIONS;

pub(crate) fn is_region(name: &str) -> bool {
    cbs_model::is_region(name)
}

pub(crate) use zones::{default_zone, region_of};

/// What shapes the emulator's behaviour; set by its builder, not kept in the state file.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// How long a cross-region copy of a 100 GB snapshot takes; proportional to size.
    pub copy_ms_per_100gb: u64,
    /// How long creating a snapshot of a 100 GB disk takes; proportional to size.
    pub create_ms_per_100gb: u64,
    /// How long a 100 GB disk made from a snapshot takes to become usable (its data
    /// loading from the snapshot, shown as a rollback); proportional to size.
    pub restore_ms_per_100gb: u64,
    /// Snapshots a region may hold; `None`: the service's 64 + 64 per disk.
    pub snapshot_quota: Option<usize>,
    /// The account the credentials belong to (`AccountId` of share permissions).
    pub account: String,
    /// Zones beyond the built-in table (full names, such as `ap-guangzhou-8`).
    pub extra_zones: Vec<String>,
    /// Whether the owner may delete a snapshot that is shared (it then disappears for
    /// every receiver); by default refused with `UnsupportedOperation.SnapHasShared`.
    pub delete_shared: bool,
    /// Whether a cross-region copy carries its source's tags; by default it does not.
    pub copy_tags: bool,
    /// How long a `ClientToken` makes a repeat return what the first request made.
    pub client_token_window_ms: u64,
    /// `(zone, disk type)` pairs sold out: not offered, not created.
    pub sold_out: Vec<(String, String)>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            copy_ms_per_100gb: 10_000,
            create_ms_per_100gb: 5_000,
            restore_ms_per_100gb: 0,
            snapshot_quota: None,
            account: crate::DEFAULT_ACCOUNT.to_owned(),
            extra_zones: Vec::new(),
            delete_shared: false,
            copy_tags: false,
            client_token_window_ms: 24 * 3_600_000,
            sold_out: Vec::new(),
        }
    }
}

/// Everything the emulator holds, behind one lock.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct World {
    /// Emulated Unix milliseconds, as of the request being handled.
    pub now_ms: u64,
    seq: u64,
    pub instances: BTreeMap<String, Instance>,
    pub disks: BTreeMap<String, Disk>,
    pub snapshots: BTreeMap<String, Snapshot>,
    pub policies: BTreeMap<String, Policy>,
    pub backups: BTreeMap<String, Backup>,
    pub groups: BTreeMap<String, Group>,
    pub remote_disks: BTreeMap<String, RemoteDisk>,
    /// What each `ClientToken` already created: a repeat returns it again.
    pub client_tokens: BTreeMap<String, Vec<String>>,
    /// When each `ClientToken` was first used (emulated ms); a token without a time
    /// (from a state file of before) never expires.
    #[serde(default)]
    pub client_token_times: BTreeMap<String, u64>,
    #[serde(skip)]
    pub settings: Settings,
}

/// The shortest transition, so a state is observable at least once.
const MIN_TRANSITION_MS: u64 = 1_000;

impl World {
    pub(crate) fn new(settings: Settings) -> Self {
        World {
            settings,
            ..World::default()
        }
    }

    /// What an earlier request with `token` made, while the token holds.
    pub(crate) fn token_result(&self, token: &str) -> Option<&Vec<String>> {
        let made = self.client_tokens.get(token)?;
        match self.client_token_times.get(token) {
            Some(at) if self.now_ms.saturating_sub(*at) > self.settings.client_token_window_ms => {
                None
            }
            _ => Some(made),
        }
    }

    /// Remembers what a request with `token` made.
    pub(crate) fn remember_token(&mut self, token: String, made: Vec<String>) {
        self.client_token_times.insert(token.clone(), self.now_ms);
        self.client_tokens.insert(token, made);
    }

    /// Whether `disk_type` is sold out in `zone`.
    pub(crate) fn is_sold_out(&self, zone: &str, disk_type: &str) -> bool {
        self.settings
            .sold_out
            .iter()
            .any(|(z, t)| z == zone && t == disk_type)
    }

    pub(crate) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// An id of `prefix` that nothing holds yet.
    pub(crate) fn new_id(&self, prefix: &str) -> String {
        loop {
            let id = resource_id(prefix);
            let taken = self.snapshots.contains_key(&id)
                || self.disks.contains_key(&id)
                || self.policies.contains_key(&id)
                || self.backups.contains_key(&id)
                || self.groups.contains_key(&id)
                || self.remote_disks.contains_key(&id);
            if !taken {
                return id;
            }
        }
    }

    /// How long a copy of `size_gb` takes.
    pub(crate) fn copy_duration(&self, size_gb: u64) -> u64 {
        scaled(self.settings.copy_ms_per_100gb, size_gb)
    }

    /// How long a disk of `size_gb` made from a snapshot takes to become usable.
    pub(crate) fn restore_duration(&self, size_gb: u64) -> u64 {
        scaled(self.settings.restore_ms_per_100gb, size_gb)
    }

    /// How long creating a snapshot of `size_gb` takes.
    pub(crate) fn create_duration(&self, size_gb: u64) -> u64 {
        scaled(self.settings.create_ms_per_100gb, size_gb)
    }

    pub(crate) fn snapshots_in<'w>(
        &'w self,
        region: &'w str,
    ) -> impl Iterator<Item = &'w Snapshot> + 'w {
        self.snapshots.values().filter(move |s| s.region == region)
    }

    pub(crate) fn disks_in<'w>(&'w self, region: &'w str) -> impl Iterator<Item = &'w Disk> + 'w {
        self.disks.values().filter(move |d| d.region == region)
    }

    /// Whether `zone` is an availability zone of `region`: in the built-in table or added.
    pub(crate) fn is_zone_of(&self, zone: &str, region: &str) -> bool {
        zones::in_table(zone, region)
            || (self.settings.extra_zones.iter().any(|z| z == zone)
                && region_of(zone) == Some(region))
    }

    /// Every zone of `region`, the table's first, then any added.
    pub(crate) fn zones_of(&self, region: &str) -> Vec<String> {
        let added = self
            .settings
            .extra_zones
            .iter()
            .filter(|z| region_of(z) == Some(region) && !zones::in_table(z, region))
            .cloned();
        zones::table_zones(region).chain(added).collect()
    }

    /// Snapshots `region` may hold.
    ///
    /// The default is the rule Tencent Cloud published when snapshots became billed
    /// (2019, "About Snapshot Commercialization"): per account and region, 64 plus 64 for
    /// every disk there. The API states no count quota of its own (`GetSnapOverview` and
    /// `DescribeSnapshotOverview` report GB of free tier, not a count) and accounts can
    /// have it raised, so `snapshot_quota` on the builder, or `--snapshot-quota`, sets it.
    pub(crate) fn snapshot_quota(&self, region: &str) -> usize {
        self.settings
            .snapshot_quota
            .unwrap_or_else(|| 64 + 64 * self.disks_in(region).filter(|d| !d.recycled).count())
    }

    /// Whether a snapshot is still being created or copied.
    pub(crate) fn is_running(&self, snapshot: &Snapshot) -> bool {
        snapshot
            .progress
            .as_ref()
            .is_some_and(|p| p.at(self.now_ms).is_some())
    }

    /// Regions a snapshot is being copied to right now.
    pub(crate) fn copying_to(&self, snapshot_id: &str) -> Vec<String> {
        let mut regions: Vec<String> = self
            .snapshots
            .values()
            .filter(|s| {
                s.copied_from
                    .as_ref()
                    .is_some_and(|(src, _)| src == snapshot_id)
                    && self.is_running(s)
            })
            .map(|s| s.region.clone())
            .collect();
        regions.sort();
        regions.dedup();
        regions
    }

    /// Adds a snapshot of `disk` that becomes `NORMAL` after `duration_ms`.
    pub(crate) fn add_snapshot_of(&mut self, disk: &Disk, name: &str, duration_ms: u64) -> String {
        let id = self.new_id("snap");
        let seq = self.next_seq();
        let now = self.now_ms;
        self.snapshots.insert(
            id.clone(),
            Snapshot {
                id: id.clone(),
                region: disk.region.clone(),
                zone: disk.zone.clone(),
                name: name.to_owned(),
                disk_id: disk.id.clone(),
                disk_size_gb: disk.size_gb,
                disk_usage: disk.usage.clone(),
                encrypt: disk.encrypt,
                permanent: true,
                deadline_ms: None,
                created_ms: now,
                modified_ms: now,
                progress: (duration_ms > 0)
                    .then(|| Transition::new("CREATING", now, duration_ms.max(MIN_TRANSITION_MS))),
                copied_from: None,
                policy_id: None,
                group_id: None,
                shared_with: Vec::new(),
                local: false,
                tags: Vec::new(),
                seq,
            },
        );
        id
    }

    /// Adds a disk; its fields beyond these take the service's defaults.
    pub(crate) fn add_disk(
        &mut self,
        region: &str,
        zone: &str,
        name: &str,
        size_gb: u64,
        disk_type: &str,
    ) -> String {
        let id = self.new_id("disk");
        let seq = self.next_seq();
        self.disks.insert(
            id.clone(),
            Disk {
                id: id.clone(),
                region: region.to_owned(),
                zone: zone.to_owned(),
                name: name.to_owned(),
                size_gb,
                disk_type: disk_type.to_owned(),
                usage: "DATA_DISK".to_owned(),
                charge_type: "POSTPAID_BY_HOUR".to_owned(),
                renew_flag: "NOTIFY_AND_MANUAL_RENEW".to_owned(),
                project_id: 0,
                created_ms: self.now_ms,
                deadline_ms: None,
                portable: true,
                shareable: false,
                encrypt: false,
                delete_with_instance: false,
                throughput_performance: 0,
                burst_performance: false,
                backup_quota: 0,
                instance_id: None,
                attach_mode: None,
                recycled: false,
                rollback: None,
                tags: Vec::new(),
                seq,
            },
        );
        id
    }

    /// Registers an instance disks can attach to.
    pub(crate) fn add_instance(&mut self, region: &str, zone: &str, id: &str) {
        self.instances.insert(
            id.to_owned(),
            Instance {
                id: id.to_owned(),
                region: region.to_owned(),
                zone: zone.to_owned(),
            },
        );
    }

    /// Moves the world to `now_ms`: auto snapshot policies fire for every hour they are
    /// due, and snapshots past their deadline go. Returns whether anything changed.
    pub(crate) fn advance_to(&mut self, now_ms: u64) -> bool {
        self.now_ms = self.now_ms.max(now_ms);
        let mut changed = self.run_policies();
        let now = self.now_ms;
        let expired: Vec<String> = self
            .snapshots
            .values()
            .filter(|s| s.deadline_ms.is_some_and(|d| d <= now) && s.shared_with.is_empty())
            .map(|s| s.id.clone())
            .collect();
        for id in expired {
            self.snapshots.remove(&id);
            changed = true;
        }
        changed
    }

    /// Fires every activated policy for each hour since it last ran that its schedules
    /// name (at most a month of hours after a long pause: older runs are skipped).
    fn run_policies(&mut self) -> bool {
        const HOUR: u64 = 3_600_000;
        let now = self.now_ms;
        let mut fired: Vec<(String, u64)> = Vec::new();
        for policy in self.policies.values_mut() {
            let first = (policy.last_run_ms / HOUR + 1).max((now / HOUR).saturating_sub(744));
            for hour in first..=now / HOUR {
                let at = hour * HOUR;
                if policy.activated
                    && policy
                        .schedules
                        .iter()
                        .any(|s| due(s, at, policy.created_ms))
                {
                    fired.push((policy.id.clone(), at));
                }
            }
            policy.last_run_ms = policy.last_run_ms.max(now / HOUR * HOUR);
        }
        let changed = !fired.is_empty();
        for (policy_id, at) in fired {
            self.fire(&policy_id, at);
        }
        changed
    }

    /// One run of a policy: a snapshot of each disk bound to it, named as the service
    /// names scheduled snapshots (`snap_yyyyMMdd_HH`, China Standard Time).
    fn fire(&mut self, policy_id: &str, at_ms: u64) {
        let Some(policy) = self.policies.get(policy_id).cloned() else {
            return;
        };
        let name = format!("snap_{}", clock::compact_hour(at_ms));
        for disk_id in &policy.disk_ids {
            let Some(disk) = self.disks.get(disk_id).filter(|d| !d.recycled).cloned() else {
                continue;
            };
            if self.snapshots_in(&disk.region).count() >= self.snapshot_quota(&disk.region) {
                continue;
            }
            let duration = self.create_duration(disk.size_gb);
            let id = self.add_snapshot_of(&disk, &name, duration);
            if let Some(snapshot) = self.snapshots.get_mut(&id) {
                snapshot.created_ms = at_ms;
                snapshot.policy_id = Some(policy.id.clone());
                if let Some(progress) = snapshot.progress.as_mut() {
                    progress.started_ms = at_ms;
                }
                if !policy.permanent && policy.retention_days > 0 {
                    snapshot.permanent = false;
                    snapshot.deadline_ms = Some(at_ms + policy.retention_days * 86_400_000);
                }
            }
        }
    }
}

/// `base` for 100 GB, proportionally more or less for other sizes (at least a tenth).
fn scaled(base: u64, size_gb: u64) -> u64 {
    base.saturating_mul(size_gb.max(10)) / 100
}

/// Whether `schedule` names the hour starting at `at_ms` (China Standard Time), for a
/// policy created at `created_ms`.
pub(crate) fn due(schedule: &Schedule, at_ms: u64, created_ms: u64) -> bool {
    let (day, weekday, day_of_month, hour) = clock::calendar(at_ms);
    if !schedule.hours.contains(&hour) {
        return false;
    }
    if let Some(interval) = schedule.interval_days.filter(|&n| n > 0) {
        let (created_day, ..) = clock::calendar(created_ms);
        return day >= created_day && (day - created_day) % interval == 0;
    }
    if !schedule.days_of_month.is_empty() {
        return schedule.days_of_month.contains(&day_of_month);
    }
    schedule.days_of_week.is_empty() || schedule.days_of_week.contains(&weekday)
}

/// The next hour (emulated ms) after `after_ms` at which `schedules` fire, within a year.
pub(crate) fn next_trigger(schedules: &[Schedule], after_ms: u64, created_ms: u64) -> Option<u64> {
    const HOUR: u64 = 3_600_000;
    (after_ms / HOUR + 1..after_ms / HOUR + 24 * 366)
        .map(|h| h * HOUR)
        .find(|&at| schedules.iter().any(|s| due(s, at, created_ms)))
}
