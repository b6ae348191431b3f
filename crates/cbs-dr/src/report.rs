//! What the workflows report, as plain data: a run's items (one per (source snapshot,
//! destination), per share (replica, account), per pruned replica, per disk without a
//! snapshot or whose replicas cannot be shared, per region that could not be reached),
//! where each disk stands (the RPO items), a plan's counts, and why an item failed.
//! Nothing here calls anything, so every other module can use it.

use std::time::Duration;

use tencentcloud_cbs::{Error, ErrorChain, TransportErrorKind};

/// What happened to one item.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// This run started the copy and it is `NORMAL`.
    Copied,
    /// A copy already in flight (or one the service said was) finished; none was sent.
    Adopted,
    /// The replica was there before the run.
    UpToDate,
    /// The replica was deleted by retention.
    Pruned,
    /// Retention would delete the replica; pruning was not asked for.
    WouldPrune,
    /// The disk has no snapshot to replicate.
    NoSnapshot,
    /// It failed; see the item's failure.
    Failed,
    /// Still in flight when the run stopped waiting.
    Incomplete,
    /// This run shared the replica with the item's account.
    Shared,
    /// The replica was shared with the item's account before the run.
    AlreadyShared,
    /// This run ended the replica's share with the item's account, before pruning it.
    Unshared,
    /// The rule selects no disk: nothing to do, worth a warning.
    NoDisks,
    /// The replica was there and kept; this run bound the tags it lacked.
    Tagged,
}

impl Outcome {
    /// `copied`, `adopted`, `up_to_date`, `pruned`, `would_prune`, `no_snapshot`,
    /// `failed`, `incomplete`, `shared`, `already_shared`, `unshared`, `no_disks`,
    /// `tagged`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Copied => "copied",
            Outcome::Adopted => "adopted",
            Outcome::UpToDate => "up_to_date",
            Outcome::Pruned => "pruned",
            Outcome::WouldPrune => "would_prune",
            Outcome::NoSnapshot => "no_snapshot",
            Outcome::Failed => "failed",
            Outcome::Incomplete => "incomplete",
            Outcome::Shared => "shared",
            Outcome::AlreadyShared => "already_shared",
            Outcome::Unshared => "unshared",
            Outcome::NoDisks => "no_disks",
            Outcome::Tagged => "tagged",
        }
    }

    /// Whether the item ended as the policy wants.
    pub fn is_success(self) -> bool {
        matches!(
            self,
            Outcome::Copied
                | Outcome::Adopted
                | Outcome::UpToDate
                | Outcome::Pruned
                | Outcome::WouldPrune
                | Outcome::Shared
                | Outcome::AlreadyShared
                | Outcome::Unshared
                | Outcome::NoDisks
                | Outcome::Tagged
        )
    }
}

/// Why an item failed, as the service said it.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ItemFailure {
    /// The error code (`InsufficientSnapshotQuota`, …), or a code of this tool's where
    /// the service gave none: `Timeout`, `NetworkError`, `InvalidResponse`,
    /// `CredentialsError`, `InvalidInput`, `NoSnapshot`, `NoReplica`, `SourceGone`,
    /// `NoDisks`, `InvalidDiskId.NotFound` (a disk named by id that does not exist),
    /// `ReplicaFailed`, `NotShareable`, `ReplicaNotReady`.
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// The request id of the call that failed, when there was one.
    pub request_id: Option<String>,
}

impl ItemFailure {
    pub(crate) fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ItemFailure {
            code: code.into(),
            message: message.into(),
            request_id: None,
        }
    }

    /// A disk the rule names by id that its source region does not have.
    pub(crate) fn no_such_disk(disk_id: &str, region: &str) -> Self {
        ItemFailure::new(
            "InvalidDiskId.NotFound",
            format!("{disk_id} does not exist in {region}"),
        )
    }

    /// A rule that selects no disk.
    pub(crate) fn no_disks(rule: &str, region: &str) -> Self {
        ItemFailure::new(
            "NoDisks",
            format!("rule {rule} selects no disk in {region}: check its disk_ids and disk_name"),
        )
    }

    pub(crate) fn of_error(error: &Error) -> Self {
        // Where the service gave no code, a word for what went wrong on the way.
        let kind = || match error {
            Error::Timeout(_) => "Timeout",
            Error::Transport(e) if e.kind() == TransportErrorKind::Timeout => "Timeout",
            Error::Transport(_) => "NetworkError",
            Error::Decode(_) => "InvalidResponse",
            Error::Credentials(_) => "CredentialsError",
            _ => "InvalidInput",
        };
        ItemFailure {
            code: error
                .code()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_else(|| kind().to_owned()),
            // The code and the request id have fields of their own: the message does not
            // repeat them (an API error's `Display` would).
            message: match error {
                Error::Api(api) => format!("{}: {}", api.context(), api.message()),
                other => ErrorChain(other).to_string(),
            },
            request_id: error.request_id().map(str::to_owned),
        }
    }
}

/// One line of a run's report.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReportItem {
    /// The rule.
    pub rule: String,
    /// The source disk.
    pub disk_id: String,
    /// The source region.
    pub source_region: String,
    /// The source snapshot.
    pub source_snapshot_id: Option<String>,
    /// The destination region.
    pub destination: Option<String>,
    /// The replica.
    pub replica_id: Option<String>,
    /// The replica's last known state (`NORMAL`, `COPYING_FROM_REMOTE`, …).
    pub state: Option<String>,
    /// The size in GB.
    pub size_gb: u64,
    /// What happened.
    #[cfg_attr(feature = "serde", serde(rename = "action"))]
    pub outcome: Outcome,
    /// Whether this run sent the copy (whatever became of it).
    pub copy_started: bool,
    /// For a share item, the account shared with (or no longer).
    pub account: Option<String>,
    /// Whether this run bound tags to the replica (its lineage, inventory and the
    /// source's own tags).
    pub tagged: bool,
    /// Something the item did not get that the policy asks for without failing it (tags
    /// the replica cannot carry), in words.
    pub warning: Option<String>,
    /// Why it failed.
    #[cfg_attr(feature = "serde", serde(rename = "error"))]
    pub failure: Option<ItemFailure>,
}

/// What a run did, item by item.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Every item, in plan order.
    pub items: Vec<ReportItem>,
    /// Whether every item ended as the policy wants, the final look at the regions
    /// found nothing left to copy or wait for, and every share the rules ask for was
    /// made (or was there).
    pub converged: bool,
    /// Where each selected disk stands in each destination after the run, from the
    /// final look (newest `NORMAL` replica, its age, replicas held): what metrics and
    /// alerts are made of.
    pub recovery_points: Vec<RpoItem>,
}

impl Report {
    /// Items that ended as the policy wants.
    pub fn succeeded(&self) -> usize {
        self.items.iter().filter(|i| i.outcome.is_success()).count()
    }

    /// Items that did not.
    pub fn failed(&self) -> usize {
        self.items.len() - self.succeeded()
    }

    /// How many items ended with `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.items.iter().filter(|i| i.outcome == outcome).count()
    }
}

/// Counts and sizes of a plan.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlanTotals {
    /// Copies to start.
    pub copies: usize,
    /// Their size in GB.
    pub copy_gb: u64,
    /// Copies in flight, to wait for.
    pub in_flight: usize,
    /// Replicas already there.
    pub up_to_date: usize,
    /// Replicas to prune.
    pub prunes: usize,
    /// Their size in GB.
    pub prune_gb: u64,
    /// Disks without a snapshot to replicate.
    pub no_snapshot: usize,
    /// Disks named by id that do not exist.
    pub no_such_disk: usize,
    /// Rules that select no disk.
    pub no_disks: usize,
    /// Shares to make (replica, account).
    pub shares: usize,
    /// Shares already there.
    pub shared: usize,
    /// Replicas whose shares end before they are pruned.
    pub unshares: usize,
    /// Disks whose replicas cannot be shared (system disks).
    pub not_shareable: usize,
    /// Items that fail because a region could not be listed.
    pub unavailable: usize,
    /// Kept replicas that lack tags they should carry.
    pub to_tag: usize,
}

/// Where one (disk, destination) stands: its newest usable replica and how old its
/// data is. An RPO check's line, and what a run's metrics are made of.
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RpoItem {
    /// The rule.
    pub rule: String,
    /// The source disk (`*` for a rule whose source region could not be listed).
    pub disk_id: String,
    /// The destination region.
    pub destination: String,
    /// The newest `NORMAL` replica there, if any.
    pub replica_id: Option<String>,
    /// How old its data is (since the source snapshot was taken).
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "data_age_secs",
            serialize_with = "crate::json::whole_seconds"
        )
    )]
    pub data_age: Option<Duration>,
    /// This tool's `NORMAL` replicas of the disk held there.
    pub replicas: usize,
    /// Accounts of the rule's `share_with` the newest replica is not shared with (a
    /// check from the owning side looks; a run's own report only knows what its
    /// final listing says).
    pub unshared: Vec<String>,
    /// `NORMAL` replicas of the pair that lack some of the tags they should carry
    /// (lineage, inventory, the source's own); counted by a check from the owning side
    /// that could read the destination, `None` otherwise (the receiving side cannot
    /// count them: the tags are the owner's, and the source disks it would compare
    /// with are out of its sight; a run's own report does not count them).
    pub untagged: Option<usize>,
    /// The tags of the newest replica among those it should carry, as `(key, value)`
    /// (filled by the check from the owning side; a run's own report leaves them
    /// out).
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::tag_map"))]
    pub tags: Vec<(String, String)>,
    /// Whether a replica exists, its data is within the limit (for a run's own
    /// report, which has no limit: whether a replica exists) and it is shared with
    /// every account the rule names.
    pub ok: bool,
    /// Why the region could not be looked at; the pair then counts as not ok.
    #[cfg_attr(feature = "serde", serde(rename = "error"))]
    pub failure: Option<ItemFailure>,
}

/// The result of [`Replication::check`](crate::Replication::check).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RpoReport {
    /// Every (disk, destination), in policy order.
    pub items: Vec<RpoItem>,
    /// The limit checked against.
    pub max_age: Duration,
    /// Disks drills left in the destinations (killed before they could clean up),
    /// billed until removed; the next drill there removes them.
    pub leftovers: Vec<LeftoverDisk>,
}

impl RpoReport {
    /// The (disk, destination) pairs without a young enough replica, or that could not
    /// be looked at.
    pub fn offenders(&self) -> impl Iterator<Item = &RpoItem> {
        self.items.iter().filter(|i| !i.ok)
    }

    /// Whether every pair is within the limit.
    pub fn is_ok(&self) -> bool {
        self.offenders().next().is_none()
    }
}

/// A disk a drill made and did not remove (the drill was killed, or could not delete
/// it).
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct LeftoverDisk {
    /// The region it is in.
    pub region: String,
    /// The disk.
    pub disk_id: String,
    /// Its name (`tccbs-drill-…`).
    pub name: String,
    /// Its size in GB.
    pub size_gb: u64,
    /// Its type (`CLOUD_PREMIUM`, …).
    pub disk_type: Option<String>,
    /// Whether it is attached to an instance: somebody uses it, so a sweep leaves it.
    pub attached: bool,
    /// What a pay-as-you-go disk of its type and size costs by the hour, as
    /// `InquiryPriceCreateDisks` says (`None`: not asked, or no answer).
    pub hourly_price: Option<f64>,
    /// Whether a sweep removed it.
    pub removed: bool,
    /// Why a sweep did not remove it.
    #[cfg_attr(feature = "serde", serde(rename = "error"))]
    pub failure: Option<ItemFailure>,
}

impl LeftoverDisk {
    /// The command that deletes it.
    pub fn delete_command(&self) -> String {
        delete_command(&self.region, &self.disk_id)
    }
}

/// The command that deletes a disk a drill left.
pub(crate) fn delete_command(region: &str, disk_id: &str) -> String {
    format!("tccbs --region {region} cbs TerminateDisks --DiskIds '[\"{disk_id}\"]'")
}
