//! Restoring from another account, against an emulator holding two accounts, under
//! paused time: replicas shared with the recovery account once (through lost answers,
//! a killed run and a refusing destination), the service's share limits, system disks,
//! pruning that ends shares, and the check and the drill run with the recovery
//! account's keys only.

use std::collections::BTreeMap;
use std::time::Duration;

use cbs_dr::{
    MAX_SHARE_ACCOUNTS, Outcome, PlanAction, Policy, ReplicaName, Replication, Report, Rule,
    Selection,
};
use cbs_e2e::*;
use cbs_emulator::{Emulator, EmulatorHandle, Fault, FaultKind, Latency};
use tencentcloud_cbs::{Client, Credentials};

const SOURCE: &str = "ap-guangzhou";
const DESTINATIONS: [&str; 2] = ["ap-seoul", "ap-tokyo"];
const RECEIVER: &str = "200000000002";
const RECEIVER_ID: &str = "AKIDrecoveryaccount00000000000000000";
const RECEIVER_KEY: &str = "recovery-account-key-do-not-log";
const SHARE_ACTION: &str = "ModifySnapshotsSharePermission";

fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .credential(SECRET_ID, SECRET_KEY)
        .account_credential(RECEIVER, RECEIVER_ID, RECEIVER_KEY)
        .seed_demo(true)
        .rate_limit(0)
        .copy_duration(Duration::from_secs(60))
        .start_in_process()
        .expect("emulator starts")
}

/// A client of the recovery account: none of the owner's keys.
fn receiver(emulator: &EmulatorHandle) -> Client {
    client_builder(emulator)
        .credentials(Credentials::new(RECEIVER_ID, RECEIVER_KEY))
        .build()
        .unwrap()
}

/// A client of the owner whose requests are recorded.
fn recorded(emulator: &EmulatorHandle) -> (Client, Recording<cbs_emulator::LocalTransport>) {
    let recording = Recording::new(emulator.transport());
    let client = client_builder(emulator)
        .transport(recording.clone())
        .build()
        .unwrap();
    (client, recording)
}

fn replication(client: &Client, policy: Policy) -> Replication {
    Replication::new(client, policy)
        .poll_interval(Duration::from_secs(5), Duration::from_secs(30))
        .clock(TokioClock::new())
}

/// The seeded production fleet (prod-db-1, prod-db-2, prod-web-1) to both
/// destinations, shared with `accounts`.
fn shared_policy(accounts: &[&str]) -> Policy {
    Policy::new(vec![
        Rule::new("prod", SOURCE, DESTINATIONS)
            .disk_name_pattern("prod-*")
            .share_with(accounts.iter().copied()),
    ])
    .unwrap()
}

fn count(report: &Report, outcome: Outcome) -> usize {
    report.items.iter().filter(|i| i.outcome == outcome).count()
}

fn sent(recording: &Recording<cbs_emulator::LocalTransport>, action: &str) -> usize {
    counts(&recording.sent()).get(action).copied().unwrap_or(0)
}

/// This tool's replicas in `region` (owned by the default account): id → accounts it
/// is shared with.
fn replica_shares(emulator: &EmulatorHandle, region: &str) -> BTreeMap<String, Vec<String>> {
    emulator
        .snapshots(region)
        .into_iter()
        .filter(|s| ReplicaName::parse(&s.name).is_some())
        .map(|s| (s.id, s.shared_with))
        .collect()
}

/// Replicates and shares the fleet, then names one of its replicas in ap-seoul.
async fn shared_replica_in_seoul(emulator: &EmulatorHandle, client: &Client) -> String {
    replication(client, shared_policy(&[RECEIVER]))
        .apply()
        .await
        .unwrap();
    let (replica, _) = replica_shares(emulator, "ap-seoul")
        .into_iter()
        .next()
        .unwrap();
    replica
}

#[tokio::test(start_paused = true)]
async fn apply_shares_each_kept_replica_once_and_a_second_run_shares_nothing() {
    let emulator = emulator();
    let (client, recording) = recorded(&emulator);
    let replication = replication(&client, shared_policy(&[RECEIVER]));

    let plan = replication.plan().await.unwrap();
    assert_eq!(plan.totals().copies, 6, "{plan:#?}");
    assert_eq!(plan.totals().shares, 6, "a share follows each copy");

    let report = replication.apply().await.unwrap();
    assert!(report.converged, "{report:#?}");
    assert_eq!(count(&report, Outcome::Copied), 6, "{report:#?}");
    assert_eq!(count(&report, Outcome::Shared), 6, "{report:#?}");
    for item in report.items.iter().filter(|i| i.outcome == Outcome::Shared) {
        assert_eq!(item.account.as_deref(), Some(RECEIVER));
        assert!(item.replica_id.is_some());
    }
    for region in DESTINATIONS {
        let shares = replica_shares(&emulator, region);
        assert_eq!(shares.len(), 3);
        assert!(
            shares.values().all(|a| a == &[RECEIVER.to_owned()]),
            "{shares:?}"
        );
    }
    assert_eq!(
        sent(&recording, SHARE_ACTION),
        6,
        "one share call per replica"
    );
    assert!(
        replication
            .check(Duration::from_secs(86_400))
            .await
            .unwrap()
            .is_ok()
    );

    let plan = replication.plan().await.unwrap();
    assert!(plan.is_converged(), "{plan:#?}");
    assert_eq!(plan.totals().shared, 6);
    let again = replication.apply().await.unwrap();
    assert_eq!(count(&again, Outcome::AlreadyShared), 6, "{again:#?}");
    assert_eq!(count(&again, Outcome::Shared), 0);
    assert_eq!(sent(&recording, SHARE_ACTION), 6, "nothing shared twice");
}

#[tokio::test(start_paused = true)]
async fn a_run_killed_between_copy_and_share_is_finished_by_the_next() {
    let emulator = emulator();
    // Share calls are slow, so the run can be stopped with copies done and shares not.
    emulator.inject(
        Fault::new(FaultKind::Delay(Latency::fixed(Duration::from_secs(600)))).action(SHARE_ACTION),
    );
    let (client, recording) = recorded(&emulator);
    let replication = replication(&client, shared_policy(&[RECEIVER]));
    let killed = tokio::time::timeout(Duration::from_secs(400), replication.apply()).await;
    assert!(killed.is_err(), "the run was stopped");
    assert!(
        sent(&recording, SHARE_ACTION) > 0,
        "it was sharing when stopped"
    );
    let mut unshared = 0;
    for region in DESTINATIONS {
        let shares = replica_shares(&emulator, region);
        assert_eq!(shares.len(), 3, "the copies were made");
        unshared += shares.values().filter(|a| a.is_empty()).count();
    }
    assert!(unshared > 0, "the stopped run left shares to make");

    emulator.clear_faults();
    // Answers lost after the service shared: the next run looks before it trusts them.
    emulator.inject(
        Fault::new(FaultKind::DropAfterRead)
            .action(SHARE_ACTION)
            .times(2),
    );
    let next = replication.apply().await.unwrap();
    assert!(next.converged, "{next:#?}");
    assert_eq!(
        count(&next, Outcome::Shared) + count(&next, Outcome::AlreadyShared),
        6,
        "{next:#?}"
    );
    assert!(count(&next, Outcome::Shared) >= unshared, "{next:#?}");
    assert_eq!(count(&next, Outcome::Copied), 0, "no copy made twice");
    for region in DESTINATIONS {
        let shares = replica_shares(&emulator, region);
        assert_eq!(shares.len(), 3, "no copy made twice");
        assert!(
            shares.values().all(|a| a == &[RECEIVER.to_owned()]),
            "{shares:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn more_than_fifty_accounts_are_refused_by_the_policy_and_by_the_service() {
    let accounts: Vec<String> = (0..=MAX_SHARE_ACCOUNTS)
        .map(|i| format!("3000000{i:05}"))
        .collect();
    let refused = Policy::new(vec![
        Rule::new("prod", SOURCE, DESTINATIONS)
            .disk_name_pattern("prod-*")
            .share_with(accounts.iter().map(String::as_str)),
    ]);
    let message = refused.unwrap_err().to_string();
    assert!(message.contains("50"), "{message}");
    let digits = Policy::new(vec![
        Rule::new("prod", SOURCE, DESTINATIONS).share_with(["1234-5678"]),
    ]);
    assert!(digits.is_err());

    // A replica someone already shared with 49 others (50 in all) cannot take one more:
    // that one share fails with the service's code, the rest of the run goes on.
    let emulator = emulator();
    let client = client(&emulator);
    let full = shared_replica_in_seoul(&emulator, &client).await;
    client
        .modify_snapshots_share_permission()
        .region("ap-seoul")
        .snapshot_ids([full.as_str()])
        .account_ids(
            accounts[..MAX_SHARE_ACCOUNTS - 1]
                .iter()
                .map(String::as_str),
        )
        .permission("SHARE")
        .send()
        .await
        .unwrap();
    let report = replication(&client, shared_policy(&[RECEIVER, "400000000004"]))
        .apply()
        .await
        .unwrap();
    let failed: Vec<_> = report
        .items
        .iter()
        .filter(|i| i.outcome == Outcome::Failed)
        .collect();
    assert_eq!(failed.len(), 1, "{report:#?}");
    assert_eq!(failed[0].replica_id.as_deref(), Some(full.as_str()));
    assert_eq!(failed[0].account.as_deref(), Some("400000000004"));
    let failure = failed[0].failure.as_ref().unwrap();
    assert_eq!(failure.code, "InvalidParameterValue.LimitExceeded");
    assert!(failure.request_id.is_some());
    assert_eq!(count(&report, Outcome::Shared), 5, "{report:#?}");
    assert_eq!(count(&report, Outcome::AlreadyShared), 6, "{report:#?}");
}

#[tokio::test(start_paused = true)]
async fn a_system_disk_is_not_shareable_and_the_plan_says_so_per_disk() {
    let emulator = emulator();
    let boot = emulator.add_system_disk(SOURCE, "prod-boot", 50);
    let (client, recording) = recorded(&emulator);
    let replication = replication(&client, shared_policy(&[RECEIVER]));

    let plan = replication.plan().await.unwrap();
    let not_shareable: Vec<_> = plan
        .items()
        .iter()
        .filter(|i| i.action == PlanAction::NotShareable)
        .collect();
    assert_eq!(not_shareable.len(), 1, "{plan:#?}");
    assert_eq!(not_shareable[0].disk_id, boot);
    assert_eq!(not_shareable[0].destination, None);
    assert_eq!(plan.totals().not_shareable, 1);
    assert_eq!(plan.totals().copies, 8, "the system disk is still copied");
    assert_eq!(plan.totals().shares, 6, "only the data disks are shared");
    assert!(
        recording
            .sent()
            .iter()
            .all(|(_, a)| !a.starts_with("Modify"))
    );

    let report = replication.apply().await.unwrap();
    assert_eq!(count(&report, Outcome::Shared), 6, "{report:#?}");
    let refused: Vec<_> = report
        .items
        .iter()
        .filter(|i| i.outcome == Outcome::Failed)
        .collect();
    assert_eq!(refused.len(), 1, "{report:#?}");
    assert_eq!(refused[0].disk_id, boot);
    assert_eq!(refused[0].failure.as_ref().unwrap().code, "NotShareable");
    assert_eq!(
        sent(&recording, SHARE_ACTION),
        6,
        "no call for the system disk"
    );
    for region in DESTINATIONS {
        let shares = replica_shares(&emulator, region);
        assert_eq!(shares.len(), 4, "its replicas are made");
        assert_eq!(shares.values().filter(|a| a.is_empty()).count(), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn a_destination_refusing_share_calls_fails_alone() {
    let emulator = emulator();
    emulator.inject(
        Fault::new(FaultKind::Error {
            code: "AuthFailure.UnauthorizedOperation".into(),
            message: String::new(),
        })
        .action(SHARE_ACTION)
        .region("ap-tokyo"),
    );
    let client = client(&emulator);
    let report = replication(&client, shared_policy(&[RECEIVER]))
        .apply()
        .await
        .unwrap();
    assert!(!report.converged);
    let mut by_destination: BTreeMap<(String, &str), usize> = BTreeMap::new();
    for item in report.items.iter().filter(|i| i.account.is_some()) {
        *by_destination
            .entry((item.destination.clone().unwrap(), item.outcome.as_str()))
            .or_default() += 1;
    }
    assert_eq!(
        by_destination,
        BTreeMap::from([
            (("ap-seoul".to_owned(), "shared"), 3),
            (("ap-tokyo".to_owned(), "failed"), 3)
        ])
    );
    for item in report.items.iter().filter(|i| i.outcome == Outcome::Failed) {
        let failure = item.failure.as_ref().unwrap();
        assert_eq!(failure.code, "AuthFailure.UnauthorizedOperation");
        assert!(failure.request_id.is_some());
    }
    assert_eq!(
        count(&report, Outcome::Copied),
        6,
        "the copies were all made"
    );
    let owner_check = replication(&client, shared_policy(&[RECEIVER]))
        .check(Duration::from_secs(86_400))
        .await
        .unwrap();
    let offenders: Vec<_> = owner_check.offenders().collect();
    assert_eq!(offenders.len(), 3, "{owner_check:#?}");
    assert!(
        offenders
            .iter()
            .all(|i| i.destination == "ap-tokyo" && i.unshared == [RECEIVER.to_owned()])
    );
}

#[tokio::test(start_paused = true)]
async fn pruning_ends_a_replicas_shares_before_deleting_it() {
    let emulator = emulator();
    let client = client(&emulator);
    // Every snapshot of prod-db-1 (four) to ap-seoul, shared.
    let keep = |n: u32| {
        Policy::new(vec![
            Rule::new("db1", SOURCE, ["ap-seoul"])
                .disk_ids(["disk-prod0001"])
                .snapshots(Selection::All)
                .keep(n)
                .share_with([RECEIVER]),
        ])
        .unwrap()
    };
    let first = replication(&client, keep(4)).apply().await.unwrap();
    assert_eq!(count(&first, Outcome::Shared), 4, "{first:#?}");

    let plan = replication(&client, keep(2)).plan().await.unwrap();
    let unshares: Vec<_> = plan
        .items()
        .iter()
        .filter_map(|i| match &i.action {
            PlanAction::Unshare {
                replica_id,
                accounts,
            } => Some((replica_id.clone(), accounts.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(unshares.len(), 2, "{plan:#?}");
    assert!(
        unshares
            .iter()
            .all(|(_, a)| a == &vec![RECEIVER.to_owned()])
    );
    assert_eq!(plan.totals().unshares, 2);

    let pruned = replication(&client, keep(2))
        .prune(true)
        .apply()
        .await
        .unwrap();
    assert_eq!(count(&pruned, Outcome::Unshared), 2, "{pruned:#?}");
    assert_eq!(count(&pruned, Outcome::Pruned), 2, "{pruned:#?}");
    let left = replica_shares(&emulator, "ap-seoul");
    assert_eq!(left.len(), 2);
    for (id, _) in &unshares {
        assert!(!left.contains_key(id), "{id} was deleted");
    }
    assert!(left.values().all(|a| a == &[RECEIVER.to_owned()]));
}

#[tokio::test(start_paused = true)]
async fn the_receiver_checks_fresh_missing_and_stale_replicas_with_its_own_keys() {
    let emulator = emulator();
    let owner = client(&emulator);
    let receiver = receiver(&emulator);
    let replication = replication(&owner, shared_policy(&[RECEIVER]));
    let day = Duration::from_secs(86_400);
    // The receiver names the disks by id: it cannot list the owner's disks.
    let by_id = Policy::new(vec![
        Rule::new("prod", SOURCE, DESTINATIONS)
            .disk_ids(["disk-prod0001", "disk-prod0002", "disk-prod0003"])
            .share_with([RECEIVER]),
    ])
    .unwrap();
    let receiving = self::replication(&owner, by_id);

    let before = receiving.check_as_receiver(&receiver, day).await.unwrap();
    assert_eq!(before.offenders().count(), 6, "{before:#?}");

    replication.apply().await.unwrap();
    let fresh = receiving.check_as_receiver(&receiver, day).await.unwrap();
    assert!(fresh.is_ok(), "{fresh:#?}");
    assert_eq!(fresh.items.len(), 6);
    // The tags are the owner's: the receiving side does not count untagged replicas.
    assert!(fresh.items.iter().all(|i| i.untagged.is_none()));
    let by_pattern = replication.check_as_receiver(&receiver, day).await.unwrap();
    assert!(by_pattern.is_ok(), "{by_pattern:#?}");
    assert_eq!(
        by_pattern.items.len(),
        6,
        "disks seen through their replicas"
    );

    // The owner ends one share: the receiver no longer sees that replica.
    let tokyo = emulator.snapshots("ap-tokyo");
    let replica = tokyo
        .iter()
        .find(|s| ReplicaName::parse(&s.name).is_some())
        .unwrap();
    let source = emulator
        .snapshots(SOURCE)
        .into_iter()
        .find(|s| replica.copied_from.as_deref() == Some(s.id.as_str()))
        .unwrap();
    owner
        .modify_snapshots_share_permission()
        .region("ap-tokyo")
        .snapshot_ids([replica.id.as_str()])
        .account_ids([RECEIVER])
        .permission("CANCEL")
        .send()
        .await
        .unwrap();
    let missing = receiving.check_as_receiver(&receiver, day).await.unwrap();
    let offenders: Vec<_> = missing.offenders().collect();
    assert_eq!(offenders.len(), 1, "{missing:#?}");
    assert_eq!(offenders[0].destination, "ap-tokyo");
    assert_eq!(offenders[0].replica_id, None);
    assert_eq!(offenders[0].disk_id, source.disk_id);
    // From the owning side, the same gap shows as a missing share.
    let owner_side = replication.check(day).await.unwrap();
    let offenders: Vec<_> = owner_side.offenders().collect();
    assert_eq!(offenders.len(), 1, "{owner_side:#?}");
    assert_eq!(offenders[0].unshared, [RECEIVER.to_owned()]);

    // A run shares it again; two days on, every replica is stale for the receiver.
    replication.apply().await.unwrap();
    assert!(
        receiving
            .check_as_receiver(&receiver, day)
            .await
            .unwrap()
            .is_ok()
    );
    tokio::time::advance(2 * day).await;
    let stale = receiving.check_as_receiver(&receiver, day).await.unwrap();
    assert_eq!(stale.offenders().count(), 6, "{stale:#?}");
    assert!(stale.items.iter().all(|i| i.data_age.unwrap() > 2 * day));
}

#[tokio::test(start_paused = true)]
async fn the_receiver_drills_in_its_own_account_and_leaves_nothing_behind() {
    let emulator = emulator();
    let owner = client(&emulator);
    let receiver = receiver(&emulator);
    let replication = replication(&owner, shared_policy(&[RECEIVER]));
    replication.apply().await.unwrap();
    let owner_disks = emulator.disks("ap-seoul");
    assert!(emulator.disks_of(RECEIVER, "ap-seoul").is_empty());

    // Creations whose answers are lost are repeated with their token, and nothing stays.
    emulator.inject(
        Fault::new(FaultKind::DropAfterRead)
            .action("CreateDisks")
            .times(2),
    );
    let drill = replication
        .drill_as_receiver(&receiver, "ap-seoul", false)
        .await
        .unwrap();
    assert_eq!(drill.items.len(), 3, "{drill:#?}");
    assert_eq!(drill.succeeded(), 3, "{drill:#?}");
    assert!(
        drill
            .items
            .iter()
            .all(|i| i.deleted && i.time_to_usable.is_some())
    );
    assert_eq!(drill.left_behind().count(), 0);
    assert!(emulator.disks_of(RECEIVER, "ap-seoul").is_empty());
    assert_eq!(
        emulator.disks("ap-seoul"),
        owner_disks,
        "the owner's untouched"
    );

    let kept = replication
        .drill_as_receiver(&receiver, "ap-seoul", true)
        .await
        .unwrap();
    assert_eq!(kept.succeeded(), 3, "{kept:#?}");
    let restored = emulator.disks_of(RECEIVER, "ap-seoul");
    assert_eq!(restored.len(), 3);
    for item in &kept.items {
        assert!(
            restored
                .iter()
                .any(|d| Some(&d.id) == item.restored_disk_id.as_ref()),
            "{item:?} is in the recovery account"
        );
    }
    assert_eq!(emulator.disks("ap-seoul"), owner_disks);
}

#[tokio::test(start_paused = true)]
async fn the_receiver_can_only_make_disks_from_a_shared_replica() {
    let emulator = emulator();
    let owner = client(&emulator);
    let receiver = receiver(&emulator);
    let replica = shared_replica_in_seoul(&emulator, &owner).await;

    let rename = receiver
        .modify_snapshot_attribute()
        .region("ap-seoul")
        .snapshot_id(replica.as_str())
        .snapshot_name("mine now")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        rename.code().unwrap().as_str(),
        "InvalidSnapshot.NotSupported"
    );
    assert!(rename.request_id().is_some());
    let copy = receiver
        .copy_snapshot_cross_regions()
        .region("ap-seoul")
        .snapshot_id(replica.as_str())
        .destination_regions(["ap-tokyo"])
        .send()
        .await;
    let copy_code = match copy {
        Err(e) => e.code().unwrap().as_str().to_owned(),
        Ok(output) => format!("{output:?}"),
    };
    assert_eq!(copy_code, "UnsupportedOperation.SnapshotNotSupportCopy");
    let delete = receiver
        .delete_snapshots()
        .region("ap-seoul")
        .snapshot_ids([replica.as_str()])
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        delete.code().unwrap().as_str(),
        "InvalidSnapshot.NotSupported"
    );
    assert!(replica_shares(&emulator, "ap-seoul").contains_key(&replica));
}

#[tokio::test(start_paused = true)]
async fn older_replicas_retention_keeps_are_shared_too() {
    let emulator = emulator();
    let client = client(&emulator);
    // Four replicas of prod-db-1 made before the rule shared anything.
    let rule = || {
        Rule::new("db1", SOURCE, ["ap-seoul"])
            .disk_ids(["disk-prod0001"])
            .keep(4)
    };
    let all = Policy::new(vec![rule().snapshots(Selection::All)]).unwrap();
    replication(&client, all).apply().await.unwrap();
    assert_eq!(replica_shares(&emulator, "ap-seoul").len(), 4);

    // Now only the newest is wanted, but all four are kept: each is a restore point.
    let shared = Policy::new(vec![rule().share_with([RECEIVER])]).unwrap();
    let plan = replication(&client, shared.clone()).plan().await.unwrap();
    assert_eq!(plan.totals().shares, 4, "{plan:#?}");
    assert_eq!(plan.totals().prunes, 0);
    let report = replication(&client, shared.clone()).apply().await.unwrap();
    assert!(report.converged, "{report:#?}");
    assert_eq!(count(&report, Outcome::Shared), 4, "{report:#?}");
    assert_eq!(
        count(&report, Outcome::UpToDate),
        1,
        "one line for the newest copy"
    );
    let shares = replica_shares(&emulator, "ap-seoul");
    assert!(
        shares.values().all(|a| a == &[RECEIVER.to_owned()]),
        "{shares:?}"
    );
    let plan = replication(&client, shared).plan().await.unwrap();
    assert!(plan.is_converged(), "{plan:#?}");
    assert_eq!(plan.totals().shared, 4);
}

#[tokio::test(start_paused = true)]
async fn throttled_share_calls_are_waited_out_and_sent_once_each() {
    let emulator = emulator();
    let throttled = || FaultKind::Error {
        code: "RequestLimitExceeded".into(),
        message: String::new(),
    };
    // Other clients of the account use up the share and lookup rates now and then.
    emulator.inject(Fault::new(throttled()).action(SHARE_ACTION).times(3));
    emulator.inject(
        Fault::new(throttled())
            .action("DescribeSnapshotSharePermission")
            .times(2),
    );
    let (client, recording) = recorded(&emulator);
    let replication = replication(&client, shared_policy(&[RECEIVER]));
    let report = replication.apply().await.unwrap();
    assert!(report.converged, "{report:#?}");
    assert_eq!(count(&report, Outcome::Shared), 6, "{report:#?}");
    assert_eq!(
        sent(&recording, SHARE_ACTION),
        6 + 3,
        "the throttled ones again, once"
    );
    for region in DESTINATIONS {
        let shares = replica_shares(&emulator, region);
        assert!(
            shares.values().all(|a| a == &[RECEIVER.to_owned()]),
            "{shares:?}"
        );
    }
    // The next run's lookups are throttled too, and it still shares nothing twice.
    let again = replication.apply().await.unwrap();
    assert_eq!(count(&again, Outcome::AlreadyShared), 6, "{again:#?}");
    assert_eq!(sent(&recording, SHARE_ACTION), 9);
    assert_eq!(
        sent(&recording, "DescribeSnapshotSharePermission"),
        6 + 2,
        "one lookup per replica, the two throttled ones again"
    );
}

#[tokio::test(start_paused = true)]
async fn a_recovery_client_without_credentials_fails_the_run_at_once() {
    let emulator = emulator();
    let owner = client(&emulator);
    let recording = Recording::new(emulator.transport());
    let nowhere = client_builder(&emulator)
        .transport(recording.clone())
        .credentials_provider(
            tencentcloud_cbs::ProfileProvider::from_env()
                .file("/nonexistent/tccbs-e2e-credentials")
                .profile("dr"),
        )
        .build()
        .unwrap();
    let replication = replication(&owner, shared_policy(&[RECEIVER]));
    let checked = replication
        .check_as_receiver(&nowhere, Duration::from_secs(86_400))
        .await;
    assert!(
        matches!(checked, Err(tencentcloud_cbs::Error::Credentials(_))),
        "{checked:?}"
    );
    let drilled = replication
        .drill_as_receiver(&nowhere, "ap-seoul", false)
        .await;
    assert!(
        matches!(drilled, Err(tencentcloud_cbs::Error::Credentials(_))),
        "{drilled:?}"
    );
    let applied = self::replication(&nowhere, shared_policy(&[RECEIVER]))
        .apply()
        .await;
    assert!(
        matches!(applied, Err(tencentcloud_cbs::Error::Credentials(_))),
        "{applied:?}"
    );
    assert!(recording.sent().is_empty(), "nothing was sent");
}

#[tokio::test(start_paused = true)]
async fn runs_killed_at_random_moments_share_each_replica_once() {
    // Copies take 5 to 20 minutes; share calls 20 s each: most runs die mid-way.
    let emulator = Emulator::builder()
        .credential(SECRET_ID, SECRET_KEY)
        .account_credential(RECEIVER, RECEIVER_ID, RECEIVER_KEY)
        .seed_demo(true)
        .rate_limit(0)
        .copy_duration(Duration::from_secs(600))
        .start_in_process()
        .expect("emulator starts");
    emulator.add_fleet(SOURCE, "prod-batch", 8, 50);
    // Answers of copies and shares lost on the way back, and slow share calls, on top
    // of the kills.
    emulator.inject(
        Fault::new(FaultKind::DropAfterRead)
            .action("CopySnapshotCrossRegions")
            .probability(0.3),
    );
    emulator.inject(
        Fault::new(FaultKind::DropAfterRead)
            .action(SHARE_ACTION)
            .probability(0.3),
    );
    emulator.inject(
        Fault::new(FaultKind::Delay(Latency::fixed(Duration::from_secs(20)))).action(SHARE_ACTION),
    );
    let (client, recording) = recorded(&emulator);
    let replication = replication(&client, shared_policy(&[RECEIVER]));
    // Thirty runs, each killed after a random moment up to two minutes in.
    let killed = runs_killed_at_random(30, Duration::from_secs(120), 0x5ba2_e0ff, || {
        replication.apply()
    })
    .await;
    assert!(killed >= 10, "only {killed} runs were killed");
    emulator.clear_faults();
    let last = replication.apply().await.unwrap();
    assert!(last.converged, "{last:#?}");
    assert_eq!(last.failed(), 0, "{last:#?}");
    for region in DESTINATIONS {
        let shares = replica_shares(&emulator, region);
        // One replica per disk (3 seeded prod disks and the 8 added), each shared once.
        assert_eq!(shares.len(), 11, "{region}: {shares:?}");
        assert!(
            shares.values().all(|a| a == &[RECEIVER.to_owned()]),
            "{shares:?}"
        );
    }
    let sent_shares = sent(&recording, SHARE_ACTION);
    assert!(sent_shares >= 22, "{sent_shares}");
}
