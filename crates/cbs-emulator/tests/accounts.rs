//! Several accounts in one emulator: each its own world, and snapshot sharing between
//! them under the service's rules.

mod support;

use cbs_emulator::{Emulator, EmulatorBuilder, EmulatorHandle};
use serde_json::Value;
use support::*;
use tc3_sign::Credentials;

const OWNER: &str = "100000000001";
const RECEIVER: &str = "200000000002";
const RECEIVER_ID: &str = "AKIDreceiver";
const RECEIVER_KEY: &str = "receiver-secret-key";

fn builder() -> EmulatorBuilder {
    Emulator::builder()
        .credential(ID, KEY)
        .account_credential(RECEIVER, RECEIVER_ID, RECEIVER_KEY)
        .seed_demo(true)
        .rate_limit(0)
}

fn two_accounts() -> EmulatorHandle {
    builder().start_in_process().expect("emulator starts")
}

async fn as_owner(emulator: &EmulatorHandle, action: &str, body: &str) -> Value {
    Call::new(action, body).send(emulator).await
}

async fn as_receiver(emulator: &EmulatorHandle, action: &str, body: &str) -> Value {
    let mut call = Call::new(action, body);
    call.credentials = Credentials::new(RECEIVER_ID, RECEIVER_KEY);
    call.send(emulator).await
}

fn ids(response: &Value) -> Vec<String> {
    response["SnapshotSet"]
        .as_array()
        .map(|set| {
            set.iter()
                .map(|s| s["SnapshotId"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The owner's `DeleteSnapshots` of `snap-demo0001`.
async fn delete_demo_snapshot(emulator: &EmulatorHandle) -> Value {
    as_owner(
        emulator,
        "DeleteSnapshots",
        r#"{"SnapshotIds":["snap-demo0001"]}"#,
    )
    .await
}

async fn share(emulator: &EmulatorHandle, snapshot: &str, accounts: &[&str], how: &str) -> Value {
    let body = serde_json::json!({
        "SnapshotIds": [snapshot],
        "AccountIds": accounts,
        "Permission": how,
    });
    as_owner(
        emulator,
        "ModifySnapshotsSharePermission",
        &body.to_string(),
    )
    .await
}

const SHARED_FILTER: &str =
    r#"{"Filters":[{"Name":"snapshot-type","Values":["SHARED_SNAPSHOT"]}]}"#;

#[tokio::test(start_paused = true)]
async fn accounts_are_apart_until_a_snapshot_is_shared() {
    let emulator = two_accounts();
    // The receiver's world is its own: no demo data, none of the owner's snapshots.
    let plain = as_receiver(&emulator, "DescribeSnapshots", "{}").await;
    assert_eq!(plain["TotalCount"], 0, "{plain}");
    let disks = as_receiver(&emulator, "DescribeDisks", "{}").await;
    assert_eq!(disks["TotalCount"], 0, "{disks}");
    let by_id = as_receiver(
        &emulator,
        "DescribeSnapshots",
        r#"{"SnapshotIds":["snap-demo0001"]}"#,
    )
    .await;
    assert!(ids(&by_id).is_empty(), "not shared yet: {by_id}");

    let shared = share(&emulator, "snap-demo0001", &[RECEIVER], "SHARE").await;
    assert!(code(&shared).is_none(), "{shared}");
    let permissions = as_owner(
        &emulator,
        "DescribeSnapshotSharePermission",
        r#"{"SnapshotId":"snap-demo0001"}"#,
    )
    .await;
    assert_eq!(
        permissions["SharePermissionSet"][0]["AccountId"], RECEIVER,
        "{permissions}"
    );

    // Visible to the receiver by id and by the SHARED_SNAPSHOT filter, not in a plain
    // listing of its own snapshots; in its region only.
    let plain = as_receiver(&emulator, "DescribeSnapshots", "{}").await;
    assert_eq!(plain["TotalCount"], 0, "{plain}");
    let listed = as_receiver(&emulator, "DescribeSnapshots", SHARED_FILTER).await;
    assert_eq!(ids(&listed), ["snap-demo0001"], "{listed}");
    assert_eq!(listed["SnapshotSet"][0]["SnapshotType"], "SHARED_SNAPSHOT");
    let elsewhere = Call::new("DescribeSnapshots", SHARED_FILTER).region(Some("ap-beijing"));
    let mut elsewhere = elsewhere;
    elsewhere.credentials = Credentials::new(RECEIVER_ID, RECEIVER_KEY);
    assert!(ids(&elsewhere.send(&emulator).await).is_empty());
    let by_id = as_receiver(
        &emulator,
        "DescribeSnapshots",
        r#"{"SnapshotIds":["snap-demo0001"]}"#,
    )
    .await;
    assert_eq!(ids(&by_id), ["snap-demo0001"]);

    // A disk from it lands in the receiver's account.
    let created = as_receiver(
        &emulator,
        "CreateDisks",
        r#"{"Placement":{"Zone":"ap-guangzhou-2"},"DiskChargeType":"POSTPAID_BY_HOUR","DiskType":"CLOUD_PREMIUM","SnapshotId":"snap-demo0001","DiskName":"restored"}"#,
    )
    .await;
    assert!(code(&created).is_none(), "{created}");
    let restored = emulator.disks_of(RECEIVER, "ap-guangzhou");
    assert_eq!(restored.len(), 1);
    assert_eq!(restored[0].name, "restored");
    assert!(
        emulator
            .disks("ap-guangzhou")
            .iter()
            .all(|d| d.name != "restored"),
        "the owner's account has no such disk"
    );

    // The receiver may not rename, copy or delete it.
    let renamed = as_receiver(
        &emulator,
        "ModifySnapshotAttribute",
        r#"{"SnapshotId":"snap-demo0001","SnapshotName":"mine"}"#,
    )
    .await;
    assert_eq!(code(&renamed), Some("InvalidSnapshot.NotSupported"));
    let copied = Call::new(
        "CopySnapshotCrossRegions",
        r#"{"SnapshotId":"snap-demo0001","DestinationRegions":["ap-beijing"]}"#,
    );
    let mut copied = copied;
    copied.credentials = Credentials::new(RECEIVER_ID, RECEIVER_KEY);
    let copied = copied.send(&emulator).await;
    assert_eq!(
        code(&copied),
        Some("UnsupportedOperation.SnapshotNotSupportCopy")
    );
    let deleted = as_receiver(
        &emulator,
        "DeleteSnapshots",
        r#"{"SnapshotIds":["snap-demo0001"]}"#,
    )
    .await;
    assert_eq!(code(&deleted), Some("InvalidSnapshot.NotSupported"));
    assert_eq!(
        emulator
            .snapshots("ap-guangzhou")
            .iter()
            .filter(|s| s.id == "snap-demo0001")
            .count(),
        1
    );

    // The owner must end the shares before deleting; then it is gone for everyone.
    let refused = delete_demo_snapshot(&emulator).await;
    assert_eq!(code(&refused), Some("UnsupportedOperation.SnapHasShared"));
    share(&emulator, "snap-demo0001", &[RECEIVER], "CANCEL").await;
    let deleted = delete_demo_snapshot(&emulator).await;
    assert!(code(&deleted).is_none(), "{deleted}");
    let gone = as_receiver(&emulator, "DescribeSnapshots", SHARED_FILTER).await;
    assert!(ids(&gone).is_empty(), "{gone}");
}

#[tokio::test(start_paused = true)]
async fn sharing_rules_fifty_accounts_data_disks_not_oneself() {
    let emulator = two_accounts();
    let fifty: Vec<String> = (0..50).map(|i| format!("3000000{i:05}")).collect();
    let fifty: Vec<&str> = fifty.iter().map(String::as_str).collect();
    let answer = share(&emulator, "snap-demo0001", &fifty, "SHARE").await;
    assert!(code(&answer).is_none(), "{answer}");
    // Sharing again with the same accounts changes nothing and is not refused.
    assert!(code(&share(&emulator, "snap-demo0001", &fifty[..3], "SHARE").await).is_none());
    let fifty_first = share(&emulator, "snap-demo0001", &[RECEIVER], "SHARE").await;
    assert_eq!(
        code(&fifty_first),
        Some("InvalidParameterValue.LimitExceeded")
    );
    let ourselves = share(&emulator, "snap-demo0001", &[OWNER], "SHARE").await;
    assert_eq!(code(&ourselves), Some("InvalidParameterValue"));

    let system = emulator.add_system_disk("ap-guangzhou", "boot", 50);
    let snapshot = emulator
        .snapshots("ap-guangzhou")
        .into_iter()
        .find(|s| s.disk_id == system)
        .unwrap();
    let refused = share(&emulator, &snapshot.id, &[RECEIVER], "SHARE").await;
    assert_eq!(code(&refused), Some("InvalidSnapshot.NotSupported"));
    assert!(
        refused["Error"]["Message"]
            .as_str()
            .unwrap()
            .contains("system disk")
    );
}

#[tokio::test(start_paused = true)]
async fn a_policy_copied_across_accounts_lands_in_the_target() {
    let emulator = two_accounts();
    let created = as_owner(
        &emulator,
        "CreateAutoSnapshotPolicy",
        r#"{"Policy":[{"DayOfWeek":[1],"Hour":[2]}],"AutoSnapshotPolicyName":"nightly"}"#,
    )
    .await;
    let policy = created["AutoSnapshotPolicyId"].as_str().unwrap().to_owned();
    let body = serde_json::json!({"TargetAccountUin": RECEIVER, "AutoSnapshotPolicyIds": [policy]});
    let copied = as_owner(
        &emulator,
        "CopyAutoSnapshotPolicyCrossAccount",
        &body.to_string(),
    )
    .await;
    assert!(code(&copied).is_none(), "{copied}");
    let theirs = as_receiver(&emulator, "DescribeAutoSnapshotPolicies", "{}").await;
    let set = theirs["AutoSnapshotPolicySet"].as_array().unwrap();
    assert_eq!(set.len(), 1, "{theirs}");
    assert_eq!(set[0]["AutoSnapshotPolicyName"], "nightly");
    assert_eq!(set[0]["CopyFromAccountUin"], OWNER);
    assert_eq!(
        set[0]["AutoSnapshotPolicyId"],
        copied["AutoSnapshotPolicyIds"][0]
    );
    let ours = as_owner(&emulator, "DescribeAutoSnapshotPolicies", "{}").await;
    assert!(
        ours["AutoSnapshotPolicySet"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["CopyFromAccountUin"].is_null()),
        "the copy is not in the owner's account: {ours}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_state_file_keeps_every_account() {
    let dir = std::env::temp_dir().join(format!(
        "cbs-emulator-accounts-{}-{}",
        std::process::id(),
        now()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.json");
    {
        let emulator = builder().state_file(&state).start_in_process().unwrap();
        share(&emulator, "snap-demo0001", &[RECEIVER], "SHARE").await;
        let created = as_receiver(
            &emulator,
            "CreateDisks",
            r#"{"Placement":{"Zone":"ap-guangzhou-2"},"DiskChargeType":"POSTPAID_BY_HOUR","DiskType":"CLOUD_SSD","DiskSize":20,"DiskName":"theirs"}"#,
        )
        .await;
        assert!(code(&created).is_none(), "{created}");
    }
    let emulator = builder().state_file(&state).start_in_process().unwrap();
    assert_eq!(
        emulator.disks_of(RECEIVER, "ap-guangzhou")[0].name,
        "theirs"
    );
    let listed = as_receiver(&emulator, "DescribeSnapshots", SHARED_FILTER).await;
    assert_eq!(ids(&listed), ["snap-demo0001"]);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(start_paused = true)]
async fn with_delete_shared_the_owner_deletes_it_for_everyone() {
    let emulator = builder()
        .delete_shared(true)
        .start_in_process()
        .expect("emulator starts");
    share(&emulator, "snap-demo0001", &[RECEIVER], "SHARE").await;
    let listed = as_receiver(&emulator, "DescribeSnapshots", SHARED_FILTER).await;
    assert_eq!(ids(&listed), ["snap-demo0001"]);
    let deleted = delete_demo_snapshot(&emulator).await;
    assert!(code(&deleted).is_none(), "{deleted}");
    let gone = as_receiver(&emulator, "DescribeSnapshots", SHARED_FILTER).await;
    assert!(ids(&gone).is_empty(), "{gone}");
    let by_id = as_receiver(
        &emulator,
        "DescribeSnapshots",
        r#"{"SnapshotIds":["snap-demo0001"]}"#,
    )
    .await;
    assert!(ids(&by_id).is_empty(), "{by_id}");
}

#[tokio::test(start_paused = true)]
async fn rate_limits_per_credential_or_per_account() {
    const SECOND_ID: &str = "AKIDsecondcredentialoftheowner";
    const SECOND_KEY: &str = "second-key";
    let as_second = || {
        let mut call = Call::new("DescribeSnapshots", "{}");
        call.credentials = Credentials::new(SECOND_ID, SECOND_KEY);
        call
    };
    for per_account in [false, true] {
        let emulator = builder()
            .credential(SECOND_ID, SECOND_KEY)
            .rate_limit(2)
            .rate_limit_per_account(per_account)
            .start_in_process()
            .expect("emulator starts");
        // Two calls with the owner's first credential use up its budget.
        for _ in 0..2 {
            assert!(code(&as_owner(&emulator, "DescribeSnapshots", "{}").await).is_none());
        }
        let second = as_second().send(&emulator).await;
        let expected = per_account.then_some("RequestLimitExceeded");
        assert_eq!(code(&second), expected, "per account: {per_account}");
        // Another account has its own budget either way.
        assert!(code(&as_receiver(&emulator, "DescribeSnapshots", "{}").await).is_none());
    }
}
