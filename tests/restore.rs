//! The recovery day against the emulator, under paused time: the fleet rebuilt in the
//! destination from its replicas with the source region dark, exactly once across lost
//! answers, throttling and kills, to a point in time, instance by instance, around a
//! sold-out zone, and cleaned up.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cbs_dr::{Policy, Replication, Restore, RestoreOutcome, Rule, Selection};
use cbs_e2e::*;
use cbs_emulator::{Emulator, EmulatorHandle, Fault, FaultKind};
use cbs_transport::{BoxFuture, HttpRequest, HttpResponse, Transport, TransportError};
use tencentcloud_cbs::Client;

const SOURCE: &str = "ap-guangzhou";
const DR: &str = "ap-beijing";
const DAY: Duration = Duration::from_secs(24 * 3600);

fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .credential(SECRET_ID, SECRET_KEY)
        .seed_demo(true)
        .rate_limit(0)
        .copy_duration(Duration::from_secs(60))
        .restore_duration(Duration::from_secs(300))
        .start_in_process()
        .expect("emulator starts")
}

fn replication(client: &Client, policy: Policy) -> Replication {
    Replication::new(client, policy)
        .poll_interval(Duration::from_secs(5), Duration::from_secs(30))
        .clock(TokioClock::new())
}

/// The production fleet into Beijing: the newest snapshot, or all of the last week's.
fn policy(selection: Selection) -> Policy {
    Policy::new(vec![
        Rule::new("prod", SOURCE, [DR])
            .disk_name_pattern("prod-*")
            .snapshots(selection)
            .max_snapshot_age(7 * DAY)
            .keep(10),
    ])
    .unwrap()
}

/// The time now, as the emulator and the runs see it (Unix seconds).
fn now_unix() -> i64 {
    tencentcloud_cbs::Clock::now(&TokioClock::new())
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// prod-db-1 and prod-db-2 on one instance (in that order), prod-web-1 on none (the
/// demo has them on two instances).
async fn attach_databases(emulator: &EmulatorHandle, client: &Client) {
    emulator.add_instance(SOURCE, "ap-guangzhou-1", "ins-db000001");
    client
        .detach_disks()
        .region(SOURCE)
        .disk_ids(["disk-prod0001", "disk-prod0002", "disk-prod0003"])
        .send()
        .await
        .unwrap();
    client
        .attach_disks()
        .region(SOURCE)
        .instance_id("ins-db000001")
        .disk_ids(["disk-prod0001", "disk-prod0002"])
        .send()
        .await
        .unwrap();
}

/// The source region refuses every call from now on, for every service.
fn source_goes_dark(emulator: &EmulatorHandle) {
    emulator.inject(
        Fault::new(FaultKind::Error {
            code: "InternalError".into(),
            message: "the region is down".into(),
        })
        .region(SOURCE),
    );
}

/// Disks of `region` tagged with the restore run `run`, by source disk.
fn restored(emulator: &EmulatorHandle, region: &str, run: &str) -> BTreeMap<String, usize> {
    let mut found = BTreeMap::new();
    for disk in emulator.disks(region) {
        let tag = |key: &str| {
            disk.tags
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        if tag(cbs_dr::RUN_TAG).as_deref() != Some(run) {
            continue;
        }
        let source = tag("tccbs:source").expect("lineage tag");
        let disk_id = source.split('/').nth(1).unwrap().to_owned();
        *found.entry(disk_id).or_default() += 1;
    }
    found
}

/// A transport that notes the region of every request.
#[derive(Clone, Debug)]
struct Regions<T> {
    inner: T,
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl<T: Transport> Transport for Regions<T> {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let entry = (header("x-tc-action"), header("x-tc-region"));
        self.seen.lock().unwrap().push(entry);
        self.inner.send(request)
    }
}

#[tokio::test(start_paused = true)]
async fn the_fleet_is_rebuilt_from_its_replicas_with_the_source_region_dark() {
    let emulator = emulator();
    let owner = client(&emulator);
    attach_databases(&emulator, &owner).await;
    let replicated = replication(&owner, policy(Selection::Latest))
        .apply()
        .await
        .unwrap();
    assert!(replicated.converged, "{replicated:#?}");
    source_goes_dark(&emulator);

    let seen = Arc::new(Mutex::new(Vec::new()));
    let client = client_builder(&emulator)
        .transport(Regions {
            inner: emulator.transport(),
            seen: seen.clone(),
        })
        .build()
        .unwrap();
    let dr = replication(&client, policy(Selection::Latest));
    let request = Restore::new(DR, "dr-1").unwrap();

    // The plan: what, from which replica, where, at what price; nothing made.
    let plan = dr.restore_plan(&request).await.unwrap();
    assert_eq!(plan.items.len(), 3, "{plan:#?}");
    assert!(
        plan.items
            .iter()
            .all(|i| i.outcome == RestoreOutcome::WouldCreate && i.hourly_price.is_some()),
        "{plan:#?}"
    );
    assert!(plan.hourly_price().unwrap() > 0.0);
    assert!(plan.offers.iter().any(|o| o.available));
    assert!(restored(&emulator, DR, "dr-1").is_empty());
    let db1 = plan
        .items
        .iter()
        .find(|i| i.disk_id == "disk-prod0001")
        .unwrap();
    assert_eq!(db1.name.as_deref(), Some("prod-db-1"));
    assert_eq!(db1.disk_type.as_deref(), Some("CLOUD_SSD"));
    assert_eq!(db1.size_gb, 200);
    assert_eq!(db1.zone.as_deref(), Some("ap-beijing-1"));
    assert_eq!(
        (db1.instance.as_deref(), db1.order),
        (Some("ins-db000001"), Some(0))
    );
    // Their newest snapshots are an hour apart: one instance, not one moment.
    let group = &plan.groups[0];
    assert_eq!(group.disks, ["disk-prod0001", "disk-prod0002"]);
    assert!(!group.consistent);
    assert_eq!(group.spread, Some(Duration::from_secs(3600)));

    let report = dr.restore(&request).await.unwrap();
    assert_eq!(report.succeeded(), 3, "{report:#?}");
    assert!(
        report
            .items
            .iter()
            .all(|i| i.outcome == RestoreOutcome::Created && i.time_to_usable.is_some())
    );
    // Disks from snapshots load for five emulated minutes: that is the RTO's floor.
    let rto = report.rto.unwrap();
    assert!(rto >= Duration::from_secs(300), "{rto:?}");
    assert_eq!(
        restored(&emulator, DR, "dr-1"),
        BTreeMap::from([
            ("disk-prod0001".into(), 1),
            ("disk-prod0002".into(), 1),
            ("disk-prod0003".into(), 1)
        ])
    );
    let disks = emulator.disks(DR);
    let web = disks.iter().find(|d| d.name == "prod-web-1").unwrap();
    assert_eq!(web.size_gb, 50);
    assert!(web.tags.iter().any(|(k, _)| k == cbs_dr::RESTORED_FROM_TAG));
    // Nothing was asked of the source region.
    let asked: Vec<(String, String)> = seen.lock().unwrap().clone();
    assert!(
        asked.iter().all(|(_, region)| region != SOURCE),
        "{asked:?}"
    );

    // The same run again adopts every disk; another run makes another set.
    let from = seen.lock().unwrap().len();
    let again = dr.restore(&request).await.unwrap();
    assert!(
        again
            .items
            .iter()
            .all(|i| i.outcome == RestoreOutcome::Adopted),
        "{again:#?}"
    );
    let rerun: Vec<String> = seen.lock().unwrap()[from..]
        .iter()
        .map(|(a, _)| a.clone())
        .collect();
    assert!(!rerun.contains(&"CreateDisks".to_owned()), "{rerun:?}");
    let second = dr
        .restore(&Restore::new(DR, "dr-2").unwrap())
        .await
        .unwrap();
    assert_eq!(second.succeeded(), 3);
    assert_eq!(restored(&emulator, DR, "dr-1").len(), 3);
    assert_eq!(restored(&emulator, DR, "dr-2").len(), 3);

    // Clean-up removes one run's disks and nothing else.
    let before = emulator.disks(DR).len();
    let cleaned = dr.clean_up_restore(DR, "dr-2").await.unwrap();
    assert_eq!(cleaned.items.len(), 3, "{cleaned:#?}");
    assert!(cleaned.items.iter().all(|i| i.deleted));
    assert_eq!(emulator.disks(DR).len(), before - 3);
    assert!(restored(&emulator, DR, "dr-2").is_empty());
    assert_eq!(restored(&emulator, DR, "dr-1").len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_point_in_time_restores_each_instance_from_one_moment() {
    let emulator = emulator();
    let owner = client(&emulator);
    attach_databases(&emulator, &owner).await;
    let policy = policy(Selection::All);
    let replicated = replication(&owner, policy.clone()).apply().await.unwrap();
    assert!(replicated.converged, "{replicated:#?}");
    source_goes_dark(&emulator);
    let dr = replication(&owner, policy);
    let now = now_unix();
    // Snapshots were taken 72, 48, 24 and 2 hours ago (prod-db-1), 48, 24 and 3
    // (prod-db-2), 30 and 6 (prod-web-1). Before the damage 25 hours ago:
    let plan = dr
        .restore_plan(&Restore::new(DR, "pit").unwrap().at(now - 25 * 3600))
        .await
        .unwrap();
    let age = |disk: &str| {
        let item = plan.items.iter().find(|i| i.disk_id == disk).unwrap();
        (now - item.data_time.unwrap() + 1800) / 3600
    };
    assert_eq!((age("disk-prod0001"), age("disk-prod0002")), (48, 48));
    assert_eq!(age("disk-prod0003"), 30);
    let group = &plan.groups[0];
    assert!(group.consistent, "{group:?}");
    assert_eq!(group.spread, Some(Duration::ZERO));
    // Between the 3 h and the 2 h snapshots: the newest common moment is a day ago,
    // not the newest of each disk (2 h and 3 h apart by an hour).
    let plan = dr
        .restore_plan(
            &Restore::new(DR, "pit")
                .unwrap()
                .at(now - 2 * 3600 - 600)
                .consistency_window(Duration::from_secs(60)),
        )
        .await
        .unwrap();
    assert!(plan.groups[0].consistent);
    assert_eq!(
        age("disk-prod0001"),
        48,
        "the first plan is still what it was"
    );
    let by_disk: BTreeMap<&str, i64> = plan
        .items
        .iter()
        .map(|i| {
            (
                i.disk_id.as_str(),
                (now - i.data_time.unwrap() + 1800) / 3600,
            )
        })
        .collect();
    assert_eq!(by_disk["disk-prod0001"], 24);
    assert_eq!(by_disk["disk-prod0002"], 24);
    // Before anything was taken: nothing to restore, said per disk.
    let empty = dr
        .restore_plan(&Restore::new(DR, "pit").unwrap().at(now - 100 * 3600))
        .await
        .unwrap();
    assert!(
        empty
            .items
            .iter()
            .all(|i| i.failure.as_ref().is_some_and(|f| f.code == "NoReplica")),
        "{empty:#?}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_instance_whose_disks_share_no_moment_takes_the_closest_set() {
    let emulator = emulator();
    let owner = client(&emulator);
    attach_databases(&emulator, &owner).await;
    let policy = policy(Selection::All);
    replication(&owner, policy.clone()).apply().await.unwrap();
    let dr = replication(&owner, policy);
    // Newest of each (2 h and 3 h ago): an hour apart, with a window of a minute.
    let plan = dr
        .restore_plan(
            &Restore::new(DR, "closest")
                .unwrap()
                .consistency_window(Duration::from_secs(60)),
        )
        .await
        .unwrap();
    let group = &plan.groups[0];
    // 48 h and 24 h ago both disks were taken at once: the newest such set wins.
    assert!(group.consistent, "{group:?}");
    let now = now_unix();
    assert_eq!((now - group.data_time.unwrap() + 1800) / 3600, 24);
    // Only the newest replicas kept: no common moment, the closest set (an hour).
    let latest = policy_latest_only(&emulator, &owner).await;
    let plan = replication(&owner, latest)
        .restore_plan(
            &Restore::new(DR, "closest")
                .unwrap()
                .consistency_window(Duration::from_secs(60)),
        )
        .await
        .unwrap();
    assert!(!plan.groups[0].consistent);
    assert_eq!(plan.groups[0].spread, Some(Duration::from_secs(3600)));
}

/// Prunes Beijing down to the newest replica of each disk; the policy that keeps it so.
async fn policy_latest_only(emulator: &EmulatorHandle, owner: &Client) -> Policy {
    let latest = Policy::new(vec![
        Rule::new("prod", SOURCE, [DR])
            .disk_name_pattern("prod-*")
            .keep(1),
    ])
    .unwrap();
    let pruned = replication(owner, latest.clone())
        .prune(true)
        .apply()
        .await
        .unwrap();
    assert!(pruned.converged, "{pruned:#?}");
    let _ = emulator;
    latest
}

#[tokio::test(start_paused = true)]
async fn lost_answers_throttling_and_kills_make_one_disk_per_source() {
    let emulator = emulator();
    let owner = client(&emulator);
    let fleet = emulator.add_fleet(SOURCE, "prod-batch", 12, 50);
    assert_eq!(fleet.len(), 12);
    let policy = policy(Selection::Latest);
    replicate_then_go_dark(&emulator, &owner, &policy).await;
    // The databases' instance has a standby.
    standby(&emulator, &owner, "ap-beijing-1", "ins-dbdr0001").await;
    // Half the creations and attachments run but their answers are lost; bursts of
    // throttling.
    emulator.inject(
        Fault::new(FaultKind::DropAfterRead)
            .action("CreateDisks")
            .probability(0.5),
    );
    emulator.inject(
        Fault::new(FaultKind::DropAfterRead)
            .action("AttachDisks")
            .probability(0.5),
    );
    emulator.inject(
        Fault::new(FaultKind::Error {
            code: "RequestLimitExceeded".into(),
            message: String::new(),
        })
        .probability(0.2),
    );
    let dr = replication(&owner, policy);
    let request = Restore::new(DR, "killed")
        .unwrap()
        .standby("ins-guan0001", "ins-dbdr0001");
    let killed = runs_killed_at_random(30, Duration::from_secs(120), 0x007e_570e, || {
        dr.restore(&request)
    })
    .await;
    assert!(killed >= 10, "only {killed} runs were killed");
    let last = dr.restore(&request).await.unwrap();
    assert_eq!(last.succeeded(), 15, "{last:#?}");
    let made = restored(&emulator, DR, "killed");
    assert_eq!(made.len(), 15, "{made:?}");
    assert!(made.values().all(|n| *n == 1), "{made:?}");
    // The databases on their standby, once each; nothing else on it but its own disk.
    let on_standby: Vec<String> = emulator
        .disks(DR)
        .into_iter()
        .filter(|d| d.instance_id.as_deref() == Some("ins-dbdr0001"))
        .map(|d| d.name)
        .collect();
    assert_eq!(on_standby.len(), 3, "{on_standby:?}");
    for name in ["prod-db-1", "prod-db-2", "ins-dbdr0001-own"] {
        assert!(on_standby.iter().any(|n| n == name), "{on_standby:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_sold_out_zone_is_avoided_and_a_sold_out_region_fails_its_disks_alone() {
    let emulator = emulator();
    let owner = client(&emulator);
    // One disk of another type, beside the CLOUD_SSD production disks.
    let premium = emulator.add_snapshots(SOURCE, 1);
    let bulk = emulator
        .snapshots(SOURCE)
        .into_iter()
        .find(|s| s.id == premium[0])
        .unwrap()
        .disk_id;
    let policy = Policy::new(vec![
        Rule::new("prod", SOURCE, [DR])
            .disk_name_pattern("prod-*")
            .disk_ids([bulk.clone()]),
    ])
    .unwrap();
    assert!(
        replication(&owner, policy.clone())
            .apply()
            .await
            .unwrap()
            .converged
    );
    let dr = replication(&owner, policy);
    // The replicas' zone sells no CLOUD_SSD: another zone does.
    emulator.sell_out("ap-beijing-1", "CLOUD_SSD");
    let plan = dr
        .restore_plan(&Restore::new(DR, "zones").unwrap())
        .await
        .unwrap();
    let db = plan
        .items
        .iter()
        .find(|i| i.disk_id == "disk-prod0001")
        .unwrap();
    assert_eq!(db.zone.as_deref(), Some("ap-beijing-2"), "{db:?}");
    assert!(db.notes.iter().any(|n| n.contains("not sold")), "{db:?}");
    // No zone sells it: those disks fail, the CLOUD_PREMIUM one is restored.
    for n in 2..=7 {
        emulator.sell_out(&format!("ap-beijing-{n}"), "CLOUD_SSD");
    }
    let report = dr
        .restore(&Restore::new(DR, "zones").unwrap())
        .await
        .unwrap();
    let outcome = |disk: &str| {
        report
            .items
            .iter()
            .find(|i| i.disk_id == disk)
            .map(|i| (i.outcome, i.failure.as_ref().map(|f| f.code.clone())))
            .unwrap()
    };
    assert_eq!(
        outcome("disk-prod0001"),
        (
            RestoreOutcome::Failed,
            Some("ResourceInsufficient".to_owned())
        )
    );
    assert_eq!(outcome(&bulk), (RestoreOutcome::Created, None));
}

#[tokio::test(start_paused = true)]
async fn replicas_without_inventory_need_a_type_and_system_disks_an_image() {
    let emulator = emulator();
    let owner = client(&emulator);
    let system = emulator.add_system_disk(SOURCE, "prod-boot", 50);
    let policy = policy(Selection::Latest);
    assert!(
        replication(&owner, policy.clone())
            .apply()
            .await
            .unwrap()
            .converged
    );
    // prod-web-1's replica as a version before tags left it.
    let web = emulator
        .snapshots(DR)
        .into_iter()
        .find(|s| s.disk_id == "disk-prod0003")
        .unwrap();
    owner
        .untag_resources()
        .resources([tencentcloud_cbs::tag::snapshot_resource(DR, &web.id)])
        .keys(web.tags.iter().map(|(k, _)| k.clone()))
        .send()
        .await
        .unwrap();
    let dr = Replication::new(
        &owner,
        Policy::new(vec![
            Rule::new("prod", SOURCE, [DR])
                .disk_name_pattern("prod-*")
                .disk_ids(["disk-prod0003"]),
        ])
        .unwrap(),
    );
    let plan = dr
        .restore_plan(&Restore::new(DR, "bare").unwrap())
        .await
        .unwrap();
    let item = |report: &cbs_dr::RestoreReport, disk: &str| {
        report
            .items
            .iter()
            .find(|i| i.disk_id == disk)
            .cloned()
            .unwrap()
    };
    let bare = item(&plan, "disk-prod0003");
    assert_eq!(bare.failure.unwrap().code, "NoDiskType");
    let boot = item(&plan, &system);
    assert_eq!(boot.outcome, RestoreOutcome::NeedsImage);
    assert!(
        boot.notes.iter().any(|n| n.contains("CreateImage")),
        "{boot:?}"
    );
    let plan = dr
        .restore_plan(&Restore::new(DR, "bare").unwrap().disk_type("CLOUD_PREMIUM"))
        .await
        .unwrap();
    let bare = item(&plan, "disk-prod0003");
    assert_eq!(bare.outcome, RestoreOutcome::WouldCreate);
    assert_eq!(bare.disk_type.as_deref(), Some("CLOUD_PREMIUM"));
    assert_eq!(bare.size_gb, 50);
    assert!(
        bare.notes.iter().any(|n| n.contains("no inventory")),
        "{bare:?}"
    );
}

/// The demo fleet replicated into the DR region (newest snapshots), then the source
/// region dark: the emulator, the owner's client, the policy.
async fn replicated_then_dark() -> (EmulatorHandle, Client, Policy) {
    let emulator = emulator();
    let owner = client(&emulator);
    let policy = policy(Selection::Latest);
    replicate_then_go_dark(&emulator, &owner, &policy).await;
    (emulator, owner, policy)
}

/// `policy` applied to convergence by `owner`, then the source region dark.
async fn replicate_then_go_dark(emulator: &EmulatorHandle, owner: &Client, policy: &Policy) {
    assert!(
        replication(owner, policy.clone())
            .apply()
            .await
            .unwrap()
            .converged
    );
    source_goes_dark(emulator);
}

/// A transport that keeps the `DiskIds` of every `AttachDisks` call, in order.
#[derive(Clone, Debug)]
struct Attaches<T> {
    inner: T,
    calls: Arc<Mutex<Vec<Vec<String>>>>,
}

impl<T: Transport> Transport for Attaches<T> {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        let action = request
            .headers()
            .get("x-tc-action")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if action == "AttachDisks" {
            let body: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
            let ids = body["DiskIds"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
            self.calls.lock().unwrap().push(ids);
        }
        self.inner.send(request)
    }
}

/// A standby instance in `zone` of the DR region, with a disk of its own so that the
/// region shows its zone (as a real instance's system disk does).
async fn standby(emulator: &EmulatorHandle, client: &Client, zone: &str, id: &str) {
    emulator.add_instance(DR, zone, id);
    let made = client
        .create_disks()
        .region(DR)
        .placement(tencentcloud_cbs::model::Placement::new(zone))
        .disk_charge_type("POSTPAID_BY_HOUR")
        .disk_type("CLOUD_PREMIUM")
        .disk_size(50)
        .disk_name(format!("{id}-own"))
        .send()
        .await
        .unwrap();
    client
        .attach_disks()
        .region(DR)
        .instance_id(id)
        .disk_ids(made.disk_id_set.unwrap())
        .send()
        .await
        .unwrap();
}

/// The restored disks of the run by name, with the instance each is on and its zone.
fn placed(emulator: &EmulatorHandle, run: &str) -> BTreeMap<String, (Option<String>, String)> {
    emulator
        .disks(DR)
        .into_iter()
        .filter(|d| d.tags.iter().any(|(k, v)| k == cbs_dr::RUN_TAG && v == run))
        .map(|d| (d.name, (d.instance_id, d.zone)))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn an_instance_of_twelve_disks_is_rebuilt_on_its_standby_in_order_through_lost_answers() {
    let emulator = emulator();
    let owner = client(&emulator);
    // Twelve data disks on one source instance, attached in two calls (ten at most).
    let fleet = emulator.add_fleet(SOURCE, "app", 12, 50);
    emulator.add_instance(SOURCE, "ap-guangzhou-1", "ins-app00001");
    for chunk in fleet.chunks(10) {
        owner
            .attach_disks()
            .region(SOURCE)
            .instance_id("ins-app00001")
            .disk_ids(chunk.iter().cloned())
            .send()
            .await
            .unwrap();
    }
    let policy = Policy::new(vec![
        Rule::new("app", SOURCE, [DR]).disk_name_pattern("app-*"),
    ])
    .unwrap();
    replicate_then_go_dark(&emulator, &owner, &policy).await;
    // The standby sits in another zone than the replicas (ap-beijing-1).
    standby(&emulator, &owner, "ap-beijing-3", "ins-stby0001").await;
    // Every attach runs but its answer is lost, the first time.
    emulator.inject(
        Fault::new(FaultKind::DropAfterRead)
            .action("AttachDisks")
            .times(2),
    );
    let calls = Arc::new(Mutex::new(Vec::new()));
    let client = client_builder(&emulator)
        .transport(Attaches {
            inner: emulator.transport(),
            calls: calls.clone(),
        })
        .build()
        .unwrap();
    let request = Restore::new(DR, "standby")
        .unwrap()
        .standby("ins-app00001", "ins-stby0001");
    let plan = replication(&client, policy.clone())
        .restore_plan(&request)
        .await
        .unwrap();
    assert!(
        plan.items
            .iter()
            .all(|i| i.zone.as_deref() == Some("ap-beijing-3")
                && i.standby.as_deref() == Some("ins-stby0001")),
        "{plan:#?}"
    );
    let report = replication(&client, policy.clone())
        .restore(&request)
        .await
        .unwrap();
    assert_eq!(report.succeeded(), 12, "{report:#?}");
    assert!(report.items.iter().all(|i| i.attached), "{report:#?}");
    let placed = placed(&emulator, "standby");
    assert_eq!(placed.len(), 12, "one disk per source disk: {placed:?}");
    assert!(
        placed
            .values()
            .all(|(on, zone)| on.as_deref() == Some("ins-stby0001") && zone == "ap-beijing-3"),
        "{placed:?}"
    );
    // Ten a call at most, in the source's order, none attached twice: the lost answers
    // were settled by looking, not by sending again.
    let sent = calls.clone();
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls.iter().all(|c| c.len() <= 10), "{calls:?}");
    let by_id: BTreeMap<String, String> = emulator
        .disks(DR)
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    let names: Vec<&str> = calls
        .iter()
        .flatten()
        .map(|id| by_id[id].as_str())
        .collect();
    // The source's order: made at one moment, so by disk id (the inventory's rule:
    // system disk first, then by creation time, then by id).
    let mut source_order = fleet.clone();
    source_order.sort();
    let expected: Vec<String> = source_order
        .iter()
        .map(|id| format!("app-{:04}", fleet.iter().position(|f| f == id).unwrap()))
        .collect();
    assert_eq!(names, expected);

    // Again: nothing made, nothing attached again.
    let before = calls.len();
    let again = replication(&client, policy)
        .restore(&request)
        .await
        .unwrap();
    assert!(
        again
            .items
            .iter()
            .all(|i| i.outcome == RestoreOutcome::Adopted && i.attached),
        "{again:#?}"
    );
    assert_eq!(sent.lock().unwrap().len(), before);
}

#[tokio::test(start_paused = true)]
async fn a_failed_group_stops_the_next_ones_unless_it_is_optional() {
    let (emulator, owner, policy) = replicated_then_dark().await;
    standby(&emulator, &owner, "ap-beijing-1", "ins-web-dr01").await;
    // The databases' standby does not exist in the region.
    let waves = |optional: bool| {
        vec![
            cbs_dr::Wave::new("databases", ["ins-guan0001"]).optional(optional),
            cbs_dr::Wave::new("web", ["ins-guan0002"]),
        ]
    };
    let request = |run: &str, optional: bool| {
        Restore::new(DR, run)
            .unwrap()
            .standby("ins-guan0001", "ins-gone0001")
            .standby("ins-guan0002", "ins-web-dr01")
            .order(waves(optional))
    };
    let dr = replication(&owner, policy);
    let stopped = dr.restore(&request("stopped", false)).await.unwrap();
    let outcome = |report: &cbs_dr::RestoreReport, disk: &str| {
        let item = report.items.iter().find(|i| i.disk_id == disk).unwrap();
        (item.outcome, item.failure.as_ref().map(|f| f.code.clone()))
    };
    assert_eq!(
        outcome(&stopped, "disk-prod0001"),
        (
            RestoreOutcome::Failed,
            Some("InvalidInstanceId.NotFound".to_owned())
        )
    );
    assert_eq!(
        outcome(&stopped, "disk-prod0003"),
        (RestoreOutcome::Failed, Some("NotStarted".to_owned()))
    );
    let waves_seen: Vec<cbs_dr::WaveOutcome> = stopped.waves.iter().map(|w| w.outcome).collect();
    assert_eq!(
        waves_seen,
        [cbs_dr::WaveOutcome::Failed, cbs_dr::WaveOutcome::NotStarted]
    );
    // Nothing was made for a standby that cannot take it, nor for the group not run.
    assert!(placed(&emulator, "stopped").is_empty());

    let went_on = dr.restore(&request("went-on", true)).await.unwrap();
    assert_eq!(
        outcome(&went_on, "disk-prod0003"),
        (RestoreOutcome::Created, None)
    );
    let placed = placed(&emulator, "went-on");
    assert_eq!(placed.len(), 1, "{placed:?}");
    assert_eq!(
        placed["prod-web-1"].0.as_deref(),
        Some("ins-web-dr01"),
        "{placed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn cleanup_after_killed_runs_removes_every_disk_they_made_and_nothing_else() {
    let emulator = emulator();
    let owner = client(&emulator);
    emulator.add_fleet(SOURCE, "prod-batch", 8, 50);
    let policy = policy(Selection::Latest);
    replicate_then_go_dark(&emulator, &owner, &policy).await;
    standby(&emulator, &owner, "ap-beijing-1", "ins-dbdr0001").await;
    let dr = replication(&owner, policy);
    // A finished run of another name, which the clean-up must leave alone.
    let kept = dr
        .restore(&Restore::new(DR, "kept").unwrap())
        .await
        .unwrap();
    assert_eq!(kept.failed(), 0, "{kept:#?}");
    emulator.inject(
        Fault::new(FaultKind::DropAfterRead)
            .action("CreateDisks")
            .probability(0.3),
    );
    let request = Restore::new(DR, "partial")
        .unwrap()
        .standby("ins-guan0001", "ins-dbdr0001");
    let killed = runs_killed_at_random(12, Duration::from_secs(200), 0x00c1_ea50, || {
        dr.restore(&request)
    })
    .await;
    assert!(killed >= 4, "only {killed} runs were killed");
    let left = placed(&emulator, "partial");
    assert!(!left.is_empty(), "the killed runs made nothing");
    assert!(left.len() <= 11, "{left:?}");
    emulator.clear_faults();
    source_goes_dark(&emulator);
    let others: Vec<String> = emulator
        .disks(DR)
        .into_iter()
        .filter(|d| !left.contains_key(&d.name) || !d.tags.iter().any(|(_, v)| v == "partial"))
        .map(|d| d.id)
        .collect();
    let cleaned = dr.clean_up_restore(DR, "partial").await.unwrap();
    assert_eq!(cleaned.items.len(), left.len(), "{cleaned:#?}");
    assert!(cleaned.items.iter().all(|i| i.deleted), "{cleaned:#?}");
    assert!(placed(&emulator, "partial").is_empty());
    // Everything else is still there: the other run's disks, the standby's own.
    let now: Vec<String> = emulator.disks(DR).into_iter().map(|d| d.id).collect();
    assert!(
        others.iter().all(|d| now.contains(d)),
        "{others:?} vs {now:?}"
    );
    assert_eq!(placed(&emulator, "kept").len(), 11);
}

#[tokio::test(start_paused = true)]
async fn a_drill_rehearses_the_recovery_day_with_the_source_dark_and_removes_it_all() {
    let (emulator, owner, policy) = replicated_then_dark().await;
    standby(&emulator, &owner, "ap-beijing-2", "ins-dbdr0001").await;
    let before: Vec<String> = emulator.disks(DR).into_iter().map(|d| d.id).collect();
    let rehearsal = Restore::new(DR, "ignored")
        .unwrap()
        .standby("ins-guan0001", "ins-dbdr0001")
        .order(vec![
            cbs_dr::Wave::new("databases", ["ins-guan0001"]),
            cbs_dr::Wave::new("web", ["ins-guan0002"]),
        ]);
    let drill = replication(&owner, policy)
        .drill_with(&rehearsal, false, std::future::pending())
        .await
        .unwrap();
    assert_eq!(drill.succeeded(), 3, "{drill:#?}");
    assert!(drill.items.iter().all(|i| i.deleted), "{drill:#?}");
    let restored = drill.restore.as_ref().expect("the restore finished");
    // Restored as the day would: the databases on their standby, in its zone, first;
    // the recovery time covers both groups.
    let databases: Vec<_> = restored
        .items
        .iter()
        .filter(|i| i.wave == "databases")
        .collect();
    assert_eq!(databases.len(), 2);
    assert!(
        databases
            .iter()
            .all(|i| i.attached && i.zone.as_deref() == Some("ap-beijing-2"))
    );
    assert!(restored.waves[1].started >= restored.waves[0].finished);
    let rto = restored.rto.expect("measured");
    // Disks load for 300 s in each group, one after the other.
    assert!(rto >= Duration::from_secs(600), "{rto:?}");
    assert!(drill.run.starts_with("drill-"));
    // Nothing of the drill is left; the standby's own disk is untouched.
    let after: Vec<String> = emulator.disks(DR).into_iter().map(|d| d.id).collect();
    assert_eq!(after, before);
}
