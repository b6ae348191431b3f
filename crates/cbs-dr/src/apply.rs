//! Carrying a plan out, exactly once, one destination's trouble kept to itself.
//!
//! plan → targets → converge (start copies, wait, look up doubts, in rounds) → share →
//! final look → prune. The phases are functions over the [`ApplyState`] and the
//! [`Run`]: [`start`](crate::start) sends copies, [`wait`](crate::wait) polls them and
//! resolves doubts, [`share`](crate::share) shares what is `NORMAL` with the rules'
//! accounts, [`prune`](crate::prune) ends shares and lets go of what retention no
//! longer keeps. The final look at the regions decides what converged and what
//! retention prunes.

use crate::check::recovery_points;
use crate::observe;
use std::collections::BTreeSet;
use std::time::Duration;

use tokio::time::Instant;

use crate::inventory::Book;
use crate::plan::{self, PlanAction, PlanItem, PruneReason};
use crate::policy::Policy;
use crate::report::Report;
use crate::run::{ReplicationEvent, Run};
use crate::state::{ApplyState, Regions, Status, target_report};
use crate::{prune, share, start, tagging, wait};

/// What an apply is asked to do.
#[derive(Debug)]
pub(crate) struct Settings<'a> {
    pub policy: &'a Policy,
    /// Prune every rule's surplus, not only the rules that say so.
    pub prune: bool,
    /// The destinations' snapshot quota, when the caller knows it.
    pub snapshot_quota: Option<u64>,
    /// How long a look at a destination vouches for a copy not being there.
    pub fresh_for: Duration,
}

/// Carries `settings.policy` out with `run`; see [`Replication::apply`](crate::Replication::apply).
pub(crate) async fn apply(run: &Run, settings: &Settings<'_>) -> Report {
    let policy = settings.policy;
    let looked_at = Instant::now();
    let look = observe::Look {
        count_disks: settings.snapshot_quota.is_none(),
        shares: true,
    };
    let observation = observe::observe(run, policy, look).await;
    let plan = plan::plan(
        policy,
        &observation,
        run.now_unix(),
        settings.snapshot_quota,
    );
    let mut tagging = tagging::Background::new(run, Book::of(&observation));
    drop(observation);
    run.emit(ReplicationEvent::Planned {
        totals: plan.totals(),
    });
    let mut regions = Regions::default();
    for destination in plan.destinations() {
        if let Some(cap) = policy.max_in_flight_per_region() {
            regions
                .caps
                .insert(destination.region.clone(), cap as usize);
        }
        if let Some(room) = settings.snapshot_quota.and(destination.room()) {
            regions.room.insert(destination.region.clone(), room);
        }
        if let Some(held) = destination.held_snapshots {
            regions.held.insert(destination.region.clone(), held);
        }
    }
    let (mut state, settled) =
        ApplyState::of_plan(plan.into_items(), regions, looked_at, settings.fresh_for);

    converge(run, &mut state, &mut tagging).await;
    let shares = share::share_replicas(run, &state.targets).await;
    let mut tagged = tagging.finish().await;
    // What this run copied: a duplicate of it is this run's to remove (below).
    let made: BTreeSet<String> = state
        .targets
        .iter()
        .filter(|t| t.sent_by_us)
        .filter_map(|t| match &t.status {
            Status::Done { replica_id } => Some(replica_id.clone()),
            _ => None,
        })
        .collect();
    let mut report = Report {
        items: state
            .targets
            .iter()
            .filter(|t| !t.share_only)
            .map(target_report)
            .collect(),
        ..Report::default()
    };
    drop(state);
    report.items.extend(shares);
    report.items.extend(settled);

    // The final look: what converged, what retention lets go, where each disk stands.
    let observation = observe::observe(run, policy, observe::Look::default()).await;
    let now = run.now_unix();
    let final_plan = plan::plan(policy, &observation, now, None);
    // Converged (with every item ending as the policy wants, below): the final look
    // finds nothing to copy or wait for.
    let settled = final_plan.items().iter().all(|i| {
        !matches!(
            i.action,
            PlanAction::Copy | PlanAction::Adopt { .. } | PlanAction::Unavailable { .. }
        )
    });
    let (backfill, prunes): (Vec<PlanItem>, Vec<PlanItem>) = final_plan
        .into_items()
        .into_iter()
        .filter(|i| {
            matches!(
                i.action,
                PlanAction::Tag { .. } | PlanAction::Prune { .. } | PlanAction::Unshare { .. }
            )
        })
        .partition(|i| matches!(i.action, PlanAction::Tag { .. }));
    // Kept replicas still lacking tags (older ones, or ones a failure left): tagged now.
    let done: BTreeSet<&str> = tagged.iter().map(|t| t.replica_id.as_str()).collect();
    let book = Book::of(&observation);
    let jobs = tagging::jobs_of_plan(backfill, &observation, &book, &done);
    let backfilled = tagging::tag_all(run, jobs).await;
    drop(book);
    drop(done);
    tagged.extend(backfilled);
    tagging::merge(&mut report, tagged);
    // The final look does not read share permissions (they cost a call per replica);
    // the share items of this run say whether the shares stand.
    let shares_stand = report
        .items
        .iter()
        .filter(|i| i.account.is_some())
        .all(|i| i.outcome.is_success());
    // Converged: every item ended as the policy wants (a disk that does not exist or
    // has no snapshot is not replicated), and nothing is left to copy or wait for.
    report.converged = shares_stand && report.failed() == 0 && settled;
    let prunes: Vec<&PlanItem> = prunes.iter().collect();
    // A replica this run made that turns out to be a second copy of one source (a run
    // overlapping this one made the first, faster than a look could see) is deleted
    // whatever the pruning settings: every run keeps the one made first, so of two
    // runs only the maker of the second deletes.
    let deletes = |item: &PlanItem| {
        prune::deletes(policy, settings.prune, item)
            || matches!(&item.action, PlanAction::Prune { replica_id, reason: PruneReason::Duplicate } if made.contains(replica_id))
    };
    report
        .items
        .extend(prune::carry_out(run, &prunes, deletes).await);
    report.recovery_points = recovery_points(policy, &observation, now, None);
    report
}

/// Copies and waits, in rounds, until every target is final or the deadline comes;
/// the copies' replicas are tagged as soon as their ids are known.
async fn converge(run: &Run, state: &mut ApplyState, tagging: &mut tagging::Background) {
    let (mut interval, poll_max) = run.poll;
    loop {
        // Tagged as each copy call answers, and what a look found since.
        start::start_copies(run, state, &mut |targets, started| {
            tagging.queue(targets, started.iter().copied())
        })
        .await;
        tagging.queue(&state.targets, 0..state.targets.len());
        report_progress(run, state);
        if state.is_settled() || run.is_over() {
            break;
        }
        tokio::time::sleep(interval.min(run.left())).await;
        interval = (interval * 3 / 2).min(poll_max);
        wait::poll(run, state).await;
        wait::look_up(run, state, interval).await;
        state.give_up_failing_regions();
    }
    state.fail_unstarted();
}

/// Where each destination stands, for whoever listens.
fn report_progress(run: &Run, state: &ApplyState) {
    if !run.is_heard() {
        return;
    }
    for (region, p) in state.progress() {
        run.emit(ReplicationEvent::Progress {
            destination: region.to_owned(),
            done: p.done,
            failed: p.failed,
            in_flight: p.in_flight,
            total: p.total,
        });
    }
}
