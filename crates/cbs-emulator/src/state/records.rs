//! What the emulated cloud holds: one record per resource, as the state file stores it.
//!
//! Times are emulated Unix milliseconds. A resource in transition (a snapshot being
//! created or copied, a disk rolling back) keeps when the transition started and how
//! long it takes, and its state at any moment is computed from that, so nothing has to
//! run in the background.

use serde::{Deserialize, Serialize};

/// Something that takes time: a state until `started_ms + duration_ms`, then done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Transition {
    /// The state meanwhile (`CREATING`, `COPYING_FROM_REMOTE`, `ROLLBACKING`, …).
    pub state: String,
    pub started_ms: u64,
    pub duration_ms: u64,
}

impl Transition {
    pub(crate) fn new(state: &str, started_ms: u64, duration_ms: u64) -> Self {
        Transition {
            state: state.to_owned(),
            started_ms,
            duration_ms,
        }
    }

    /// The state and percent at `now`, or `None` once done.
    pub(crate) fn at(&self, now_ms: u64) -> Option<(&str, u64)> {
        let elapsed = now_ms.saturating_sub(self.started_ms);
        (elapsed < self.duration_ms).then(|| {
            (
                self.state.as_str(),
                (elapsed * 100 / self.duration_ms.max(1)).min(99),
            )
        })
    }
}

/// A CVM instance disks attach to: the emulator knows them by id and zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Instance {
    pub id: String,
    pub region: String,
    pub zone: String,
}

/// A tag, key and value.
pub(crate) type Tag = (String, String);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Disk {
    pub id: String,
    pub region: String,
    pub zone: String,
    pub name: String,
    pub size_gb: u64,
    pub disk_type: String,
    pub usage: String,
    pub charge_type: String,
    pub renew_flag: String,
    pub project_id: u64,
    pub created_ms: u64,
    /// When a prepaid disk runs out.
    pub deadline_ms: Option<u64>,
    pub portable: bool,
    pub shareable: bool,
    pub encrypt: bool,
    pub delete_with_instance: bool,
    pub throughput_performance: u64,
    pub burst_performance: bool,
    pub backup_quota: u64,
    pub instance_id: Option<String>,
    pub attach_mode: Option<String>,
    /// In the recycle bin (`TORECYCLE`), after `TerminateDisks`.
    pub recycled: bool,
    /// A rollback in progress.
    pub rollback: Option<Transition>,
    pub tags: Vec<Tag>,
    pub seq: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Snapshot {
    pub id: String,
    pub region: String,
    pub zone: String,
    pub name: String,
    /// The disk it was taken of; a copy keeps its source's.
    pub disk_id: String,
    pub disk_size_gb: u64,
    pub disk_usage: String,
    pub encrypt: bool,
    pub permanent: bool,
    pub deadline_ms: Option<u64>,
    pub created_ms: u64,
    pub modified_ms: u64,
    /// Creating or copying, until done.
    pub progress: Option<Transition>,
    /// `(source snapshot, source region)` of a cross-region copy.
    pub copied_from: Option<(String, String)>,
    /// The auto snapshot policy that made it.
    pub policy_id: Option<String>,
    /// The snapshot group it belongs to.
    pub group_id: Option<String>,
    /// `(account, since)` it is shared with.
    pub shared_with: Vec<(String, u64)>,
    pub local: bool,
    pub tags: Vec<Tag>,
    pub seq: u64,
}

/// One schedule of an auto snapshot policy, as `Policy` has it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Schedule {
    pub hours: Vec<u64>,
    /// 0 (Sunday) to 6.
    pub days_of_week: Vec<u64>,
    /// 1 to 31.
    pub days_of_month: Vec<u64>,
    pub interval_days: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Policy {
    pub id: String,
    pub region: String,
    pub name: String,
    pub schedules: Vec<Schedule>,
    pub activated: bool,
    pub permanent: bool,
    /// Days an auto snapshot is kept (0: as long as `permanent` says).
    pub retention_days: u64,
    pub disk_ids: Vec<String>,
    pub created_ms: u64,
    /// The hour (emulated ms, on the hour) the policy was last run for.
    pub last_run_ms: u64,
    pub copy_from_account: Option<String>,
    pub tags: Vec<Tag>,
    pub seq: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Backup {
    pub id: String,
    pub region: String,
    pub disk_id: String,
    pub disk_size_gb: u64,
    pub disk_usage: String,
    pub name: String,
    pub encrypt: bool,
    pub created_ms: u64,
    pub progress: Option<Transition>,
    pub seq: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Group {
    pub id: String,
    pub region: String,
    pub name: String,
    pub snapshot_ids: Vec<String>,
    pub created_ms: u64,
    pub modified_ms: u64,
    pub seq: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct RemoteDisk {
    pub id: String,
    pub region: String,
    pub zone: String,
    pub name: String,
    pub size_gb: u64,
    pub charge_type: String,
    pub renew_flag: String,
    pub project_id: u64,
    pub instance_id: Option<String>,
    pub created_ms: u64,
    pub deadline_ms: Option<u64>,
    pub terminated: bool,
    pub seq: u64,
}
