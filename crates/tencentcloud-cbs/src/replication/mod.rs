//! Disaster-recovery replication for a fleet of disks: a [`Policy`] says which disks'
//! snapshots to keep in which other regions and for how long; [`Replication`] plans,
//! applies, checks the recovery point and rehearses a restore.
//!
//! - **No ledger.** A replica is named after its source snapshot, source region and the
//!   source's time ([`ReplicaName`]); every run starts from what the regions list, so a
//!   run killed at any moment is finished by the next.
//! - **Exactly once.** Before copying, a run looks for the replica by name and at the
//!   source's `CopyingToRegions`; `ResourceInUse.CopySnapshotConflict` means "already in
//!   flight" and is waited for; a copy whose answer was lost is never sent again on a
//!   guess: the regions are asked what happened.
//! - **Safe retention.** Only snapshots whose names are replica names are ever deleted,
//!   only when pruning is asked for, never the newest `NORMAL` replica of a disk.
//! - **Near the limits.** One copy call per source snapshot for all its destinations,
//!   paced by the client's rate limit (20/s); no cap on copies in flight of its own
//!   (a destination is slowed only when the service says it is busy or full, or the
//!   policy sets a cap); waiting polls one `DescribeSnapshots` per destination per
//!   round for up to 100 replicas.
//! - **A bad day stays local.** A region that refuses or cannot be reached fails its
//!   own items with the service's code and request id; the other regions and rules go
//!   on. Throttling is waited out, with growing pauses, until the run's deadline.
//! - **A recovery account.** A rule's [`share_with`](Rule::share_with) shares every
//!   kept replica, once `NORMAL`, with other accounts (looked up before sharing, so
//!   exactly once; ended before a replica is pruned). That account then checks and
//!   rehearses restores with its own keys only: [`Replication::check_as_receiver`] and
//!   [`Replication::drill_as_receiver`] take a second [`Client`].
//!
//! ```no_run
//! # async fn run(client: tencentcloud_cbs::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use tencentcloud_cbs::replication::{Policy, Rule};
//!
//! let policy = Policy::new(vec![
//!     Rule::new("prod", "ap-guangzhou", ["ap-beijing", "ap-shanghai"])
//!         .disk_name_pattern("prod-*")
//!         .keep(3),
//! ])?;
//! let replication = client.replication(policy).prune(true);
//! let plan = replication.plan().await?;
//! println!("{} copies to start", plan.totals().copies);
//! let report = replication.apply().await?;
//! println!("{} of {} items fine", report.succeeded(), report.items.len());
//! let rpo = replication.check(Duration::from_secs(24 * 3600)).await?;
//! assert!(rpo.is_ok());
//! # Ok(())
//! # }
//! ```
//!
//! From the recovery account, with none of the owner's keys:
//!
//! ```no_run
//! # async fn run(owner: tencentcloud_cbs::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use tencentcloud_cbs::replication::{Policy, Rule};
//! use tencentcloud_cbs::{Client, Credentials};
//!
//! let policy = Policy::new(vec![
//!     Rule::new("prod", "ap-guangzhou", ["ap-beijing"])
//!         .disk_ids(["disk-aaaa1111"])
//!         .share_with(["100001122000"]),
//! ])?;
//! let recovery = Client::builder()
//!     .region("ap-beijing")
//!     .credentials(Credentials::new("AKIDrecovery", "recovery-secret"))
//!     .build()?;
//! let replication = owner.replication(policy);
//! let rpo = replication
//!     .check_as_receiver(&recovery, Duration::from_secs(24 * 3600))
//!     .await?;
//! let drill = replication.drill_as_receiver(&recovery, "ap-beijing", false).await?;
//! println!("{} ok, {} restored", rpo.is_ok(), drill.succeeded());
//! # Ok(())
//! # }
//! ```

mod apply;
mod check;
mod drill;
mod name;
mod observe;
mod plan;
mod policy;
#[cfg(feature = "policy-file")]
mod policy_file;
mod prune;
mod report;
mod run;
mod share;
mod start;
mod wait;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

pub use check::{RpoItem, RpoReport};
pub use drill::{DrillItem, DrillReport};
pub use name::{MAX_SNAPSHOT_NAME_CHARS, REPLICA_NAME_PREFIX, ReplicaName};
pub use plan::{
    DestinationPlan, Plan, PlanAction, PlanItem, PlanTotals, PruneReason, QuotaSource,
    estimated_snapshot_quota,
};
pub use policy::{MAX_SHARE_ACCOUNTS, Policy, PolicyError, Rule, Selection};
pub use report::{ItemFailure, Outcome, Report, ReportItem};

use run::Run;

use crate::{Client, Clock, Error, SystemClock};

/// What a run reports as it goes, for progress displays and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplicationEvent {
    /// The plan the run starts from.
    Planned {
        /// Its counts.
        totals: PlanTotals,
    },
    /// A copy call is being sent.
    CopyStarted {
        /// The source snapshot.
        source_snapshot_id: String,
        /// The destinations it carries.
        destinations: Vec<String>,
    },
    /// Where one destination stands.
    Progress {
        /// The destination.
        destination: String,
        /// Replicas `NORMAL`.
        done: usize,
        /// Items given up on.
        failed: usize,
        /// Copies in flight.
        in_flight: usize,
        /// Items in all.
        total: usize,
    },
    /// An item is final (so far: pruning).
    Finished(ReportItem),
}

type EventFn = Arc<dyn Fn(&ReplicationEvent) + Send + Sync>;

/// How long a run may take unless told otherwise: generous, so that copies of large
/// disks and long spells of throttling are waited out.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(6 * 3600);

/// Plans and carries out a [`Policy`]; start one with [`Client::replication`].
#[derive(Clone)]
pub struct Replication {
    client: Client,
    policy: Policy,
    prune: bool,
    poll_min: Duration,
    poll_max: Duration,
    deadline: Duration,
    snapshot_quota: Option<u64>,
    clock: Arc<dyn Clock>,
    on_event: Option<EventFn>,
}

impl fmt::Debug for Replication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replication")
            .field("policy", &self.policy)
            .field("prune", &self.prune)
            .field("poll_min", &self.poll_min)
            .field("poll_max", &self.poll_max)
            .field("deadline", &self.deadline)
            .field("snapshot_quota", &self.snapshot_quota)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Replication of `policy` with this client (its region does not matter: each rule
    /// names its regions).
    pub fn replication(&self, policy: Policy) -> Replication {
        Replication {
            client: self.clone(),
            policy,
            prune: false,
            poll_min: Duration::from_secs(5),
            poll_max: Duration::from_secs(60),
            deadline: DEFAULT_DEADLINE,
            snapshot_quota: None,
            clock: Arc::new(SystemClock),
            on_event: None,
        }
    }
}

impl Replication {
    /// Deletes what retention lets go for every rule (rules with `prune = true` do
    /// regardless). Off by default: a run then reports those replicas as `WouldPrune`.
    pub fn prune(mut self, prune: bool) -> Self {
        self.prune = prune;
        self
    }

    /// Waits between polls of copies in flight: from `min`, growing by half each round
    /// up to `max` (5 s to 60 s by default).
    pub fn poll_interval(mut self, min: Duration, max: Duration) -> Self {
        self.poll_min = min.max(Duration::from_millis(1));
        self.poll_max = max.max(self.poll_min);
        self
    }

    /// The most a run (apply, check or drill) may take, from its start
    /// ([`DEFAULT_DEADLINE`], 6 hours, unless set). Throttled calls are tried again
    /// until then; no new copy starts after it; what is still in flight is reported
    /// `Incomplete`, and the next run adopts it. A drill still removes the disks it made.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The destinations' snapshot quota (how many snapshots a region may hold), when
    /// you know it: the API does not report it. With it, `apply` starts no copy that
    /// would not fit, and reports those as failed with `InsufficientSnapshotQuota`
    /// before sending anything; without it, plans show an estimate
    /// ([`estimated_snapshot_quota`]) and `apply` learns the limit from the first
    /// refusal, starting no further copy to that destination.
    pub fn snapshot_quota(mut self, quota: Option<u64>) -> Self {
        self.snapshot_quota = quota;
        self
    }

    /// The clock ages are measured with (the system clock by default).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Called with every [`ReplicationEvent`].
    pub fn on_event(mut self, f: impl Fn(&ReplicationEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(f));
        self
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// What [`apply`](Self::apply) would do now, per item and per destination (transfer,
    /// holdings, quota). Only reads. A region that cannot be listed shows as
    /// [`PlanAction::Unavailable`] items; the rest of the plan is whole.
    pub async fn plan(&self) -> Result<Plan, Error> {
        let run = Run::start(&self.client, self.deadline).await?;
        Ok(self.plan_with(&run).await)
    }

    async fn plan_with(&self, run: &Run) -> Plan {
        let look = observe::Look {
            count_disks: self.snapshot_quota.is_none(),
            shares: true,
        };
        let observation = self.observe(run, look).await;
        plan::plan(
            &self.policy,
            &observation,
            self.now_unix(),
            self.snapshot_quota,
        )
    }

    async fn observe(&self, run: &Run, look: observe::Look) -> observe::Observation {
        observe::observe(run, &self.policy, look).await
    }

    fn now_unix(&self) -> i64 {
        self.clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }

    fn emit(&self, event: ReplicationEvent) {
        if let Some(f) = &self.on_event {
            f(&event);
        }
    }
}
