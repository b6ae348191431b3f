//! Waiting for copies: one `DescribeSnapshots` per destination per round for up to
//! 100 replicas, and looks that settle doubt (a copy whose answer was lost, one the
//! service said was already in flight) from what the regions report, never by sending
//! the copy again on a guess. A region whose calls fail counts its failed rounds; its
//! trouble stays its own.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tencentcloud_cbs::model::SnapshotState;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::observe::{self, ReplicaState};
use crate::report::ItemFailure;
use crate::run::Run;
use crate::state::{ApplyState, Status};

/// Polls a replica may be missing from its region's answer before it is looked up
/// again by name (a new copy can take a moment to be listed).
const MISSES_BEFORE_LOOKUP: u32 = 3;

/// Replicas found by name: (region, name) → (id, state).
type Found = BTreeMap<(String, String), (String, ReplicaState)>;
/// In-flight destinations of `NORMAL` sources: (region, id) → regions.
type Copying = BTreeMap<(String, String), Vec<String>>;

/// Polls the replicas being copied, one call per destination per 100 replicas.
pub(crate) async fn poll(run: &Run, state: &mut ApplyState) {
    let ApplyState {
        targets, regions, ..
    } = state;
    let mut by_region: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for target in targets.iter() {
        if let Status::Copying { replica_id, .. } = &target.status {
            by_region
                .entry(target.destination().to_owned())
                .or_default()
                .push(replica_id.clone());
        }
    }
    let asked: BTreeSet<String> = by_region.keys().cloned().collect();
    let mut polls = JoinSet::new();
    for (region, ids) in by_region {
        let run = run.clone();
        polls.spawn(async move {
            let found = observe::describe_ids(&run, &region, &ids, |snapshot| {
                let state = observe::replica_state(&snapshot);
                Some((snapshot.snapshot_id?, state))
            })
            .await;
            (region, found)
        });
    }
    let mut seen: BTreeMap<(String, String), ReplicaState> = BTreeMap::new();
    let mut failed = BTreeMap::new();
    while let Some(done) = polls.join_next().await {
        let (region, found) = done.expect("poll tasks do not panic");
        match found {
            Ok(states) => {
                for (id, state) in states {
                    seen.insert((region.clone(), id), state);
                }
            }
            Err(error) => {
                // That region's replicas stay as they are until the next round.
                tracing::warn!(region = %region, error = %error, "polling replicas failed; trying again next round");
                failed.insert(region, ItemFailure::of_error(&error));
            }
        }
    }
    for target in targets.iter_mut() {
        let Status::Copying {
            replica_id, misses, ..
        } = &target.status
        else {
            continue;
        };
        if failed.contains_key(target.destination()) {
            continue;
        }
        let key = (target.destination().to_owned(), replica_id.clone());
        target.status = match seen.remove(&key) {
            Some(ReplicaState::Normal) => Status::Done {
                replica_id: replica_id.clone(),
            },
            Some(ReplicaState::Copying { percent }) => Status::Copying {
                replica_id: replica_id.clone(),
                percent,
                misses: 0,
            },
            Some(ReplicaState::Other(state)) => Status::Failed(ItemFailure::new(
                "ReplicaFailed",
                format!("the replica {replica_id} went to state {state}"),
            )),
            None if misses + 1 >= MISSES_BEFORE_LOOKUP => Status::Unknown {
                since: Instant::now(),
            },
            None => Status::Copying {
                replica_id: replica_id.clone(),
                percent: 0,
                misses: misses + 1,
            },
        };
    }
    regions.round(&asked, failed);
}

/// Resolves targets whose copy may or may not be running, from what the regions
/// report: the replica by name in the destination, `CopyingToRegions` on the
/// source. Looks only once `settle` has passed since the doubt arose, so a copy
/// just started has time to show.
pub(crate) async fn look_up(run: &Run, state: &mut ApplyState, settle: Duration) {
    let ApplyState {
        targets, regions, ..
    } = state;
    let now = Instant::now();
    let due: Vec<usize> = targets
        .iter()
        .enumerate()
        .filter(|(_, t)| match t.status {
            Status::Busy { since } | Status::Unknown { since } => now >= since + settle,
            _ => false,
        })
        .map(|(i, _)| i)
        .collect();
    if due.is_empty() {
        return;
    }
    let mut names: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut sources: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for &i in &due {
        let target = &targets[i];
        names
            .entry(target.destination().to_owned())
            .or_default()
            .push(target.name());
        sources
            .entry(target.item.source_region.clone())
            .or_default()
            .push(target.source_id().to_owned());
    }
    let asked: BTreeSet<String> = names.keys().chain(sources.keys()).cloned().collect();
    let mut failed = BTreeMap::new();
    let found = find_by_name(run, names, &mut failed).await;
    let copying = copying_to(run, sources, &mut failed).await;
    for i in due {
        let target = &mut targets[i];
        if failed.contains_key(target.destination())
            || failed.contains_key(&target.item.source_region)
        {
            continue;
        }
        let key = (target.destination().to_owned(), target.name());
        target.status = match found.get(&key) {
            Some((id, ReplicaState::Normal)) => Status::Done {
                replica_id: id.clone(),
            },
            Some((id, ReplicaState::Copying { percent })) => Status::Copying {
                replica_id: id.clone(),
                percent: *percent,
                misses: 0,
            },
            _ => match copying.get(&(
                target.item.source_region.clone(),
                target.source_id().to_owned(),
            )) {
                None => Status::Failed(ItemFailure::new(
                    "SourceGone",
                    "the source snapshot is no longer NORMAL in its region",
                )),
                Some(regions) if regions.iter().any(|r| r == target.destination()) => {
                    Status::Busy { since: now }
                }
                // Nothing in flight and no replica: the copy did not happen.
                Some(_) => Status::Pending { tries: 0 },
            },
        };
        if matches!(target.status, Status::Pending { .. }) {
            // The look is as fresh as sending the copy needs.
            target.looked_at = now;
        }
    }
    regions.round(&asked, failed);
}

/// This tool's replicas by name, per destination; a region whose look fails is noted
/// in `failed`.
async fn find_by_name(
    run: &Run,
    names: BTreeMap<String, Vec<String>>,
    failed: &mut BTreeMap<String, ItemFailure>,
) -> Found {
    let mut found = Found::new();
    for (region, names) in names {
        match observe::find_replicas(run, &region, &names, None).await {
            Ok(replicas) => {
                for (name, replica) in replicas {
                    found.insert((region.clone(), name), replica);
                }
            }
            Err(error) => {
                tracing::warn!(region = %region, error = %error, "looking up copies failed; trying again next round");
                failed.insert(region.clone(), ItemFailure::of_error(&error));
            }
        }
    }
    found
}

/// `CopyingToRegions` of the `NORMAL` ones among `sources`, per source region; a
/// region whose look fails is noted in `failed`.
async fn copying_to(
    run: &Run,
    sources: BTreeMap<String, Vec<String>>,
    failed: &mut BTreeMap<String, ItemFailure>,
) -> Copying {
    let mut copying = Copying::new();
    for (region, mut ids) in sources {
        ids.sort();
        ids.dedup();
        let normal = observe::describe_ids(run, &region, &ids, |snapshot| {
            if snapshot.snapshot_state != Some(SnapshotState::Normal) {
                return None;
            }
            Some((
                snapshot.snapshot_id?,
                snapshot.copying_to_regions.unwrap_or_default(),
            ))
        })
        .await;
        match normal {
            Ok(normal) => {
                for (id, regions) in normal {
                    copying.insert((region.clone(), id), regions);
                }
            }
            Err(error) => {
                tracing::warn!(region = %region, error = %error, "looking up copies failed; trying again next round");
                failed.insert(region, ItemFailure::of_error(&error));
            }
        }
    }
    copying
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::PlanAction;
    use crate::state::Regions;
    use crate::testing::{self, Call, error, item, of};

    fn snapshot(id: &str, name: &str, state: &str, percent: u64) -> serde_json::Value {
        json!({"SnapshotId": id, "SnapshotName": name, "SnapshotState": state,
               "Percent": percent, "DiskId": "disk-x", "DiskSize": 10})
    }

    fn page(snapshots: Vec<serde_json::Value>) -> testing::Answer {
        Ok(json!({"TotalCount": snapshots.len(), "SnapshotSet": snapshots}))
    }

    fn copying(replica_id: &str, misses: u32) -> Status {
        Status::Copying {
            replica_id: replica_id.into(),
            percent: 0,
            misses,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_poll_moves_each_copy_and_a_failing_region_keeps_its_own() {
        let (client, calls) = testing::client(|call: &Call| match call.region.as_str() {
            "ap-shanghai" => error("InternalError"),
            _ => page(vec![
                snapshot("snap-r1", "n1", "NORMAL", 100),
                snapshot("snap-r2", "n2", "COPYING_FROM_REMOTE", 40),
                snapshot("snap-r5", "n5", "TORECYCLE", 0),
            ]),
        });
        let run = testing::run(&client);
        let (mut state, _) = crate::testing::of_plan(
            vec![
                item("a", "ap-beijing", PlanAction::Copy),
                item("b", "ap-beijing", PlanAction::Copy),
                item("c", "ap-beijing", PlanAction::Copy),
                item("d", "ap-shanghai", PlanAction::Copy),
                item("e", "ap-beijing", PlanAction::Copy),
            ],
            Regions::default(),
        );
        let statuses = [
            copying("snap-r1", 0),
            copying("snap-r2", 0),
            copying("snap-r3", 2),
            copying("snap-r4", 0),
            copying("snap-r5", 0),
        ];
        for (target, status) in state.targets.iter_mut().zip(statuses) {
            target.status = status;
        }
        poll(&run, &mut state).await;
        // One call per destination.
        let polls = of(&calls, "DescribeSnapshots");
        assert_eq!(
            polls.len(),
            4,
            "beijing once, shanghai three tries: {polls:?}"
        );
        assert_eq!(
            polls[0].body["SnapshotIds"],
            json!(["snap-r1", "snap-r2", "snap-r3", "snap-r5"])
        );
        let s = |i: usize| &state.targets[i].status;
        assert!(matches!(s(0), Status::Done { replica_id } if replica_id == "snap-r1"));
        assert!(matches!(s(1), Status::Copying { percent: 40, .. }));
        // Missing three polls in a row: looked up by name next.
        assert!(matches!(s(2), Status::Unknown { .. }));
        // Its region failed: left as it was, the failure counted.
        assert!(matches!(s(3), Status::Copying { misses: 0, .. }));
        assert!(matches!(s(4), Status::Failed(f) if f.code == "ReplicaFailed"));
        for _ in 1..5 {
            poll(&run, &mut state).await;
        }
        state.give_up_failing_regions();
        assert!(
            matches!(s_of(&state, 3), Status::Failed(f) if f.code == "InternalError" && f.request_id.is_some())
        );
    }

    fn s_of(state: &ApplyState, i: usize) -> &Status {
        &state.targets[i].status
    }

    #[tokio::test(start_paused = true)]
    async fn a_look_settles_every_doubt_from_what_the_regions_say() {
        // Destination: a's replica is there by name. Source: b is copying to the
        // destination (someone's copy), c to nowhere, d is not NORMAL any more.
        let name_a = item("a", "ap-beijing", PlanAction::Copy)
            .replica_name()
            .unwrap()
            .to_string();
        let answer_name = name_a.clone();
        let (client, calls) = testing::client(move |call: &Call| {
            if call.region == "ap-beijing" {
                return page(vec![snapshot("snap-ra", &answer_name, "NORMAL", 100)]);
            }
            let source = |id: &str, to: &[&str]| {
                json!({"SnapshotId": id, "SnapshotState": "NORMAL", "CopyingToRegions": to,
                       "DiskId": "disk-x"})
            };
            page(vec![
                source("snap-b", &["ap-beijing"]),
                source("snap-c", &[]),
            ])
        });
        let run = testing::run(&client);
        let (mut state, _) = crate::testing::of_plan(
            vec![
                item("a", "ap-beijing", PlanAction::Copy),
                item("b", "ap-beijing", PlanAction::Copy),
                item("c", "ap-beijing", PlanAction::Copy),
                item("d", "ap-beijing", PlanAction::Copy),
                item("e", "ap-beijing", PlanAction::Copy),
            ],
            Regions::default(),
        );
        let since = Instant::now();
        for target in state.targets.iter_mut().take(4) {
            target.status = Status::Unknown { since };
        }
        // A doubt too fresh to look at yet.
        state.targets[4].status = Status::Unknown {
            since: since + Duration::from_secs(60),
        };
        look_up(&run, &mut state, Duration::from_secs(10)).await;
        assert_eq!(
            of(&calls, "DescribeSnapshots").len(),
            0,
            "not yet: within settle"
        );
        tokio::time::advance(Duration::from_secs(10)).await;
        look_up(&run, &mut state, Duration::from_secs(10)).await;

        let looks = of(&calls, "DescribeSnapshots");
        assert_eq!(looks.len(), 2, "one look per region: {looks:?}");
        assert!(
            looks
                .iter()
                .any(|c| c.body["Filters"][0]["Name"] == "snapshot-name")
        );
        let s = |i: usize| &state.targets[i].status;
        assert!(matches!(s(0), Status::Done { replica_id } if replica_id == "snap-ra"));
        assert!(matches!(s(1), Status::Busy { .. }));
        // Nothing in flight and no replica: the copy did not happen; copy again.
        assert!(matches!(s(2), Status::Pending { tries: 0 }));
        assert!(matches!(s(3), Status::Failed(f) if f.code == "SourceGone"));
        assert!(matches!(s(4), Status::Unknown { .. }));
        // No copy is ever sent by a look.
        assert!(of(&calls, "CopySnapshotCrossRegions").is_empty());
    }
}
