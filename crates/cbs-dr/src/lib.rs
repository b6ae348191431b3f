//! Disaster recovery for fleets of Tencent Cloud CBS disks, on the
//! [`tencentcloud-cbs`](tencentcloud_cbs) client: a [`Policy`] says which disks'
//! snapshots to keep in which other regions and for how long; [`Replication`] plans,
//! applies, checks the recovery point, and on the recovery day rebuilds the fleet in
//! another region ([`Replication::restore`]), a rehearsal of which is a drill.
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
//! - **Replicas carry their inventory.** Each kept replica is tagged, through the Tag
//!   service, with its lineage and its source disk's make-up (type, size, zone, usage,
//!   instance, name: keys under [`TAG_PREFIX`], read back with [`Inventory::from_tags`]) and the
//!   source's own tags, so a restore needs nothing from the source region; only
//!   missing tags are bound, replicas lacking the same ones in one call.
//! - **A recovery account.** A rule's [`share_with`](Rule::share_with) shares every
//!   kept replica, once `NORMAL`, with other accounts (looked up before sharing, so
//!   exactly once; ended before a replica is pruned). That account then checks and
//!   rehearses restores with its own keys only: [`Replication::check_as_receiver`] and
//!   [`Replication::drill_as_receiver`] take a second [`Client`].
//! - **The recovery day.** [`Replication::restore`] reads only the region restored into:
//!   each disk from its newest replica (or the newest before a time), an instance's
//!   disks from one moment, created once per run (`ClientToken` and a look-up by the
//!   run's tag), attached to standby instances in their order, group by group
//!   ([`Wave`]); the report gives each disk's recovery point and the run's recovery
//!   time. A drill ([`Replication::drill_with`]) runs the same restore and removes it.
//!
//! How the code reads: [`Replication`] (this file) holds the settings; each workflow is
//! a module (`apply`, `check`, `drill`, `plan`, `restore`) that a newcomer reads top to
//! bottom.
//! `apply` orchestrates phases (`start`, `wait`, `tagging`, `share`, `prune`), each a function over
//! the run's state (`state`) and the run itself (`run`: client, deadline, events).
//! Everything starts from what the regions report (`observe`).
//!
//! ```no_run
//! # async fn run(client: tencentcloud_cbs::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use cbs_dr::{Policy, Replication, Rule};
//!
//! let policy = Policy::new(vec![
//!     Rule::new("prod", "ap-guangzhou", ["ap-beijing", "ap-shanghai"])
//!         .disk_name_pattern("prod-*")
//!         .keep(3),
//! ])?;
//! let replication = Replication::new(&client, policy).prune(true);
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
//! use cbs_dr::{Policy, Replication, Rule};
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
//! let replication = Replication::new(&owner, policy);
//! let rpo = replication
//!     .check_as_receiver(&recovery, Duration::from_secs(24 * 3600))
//!     .await?;
//! let drill = replication.drill_as_receiver(&recovery, "ap-beijing", false).await?;
//! println!("{} ok, {} restored", rpo.is_ok(), drill.succeeded());
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod apply;
mod check;
mod disks;
mod drill;
mod inventory;
#[cfg(feature = "serde")]
mod json;
mod name;
mod observe;
mod plan;
mod policy;
#[cfg(feature = "policy-file")]
mod policy_file;
mod prune;
mod report;
mod restore;
mod run;
mod share;
mod start;
mod state;
mod tagging;
#[cfg(test)]
mod testing;
mod wait;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use drill::{DrillItem, DrillReport, INTERRUPTED_CLEANUP_BUDGET};
pub use inventory::{Inventory, TAG_PREFIX};
pub use name::{
    MAX_SNAPSHOT_NAME_CHARS, REPLICA_NAME_PREFIX, ReplicaName, format_time, parse_time,
};
pub use plan::{
    DestinationPlan, Plan, PlanAction, PlanItem, PruneReason, QuotaSource, estimated_snapshot_quota,
};
pub use policy::{
    MAX_RULE_NAME_CHARS, MAX_SHARE_ACCOUNTS, Policy, PolicyError, Rule, Selection, Wave,
};
pub use report::{
    ItemFailure, LeftoverDisk, Outcome, PlanTotals, Report, ReportItem, RpoItem, RpoReport,
};
pub use restore::{
    CleanupItem, CleanupReport, DEFAULT_CONSISTENCY_WINDOW, InstanceGroup, MAX_RUN_NAME_CHARS,
    RESTORED_FROM_TAG, RUN_TAG, Restore, RestoreItem, RestoreOutcome, RestoreReport, WaveOutcome,
    WaveReport, ZoneOffer,
};
pub use run::{DEFAULT_DEADLINE, ReplicationEvent};

#[cfg(feature = "policy-file")]
#[cfg_attr(docsrs, doc(cfg(feature = "policy-file")))]
pub use policy_file::{restore_order_from_toml, standby_from_toml};

/// How long a look at a destination vouches for a replica not being there, unless
/// [`Replication::look_again_after`] says otherwise: shorter than a cross-region copy
/// of even a small snapshot takes (minutes, in practice; the API documents no
/// minimum), and long enough that a fleet's first copies, sent as fast as the rate
/// limit allows right after the plan, need few second looks.
pub const DEFAULT_FRESH_FOR: Duration = Duration::from_secs(15);

use run::{EventFn, Run};
use tencentcloud_cbs::{Client, Clock, Error, SystemClock};

/// Plans and carries out a [`Policy`] with a [`Client`].
#[derive(Clone)]
pub struct Replication {
    client: Client,
    policy: Policy,
    prune: bool,
    poll_min: Duration,
    poll_max: Duration,
    deadline: Duration,
    snapshot_quota: Option<u64>,
    fresh_for: Duration,
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
            .field("fresh_for", &self.fresh_for)
            .finish_non_exhaustive()
    }
}

impl Replication {
    /// Replication of `policy` with `client` (its region does not matter: each rule
    /// names its regions).
    pub fn new(client: &Client, policy: Policy) -> Self {
        Replication {
            client: client.clone(),
            policy,
            prune: false,
            poll_min: Duration::from_secs(5),
            poll_max: Duration::from_secs(60),
            deadline: DEFAULT_DEADLINE,
            snapshot_quota: None,
            fresh_for: DEFAULT_FRESH_FOR,
            clock: Arc::new(SystemClock),
            on_event: None,
        }
    }

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

    /// How long a look at a destination vouches for a replica not being there
    /// ([`DEFAULT_FRESH_FOR`] unless set): a copy planned on an older look (one that
    /// waited behind a cap, the rate limit or a busy destination) is looked for again
    /// first, and adopted if a run overlapping this one made it meanwhile. Keep it
    /// shorter than your copies take; a duplicate that still happens (a copy finished
    /// within it) is deleted by the run that made it.
    pub fn look_again_after(mut self, fresh_for: Duration) -> Self {
        self.fresh_for = fresh_for;
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

    /// Whether a run with these settings deletes the replica of `item` (a
    /// [`Prune`](PlanAction::Prune) item of a plan): pruning was asked for
    /// ([`prune`](Self::prune)), or the item's rule prunes on every run.
    pub fn prunes(&self, item: &PlanItem) -> bool {
        prune::deletes(&self.policy, self.prune, item)
    }

    /// What [`apply`](Self::apply) would do now, per item and per destination (transfer,
    /// holdings, quota). Only reads. A region that cannot be listed shows as
    /// [`PlanAction::Unavailable`] items; the rest of the plan is whole.
    pub async fn plan(&self) -> Result<Plan, Error> {
        let run = self.start(&self.client).await?;
        Ok(plan::look_and_plan(&run, &self.policy, self.snapshot_quota).await)
    }

    /// Carries the policy out: copies what is missing, waits for every copy, then
    /// prunes (if asked) what retention lets go. Safe to run again at any moment, from
    /// any point of an earlier run: it starts from what the regions report.
    ///
    /// A region that cannot be reached or refuses (a CAM policy, an outage) fails its
    /// own items, with the service's code and request id; every other region goes on.
    /// Throttling is waited out until the [deadline](Self::deadline).
    pub async fn apply(&self) -> Result<Report, Error> {
        let run = self.start(&self.client).await?;
        let settings = apply::Settings {
            policy: &self.policy,
            prune: self.prune,
            snapshot_quota: self.snapshot_quota,
            fresh_for: self.fresh_for,
        };
        Ok(apply::apply(&run, &settings).await)
    }

    /// Checks that every selected disk has, in every destination, a `NORMAL` replica
    /// whose data is at most `max_age` old, shared with every account its rule's
    /// `share_with` names (looked up with `DescribeSnapshotSharePermission`).
    /// Read-only. A region that cannot be listed makes its pairs offenders, with the
    /// failure; the others are checked as usual.
    pub async fn check(&self, max_age: Duration) -> Result<RpoReport, Error> {
        let run = self.start(&self.client).await?;
        Ok(check::check(&run, &self.policy, max_age, false).await)
    }

    /// The recovery-point check from the receiving side: `receiver` is a client of an
    /// account the rules share replicas with, holding none of the owner's keys. Every
    /// selected disk must have, in every destination, a `NORMAL` replica shared with
    /// that account whose data is at most `max_age` old. Read-only.
    ///
    /// The receiver sees replicas, not the owner's disks: a rule's disks are its
    /// `disk_ids` and, for a rule naming disks by pattern, the disks of its source
    /// region with a replica shared in any of its destinations (name disks by id for a
    /// disk never shared at all to count as missing).
    pub async fn check_as_receiver(
        &self,
        receiver: &Client,
        max_age: Duration,
    ) -> Result<RpoReport, Error> {
        let run = self.start(receiver).await?;
        Ok(check::check(&run, &self.policy, max_age, true).await)
    }

    /// Rehearses the recovery day in `region`: every disk the policy replicates there
    /// is restored as [`restore`](Self::restore) would restore it (from the region
    /// alone, consistent per instance, in the policy's restore order, attached to the
    /// policy's standbys if it names any), into a run of the drill's own, and deleted
    /// again unless `keep`. The report carries that restore (its recovery time is the
    /// one the real day would see) and one item per disk.
    ///
    /// Calls wait throttling out; every disk is created with a `ClientToken` and found
    /// again by its run's tag after a lost answer (it creates nothing twice), and,
    /// unless `keep`, the drill finally removes every disk tagged with its run, so none
    /// is left behind. A disk it could not delete is in [`DrillItem::left_behind`].
    /// Replicas that do not say their type are restored as `CLOUD_PREMIUM`.
    pub async fn drill(&self, region: &str, keep: bool) -> Result<DrillReport, Error> {
        self.drill_until(region, keep, std::future::pending()).await
    }

    /// [`drill_until`](Self::drill_until) of what `request` selects, as it asks (its
    /// rules, disks, point in time, zone map, standbys, order); its run name is
    /// replaced by the drill's own.
    ///
    /// ```no_run
    /// # async fn run(replication: cbs_dr::Replication) -> Result<(), Box<dyn std::error::Error>> {
    /// let rehearsal = cbs_dr::Restore::new("ap-beijing", "unused")?
    ///     .standby("ins-src00001", "ins-dr000001");
    /// let report = replication.drill_with(&rehearsal, false, std::future::pending()).await?;
    /// println!("recovery time {:?}", report.restore.and_then(|r| r.rto));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn drill_with(
        &self,
        request: &Restore,
        keep: bool,
        stop: impl Future<Output = ()>,
    ) -> Result<DrillReport, Error> {
        let run = self.start(&self.client).await?;
        Ok(drill::drill(&run, &self.policy, request, keep, false, stop).await)
    }

    /// [`drill_as_receiver_until`](Self::drill_as_receiver_until) of what `request`
    /// selects, as [`drill_with`](Self::drill_with) is.
    pub async fn drill_as_receiver_with(
        &self,
        receiver: &Client,
        request: &Restore,
        keep: bool,
        stop: impl Future<Output = ()>,
    ) -> Result<DrillReport, Error> {
        let run = self.start(receiver).await?;
        Ok(drill::drill(&run, &self.policy, request, keep, true, stop).await)
    }

    /// The request a plain drill of `region` runs.
    fn drill_request(region: &str) -> Restore {
        Restore::new(region, "drill").expect("a valid run name")
    }

    /// [`drill`](Self::drill), stopped when `stop` completes (a signal, say): no more
    /// disks are restored, those made are removed within
    /// [`INTERRUPTED_CLEANUP_BUDGET`], and the report says it was
    /// [interrupted](DrillReport::interrupted).
    ///
    /// ```no_run
    /// # async fn run(replication: cbs_dr::Replication) -> Result<(), tencentcloud_cbs::Error> {
    /// let stop = async {
    ///     let _ = tokio::signal::ctrl_c().await;
    /// };
    /// let report = replication.drill_until("ap-beijing", false, stop).await?;
    /// if report.interrupted {
    ///     eprintln!("stopped; {} disks could not be removed", report.left_behind().count());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn drill_until(
        &self,
        region: &str,
        keep: bool,
        stop: impl Future<Output = ()>,
    ) -> Result<DrillReport, Error> {
        self.drill_with(&Self::drill_request(region), keep, stop)
            .await
    }

    /// The drill from the receiving side: `receiver` is a client of an account the
    /// rules share replicas with (their `share_with`), holding none of the owner's
    /// keys. The newest `NORMAL` replica shared with it of each disk in `region` is
    /// restored into a disk of the receiving account, waited for until usable, and
    /// deleted again unless `keep`, as [`drill`](Self::drill) does, proving that
    /// account can restore on its own.
    ///
    /// The receiver sees the replicas, not the owner's disks nor (the documentation
    /// does not say it does) their tags: a rule's disks are its `disk_ids` and, for a
    /// rule that names disks by pattern, every disk with a replica shared in the region
    /// whose inventory the receiver can read. Restored disks whose replicas do not say
    /// their type are `CLOUD_PREMIUM`.
    pub async fn drill_as_receiver(
        &self,
        receiver: &Client,
        region: &str,
        keep: bool,
    ) -> Result<DrillReport, Error> {
        self.drill_as_receiver_until(receiver, region, keep, std::future::pending())
            .await
    }

    /// [`drill_as_receiver`](Self::drill_as_receiver), stopped when `stop` completes,
    /// as [`drill_until`](Self::drill_until) is.
    pub async fn drill_as_receiver_until(
        &self,
        receiver: &Client,
        region: &str,
        keep: bool,
        stop: impl Future<Output = ()>,
    ) -> Result<DrillReport, Error> {
        self.drill_as_receiver_with(receiver, &Self::drill_request(region), keep, stop)
            .await
    }

    /// The recovery day: restores, in `request`'s region, every disk the policy
    /// replicates there (the request can narrow the rules and disks) as a new
    /// pay-as-you-go disk from its newest replica (or the newest taken at or before
    /// [`Restore::at`]), and waits until each is usable. Only that region is called:
    /// what each disk was comes from its replica's tags ([`Inventory`]).
    ///
    /// Safe to run again with the same [run name](Restore::new): disks the run made
    /// already are adopted, never made twice (each creation carries a `ClientToken` of
    /// the run and the replica, and the run's disks, tagged [`RUN_TAG`], are looked up
    /// first). A disk that fails does not stop the others.
    ///
    /// ```no_run
    /// # async fn run(replication: cbs_dr::Replication) -> Result<(), Box<dyn std::error::Error>> {
    /// let request = cbs_dr::Restore::new("ap-beijing", "dr-2026-12-07")?;
    /// let plan = replication.restore_plan(&request).await?;
    /// println!("{} disks, {:?} an hour", plan.items.len(), plan.hourly_price());
    /// let report = replication.restore(&request).await?;
    /// println!("restored {} in {:?}", report.succeeded(), report.rto);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn restore(&self, request: &Restore) -> Result<RestoreReport, Error> {
        let run = self.start(&self.client).await?;
        Ok(restore::restore(&run, &self.policy, request, false, false).await)
    }

    /// What [`restore`](Self::restore) would do now, without doing it: per disk the
    /// replica, its data's age, the instance group and its consistency, type, size,
    /// zone, hourly price, and what would be adopted; per zone whether it sells the
    /// types. Only reads.
    pub async fn restore_plan(&self, request: &Restore) -> Result<RestoreReport, Error> {
        let run = self.start(&self.client).await?;
        Ok(restore::restore(&run, &self.policy, request, true, false).await)
    }

    /// [`restore`](Self::restore) (`dry_run` false) or
    /// [`restore_plan`](Self::restore_plan) (true) from an account the rules share
    /// replicas with, into disks of that account: `receiver` is its client. The
    /// replicas' inventory tags are the owner's and not counted on from there: give
    /// [`Restore::disk_type`].
    pub async fn restore_as_receiver(
        &self,
        receiver: &Client,
        request: &Restore,
        dry_run: bool,
    ) -> Result<RestoreReport, Error> {
        let run = self.start(receiver).await?;
        Ok(restore::restore(&run, &self.policy, request, dry_run, true).await)
    }

    /// Removes, in `region`, every disk the restore run `run` made (those tagged with
    /// it in [`RUN_TAG`], detached first if attached) and no other disk.
    pub async fn clean_up_restore(&self, region: &str, run: &str) -> Result<CleanupReport, Error> {
        let start = self.start(&self.client).await?;
        Ok(restore::clean_up(&start, region, run).await)
    }

    /// [`clean_up_restore`](Self::clean_up_restore) in the account of `receiver`.
    pub async fn clean_up_restore_as_receiver(
        &self,
        receiver: &Client,
        region: &str,
        run: &str,
    ) -> Result<CleanupReport, Error> {
        let start = self.start(receiver).await?;
        Ok(restore::clean_up(&start, region, run).await)
    }

    /// A run with `client`, whose credentials are fetched first: a missing profile or
    /// an unreachable credential source fails the whole run at once with its own
    /// error, instead of every region failing with it.
    async fn start(&self, client: &Client) -> Result<Run, Error> {
        client.ensure_credentials().await?;
        Ok(Run::new(
            client,
            self.deadline,
            (self.poll_min, self.poll_max),
            self.on_event.clone(),
            self.clock.clone(),
        ))
    }
}

#[allow(dead_code)]
fn _assert_send(replication: &Replication) {
    fn send<T: Send>(_: T) {}
    send(replication.apply());
    send(replication.plan());
    send(replication.check(Duration::ZERO));
    send(replication.drill("", false));
    let request = Restore::new("ap-beijing", "r").unwrap();
    send(replication.restore(&request));
}

/// The README's code, compiled as a doctest so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
