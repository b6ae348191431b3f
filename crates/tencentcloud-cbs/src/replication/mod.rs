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
//!   paced by the client's rate limit (20/s); a cap on copies in flight per destination;
//!   waiting polls one `DescribeSnapshots` per destination per round for up to 100
//!   replicas.
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

mod apply;
mod check;
mod drill;
mod name;
mod observe;
mod plan;
mod policy;
#[cfg(feature = "policy-file")]
mod policy_file;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

pub use apply::{ItemFailure, Outcome, Report, ReportItem};
pub use check::{RpoItem, RpoReport};
pub use drill::{DrillItem, DrillReport};
pub use name::{MAX_SNAPSHOT_NAME_CHARS, REPLICA_NAME_PREFIX, ReplicaName};
pub use plan::{Plan, PlanAction, PlanItem, PlanTotals, PruneReason};
pub use policy::{DEFAULT_MAX_IN_FLIGHT_PER_REGION, Policy, PolicyError, Rule, Selection};

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

/// Plans and carries out a [`Policy`]; start one with [`Client::replication`].
#[derive(Clone)]
pub struct Replication {
    client: Client,
    policy: Policy,
    prune: bool,
    poll_min: Duration,
    poll_max: Duration,
    max_wait: Duration,
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
            .field("max_wait", &self.max_wait)
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
            max_wait: Duration::from_secs(6 * 3600),
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

    /// The longest a run waits for copies (6 hours by default); what is still in flight
    /// then is reported `Incomplete`, and the next run adopts it.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
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

    /// What [`apply`](Self::apply) would do now. Only reads.
    pub async fn plan(&self) -> Result<Plan, Error> {
        Ok(self.observe_and_plan().await?.0)
    }

    async fn observe_and_plan(&self) -> Result<(Plan, observe::Observation), Error> {
        let observation = observe::observe(&self.client, &self.policy).await?;
        let plan = plan::plan(&self.policy, &observation, self.now_unix());
        Ok((plan, observation))
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
