//! Records as the API shows them, at the world's current time.

use cbs_model as model;

use super::{Backup, Disk, Group, Policy, RemoteDisk, Schedule, Snapshot, Tag, World};
use crate::clock;

fn placement(zone: &str, project_id: u64) -> model::Placement {
    model::Placement::new(zone).project_id(project_id)
}

fn tags(tags: &[Tag]) -> Vec<model::Tag> {
    tags.iter()
        .map(|(k, v)| {
            let mut tag = model::Tag::default();
            tag.key = Some(k.clone());
            tag.value = Some(v.clone());
            tag
        })
        .collect()
}

impl World {
    /// A snapshot: `CREATING` or `COPYING_FROM_REMOTE` with a rising `Percent` until
    /// done, then `NORMAL`.
    /// A snapshot's state and percent now: its transition's while one runs, else
    /// `NORMAL` at 100.
    pub(crate) fn snapshot_state<'s>(&self, record: &'s Snapshot) -> (&'s str, u64) {
        record
            .progress
            .as_ref()
            .and_then(|p| p.at(self.now_ms))
            .unwrap_or(("NORMAL", 100))
    }

    /// Shared with another account or not.
    pub(crate) fn snapshot_type(&self, record: &Snapshot) -> model::SnapshotType {
        if record.shared_with.is_empty() {
            model::SnapshotType::PrivateSnapshot
        } else {
            model::SnapshotType::SharedSnapshot
        }
    }

    /// One snapshot as the API shows it.
    pub(crate) fn snapshot_view(&self, record: &Snapshot) -> model::Snapshot {
        self.snapshot_views(&[record]).pop().unwrap_or_default()
    }

    /// Snapshots as the API shows them, finding the copies in flight of all of them in
    /// one pass over the world (a page of a hundred would otherwise take a hundred).
    pub(crate) fn snapshot_views(&self, records: &[&Snapshot]) -> Vec<model::Snapshot> {
        let wanted: std::collections::HashSet<&str> =
            records.iter().map(|r| r.id.as_str()).collect();
        let mut copying: std::collections::HashMap<&str, Vec<String>> = Default::default();
        for copy in self.snapshots.values() {
            if let Some((source, _)) = &copy.copied_from
                && wanted.contains(source.as_str())
                && self.is_running(copy)
            {
                copying.entry(source).or_default().push(copy.region.clone());
            }
        }
        records
            .iter()
            .map(|record| {
                let mut regions = copying.remove(record.id.as_str()).unwrap_or_default();
                regions.sort();
                regions.dedup();
                self.snapshot_view_copying(record, regions)
            })
            .collect()
    }

    fn snapshot_view_copying(&self, record: &Snapshot, copying_to: Vec<String>) -> model::Snapshot {
        let (state, percent) = self.snapshot_state(record);
        let mut s = model::Snapshot::default();
        s.snapshot_id = Some(record.id.clone());
        s.snapshot_name = Some(record.name.clone());
        s.snapshot_state = Some(state.into());
        s.percent = Some(percent);
        s.disk_id = Some(record.disk_id.clone());
        s.disk_size = Some(record.disk_size_gb);
        s.disk_usage = Some(record.disk_usage.as_str().into());
        s.encrypt = Some(record.encrypt);
        s.is_permanent = Some(record.permanent);
        s.deadline_time = record.deadline_ms.map(clock::datetime);
        s.create_time = Some(clock::datetime(record.created_ms));
        s.latest_modify_time = Some(clock::iso(record.modified_ms));
        s.placement = Some(placement(&record.zone, 0));
        s.copy_from_remote = Some(record.copied_from.is_some());
        s.copying_to_regions = Some(copying_to);
        s.snapshot_type = Some(self.snapshot_type(record));
        s.share_reference = Some(record.shared_with.len() as u64);
        s.time_start_share = record.shared_with.first().map(|(_, at)| clock::date(*at));
        s.images = Some(Vec::new());
        s.image_count = Some(0);
        s.tags = Some(tags(&record.tags));
        s.is_locked = Some(false);
        s.auto_snapshot_policy_id = record.policy_id.clone();
        s.snapshot_mode = Some(if record.local { "LOCAL" } else { "NORMAL" }.to_owned());
        s
    }

    /// A disk: `UNATTACHED` or `ATTACHED`, `ROLLBACKING` during a rollback, `TORECYCLE`
    /// once terminated.
    /// A disk's state now.
    pub(crate) fn disk_state(&self, record: &Disk) -> &'static str {
        let rollback = record.rollback.as_ref().and_then(|r| r.at(self.now_ms));
        if record.recycled {
            "TORECYCLE"
        } else if rollback.is_some() {
            "ROLLBACKING"
        } else if record.instance_id.is_some() {
            "ATTACHED"
        } else {
            "UNATTACHED"
        }
    }

    pub(crate) fn disk_view(&self, record: &Disk) -> model::Disk {
        let rollback = record.rollback.as_ref().and_then(|r| r.at(self.now_ms));
        let state = self.disk_state(record);
        let mut d = model::Disk::default();
        d.disk_id = Some(record.id.clone());
        d.disk_name = Some(record.name.clone());
        d.disk_size = Some(record.size_gb);
        d.disk_type = Some(record.disk_type.as_str().into());
        d.disk_usage = Some(record.usage.as_str().into());
        d.disk_state = Some(state.into());
        d.disk_charge_type = Some(record.charge_type.as_str().into());
        d.renew_flag = Some(record.renew_flag.as_str().into());
        d.placement = Some(placement(&record.zone, record.project_id));
        d.create_time = Some(clock::datetime(record.created_ms));
        d.deadline_time = record.deadline_ms.map(clock::datetime);
        d.differ_days_of_deadline = record
            .deadline_ms
            .map(|deadline| (deadline as i64 - self.now_ms as i64) / 86_400_000);
        d.attached = Some(record.instance_id.is_some());
        d.instance_id = Some(record.instance_id.clone().unwrap_or_default());
        d.instance_id_list = Some(record.instance_id.iter().cloned().collect());
        d.attach_mode = record.attach_mode.clone();
        d.encrypt = Some(record.encrypt);
        d.portable = Some(record.portable);
        d.shareable = Some(record.shareable);
        d.delete_with_instance = Some(record.delete_with_instance);
        d.snapshot_ability = Some(true);
        d.rollbacking = Some(rollback.is_some());
        d.rollback_percent = Some(rollback.map_or(100, |(_, p)| p));
        d.throughput_performance = Some(record.throughput_performance);
        d.burst_performance = Some(record.burst_performance);
        d.disk_backup_quota = Some(record.backup_quota);
        d.disk_backup_count = Some(
            self.backups
                .values()
                .filter(|b| b.disk_id == record.id)
                .count() as u64,
        );
        let snapshots: Vec<&Snapshot> = self
            .snapshots
            .values()
            .filter(|s| s.disk_id == record.id && s.region == record.region)
            .collect();
        d.snapshot_count = Some(snapshots.len() as i64);
        d.snapshot_size = Some(snapshots.iter().map(|s| s.disk_size_gb).sum());
        d.auto_snapshot_policy_ids = Some(
            self.policies
                .values()
                .filter(|p| p.disk_ids.contains(&record.id))
                .map(|p| p.id.clone())
                .collect(),
        );
        d.tags = Some(tags(&record.tags));
        d.migrating = Some(false);
        d.backup_disk = Some(false);
        d.is_returnable = Some(record.charge_type == "PREPAID" && !record.recycled);
        d
    }

    pub(crate) fn policy_view(&self, record: &Policy) -> model::AutoSnapshotPolicy {
        let mut p = model::AutoSnapshotPolicy::default();
        p.auto_snapshot_policy_id = Some(record.id.clone());
        p.auto_snapshot_policy_name = Some(record.name.clone());
        p.auto_snapshot_policy_state = Some(model::AutoSnapshotPolicyState::Normal);
        p.is_activated = Some(record.activated);
        p.is_permanent = Some(record.permanent);
        p.retention_days = Some(record.retention_days);
        p.policy = Some(record.schedules.iter().map(schedule_view).collect());
        p.disk_id_set = Some(record.disk_ids.clone());
        p.instance_id_set = Some(
            record
                .disk_ids
                .iter()
                .filter_map(|id| self.disks.get(id)?.instance_id.clone())
                .collect(),
        );
        p.create_time = Some(clock::datetime(record.created_ms));
        p.next_trigger_time = record
            .activated
            .then(|| super::next_trigger(&record.schedules, self.now_ms, record.created_ms))
            .flatten()
            .map(clock::datetime);
        p.is_copy_to_remote = Some(0);
        p.copy_from_account_uin = record.copy_from_account.clone();
        p.tags = Some(tags(&record.tags));
        p
    }

    pub(crate) fn backup_view(&self, record: &Backup) -> model::DiskBackup {
        let (state, percent) = match record.progress.as_ref().and_then(|p| p.at(self.now_ms)) {
            Some((_, percent)) => (model::DiskBackupState::Creating, percent),
            None => (model::DiskBackupState::Normal, 100),
        };
        let mut b = model::DiskBackup::default();
        b.disk_backup_id = Some(record.id.clone());
        b.disk_id = Some(record.disk_id.clone());
        b.disk_size = Some(record.disk_size_gb);
        b.disk_usage = Some(record.disk_usage.as_str().into());
        b.disk_backup_name = Some(record.name.clone());
        b.disk_backup_state = Some(state);
        b.percent = Some(percent);
        b.create_time = Some(clock::iso(record.created_ms));
        b.encrypt = Some(record.encrypt);
        b
    }

    pub(crate) fn group_view(&self, record: &Group) -> model::SnapshotGroup {
        let members: Vec<&Snapshot> = record
            .snapshot_ids
            .iter()
            .filter_map(|id| self.snapshots.get(id))
            .collect();
        let creating = members.iter().any(|s| self.is_running(s));
        let percent = members
            .iter()
            .map(|s| {
                s.progress
                    .as_ref()
                    .and_then(|p| p.at(self.now_ms))
                    .map_or(100, |(_, p)| p)
            })
            .min()
            .unwrap_or(100);
        let root = members.iter().any(|s| s.disk_usage == "SYSTEM_DISK");
        let mut g = model::SnapshotGroup::default();
        g.snapshot_group_id = Some(record.id.clone());
        g.snapshot_group_name = Some(record.name.clone());
        g.snapshot_group_type = Some("NORMAL".to_owned());
        g.snapshot_group_state = Some(if creating {
            model::SnapshotGroupState::Creating
        } else {
            model::SnapshotGroupState::Normal
        });
        g.snapshot_id_set = Some(record.snapshot_ids.clone());
        g.percent = Some(percent);
        g.contain_root_snapshot = Some(root);
        g.create_time = Some(clock::iso(record.created_ms));
        g.modify_time = Some(clock::iso(record.modified_ms));
        g.images = Some(Vec::new());
        g.image_count = Some(0);
        g.is_permanent = Some(true);
        g
    }

    pub(crate) fn remote_view(&self, record: &RemoteDisk) -> model::RemoteDiskDetail {
        let state = match (&record.instance_id, record.terminated) {
            (_, true) => "TERMINATED",
            (Some(_), _) => "ATTACHED",
            (None, _) => "UNATTACHED",
        };
        let mut r = model::RemoteDiskDetail::default();
        r.remote_disk_id = Some(record.id.clone());
        r.remote_disk_name = Some(record.name.clone());
        r.remote_disk_state = Some(state.to_owned());
        r.remote_disk_type = Some("CLOUD_PREMIUM".to_owned());
        r.disk_size = Some(record.size_gb);
        r.disk_charge_type = Some(record.charge_type.as_str().into());
        r.renew_flag = Some(record.renew_flag.as_str().into());
        r.instance_id = record.instance_id.clone();
        r.placement = Some(placement(&record.zone, record.project_id));
        r.create_time = Some(clock::iso(record.created_ms));
        r.deadline_time = record.deadline_ms.map(clock::iso);
        r
    }
}

pub(crate) fn schedule_view(schedule: &Schedule) -> model::Policy {
    let mut p = model::Policy::default();
    p.hour = Some(schedule.hours.clone());
    p.day_of_week = Some(schedule.days_of_week.clone());
    p.day_of_month = Some(schedule.days_of_month.clone());
    p.interval_days = schedule.interval_days;
    p
}
