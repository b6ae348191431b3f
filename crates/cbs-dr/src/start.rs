//! Starting copies: one call per source snapshot for every destination that has room,
//! as many at once as the client's rate limit lets through. No cap of this tool's own
//! unless the policy sets one; a destination is slowed down only when the service
//! says so (it is busy, or its snapshot quota is used up).

use std::collections::{BTreeMap, BTreeSet};

use tencentcloud_cbs::Error;
use tencentcloud_cbs::model::{CopySnapshotCrossRegionsResponse, ErrorCode, RegionCopy};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::observe::{self, ReplicaState};
use crate::report::ItemFailure;
use crate::run::{ReplicationEvent, Run};
use crate::state::{ApplyState, OVERLAP_FRESH_FOR, Regions, Status, Target};

/// Copy calls under way at once; the client's rate limit paces them.
const CONCURRENT_COPY_CALLS: usize = 32;
/// Times a copy the service refused as busy is tried again in one run.
const TRIES_WHEN_BUSY: u32 = 20;

/// Whether a destination's refusal of a copy means "not now": the copy is tried again
/// once a copy in flight there has finished.
fn asks_to_wait(code: &ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::ResourceBusy
            | ErrorCode::ResourceInsufficientUpgradeServiceBusy
            | ErrorCode::ResourceUnavailableTooManyCreatingSnapshot
    )
}

/// What one copy call meant for one of its targets.
enum Started {
    /// The target's new status.
    Status(Status),
    /// The destination is busy: try again later, and hold its in-flight count.
    Busy,
    /// The destination's snapshot quota is used up.
    Full(ItemFailure),
}

/// Starts every pending copy that fits under the destinations' caps and quotas, each
/// on a look at its destination younger than [`ApplyState::fresh_for`].
///
/// `answered` hears of each copy call's targets as soon as its answer is in.
pub(crate) async fn start_copies(
    run: &Run,
    state: &mut ApplyState,
    answered: &mut impl FnMut(&[Target], &[usize]),
) {
    if run.is_over() {
        return;
    }
    let ApplyState {
        targets,
        regions,
        fresh_for,
        overlap,
    } = state;
    let mut in_flight: BTreeMap<String, usize> = BTreeMap::new();
    for target in targets.iter().filter(|t| t.status.occupies_a_slot()) {
        *in_flight
            .entry(target.destination().to_owned())
            .or_default() += 1;
    }
    // (source region, source snapshot) → target indexes, in plan order.
    let mut calls: Vec<((String, String), Vec<usize>)> = Vec::new();
    let mut call_of: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (index, target) in targets.iter_mut().enumerate() {
        if !matches!(target.status, Status::Pending { .. }) {
            continue;
        }
        let destination = target.destination().to_owned();
        if let Some(room) = regions.room.get_mut(&destination) {
            if *room == 0 {
                target.status = Status::Failed(not_started_for_quota(&destination));
                continue;
            }
            *room -= 1;
        }
        let slots = in_flight.entry(destination.clone()).or_default();
        if regions
            .caps
            .get(&destination)
            .is_some_and(|cap| *slots >= *cap)
        {
            give_back_room(regions, &destination);
            continue;
        }
        *slots += 1;
        let key = (
            target.item.source_region.clone(),
            target.source_id().to_owned(),
        );
        match call_of.get(&key) {
            Some(&call) => calls[call].1.push(index),
            None => {
                call_of.insert(key.clone(), calls.len());
                calls.push((key, vec![index]));
            }
        }
    }
    drop(call_of);
    let mut running = JoinSet::new();
    let mut next = 0;
    loop {
        while running.len() < CONCURRENT_COPY_CALLS && next < calls.len() {
            let fresh_for = if *overlap {
                (*fresh_for).min(OVERLAP_FRESH_FOR)
            } else {
                *fresh_for
            };
            let stale = |t: &Target| t.looked_at.elapsed() > fresh_for;
            if calls[next].1.iter().any(|&i| stale(&targets[i])) {
                // One look serves the queued copies that can go out before it is old
                // (those beyond wait for the copies now in flight anyway).
                let due: Vec<usize> = calls[next..]
                    .iter()
                    .take(CONCURRENT_COPY_CALLS)
                    .flat_map(|(_, indexes)| indexes.iter().copied())
                    .filter(|&i| stale(&targets[i]))
                    .collect();
                look_again(run, targets, regions, &due).await;
            }
            let ((region, snapshot_id), mut indexes) = std::mem::take(&mut calls[next]);
            next += 1;
            // Sent only for what is still to copy, on a fresh look: a replica found
            // meanwhile is adopted; a look that failed leaves the copy for a later round.
            indexes.retain(|&i| {
                let target = &targets[i];
                let send = matches!(target.status, Status::Pending { .. }) && !stale(target);
                if !send {
                    give_back_room(regions, target.destination());
                }
                send
            });
            if indexes.is_empty() {
                continue;
            }
            let destinations: Vec<String> = indexes
                .iter()
                .map(|&i| targets[i].destination().to_owned())
                .collect();
            let name = targets[indexes[0]].name();
            let run = run.clone();
            run.emit(ReplicationEvent::CopyStarted {
                source_snapshot_id: snapshot_id.clone(),
                destinations: destinations.clone(),
            });
            running.spawn(async move {
                let answer = copy(&run, &region, &snapshot_id, &destinations, &name).await;
                (indexes, answer)
            });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let (indexes, answer) = done.expect("copy tasks do not panic");
        for &index in &indexes {
            let target = &mut targets[index];
            let destination = target.destination().to_owned();
            let tries = match target.status {
                Status::Pending { tries } => tries,
                _ => 0,
            };
            match started(&answer, &destination) {
                Started::Status(status) => {
                    // Refused as in flight: another run is copying the same snapshots.
                    *overlap |= matches!(status, Status::Busy { .. });
                    target.sent_by_us |= matches!(status, Status::Copying { .. });
                    target.status = status;
                }
                Started::Busy if tries + 1 < TRIES_WHEN_BUSY => {
                    target.status = Status::Pending { tries: tries + 1 };
                    // No more copies there than are in flight now, until one ends.
                    let now = in_flight.get(&destination).copied().unwrap_or(1);
                    let cap = regions.caps.entry(destination.clone()).or_insert(now);
                    *cap = (*cap).min(now.saturating_sub(1)).max(1);
                    give_back_room(regions, &destination);
                }
                Started::Busy => {
                    target.status = Status::Failed(ItemFailure::new(
                        "ResourceBusy",
                        format!("{destination} stayed busy through {TRIES_WHEN_BUSY} tries"),
                    ));
                }
                Started::Full(failure) => {
                    // Learnt: nothing more fits there in this run.
                    regions.room.insert(destination, 0);
                    target.status = Status::Failed(failure);
                }
            }
        }
        answered(targets, &indexes);
    }
}

/// A snapshot counted against `destination`'s room that will not be made after all.
fn give_back_room(regions: &mut Regions, destination: &str) {
    if let Some(room) = regions.room.get_mut(destination) {
        *room += 1;
    }
}

/// Looks again, in their destinations, for the replicas of `due` (targets whose last
/// look is too old to send a copy on): one found (a run overlapping this one made it,
/// or is making it) is adopted; for the rest, the look is renewed. A destination
/// whose look fails keeps its targets pending, unsent, and counts a failed round.
async fn look_again(run: &Run, targets: &mut [Target], regions: &mut Regions, due: &[usize]) {
    let started = Instant::now();
    let mut by_region: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &i in due {
        by_region
            .entry(targets[i].destination().to_owned())
            .or_default()
            .push(i);
    }
    let asked: BTreeSet<String> = by_region.keys().cloned().collect();
    let mut failed = BTreeMap::new();
    for (region, indexes) in by_region {
        let names: Vec<String> = indexes.iter().map(|&i| targets[i].name()).collect();
        let held = regions.held.get(&region).copied();
        let found = match observe::find_replicas(run, &region, &names, held).await {
            Ok(found) => found,
            Err(error) => {
                tracing::warn!(region = %region, error = %error, "looking again before copying failed; those copies wait");
                failed.insert(region, ItemFailure::of_error(&error));
                continue;
            }
        };
        for (i, name) in indexes.into_iter().zip(names) {
            let target = &mut targets[i];
            target.looked_at = started;
            match found.get(&name) {
                Some((id, ReplicaState::Normal)) => {
                    target.status = Status::Done {
                        replica_id: id.clone(),
                    }
                }
                Some((id, ReplicaState::Copying { percent })) => {
                    target.status = Status::Copying {
                        replica_id: id.clone(),
                        percent: *percent,
                        misses: 0,
                    }
                }
                _ => {}
            }
        }
    }
    regions.round(&asked, failed);
}

fn not_started_for_quota(destination: &str) -> ItemFailure {
    ItemFailure::new(
        "InsufficientSnapshotQuota",
        format!(
            "not started: {destination} has no room left under its snapshot quota; delete snapshots there or raise the quota"
        ),
    )
}

/// One copy call, patient with throttling (nothing ran, so a repeat is safe); any
/// other failure is final here, and one that may have started a copy is settled by
/// looking, never by sending it again.
async fn copy(
    run: &Run,
    region: &str,
    snapshot_id: &str,
    destinations: &[String],
    name: &str,
) -> Result<CopySnapshotCrossRegionsResponse, Error> {
    run.client
        .copy_snapshot_cross_regions()
        .retry_config(run.patience())
        .region(region)
        .snapshot_id(snapshot_id)
        .destination_regions(destinations.iter().cloned())
        .snapshot_name(name)
        .send()
        .await
}

/// What a copy call's answer (or its failure) means for the target in `destination`.
fn started(answer: &Result<CopySnapshotCrossRegionsResponse, Error>, destination: &str) -> Started {
    let response = match answer {
        Ok(response) => response,
        // Throttling was waited out already (the run's patience); what is left either
        // may have started a copy (ask the regions) or did not run.
        Err(error) if error.may_have_executed() => {
            return Started::Status(Status::Unknown {
                since: Instant::now(),
            });
        }
        Err(error) => return Started::Status(Status::Failed(ItemFailure::of_error(error))),
    };
    let copies = response.region_copies();
    match copies.iter().find(|c| c.region() == destination) {
        Some(RegionCopy::Started { snapshot_id, .. }) => Started::Status(Status::Copying {
            replica_id: snapshot_id.clone(),
            percent: 0,
            misses: 0,
        }),
        // Already in flight: adopt it, never send another.
        Some(RegionCopy::Refused { code, .. })
            if *code == ErrorCode::ResourceInUseCopySnapshotConflict =>
        {
            Started::Status(Status::Busy {
                since: Instant::now(),
            })
        }
        Some(RegionCopy::Refused { code, .. }) if asks_to_wait(code) => Started::Busy,
        Some(RegionCopy::Refused { code, message, .. }) => {
            let failure = ItemFailure {
                code: code.as_str().to_owned(),
                message: message.clone(),
                request_id: Some(response.request_id.clone()),
            };
            if *code == ErrorCode::InsufficientSnapshotQuota {
                Started::Full(failure)
            } else {
                Started::Status(Status::Failed(failure))
            }
        }
        // Left out of the answer: it may have started.
        _ => Started::Status(Status::Unknown {
            since: Instant::now(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tencentcloud_cbs::{TransportError, TransportErrorKind};

    use super::*;
    use crate::plan::PlanAction;
    use crate::state::Regions;
    use crate::testing::{self, Call, error, item, of};

    /// One result line of a copy's answer.
    fn line(region: &str, code: &str, id: &str) -> serde_json::Value {
        json!({"DestinationRegion": region, "Code": code, "Message": code, "SnapshotId": id})
    }

    /// The service's answer to a copy, by source snapshot.
    fn answer(call: &Call) -> testing::Answer {
        let results = match call.body["SnapshotId"].as_str().unwrap_or_default() {
            "snap-a" => vec![
                line("ap-beijing", "Success", "snap-ra"),
                line("ap-shanghai", "ResourceInUse.CopySnapshotConflict", ""),
            ],
            "snap-b" => vec![line("ap-beijing", "ResourceBusy", "")],
            "snap-c" => vec![line("ap-beijing", "InsufficientSnapshotQuota", "")],
            "snap-d" => {
                return Err(TransportError::new(
                    TransportErrorKind::Interrupted,
                    "connection reset after sending",
                ));
            }
            // snap-e: the answer leaves its destination out.
            _ => vec![],
        };
        Ok(json!({"SnapshotCopyResultSet": results}))
    }

    /// A copy that started in ap-beijing, its replica named `<source>-r`.
    fn copied_to_beijing(call: &Call) -> testing::Answer {
        let id = call.body["SnapshotId"].as_str().unwrap_or_default();
        Ok(json!({"SnapshotCopyResultSet": [line("ap-beijing", "Success", &format!("{id}-r"))]}))
    }

    fn copying(state: &ApplyState, i: usize) -> Option<&str> {
        match &state.targets[i].status {
            Status::Copying { replica_id, .. } => Some(replica_id),
            _ => None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn each_answer_moves_its_target_and_nothing_is_sent_twice() {
        let (client, calls) = testing::client(answer);
        let run = testing::run(&client);
        let items = vec![
            item("a", "ap-beijing", PlanAction::Copy),
            item("a", "ap-shanghai", PlanAction::Copy),
            item("b", "ap-beijing", PlanAction::Copy),
            item("c", "ap-beijing", PlanAction::Copy),
            item("d", "ap-beijing", PlanAction::Copy),
            item("e", "ap-beijing", PlanAction::Copy),
        ];
        let (mut state, _) = crate::testing::of_plan(items, Regions::default());
        start_copies(&run, &mut state, &mut |_, _| {}).await;

        // One call per source snapshot, carrying all its destinations.
        let copies = of(&calls, "CopySnapshotCrossRegions");
        assert_eq!(copies.len(), 5, "{copies:?}");
        assert_eq!(
            copies[0].body["DestinationRegions"],
            json!(["ap-beijing", "ap-shanghai"])
        );
        assert_eq!(
            copies[0].body["SnapshotName"],
            "tccbs_snap-a_ap-guangzhou_20270115080000"
        );
        assert_eq!(copies[0].region, "ap-guangzhou");

        assert_eq!(copying(&state, 0), Some("snap-ra"));
        assert!(state.targets[0].sent_by_us);
        // Already in flight: adopted, never sent again.
        assert!(matches!(state.targets[1].status, Status::Busy { .. }));
        assert!(!state.targets[1].sent_by_us);
        // Busy: tried again later, with fewer copies there at once than the five sent.
        assert!(matches!(
            state.targets[2].status,
            Status::Pending { tries: 1 }
        ));
        assert_eq!(state.regions.caps.get("ap-beijing"), Some(&4));
        // Full: failed, and nothing more fits there in this run.
        assert!(
            matches!(&state.targets[3].status, Status::Failed(f) if f.code == "InsufficientSnapshotQuota" && f.request_id.is_some())
        );
        assert_eq!(state.regions.room.get("ap-beijing"), Some(&0));
        // A lost answer, or one that leaves the destination out: ask, never resend.
        assert!(matches!(state.targets[4].status, Status::Unknown { .. }));
        assert!(matches!(state.targets[5].status, Status::Unknown { .. }));

        // The next round starts nothing: the busy one has no room left.
        start_copies(&run, &mut state, &mut |_, _| {}).await;
        assert_eq!(of(&calls, "CopySnapshotCrossRegions").len(), 5);
        assert!(
            matches!(&state.targets[2].status, Status::Failed(f) if f.code == "InsufficientSnapshotQuota")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_waited_out_and_a_known_quota_starts_only_what_fits() {
        let throttled = std::sync::atomic::AtomicU32::new(0);
        let (client, calls) = testing::client(move |call| {
            if throttled.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 4 {
                return error("RequestLimitExceeded");
            }
            copied_to_beijing(call)
        });
        let run = testing::run(&client);
        let mut regions = Regions::default();
        regions.room.insert("ap-beijing".into(), 1);
        let items = vec![
            item("a", "ap-beijing", PlanAction::Copy),
            item("b", "ap-beijing", PlanAction::Copy),
        ];
        let (mut state, _) = crate::testing::of_plan(items, regions);
        start_copies(&run, &mut state, &mut |_, _| {}).await;
        assert_eq!(copying(&state, 0), Some("snap-a-r"));
        assert!(
            matches!(&state.targets[1].status, Status::Failed(f) if f.code == "InsufficientSnapshotQuota" && f.request_id.is_none()),
            "not started, so no request id: {:?}",
            state.targets[1].status
        );
        // Four throttled tries, then the copy: one copy in all.
        assert_eq!(of(&calls, "CopySnapshotCrossRegions").len(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cap_holds_copies_back_and_nothing_starts_after_the_deadline() {
        let (client, calls) = testing::client(copied_to_beijing);
        let run = testing::run(&client);
        let mut regions = Regions::default();
        regions.caps.insert("ap-beijing".into(), 1);
        let items = vec![
            item("a", "ap-beijing", PlanAction::Copy),
            item("b", "ap-beijing", PlanAction::Copy),
        ];
        let (mut state, _) = crate::testing::of_plan(items, regions);
        start_copies(&run, &mut state, &mut |_, _| {}).await;
        assert_eq!(copying(&state, 0), Some("snap-a-r"));
        assert!(matches!(
            state.targets[1].status,
            Status::Pending { tries: 0 }
        ));
        state.targets[0].status = Status::Done {
            replica_id: "snap-a-r".into(),
        };
        tokio::time::advance(std::time::Duration::from_secs(3601)).await;
        start_copies(&run, &mut state, &mut |_, _| {}).await;
        assert_eq!(of(&calls, "CopySnapshotCrossRegions").len(), 1);
        assert!(matches!(state.targets[1].status, Status::Pending { .. }));
    }
}
