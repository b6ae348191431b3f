//! The replication workflow against the emulator: partial failures, waiting with
//! progress, copy-and-wait, and paging.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cbs_e2e::*;
use cbs_emulator::{Fault, FaultKind};
use cbs_transport::test_util::{MockTransport, json_response};
use tencentcloud_cbs::model::{RegionCopy, SnapshotState};
use tencentcloud_cbs::{Client, Credentials, ErrorCode, RegionOutcome, WaiterError};
use tokio::time::Instant;

fn fast(
    waiter: tencentcloud_cbs::SnapshotWaiter<'static>,
) -> tencentcloud_cbs::SnapshotWaiter<'static> {
    waiter
        .poll_interval(Duration::from_millis(50), Duration::from_millis(150))
        .max_wait(Duration::from_secs(30))
}

#[tokio::test(start_paused = true)]
async fn partial_success_is_split_by_region() {
    let emulator = emulator();
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

#[tokio::test(start_paused = true)]
async fn the_waiter_sees_percent_rise_and_ends_normal() {
    let emulator = emulator_builder(Duration::from_millis(1500))
        .start_in_process()
        .expect("emulator starts");
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

#[tokio::test(start_paused = true)]
async fn a_snapshot_deleted_while_waiting_ends_the_wait() {
    let emulator = emulator_builder(Duration::from_secs(60))
        .start_in_process()
        .expect("emulator starts");
    let client = client(&emulator);
    let output = client
        .copy_snapshot_cross_regions()
        .snapshot_id("snap-demo0001")
        .destination_regions(["ap-chengdu"])
        .send()
        .await
        .unwrap();
    let id = output.started().next().unwrap().1.to_owned();
    // Someone deletes the copy after the second poll.
    let mut polls = 0u32;
    let result = fast(client.wait_until_snapshot_normal("ap-chengdu", id.clone()))
        .on_progress(|_| {
            polls += 1;
            if polls == 2 {
                assert!(emulator.remove_snapshot(&id));
            }
        })
        .wait()
        .await;
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
    assert_eq!(polls, 3, "seen twice, then gone");
}

#[tokio::test(start_paused = true)]
async fn the_max_wait_is_honoured() {
    let emulator = emulator_builder(Duration::from_secs(120))
        .start_in_process()
        .expect("emulator starts");
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
            // Polls at 0, 100, 250, 450 and 650 ms, and a last one at the limit.
            assert_eq!(elapsed, Duration::from_millis(700));
            assert_eq!(polls, 6);
            assert_eq!(last.unwrap().state, Some(SnapshotState::CopyingFromRemote));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::from_millis(700));
}

#[tokio::test(start_paused = true)]
async fn a_snapshot_that_never_appears_counts_as_vanished() {
    let emulator = emulator();
    let client = client(&emulator);
    let result = fast(client.wait_until_snapshot_normal("ap-guangzhou", "snap-neverseen"))
        .wait()
        .await;
    assert!(
        matches!(result, Err(WaiterError::Vanished { .. })),
        "{result:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn copy_and_wait_reports_every_region() {
    let emulator = emulator_builder(Duration::from_millis(800))
        .start_in_process()
        .expect("emulator starts");
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

#[tokio::test(start_paused = true)]
async fn paging_over_250_snapshots_returns_each_exactly_once() {
    let emulator = emulator();
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

fn mock_client(mock: Arc<MockTransport>) -> Client {
    Client::builder()
        .credentials(Credentials::new("a", "b"))
        .region("ap-guangzhou")
        .transport(mock)
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_page_that_repeats_stops_the_paging() {
    // A service that ignores Offset and always answers the same page, with a TotalCount
    // it never reaches.
    let page = r#"{"Response":{"TotalCount":1000,"SnapshotSet":[{"SnapshotId":"snap-a"},{"SnapshotId":"snap-b"}],"RequestId":"r"}}"#;
    let mock = Arc::new(MockTransport::with_handler(move |_| {
        Ok(json_response(200, page))
    }));
    let all = mock_client(mock.clone())
        .describe_snapshots()
        .into_paginator()
        .collect_items()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(mock.requests().len(), 2, "stopped at the first repeat");
}

#[tokio::test(start_paused = true)]
async fn a_service_ignoring_offset_cannot_loop_the_paginator() {
    // The same two items in turns of order: every page differs from the last, none
    // brings anything new.
    let answers = [
        r#"{"Response":{"TotalCount":1000,"SnapshotSet":[{"SnapshotId":"snap-a"},{"SnapshotId":"snap-b"}],"RequestId":"r"}}"#,
        r#"{"Response":{"TotalCount":1000,"SnapshotSet":[{"SnapshotId":"snap-b"},{"SnapshotId":"snap-a"}],"RequestId":"r"}}"#,
    ];
    let turn = std::sync::atomic::AtomicUsize::new(0);
    let mock = Arc::new(MockTransport::with_handler(move |_| {
        let i = turn.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(json_response(200, answers[i % 2]))
    }));
    let all = mock_client(mock.clone())
        .describe_snapshots()
        .into_paginator()
        .collect_items()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(mock.requests().len(), 2);

    // Fresh items forever: the page count TotalCount allows ends it.
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let mock = Arc::new(MockTransport::with_handler(move |_| {
        let i = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(json_response(
            200,
            format!(
                r#"{{"Response":{{"TotalCount":5,"SnapshotSet":[{{"SnapshotId":"snap-{i}"}}],"RequestId":"r"}}}}"#
            ),
        ))
    }));
    // The Offset moves on and TotalCount is reached after five pages; with a
    // TotalCount that keeps growing, the first page's bound still holds.
    let items = mock_client(mock.clone())
        .describe_snapshots()
        .into_paginator()
        .collect_items()
        .await
        .unwrap();
    assert_eq!(items.len(), 5);
    let growing = std::sync::atomic::AtomicUsize::new(0);
    let mock = Arc::new(MockTransport::with_handler(move |_| {
        let i = growing.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(json_response(
            200,
            format!(
                r#"{{"Response":{{"TotalCount":{},"SnapshotSet":[{{"SnapshotId":"snap-{i}"}}],"RequestId":"r"}}}}"#,
                3 + 2 * i
            ),
        ))
    }));
    let items = mock_client(mock.clone())
        .describe_snapshots()
        .into_paginator()
        .collect_items()
        .await
        .unwrap();
    assert_eq!(items.len(), 4, "3 items of 1 per page allow 4 pages");
}

#[tokio::test(start_paused = true)]
async fn copy_and_wait_answers_per_requested_region_in_order() {
    let emulator = emulator_builder(Duration::from_millis(800))
        .start_in_process()
        .expect("emulator starts");
    let client = client(&emulator);
    // The service answers in another order and leaves ap-shanghai out.
    emulator.inject(
        Fault::new(FaultKind::Answer {
            status: 200,
            body: serde_json::json!({"Response": {"SnapshotCopyResultSet": [
                {"DestinationRegion": "xx-nowhere-1", "Code": "InvalidParameterValue", "Message": "no", "SnapshotId": ""},
                {"DestinationRegion": "ap-beijing", "Code": "Success", "Message": "", "SnapshotId": "snap-demo0004"},
            ], "RequestId": "r-1"}}),
        })
        .action("CopySnapshotCrossRegions")
        .times(1),
    );
    let outcomes = client
        .copy_snapshot_and_wait("snap-demo0001")
        .destination_regions(["ap-shanghai", "ap-beijing", "xx-nowhere-1"])
        .poll_interval(Duration::from_millis(50), Duration::from_millis(100))
        .send()
        .await
        .unwrap();
    assert_eq!(
        outcomes.iter().map(|o| o.region()).collect::<Vec<_>>(),
        ["ap-shanghai", "ap-beijing", "xx-nowhere-1"]
    );
    assert!(
        matches!(&outcomes[0], RegionOutcome::NotReported { region } if region == "ap-shanghai")
    );
    assert!(outcomes[1].is_ready());
    assert!(matches!(&outcomes[2], RegionOutcome::Refused { .. }));
    assert_eq!(outcomes.iter().filter(|o| o.is_ready()).count(), 1);
}
