//! Every action of the API, through the typed client, against the emulator: a
//! disaster-recovery runbook from disk creation to cleanup, with the state each step
//! leaves checked by the next. The last assertion is that the runbook sent every action
//! the model knows, so an action added to the model without emulator behaviour fails
//! here.

use std::collections::BTreeSet;
use std::time::Duration;

use cbs_e2e::*;
use cbs_emulator::{Emulator, Fault, FaultKind};
use tencentcloud_cbs::model::*;
use tencentcloud_cbs::{Client, Error};

const REGION: &str = "ap-guangzhou";
const ZONE: &str = "ap-guangzhou-1";
/// A demo instance in `ZONE`.
const INSTANCE: &str = "ins-guan0001";

async fn advance(secs: u64) {
    tokio::time::advance(Duration::from_secs(secs)).await;
}

fn api_code(error: Error) -> String {
    error
        .code()
        .map(|c| c.as_str().to_owned())
        .unwrap_or_else(|| format!("not an API error: {error}"))
}

async fn disk(client: &Client, id: &str) -> Disk {
    let page = client.describe_disks().disk_ids([id]).send().await.unwrap();
    page.disk_set
        .unwrap()
        .into_iter()
        .next()
        .expect("disk found")
}

async fn snapshot_in(client: &Client, region: &str, id: &str) -> Option<Snapshot> {
    let page = client
        .describe_snapshots()
        .region(region)
        .snapshot_ids([id])
        .send()
        .await
        .unwrap();
    page.snapshot_set.unwrap_or_default().into_iter().next()
}

#[tokio::test(start_paused = true)]
async fn a_runbook_through_every_action() {
    let emulator = Emulator::builder()
        .credential(SECRET_ID, SECRET_KEY)
        .seed_demo(true)
        .rate_limit(0)
        .create_duration(Duration::from_secs(20))
        .copy_duration(Duration::from_secs(60))
        .start_in_process()
        .expect("emulator starts");
    let recording = Recording::new(emulator.transport());
    let client = client_builder(&emulator)
        .transport(recording.clone())
        .build()
        .unwrap();

    // What can be bought, and for how much: deterministic prices.
    let quota = client
        .describe_disk_config_quota()
        .inquiry_type("INQUIRY_CBS_CONFIG")
        .zones([ZONE])
        .send()
        .await
        .unwrap();
    assert!(!quota.disk_config_set.unwrap().is_empty());
    let price = || {
        client
            .inquiry_price_create_disks()
            .disk_charge_type("POSTPAID_BY_HOUR")
            .disk_type("CLOUD_SSD")
            .disk_size(100)
            .send()
    };
    let first = price().await.unwrap().disk_price.unwrap();
    assert!(first.unit_price.unwrap() > 0.0);
    assert_eq!(price().await.unwrap().disk_price.unwrap(), first);

    // Two disks, created once however often the request is repeated.
    let disks_before = emulator.disks(REGION).len();
    let create = || {
        client
            .create_disks()
            .placement(Placement::new(ZONE))
            .disk_charge_type("POSTPAID_BY_HOUR")
            .disk_type("CLOUD_HSSD")
            .disk_size(100)
            .disk_count(2)
            .disk_name("db")
            .client_token("runbook-disks-1")
            .send()
    };
    let ids = create().await.unwrap().disk_id_set.unwrap();
    assert_eq!(create().await.unwrap().disk_id_set.unwrap(), ids);
    assert_eq!(emulator.disks(REGION).len(), disks_before + 2);
    let (d1, d2) = (ids[0].as_str(), ids[1].as_str());

    // Attach, rename, resize, tune.
    let attached_count = || async {
        client
            .describe_instances_disk_num()
            .instance_ids([INSTANCE])
            .send()
            .await
            .unwrap()
            .attach_detail
            .unwrap()[0]
            .attached_disk_count
    };
    let before = attached_count().await.unwrap();
    client
        .attach_disks()
        .instance_id(INSTANCE)
        .disk_ids([d1])
        .send()
        .await
        .unwrap();
    assert_eq!(
        disk(&client, d1).await.instance_id.as_deref(),
        Some(INSTANCE)
    );
    assert_eq!(attached_count().await, Some(before + 1));
    client
        .modify_disk_attributes()
        .disk_ids([d1])
        .disk_name("db-primary")
        .send()
        .await
        .unwrap();
    let resize_price = client
        .inquiry_price_resize_disk()
        .disk_id(d1)
        .disk_size(200)
        .send()
        .await
        .unwrap();
    assert!(resize_price.disk_price.is_some());
    client
        .resize_disk()
        .disk_id(d1)
        .disk_size(200)
        .send()
        .await
        .unwrap();
    let shrink = client.resize_disk().disk_id(d1).disk_size(50).send().await;
    assert_eq!(
        api_code(shrink.unwrap_err()),
        "InvalidParameter.DiskSizeNotMatch"
    );
    let tuned_price = client
        .inquire_price_modify_disk_extra_performance()
        .disk_id(d1)
        .throughput_performance(100)
        .send()
        .await
        .unwrap();
    assert!(tuned_price.disk_price.is_some());
    client
        .modify_disk_extra_performance()
        .disk_id(d1)
        .throughput_performance(100)
        .send()
        .await
        .unwrap();
    let view = disk(&client, d1).await;
    assert_eq!(view.disk_name.as_deref(), Some("db-primary"));
    assert_eq!(view.disk_size, Some(200));
    assert_eq!(view.throughput_performance, Some(100));

    // Backups: none without quota, then one, rolled back, deleted.
    let no_quota = client.create_disk_backup().disk_id(d1).send().await;
    assert_eq!(
        api_code(no_quota.unwrap_err()),
        "ResourceInsufficient.OverQuota"
    );
    client
        .inquire_price_modify_disk_backup_quota()
        .disk_id(d1)
        .disk_backup_quota(2)
        .send()
        .await
        .unwrap();
    client
        .modify_disk_backup_quota()
        .disk_id(d1)
        .disk_backup_quota(2)
        .send()
        .await
        .unwrap();
    let backup_id = client
        .create_disk_backup()
        .disk_id(d1)
        .disk_backup_name("before migration")
        .send()
        .await
        .unwrap()
        .disk_backup_id
        .unwrap();
    let backups = client
        .describe_disk_backups()
        .disk_backup_ids([backup_id.as_str()])
        .send()
        .await
        .unwrap();
    assert_eq!(backups.total_count, Some(1));
    advance(60).await;
    let running = client
        .apply_disk_backup()
        .disk_backup_id(&backup_id)
        .disk_id(d1)
        .send()
        .await;
    assert_eq!(
        api_code(running.unwrap_err()),
        "UnsupportedOperation.InstanceNotStopped"
    );
    client
        .apply_disk_backup()
        .disk_backup_id(&backup_id)
        .disk_id(d1)
        .auto_stop_instance(true)
        .send()
        .await
        .unwrap();
    assert_eq!(disk(&client, d1).await.rollbacking, Some(true));
    advance(60).await;
    client
        .delete_disk_backups()
        .disk_backup_ids([backup_id.as_str()])
        .send()
        .await
        .unwrap();

    // A snapshot: CREATING with a rising percent, then NORMAL.
    let snap = client
        .create_snapshot()
        .disk_id(d1)
        .snapshot_name("db nightly")
        .send()
        .await
        .unwrap()
        .snapshot_id
        .unwrap();
    let creating = snapshot_in(&client, REGION, &snap).await.unwrap();
    assert_eq!(creating.snapshot_state, Some(SnapshotState::Creating));
    advance(20).await;
    let halfway = snapshot_in(&client, REGION, &snap).await.unwrap();
    assert!(halfway.percent.unwrap() > creating.percent.unwrap());
    advance(60).await;
    let normal = snapshot_in(&client, REGION, &snap).await.unwrap();
    assert_eq!(normal.snapshot_state, Some(SnapshotState::Normal));
    assert_eq!(normal.percent, Some(100));

    // Copied to another region: visible on the source while in flight, a second copy to
    // the same region refused until it lands.
    let copy = client
        .copy_snapshot_cross_regions()
        .snapshot_id(&snap)
        .destination_regions(["ap-beijing"])
        .snapshot_name("db nightly (dr)")
        .send()
        .await
        .unwrap();
    let result = &copy.snapshot_copy_result_set.unwrap()[0];
    let replica = result.snapshot_id.clone().unwrap();
    let source = snapshot_in(&client, REGION, &snap).await.unwrap();
    assert_eq!(
        source.copying_to_regions.as_deref(),
        Some(&["ap-beijing".to_owned()][..])
    );
    let again = client
        .copy_snapshot_cross_regions()
        .snapshot_id(&snap)
        .destination_regions(["ap-beijing"])
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.snapshot_copy_result_set.unwrap()[0].code.as_deref(),
        Some("ResourceInUse.CopySnapshotConflict")
    );
    let landing = snapshot_in(&client, "ap-beijing", &replica).await.unwrap();
    assert_eq!(
        landing.snapshot_state,
        Some(SnapshotState::CopyingFromRemote)
    );
    advance(600).await;
    let landed = snapshot_in(&client, "ap-beijing", &replica).await.unwrap();
    assert_eq!(landed.snapshot_state, Some(SnapshotState::Normal));

    // Attributes: a deadline deletes the snapshot on emulated time.
    let doomed = client
        .create_snapshot()
        .disk_id(d2)
        .send()
        .await
        .unwrap()
        .snapshot_id
        .unwrap();
    advance(60).await;
    client
        .modify_snapshot_attribute()
        .snapshot_id(&doomed)
        .snapshot_name("temporary")
        .is_permanent(false)
        .deadline("2099-01-01 00:00:00")
        .send()
        .await
        .unwrap();
    let temporary = snapshot_in(&client, REGION, &doomed).await.unwrap();
    assert_eq!(temporary.is_permanent, Some(false));
    assert_eq!(temporary.snapshot_name.as_deref(), Some("temporary"));

    // Sharing with another account, then not.
    client
        .modify_snapshots_share_permission()
        .snapshot_ids([snap.as_str()])
        .account_ids(["100000000042"])
        .permission("SHARE")
        .send()
        .await
        .unwrap();
    let shared = client
        .describe_snapshot_share_permission()
        .snapshot_id(&snap)
        .send()
        .await
        .unwrap()
        .share_permission_set
        .unwrap();
    assert_eq!(shared[0].account_id.as_deref(), Some("100000000042"));
    client
        .modify_snapshots_share_permission()
        .snapshot_ids([snap.as_str()])
        .account_ids(["100000000042"])
        .permission("CANCEL")
        .send()
        .await
        .unwrap();

    // Rollback from the snapshot.
    client
        .apply_snapshot()
        .snapshot_id(&snap)
        .disk_id(d1)
        .auto_stop_instance(true)
        .send()
        .await
        .unwrap();
    assert_eq!(disk(&client, d1).await.rollbacking, Some(true));
    advance(120).await;
    assert_eq!(disk(&client, d1).await.rollbacking, Some(false));

    // A consistent group of both disks' snapshots, which must be on one instance.
    client
        .attach_disks()
        .instance_id(INSTANCE)
        .disk_ids([d2])
        .send()
        .await
        .unwrap();
    let group = client
        .create_snapshot_group()
        .disk_ids([d1, d2])
        .snapshot_group_name("db pair")
        .send()
        .await
        .unwrap()
        .snapshot_group_id
        .unwrap();
    advance(120).await;
    let groups = client
        .describe_snapshot_groups()
        .filters([Filter::new("snapshot-group-id", [group.as_str()])])
        .send()
        .await
        .unwrap()
        .snapshot_group_set
        .unwrap();
    let members = groups[0].snapshot_id_set.clone().unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(
        groups[0].snapshot_group_state,
        Some(SnapshotGroupState::Normal)
    );
    let pairs: Vec<ApplyDisk> = futures_pairs(&client, &members).await;
    client
        .apply_snapshot_group()
        .snapshot_group_id(&group)
        .apply_disks(pairs)
        .auto_stop_instance(true)
        .send()
        .await
        .unwrap();
    advance(120).await;
    client
        .delete_snapshot_group()
        .snapshot_group_id(&group)
        .delete_bind_images(false)
        .send()
        .await
        .unwrap();

    // A policy that snapshots d2 every hour, keeps them a day, and is copied to another
    // account.
    let policy = client
        .create_auto_snapshot_policy()
        .policy([Policy::new(0..24)])
        .auto_snapshot_policy_name("hourly")
        .is_activated(true)
        .retention_days(1)
        .send()
        .await
        .unwrap();
    assert!(policy.next_trigger_time.is_some());
    let policy_id = policy.auto_snapshot_policy_id.unwrap();
    client
        .bind_auto_snapshot_policy()
        .auto_snapshot_policy_id(&policy_id)
        .disk_ids([d2])
        .send()
        .await
        .unwrap();
    let of_disk = client
        .describe_disk_associated_auto_snapshot_policy()
        .disk_id(d2)
        .send()
        .await
        .unwrap();
    assert_eq!(of_disk.total_count, Some(1));
    let scheduled_before = scheduled(&client, d2).await;
    advance(3 * 3600).await;
    let scheduled_after = scheduled(&client, d2).await;
    assert!(
        scheduled_after >= scheduled_before + 2,
        "{scheduled_before} -> {scheduled_after}"
    );
    client
        .modify_auto_snapshot_policy_attribute()
        .auto_snapshot_policy_id(&policy_id)
        .is_activated(false)
        .send()
        .await
        .unwrap();
    let policies = client
        .describe_auto_snapshot_policies()
        .auto_snapshot_policy_ids([policy_id.as_str()])
        .send()
        .await
        .unwrap()
        .auto_snapshot_policy_set
        .unwrap();
    assert_eq!(policies[0].is_activated, Some(false));
    assert_eq!(
        policies[0].disk_id_set.as_deref(),
        Some(&[d2.to_owned()][..])
    );
    let copied = client
        .copy_auto_snapshot_policy_cross_account()
        .auto_snapshot_policy_ids([policy_id.as_str()])
        .target_account_uin("100000000042")
        .send()
        .await
        .unwrap();
    assert_eq!(copied.target_account_uin.as_deref(), Some("100000000042"));
    client
        .unbind_auto_snapshot_policy()
        .auto_snapshot_policy_id(&policy_id)
        .disk_ids([d2])
        .send()
        .await
        .unwrap();
    client
        .delete_auto_snapshot_policies()
        .auto_snapshot_policy_ids([policy_id.as_str()])
        .send()
        .await
        .unwrap();

    // The overviews agree with the listing.
    let listed = client
        .describe_snapshots()
        .send()
        .await
        .unwrap()
        .total_count;
    let overview = client.describe_snapshot_overview().send().await.unwrap();
    assert_eq!(overview.total_nums, listed);
    #[allow(deprecated)]
    let legacy = client.get_snap_overview().send().await.unwrap();
    assert_eq!(legacy.total_nums.map(|n| n as u64), listed);

    // Billing: prepaid with a renew flag, a renewal.
    client
        .detach_disks()
        .disk_ids([d1, d2])
        .send()
        .await
        .unwrap();
    assert_eq!(disk(&client, d1).await.attached, Some(false));
    client
        .initialize_disks()
        .disk_ids([d2])
        .send()
        .await
        .unwrap();
    client
        .modify_disks_charge_type()
        .disk_ids([d2])
        .disk_charge_prepaid(DiskChargePrepaid::new(1))
        .send()
        .await
        .unwrap();
    client
        .modify_disks_renew_flag()
        .disk_ids([d2])
        .renew_flag("NOTIFY_AND_AUTO_RENEW")
        .send()
        .await
        .unwrap();
    let renew_price = client
        .inquiry_price_renew_disks()
        .disk_ids([d2])
        .disk_charge_prepaids([DiskChargePrepaid::new(3)])
        .send()
        .await
        .unwrap();
    assert!(renew_price.disk_price.is_some());
    let deadline_before = disk(&client, d2).await.deadline_time.unwrap();
    client
        .renew_disk()
        .disk_id(d2)
        .disk_charge_prepaid(DiskChargePrepaid::new(3))
        .send()
        .await
        .unwrap();
    let prepaid = disk(&client, d2).await;
    assert_eq!(prepaid.disk_charge_type, Some(DiskChargeType::Prepaid));
    assert_eq!(prepaid.renew_flag, Some(RenewFlag::NotifyAndAutoRenew));
    assert!(prepaid.deadline_time.unwrap() > deadline_before);

    // Dedicated clusters and storage pools: none in this account.
    client.describe_disk_storage_pool().send().await.unwrap();
    client
        .describe_dedicated_cluster_disk_statistics()
        .dedicated_cluster_id("cluster-none")
        .send()
        .await
        .unwrap();

    // The remote-disk family (China site).
    client
        .switch_parameter_create_remote_disks()
        .placement(Placement::new(ZONE))
        .send()
        .await
        .unwrap();
    client
        .inquire_price_create_remote_disks()
        .disk_charge_type("POSTPAID_BY_HOUR")
        .disk_size(100)
        .send()
        .await
        .unwrap();
    client
        .describe_remote_disk_config_quota()
        .send()
        .await
        .unwrap();
    client
        .create_remote_disks()
        .disk_charge_type("POSTPAID_BY_HOUR")
        .disk_size(100)
        .instance_id(INSTANCE)
        .placement(Placement::new(ZONE))
        .disk_name("scratch")
        .send()
        .await
        .unwrap();
    let remote = client
        .describe_remote_disks()
        .send()
        .await
        .unwrap()
        .remote_disk_set
        .unwrap();
    assert_eq!(remote.len(), 1);
    let remote_id = remote[0].remote_disk_id.clone().unwrap();
    assert_eq!(remote[0].instance_id.as_deref(), Some(INSTANCE));
    client
        .describe_remote_disks_denied_actions()
        .remote_disk_ids([remote_id.as_str()])
        .send()
        .await
        .unwrap();
    client
        .modify_remote_disk_attributes()
        .remote_disk_ids([remote_id.as_str()])
        .disk_name("scratch-2")
        .send()
        .await
        .unwrap();
    client
        .detach_remote_disks()
        .instance_id(INSTANCE)
        .remote_disk_ids([remote_id.as_str()])
        .send()
        .await
        .unwrap();
    client
        .attach_remote_disks()
        .instance_id(INSTANCE)
        .remote_disk_ids([remote_id.as_str()])
        .send()
        .await
        .unwrap();
    client
        .inquire_price_renew_remote_disks()
        .remote_disk_ids([remote_id.as_str()])
        .disk_charge_prepaid_set([RemoteDiskChargePrepaid::new(1)])
        .send()
        .await
        .unwrap();
    client
        .switch_parameter_renew_remote_disks()
        .send()
        .await
        .unwrap();
    client
        .renew_remote_disk()
        .remote_disk_id(&remote_id)
        .disk_charge_prepaid(RemoteDiskChargePrepaid::new(1))
        .send()
        .await
        .unwrap();
    client
        .detach_remote_disks()
        .instance_id(INSTANCE)
        .remote_disk_ids([remote_id.as_str()])
        .send()
        .await
        .unwrap();
    client
        .terminate_remote_disks()
        .remote_disk_ids([remote_id.as_str()])
        .send()
        .await
        .unwrap();
    let left = client.describe_remote_disks().send().await.unwrap();
    assert_eq!(left.total_count, Some(0));

    // Cleanup: the snapshots, then the disks into the recycle state.
    client
        .delete_snapshots()
        .snapshot_ids([snap.as_str(), doomed.as_str()])
        .send()
        .await
        .unwrap();
    assert!(snapshot_in(&client, REGION, &snap).await.is_none());
    client
        .terminate_disks()
        .disk_ids([d1, d2])
        .send()
        .await
        .unwrap();
    assert_eq!(emulator.disks(REGION).len(), disks_before);

    let sent: BTreeSet<String> = recording.sent().into_iter().map(|(_, a)| a).collect();
    let all: BTreeSet<String> = ACTIONS.iter().map(|a| a.name.to_owned()).collect();
    let missing: Vec<_> = all.difference(&sent).collect();
    assert!(missing.is_empty(), "the runbook never sent {missing:?}");
}

/// `(snapshot, its disk)` for each member of a group.
async fn futures_pairs(client: &Client, snapshot_ids: &[String]) -> Vec<ApplyDisk> {
    let page = client
        .describe_snapshots()
        .snapshot_ids(snapshot_ids.iter().cloned())
        .send()
        .await
        .unwrap();
    page.snapshot_set
        .unwrap()
        .into_iter()
        .map(|s| ApplyDisk::new(s.snapshot_id.unwrap(), s.disk_id.unwrap()))
        .collect()
}

/// How many scheduled snapshots of `disk_id` exist.
async fn scheduled(client: &Client, disk_id: &str) -> usize {
    let page = client
        .describe_snapshots()
        .filters([Filter::new("disk-id", [disk_id])])
        .send()
        .await
        .unwrap();
    page.snapshot_set
        .unwrap_or_default()
        .iter()
        .filter(|s| {
            s.snapshot_name
                .as_deref()
                .is_some_and(|n| n.starts_with("snap_"))
        })
        .count()
}

#[tokio::test(start_paused = true)]
async fn a_create_retried_after_a_lost_answer_creates_once() {
    let emulator = Emulator::builder()
        .credential(SECRET_ID, SECRET_KEY)
        .seed_demo(true)
        .rate_limit(0)
        .fault(
            Fault::new(FaultKind::DropAfterRead)
                .action("CreateDisks")
                .times(1),
        )
        .start_in_process()
        .expect("emulator starts");
    let client = client(&emulator);
    let before = emulator.disks(REGION).len();
    // No token given: the client makes one, and sends it again with the retry.
    let created = client
        .create_disks()
        .placement(Placement::new(ZONE))
        .disk_charge_type("POSTPAID_BY_HOUR")
        .disk_type("CLOUD_PREMIUM")
        .disk_size(50)
        .send()
        .await
        .unwrap();
    let ids = created.disk_id_set.unwrap();
    assert_eq!(ids.len(), 1);
    let disks = emulator.disks(REGION);
    assert_eq!(disks.len(), before + 1, "the lost first answer created it");
    assert!(disks.iter().any(|d| d.id == ids[0]));
}
