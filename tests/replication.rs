//! The replication workflow against the emulator: partial failures, waiting with
//! progress, copy-and-wait, and paging.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cbs_e2e::*;
use tencentcloud_cbs::model::{RegionCopy, SnapshotState};
use tencentcloud_cbs::{ErrorCode, RegionOutcome, WaiterError};

fn fast(
    waiter: tencentcloud_cbs::SnapshotWaiter<'static>,
) -> tencentcloud_cbs::SnapshotWaiter<'static> {
    waiter
        .poll_interval(Duration::from_millis(50), Duration::from_millis(150))
        .max_wait(Duration::from_secs(30))
}

#[tokio::test]
async fn partial_success_is_split_by_region() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let output = client
        .copy_snapshot_cross_regions()
        .snapshot_id("snap-demo0001")
        .destination_regions(["ap-beijing", "xx-nowhere-1"])
        .send()
        .await
        .unwrap();
    let started: Vec<_> = output.started().collect();
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].0, "ap-beijing");
    let refused: Vec<_> = output.refused().collect();
    assert_eq!(refused.len(), 1);
    match &refused[0] {
        RegionCopy::Refused {
            region,
            code,
            message,
        } => {
            assert_eq!(region, "xx-nowhere-1");
            assert_eq!(code, &ErrorCode::InvalidParameterValue);
            assert!(!message.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_waiter_sees_percent_rise_and_ends_normal() {
    let emulator = emulator_builder(Duration::from_millis(1500))
        .start()
        .await
        .unwrap();
    let client = client(&emulator);
    let output = client
        .copy_snapshot_cross_regions()
        .snapshot_id("snap-demo0001")
        .destination_regions(["ap-shanghai"])
        .send()
        .await
        .unwrap();
    let (_, id) = output.started().next().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let snapshot = fast(client.wait_until_snapshot_normal("ap-shanghai", id))
        .on_progress(move |p| log.lock().unwrap().push((p.state.clone(), p.percent)))
        .wait()
        .await
        .unwrap();
    assert_eq!(snapshot.snapshot_state, Some(SnapshotState::Normal));
    assert_eq!(snapshot.percent, Some(100));
    let seen = seen.lock().unwrap();
    assert!(seen.len() >= 3, "{seen:?}");
    assert_eq!(seen[0].0, Some(SnapshotState::CopyingFromRemote));
    assert!(
        seen.windows(2).all(|w| w[0].1 <= w[1].1),
        "percent never falls: {seen:?}"
    );
    assert!(
        seen.iter().any(|(_, p)| *p > 0 && *p < 100),
        "saw progress in between: {seen:?}"
    );
    assert_eq!(seen.last().unwrap(), &(Some(SnapshotState::Normal), 100));
}

#[tokio::test]
async fn a_snapshot_deleted_while_waiting_ends_the_wait() {
    let emulator = emulator_builder(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let client = client(&emulator);
    let output = client
        .copy_snapshot_cross_regions()
        .snapshot_id("snap-demo0001")
        .destination_regions(["ap-chengdu"])
        .send()
        .await
        .unwrap();
    let id = output.started().next().unwrap().1.to_owned();
    let polls = Arc::new(Mutex::new(0u32));
    let count = polls.clone();
    let on_progress = move |_: &tencentcloud_cbs::SnapshotProgress| *count.lock().unwrap() += 1;
    let waiting = fast(client.wait_until_snapshot_normal("ap-chengdu", id.clone()))
        .on_progress(on_progress)
        .wait();
    let remover = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(emulator.remove_snapshot(&id));
    };
    let (result, ()) = tokio::join!(waiting, remover);
    match result {
        Err(WaiterError::Vanished {
            region,
            snapshot_id,
        }) => {
            assert_eq!(region, "ap-chengdu");
            assert_eq!(snapshot_id, id);
        }
        other => panic!("{other:?}"),
    }
    assert!(*polls.lock().unwrap() >= 2);
}

#[tokio::test]
async fn the_max_wait_is_honoured() {
    let emulator = emulator_builder(Duration::from_secs(120))
        .start()
        .await
        .unwrap();
    let client = client(&emulator);
    let output = client
        .copy_snapshot_cross_regions()
        .snapshot_id("snap-demo0001")
        .destination_regions(["ap-hongkong"])
        .send()
        .await
        .unwrap();
    let (_, id) = output.started().next().unwrap();
    let started = Instant::now();
    let result = client
        .wait_until_snapshot_normal("ap-hongkong", id)
        .poll_interval(Duration::from_millis(100), Duration::from_millis(200))
        .max_wait(Duration::from_millis(700))
        .wait()
        .await;
    match result {
        Err(WaiterError::ExceededMaxWait {
            elapsed,
            polls,
            last,
        }) => {
            assert!(elapsed >= Duration::from_millis(700));
            assert!(polls >= 3);
            assert_eq!(last.unwrap().state, Some(SnapshotState::CopyingFromRemote));
        }
        other => panic!("{other:?}"),
    }
    // Bounded, generously: the point is that it stops, not how fast.
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_snapshot_that_never_appears_counts_as_vanished() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let result = fast(client.wait_until_snapshot_normal("ap-guangzhou", "snap-neverseen"))
        .wait()
        .await;
    assert!(
        matches!(result, Err(WaiterError::Vanished { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn copy_and_wait_reports_every_region() {
    let emulator = emulator_builder(Duration::from_millis(800))
        .start()
        .await
        .unwrap();
    let client = client(&emulator);
    let progress = Arc::new(Mutex::new(BTreeSet::new()));
    let log = progress.clone();
    let outcomes = client
        .copy_snapshot_and_wait("snap-demo0001")
        .destination_regions(["ap-beijing", "ap-shanghai", "xx-nowhere-1"])
        .poll_interval(Duration::from_millis(50), Duration::from_millis(100))
        .max_wait(Duration::from_secs(30))
        .on_progress(move |p| {
            log.lock().unwrap().insert(p.region.clone());
        })
        .send()
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 3);
    assert_eq!(
        outcomes.iter().map(|o| o.region()).collect::<Vec<_>>(),
        ["ap-beijing", "ap-shanghai", "xx-nowhere-1"]
    );
    for outcome in &outcomes[..2] {
        match outcome {
            RegionOutcome::Ready { snapshot, .. } => {
                assert_eq!(snapshot.snapshot_state, Some(SnapshotState::Normal))
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(
        matches!(&outcomes[2], RegionOutcome::Refused { code, .. } if code == &ErrorCode::InvalidParameterValue)
    );
    assert_eq!(
        progress.lock().unwrap().iter().cloned().collect::<Vec<_>>(),
        ["ap-beijing", "ap-shanghai"]
    );

    // A failing copy call fails as a whole.
    let err = client
        .copy_snapshot_and_wait("snap-nothere")
        .destination_regions(["ap-beijing"])
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InvalidSnapshotIdNotFound));
}

#[tokio::test]
async fn paging_over_250_snapshots_returns_each_exactly_once() {
    let emulator = emulator().await;
    let mut expected: Vec<String> = emulator.add_snapshots("ap-tokyo", 250);
    let client = client(&emulator);

    let mut pages = client
        .describe_snapshots()
        .region("ap-tokyo")
        .limit(40)
        .into_paginator();
    let mut seen = Vec::new();
    let mut page_count = 0;
    while let Some(page) = pages.next_page().await {
        let page = page.unwrap();
        assert_eq!(page.total_count, Some(250));
        page_count += 1;
        seen.extend(
            page.snapshot_set()
                .iter()
                .map(|s| s.snapshot_id.clone().unwrap()),
        );
    }
    assert_eq!(page_count, 7);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 250, "no duplicates");
    expected.sort();
    assert_eq!(sorted, expected);

    // The same through the item stream.
    let mut items = client
        .describe_snapshots()
        .region("ap-tokyo")
        .limit(100)
        .into_paginator()
        .items();
    let mut streamed = Vec::new();
    while let Some(item) = items.next_item().await {
        streamed.push(item.unwrap().snapshot_id.unwrap());
    }
    assert_eq!(streamed, seen, "same order as the pages");

    let all = client
        .describe_snapshots()
        .region("ap-tokyo")
        .into_paginator()
        .collect_items()
        .await
        .unwrap();
    assert_eq!(all.len(), 250);

    // An empty region gives one empty page.
    let mut empty = client
        .describe_snapshots()
        .region("eu-frankfurt")
        .into_paginator();
    let first = empty.next_page().await.unwrap().unwrap();
    assert_eq!(first.total_count, Some(0));
    assert!(empty.next_page().await.is_none());

    // Errors end the paging.
    let mut failing = client
        .describe_snapshots()
        .region("mars-1")
        .into_paginator();
    assert!(failing.next_page().await.unwrap().is_err());
    assert!(failing.next_page().await.is_none());
}

#[tokio::test]
async fn a_page_that_repeats_stops_the_paging() {
    use cbs_transport::test_util::MockTransport;
    // A service that ignores Offset and always answers the same page, with a TotalCount
    // it never reaches.
    let page = r#"{"Response":{"TotalCount":1000,"SnapshotSet":[{"SnapshotId":"snap-a"},{"SnapshotId":"snap-b"}],"RequestId":"r"}}"#;
    let mock = Arc::new(MockTransport::with_handler(move |_| {
        Ok(http::Response::builder()
            .status(200)
            .body(bytes::Bytes::from_static(page.as_bytes()))
            .unwrap())
    }));
    let client = tencentcloud_cbs::Client::builder()
        .credentials(tencentcloud_cbs::Credentials::new("a", "b"))
        .region("ap-guangzhou")
        .transport(mock.clone())
        .build()
        .unwrap();
    let all = client
        .describe_snapshots()
        .into_paginator()
        .collect_items()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(mock.requests().len(), 2, "stopped at the first repeat");
}
