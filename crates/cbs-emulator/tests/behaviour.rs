//! Snapshot and disk behaviour, copies over time, and injected faults.

mod support;

use std::time::Duration;

use tokio::time::Instant;

use cbs_emulator::{Emulator, EmulatorHandle, Fault, FaultKind};
use cbs_transport::TransportErrorKind;
use serde_json::Value;
use support::*;

fn emulator(copy: Duration) -> EmulatorHandle {
    Emulator::builder()
        .credential(ID, KEY)
        .seed_demo(true)
        .rate_limit(0)
        .copy_duration(copy)
        .start_in_process()
        .expect("emulator starts")
}

async fn copy(emulator: &EmulatorHandle, body: &str) -> Value {
    Call::new("CopySnapshotCrossRegions", body)
        .region(None)
        .send(emulator)
        .await
}

async fn describe(emulator: &EmulatorHandle, region: &str, body: &str) -> Value {
    Call::new("DescribeSnapshots", body)
        .region(Some(region))
        .send(emulator)
        .await
}

#[tokio::test(start_paused = true)]
async fn partial_success_conflicts_and_quota() {
    let emulator = Emulator::builder()
        .credential(ID, KEY)
        .seed_demo(true)
        .rate_limit(0)
        .snapshot_quota(1)
        .start_in_process()
        .expect("emulator starts");
    let response = copy(
        &emulator,
        r#"{"SnapshotId":"snap-demo0001","DestinationRegions":["ap-chengdu","xx-nowhere","ap-guangzhou","ap-beijing"],"SnapshotName":"dr"}"#,
    )
    .await;
    let results = response["SnapshotCopyResultSet"].as_array().unwrap();
    let codes: Vec<&str> = results
        .iter()
        .map(|r| r["Code"].as_str().unwrap())
        .collect();
    // ap-beijing already holds a demo snapshot, so its quota of one is used up.
    assert_eq!(
        codes,
        [
            "Success",
            "InvalidParameterValue",
            "InvalidParameterValue",
            "InsufficientSnapshotQuota"
        ]
    );
    assert_eq!(emulator.snapshots("ap-chengdu")[0].name, "dr");

    // Copying again to a region it is already being copied to conflicts.
    let again = copy(
        &emulator,
        r#"{"SnapshotId":"snap-demo0001","DestinationRegions":["ap-chengdu"]}"#,
    )
    .await;
    assert_eq!(
        again["SnapshotCopyResultSet"][0]["Code"],
        "ResourceInUse.CopySnapshotConflict"
    );
}

#[tokio::test(start_paused = true)]
async fn a_copy_rises_to_normal_and_the_source_lists_it_meanwhile() {
    let emulator = emulator(Duration::from_millis(800));
    let response = copy(
        &emulator,
        r#"{"SnapshotId":"snap-demo0001","DestinationRegions":["ap-shanghai"]}"#,
    )
    .await;
    let id = response["SnapshotCopyResultSet"][0]["SnapshotId"]
        .as_str()
        .unwrap()
        .to_owned();

    let source = describe(
        &emulator,
        "ap-guangzhou",
        r#"{"SnapshotIds":["snap-demo0001"]}"#,
    )
    .await;
    assert_eq!(
        source["SnapshotSet"][0]["CopyingToRegions"],
        serde_json::json!(["ap-shanghai"])
    );

    // A copy in progress cannot itself be copied.
    let refused = copy(
        &emulator,
        &format!(r#"{{"SnapshotId":"{id}","DestinationRegions":["ap-beijing"]}}"#),
    )
    .await;
    assert_eq!(
        code(&refused),
        Some("UnsupportedOperation.SnapshotNotSupportCopy")
    );

    let mut percents = Vec::new();
    let body = format!(r#"{{"SnapshotIds":["{id}"]}}"#);
    for step in 0.. {
        let view = describe(&emulator, "ap-shanghai", &body).await;
        let snapshot = &view["SnapshotSet"][0];
        percents.push(snapshot["Percent"].as_u64().unwrap());
        if snapshot["SnapshotState"] == "NORMAL" {
            assert_eq!(snapshot["Percent"], 100);
            assert_eq!(snapshot["CopyFromRemote"], true);
            break;
        }
        assert_eq!(snapshot["SnapshotState"], "COPYING_FROM_REMOTE");
        assert!(step < 100, "the copy never finished");
        tokio::time::advance(Duration::from_millis(100)).await;
    }
    assert!(percents.windows(2).all(|w| w[0] <= w[1]), "{percents:?}");
    assert!(percents.len() >= 3 && percents[0] < 100);
    let source = describe(
        &emulator,
        "ap-guangzhou",
        r#"{"SnapshotIds":["snap-demo0001"]}"#,
    )
    .await;
    assert_eq!(
        source["SnapshotSet"][0]["CopyingToRegions"],
        serde_json::json!([])
    );
}

#[tokio::test(start_paused = true)]
async fn describe_filters_and_pages() {
    let emulator = emulator(Duration::from_secs(1));
    let ids = emulator.add_snapshots("ap-tokyo", 45);
    let mut seen = Vec::new();
    for offset in (0..60).step_by(20) {
        let page = describe(
            &emulator,
            "ap-tokyo",
            &format!(r#"{{"Offset":{offset},"Limit":20}}"#),
        )
        .await;
        assert_eq!(page["TotalCount"], 45);
        for s in page["SnapshotSet"].as_array().unwrap() {
            seen.push(s["SnapshotId"].as_str().unwrap().to_owned());
        }
    }
    seen.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(seen, expected);

    let by_name = describe(
        &emulator,
        "ap-guangzhou",
        r#"{"Filters":[{"Name":"snapshot-name","Values":["db-data nightly"]}]}"#,
    )
    .await;
    assert_eq!(by_name["TotalCount"], 1);
    assert_eq!(by_name["SnapshotSet"][0]["SnapshotId"], "snap-demo0002");
    let by_state = describe(&emulator, "ap-guangzhou", r#"{"Filters":[{"Name":"snapshot-state","Values":["NORMAL"]},{"Name":"disk-usage","Values":["DATA_DISK"]}]}"#).await;
    assert_eq!(
        by_state["TotalCount"],
        emulator
            .snapshots("ap-guangzhou")
            .iter()
            .filter(|s| s.state == "NORMAL")
            .count()
    );
    let none = describe(
        &emulator,
        "ap-guangzhou",
        r#"{"Filters":[{"Name":"encrypt","Values":["TRUE"]}]}"#,
    )
    .await;
    assert_eq!(none["TotalCount"], 0);
    let mixed = describe(
        &emulator,
        "ap-guangzhou",
        r#"{"SnapshotIds":["snap-demo0001"],"Filters":[]}"#,
    )
    .await;
    assert_eq!(code(&mixed), Some("InvalidParameter"));
}

#[tokio::test(start_paused = true)]
async fn disks_snapshots_create_modify_delete() {
    let emulator = emulator(Duration::from_secs(1));
    let created = Call::new(
        "CreateDisks",
        r#"{"Placement":{"Zone":"ap-guangzhou-3"},"DiskChargeType":"POSTPAID_BY_HOUR","DiskType":"CLOUD_SSD","DiskSize":200,"DiskCount":2,"DiskName":"fresh"}"#,
    )
    .send(&emulator)
    .await;
    let disk_ids: Vec<String> = created["DiskIdSet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(disk_ids.len(), 2);
    let wrong_zone = Call::new("CreateDisks", r#"{"Placement":{"Zone":"ap-beijing-1"},"DiskChargeType":"PREPAID","DiskType":"CLOUD_SSD","DiskSize":10}"#).send(&emulator).await;
    assert_eq!(code(&wrong_zone), Some("InvalidParameterValue"));

    let disks = Call::new(
        "DescribeDisks",
        &format!(r#"{{"DiskIds":["{}"]}}"#, disk_ids[0]),
    )
    .send(&emulator)
    .await;
    assert_eq!(disks["TotalCount"], 1);
    assert_eq!(disks["DiskSet"][0]["DiskType"], "CLOUD_SSD");
    assert_eq!(disks["DiskSet"][0]["DiskSize"], 200);
    assert_eq!(disks["DiskSet"][0]["Placement"]["Zone"], "ap-guangzhou-3");

    let snap = Call::new(
        "CreateSnapshot",
        &format!(
            r#"{{"DiskId":"{}","SnapshotName":"before upgrade"}}"#,
            disk_ids[0]
        ),
    )
    .send(&emulator)
    .await;
    let snap_id = snap["SnapshotId"].as_str().unwrap().to_owned();
    let missing_disk = Call::new("CreateSnapshot", r#"{"DiskId":"disk-nothere"}"#)
        .send(&emulator)
        .await;
    assert_eq!(code(&missing_disk), Some("InvalidDiskId.NotFound"));

    let renamed = Call::new(
        "ModifySnapshotAttribute",
        &format!(r#"{{"SnapshotId":"{snap_id}","SnapshotName":"after"}}"#),
    )
    .send(&emulator)
    .await;
    assert_eq!(code(&renamed), None);
    let view = describe(
        &emulator,
        "ap-guangzhou",
        &format!(r#"{{"SnapshotIds":["{snap_id}"]}}"#),
    )
    .await;
    assert_eq!(view["SnapshotSet"][0]["SnapshotName"], "after");
    assert_eq!(view["SnapshotSet"][0]["DiskId"], disk_ids[0]);

    let overview = Call::new("DescribeSnapshotOverview", "{}")
        .send(&emulator)
        .await;
    assert_eq!(
        overview["TotalNums"],
        emulator.snapshots("ap-guangzhou").len()
    );

    let partial = Call::new(
        "DeleteSnapshots",
        &format!(r#"{{"SnapshotIds":["{snap_id}","snap-nothere"]}}"#),
    )
    .send(&emulator)
    .await;
    assert_eq!(code(&partial), Some("InvalidSnapshotId.NotFound"));
    assert!(
        emulator
            .snapshots("ap-guangzhou")
            .iter()
            .any(|s| s.id == snap_id),
        "nothing is deleted when one id is wrong"
    );
    let deleted = Call::new(
        "DeleteSnapshots",
        &format!(r#"{{"SnapshotIds":["{snap_id}"]}}"#),
    )
    .send(&emulator)
    .await;
    assert_eq!(code(&deleted), None);
    assert!(
        !emulator
            .snapshots("ap-guangzhou")
            .iter()
            .any(|s| s.id == snap_id)
    );
}

#[tokio::test(start_paused = true)]
async fn injected_faults() {
    let emulator = emulator(Duration::from_secs(1));
    let call = Call::new("DescribeSnapshots", "{}");

    emulator.inject(
        Fault::new(FaultKind::Error {
            code: "InternalError".into(),
            message: String::new(),
        })
        .action("DescribeSnapshots")
        .times(1),
    );
    assert_eq!(code(&call.send(&emulator).await), Some("InternalError"));
    assert_eq!(
        code(&call.send(&emulator).await),
        None,
        "used up after one call"
    );

    emulator.inject(Fault::new(FaultKind::BadGateway).times(1));
    let response = call.try_send(&emulator).await.unwrap();
    assert_eq!(response.status(), 502);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    emulator.inject(Fault::new(FaultKind::MalformedJson).times(1));
    let response = call.try_send(&emulator).await.unwrap();
    assert!(serde_json::from_slice::<Value>(response.body()).is_err());

    emulator.inject(Fault::new(FaultKind::DropBeforeRead).times(1));
    let err = call.try_send(&emulator).await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            TransportErrorKind::Interrupted | TransportErrorKind::InvalidResponse
        ),
        "{err:?}"
    );

    // Dropped after the action ran: the copy exists although nobody heard back.
    emulator.inject(
        Fault::new(FaultKind::DropAfterRead)
            .action("CopySnapshotCrossRegions")
            .times(1),
    );
    let copy_call = Call::new(
        "CopySnapshotCrossRegions",
        r#"{"SnapshotId":"snap-demo0001","DestinationRegions":["ap-seoul"]}"#,
    );
    assert!(copy_call.try_send(&emulator).await.is_err());
    assert_eq!(emulator.snapshots("ap-seoul").len(), 1);

    emulator.inject(
        Fault::new(FaultKind::Delay(cbs_emulator::Latency::fixed(
            std::time::Duration::from_millis(300),
        )))
        .times(1),
    );
    let started = Instant::now();
    assert_eq!(code(&call.send(&emulator).await), None);
    assert_eq!(started.elapsed(), Duration::from_millis(300));

    emulator.inject(
        Fault::new(FaultKind::Error {
            code: "RequestLimitExceeded".into(),
            message: "slow down".into(),
        })
        .probability(0.0),
    );
    assert_eq!(
        code(&call.send(&emulator).await),
        None,
        "a fault with probability 0 never hits"
    );
    emulator.clear_faults();
}

#[tokio::test(start_paused = true)]
async fn deleting_a_copy_in_flight_removes_it() {
    let emulator = emulator(Duration::from_secs(30));
    let response = copy(
        &emulator,
        r#"{"SnapshotId":"snap-demo0001","DestinationRegions":["ap-hongkong"]}"#,
    )
    .await;
    let id = response["SnapshotCopyResultSet"][0]["SnapshotId"]
        .as_str()
        .unwrap();
    assert!(emulator.remove_snapshot(id));
    let view = describe(
        &emulator,
        "ap-hongkong",
        &format!(r#"{{"SnapshotIds":["{id}"]}}"#),
    )
    .await;
    assert_eq!(view["TotalCount"], 0);
}

#[tokio::test(start_paused = true)]
async fn faults_can_target_one_region_and_time_can_run_faster() {
    let emulator = Emulator::builder()
        .credential(ID, KEY)
        .seed_demo(true)
        .rate_limit(0)
        .time_scale(60.0)
        .copy_duration(Duration::from_secs(600))
        .fault(
            Fault::new(FaultKind::Error {
                code: "InternalError".into(),
                message: String::new(),
            })
            .action("DescribeSnapshots")
            .region("ap-tokyo"),
        )
        .start_in_process()
        .expect("emulator starts");
    let tokyo = describe(&emulator, "ap-tokyo", "{}").await;
    assert_eq!(code(&tokyo), Some("InternalError"));
    let seoul = describe(&emulator, "ap-seoul", "{}").await;
    assert_eq!(code(&seoul), None, "{seoul}");

    // A 100 GB copy takes 600 emulated seconds: ten real seconds at 60 times the speed.
    let copied = copy(
        &emulator,
        r#"{"SnapshotId":"snap-demo0001","DestinationRegions":["ap-seoul"]}"#,
    )
    .await;
    let replica = copied["SnapshotCopyResultSet"][0]["SnapshotId"]
        .as_str()
        .unwrap()
        .to_owned();
    let state = |emulator: &EmulatorHandle| {
        emulator
            .snapshots("ap-seoul")
            .into_iter()
            .find(|s| s.id == replica)
            .unwrap()
            .state
    };
    tokio::time::advance(Duration::from_secs(9)).await;
    assert_eq!(state(&emulator), "COPYING_FROM_REMOTE");
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(state(&emulator), "NORMAL");
}

#[tokio::test(start_paused = true)]
async fn zones_are_the_regions_own_and_can_be_added() {
    let emulator = Emulator::builder()
        .credential(ID, KEY)
        .rate_limit(0)
        .zone("ap-guangzhou-8")
        .zone("not-a-zone")
        .start_in_process()
        .expect("emulator starts");
    let create = |zone: &str| {
        format!(
            r#"{{"Placement":{{"Zone":"{zone}"}},"DiskChargeType":"POSTPAID_BY_HOUR","DiskType":"CLOUD_SSD","DiskSize":20}}"#
        )
    };
    // A real zone beyond -3, a zone added by the builder, one that does not exist.
    for (zone, accepted) in [
        ("ap-guangzhou-4", true),
        ("ap-guangzhou-8", true),
        ("ap-guangzhou-5", false),
        ("ap-guangzhou-9", false),
    ] {
        let answer = Call::new("CreateDisks", &create(zone))
            .send(&emulator)
            .await;
        assert_eq!(
            answer.get("DiskIdSet").is_some(),
            accepted,
            "{zone}: {answer}"
        );
        if !accepted {
            assert_eq!(code(&answer), Some("InvalidParameterValue"), "{zone}");
        }
    }
    let offered = Call::new(
        "DescribeDiskConfigQuota",
        r#"{"InquiryType":"INQUIRY_CBS_CONFIG","DiskTypes":["CLOUD_SSD"],"DiskUsage":"DATA_DISK"}"#,
    )
    .send(&emulator)
    .await;
    let zones: Vec<&str> = offered["DiskConfigSet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Zone"].as_str().unwrap())
        .collect();
    assert_eq!(
        zones,
        [
            "ap-guangzhou-1",
            "ap-guangzhou-2",
            "ap-guangzhou-3",
            "ap-guangzhou-4",
            "ap-guangzhou-6",
            "ap-guangzhou-7",
            "ap-guangzhou-8"
        ]
    );
}
