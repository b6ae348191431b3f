//! The emulated cloud: regions, disks and snapshots, and how copies progress.

use std::collections::BTreeMap;
use std::time::Duration;

use cbs_model::{DiskState, DiskType, DiskUsage, Placement, Snapshot, SnapshotState, SnapshotType};

use crate::clock;
use crate::ids::resource_id;

/// The regions the emulator serves, as the real service names them.
pub const REGIONS: &[&str] = &[
    "ap-bangkok",
    "ap-beijing",
    "ap-chengdu",
    "ap-chongqing",
    "ap-guangzhou",
    "ap-hongkong",
    "ap-jakarta",
    "ap-mumbai",
    "ap-nanjing",
    "ap-seoul",
    "ap-shanghai",
    "ap-singapore",
    "ap-tokyo",
    "eu-frankfurt",
    "na-ashburn",
    "na-siliconvalley",
    "na-toronto",
    "sa-saopaulo",
];

pub(crate) fn is_region(name: &str) -> bool {
    REGIONS.contains(&name)
}

/// The first availability zone of a region.
pub(crate) fn default_zone(region: &str) -> String {
    format!("{region}-1")
}

/// A snapshot's lifecycle, computed from the time it started.
#[derive(Clone, Debug)]
pub(crate) enum Progress {
    Done,
    Running {
        /// Emulated Unix milliseconds.
        started_ms: u64,
        duration_ms: u64,
        state: SnapshotState,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct SnapshotRecord {
    pub id: String,
    pub region: String,
    pub zone: String,
    pub name: String,
    pub disk_id: String,
    pub disk_size: u64,
    pub disk_usage: DiskUsage,
    pub encrypt: bool,
    pub permanent: bool,
    pub created_ms: u64,
    pub seq: u64,
    pub progress: Progress,
    /// `(source snapshot id, source region)` for a cross-region copy.
    pub copied_from: Option<(String, String)>,
}

impl SnapshotRecord {
    /// The state and percent at `now`.
    pub(crate) fn status(&self, now_ms: u64) -> (SnapshotState, u64) {
        match &self.progress {
            Progress::Done => (SnapshotState::Normal, 100),
            Progress::Running {
                started_ms,
                duration_ms,
                state,
            } => {
                let elapsed = now_ms.saturating_sub(*started_ms);
                if elapsed >= *duration_ms {
                    (SnapshotState::Normal, 100)
                } else {
                    let percent = elapsed * 100 / (*duration_ms).max(1);
                    (state.clone(), percent.min(99))
                }
            }
        }
    }

    pub(crate) fn is_running(&self, now: u64) -> bool {
        self.status(now).0 != SnapshotState::Normal
    }
}

#[derive(Clone, Debug)]
pub(crate) struct DiskRecord {
    pub id: String,
    pub region: String,
    pub zone: String,
    pub name: String,
    pub size: u64,
    pub disk_type: DiskType,
    pub usage: DiskUsage,
    pub charge_type: cbs_model::DiskChargeType,
    pub created_ms: u64,
    pub seq: u64,
}

/// All state, behind one lock.
#[derive(Debug)]
pub(crate) struct World {
    pub snapshots: BTreeMap<String, SnapshotRecord>,
    pub disks: BTreeMap<String, DiskRecord>,
    /// What each `ClientToken` already created: a repeat returns it again.
    pub client_tokens: BTreeMap<String, Vec<String>>,
    pub copy_duration: Duration,
    pub create_duration: Duration,
    /// Emulated Unix milliseconds now, as of the request being handled.
    pub now_ms: u64,
    pub snapshot_quota: usize,
    seq: u64,
}

impl World {
    pub(crate) fn new(
        copy_duration: Duration,
        create_duration: Duration,
        snapshot_quota: usize,
    ) -> Self {
        World {
            snapshots: BTreeMap::new(),
            disks: BTreeMap::new(),
            client_tokens: BTreeMap::new(),
            copy_duration,
            create_duration,
            now_ms: 0,
            snapshot_quota,
            seq: 0,
        }
    }

    pub(crate) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub(crate) fn snapshots_in<'w>(
        &'w self,
        region: &'w str,
    ) -> impl Iterator<Item = &'w SnapshotRecord> + 'w {
        self.snapshots.values().filter(move |s| s.region == region)
    }

    /// Regions a snapshot is being copied to right now.
    pub(crate) fn copying_to(&self, snapshot_id: &str, now: u64) -> Vec<String> {
        let mut regions: Vec<String> = self
            .snapshots
            .values()
            .filter(|s| {
                s.copied_from
                    .as_ref()
                    .is_some_and(|(src, _)| src == snapshot_id)
                    && s.is_running(now)
            })
            .map(|s| s.region.clone())
            .collect();
        regions.sort();
        regions.dedup();
        regions
    }

    pub(crate) fn add_disk(
        &mut self,
        region: &str,
        zone: &str,
        name: &str,
        size: u64,
        disk_type: DiskType,
        usage: DiskUsage,
    ) -> String {
        let id = resource_id("disk");
        let seq = self.next_seq();
        self.disks.insert(
            id.clone(),
            DiskRecord {
                id: id.clone(),
                region: region.to_owned(),
                zone: zone.to_owned(),
                name: name.to_owned(),
                size,
                disk_type,
                usage,
                charge_type: cbs_model::DiskChargeType::PostpaidByHour,
                created_ms: self.now_ms,
                seq,
            },
        );
        id
    }

    /// Adds a snapshot of `disk` (or of no disk) with the given progress.
    pub(crate) fn add_snapshot(
        &mut self,
        id: Option<String>,
        region: &str,
        name: &str,
        disk: Option<&DiskRecord>,
        progress: Progress,
    ) -> String {
        let id = id.unwrap_or_else(|| resource_id("snap"));
        let seq = self.next_seq();
        self.snapshots.insert(
            id.clone(),
            SnapshotRecord {
                id: id.clone(),
                region: region.to_owned(),
                zone: disk.map_or_else(|| default_zone(region), |d| d.zone.clone()),
                name: name.to_owned(),
                disk_id: disk.map_or_else(String::new, |d| d.id.clone()),
                disk_size: disk.map_or(50, |d| d.size),
                disk_usage: disk.map_or(DiskUsage::DataDisk, |d| d.usage.clone()),
                encrypt: false,
                permanent: true,
                created_ms: self.now_ms,
                seq,
                progress,
                copied_from: None,
            },
        );
        id
    }

    /// The API view of a snapshot at `now`.
    pub(crate) fn snapshot_view(&self, record: &SnapshotRecord, now: u64) -> Snapshot {
        let (state, percent) = record.status(now);
        let mut s = Snapshot::default();
        s.snapshot_id = Some(record.id.clone());
        s.snapshot_name = Some(record.name.clone());
        s.snapshot_state = Some(state);
        s.percent = Some(percent);
        s.disk_id = Some(record.disk_id.clone());
        s.disk_size = Some(record.disk_size);
        s.disk_usage = Some(record.disk_usage.clone());
        s.encrypt = Some(record.encrypt);
        s.is_permanent = Some(record.permanent);
        s.create_time = Some(clock::datetime(record.created_ms));
        s.placement = Some(Placement::new(record.zone.clone()).project_id(0));
        s.copy_from_remote = Some(record.copied_from.is_some());
        s.copying_to_regions = Some(self.copying_to(&record.id, now));
        s.snapshot_type = Some(SnapshotType::PrivateSnapshot);
        s.images = Some(Vec::new());
        s.image_count = Some(0);
        s.share_reference = Some(0);
        s.tags = Some(Vec::new());
        s
    }

    /// The API view of a disk.
    pub(crate) fn disk_view(&self, record: &DiskRecord) -> cbs_model::Disk {
        let mut d = cbs_model::Disk::default();
        d.disk_id = Some(record.id.clone());
        d.disk_name = Some(record.name.clone());
        d.disk_size = Some(record.size);
        d.disk_type = Some(record.disk_type.clone());
        d.disk_usage = Some(record.usage.clone());
        d.disk_state = Some(DiskState::Unattached);
        d.disk_charge_type = Some(record.charge_type.clone());
        d.placement = Some(Placement::new(record.zone.clone()).project_id(0));
        d.create_time = Some(clock::datetime(record.created_ms));
        d.attached = Some(false);
        d.encrypt = Some(false);
        d.portable = Some(true);
        d.snapshot_ability = Some(true);
        d.snapshot_count = Some(
            self.snapshots
                .values()
                .filter(|s| s.disk_id == record.id)
                .count() as i64,
        );
        d.tags = Some(Vec::new());
        d
    }

    /// A few disks and `NORMAL` snapshots in several regions, `snap-demo0001` among them.
    pub(crate) fn seed_demo(&mut self) {
        let demo = [
            ("ap-guangzhou", "snap-demo0001", "web-data nightly"),
            ("ap-guangzhou", "snap-demo0002", "db-data nightly"),
            ("ap-shanghai", "snap-demo0003", "analytics weekly"),
            ("ap-beijing", "snap-demo0004", "archive monthly"),
            ("ap-singapore", "snap-demo0005", "edge cache"),
        ];
        for (region, snapshot_id, name) in demo {
            let zone = default_zone(region);
            let disk_name = name.split(' ').next().unwrap_or("data");
            let disk_id = self.add_disk(
                region,
                &zone,
                disk_name,
                100,
                DiskType::CloudPremium,
                DiskUsage::DataDisk,
            );
            let disk = self.disks.get(&disk_id).cloned();
            self.add_snapshot(
                Some(snapshot_id.to_owned()),
                region,
                name,
                disk.as_ref(),
                Progress::Done,
            );
        }
    }
}
