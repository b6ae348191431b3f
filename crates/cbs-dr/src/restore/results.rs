//! What a restore reports: per disk, per instance, per group, per zone, and for the
//! run; and what a clean-up reports.

use std::time::Duration;

use crate::report::ItemFailure;

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
    /// The run's name (its disks carry it in [`RUN_TAG`](crate::RUN_TAG)).
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
