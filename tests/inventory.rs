//! Replicas carry their inventory (lineage, the source disk's make-up, the source's
//! own tags) through the Tag service, against the emulator under paused time: exactly
//! the calls needed, backfill, the 50-tag limit, a destination refusing Tag calls,
//! throttling, lost answers and runs killed at random.

use std::collections::BTreeMap;
use std::time::Duration;

use cbs_dr::{Inventory, Outcome, PlanAction, Policy, ReplicaName, Replication, Rule};
use cbs_e2e::*;
use cbs_emulator::{Emulator, EmulatorHandle, Fault, FaultKind};
use tencentcloud_cbs::Client;
use tencentcloud_cbs::tag::{self, Tag};

const SOURCE: &str = "ap-guangzhou";
const DESTINATIONS: [&str; 2] = ["ap-seoul", "ap-tokyo"];
const DAY: Duration = Duration::from_secs(24 * 3600);

fn emulator(copy: Duration) -> EmulatorHandle {
    Emulator::builder()
        .credential(SECRET_ID, SECRET_KEY)
        .seed_demo(true)
        .rate_limit(0)
        .copy_duration(copy)
        .start_in_process()
        .expect("emulator starts")
}

fn replication(client: &Client) -> Replication {
    let policy = Policy::new(vec![
        Rule::new("prod", SOURCE, DESTINATIONS).disk_name_pattern("prod-*"),
    ])
    .unwrap();
    Replication::new(client, policy)
        .poll_interval(Duration::from_secs(5), Duration::from_secs(30))
        .clock(TokioClock::new())
}

/// Every replica of this tool in the destinations: `(region, replica id)` → its tags.
fn replica_tags(emulator: &EmulatorHandle) -> BTreeMap<(String, String), Vec<(String, String)>> {
    let mut found = BTreeMap::new();
    for region in DESTINATIONS {
        for snapshot in emulator.snapshots(region) {
            if ReplicaName::parse(&snapshot.name).is_some() {
                found.insert((region.to_owned(), snapshot.id), snapshot.tags);
            }
        }
    }
    found
}

/// The inventory a replica's tags read back as.
fn inventory(tags: &[(String, String)]) -> Option<Inventory> {
    Inventory::from_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// Every replica in the destinations reads back as a copy of its own source snapshot,
/// with the source disk's inventory; returns how many there are.
fn assert_every_replica_carries_its_inventory(emulator: &EmulatorHandle) -> usize {
    let disks: BTreeMap<String, cbs_emulator::DiskInfo> = emulator
        .disks(SOURCE)
        .into_iter()
        .map(|d| (d.id.clone(), d))
        .collect();
    let replicas = replica_tags(emulator);
    for ((region, id), tags) in &replicas {
        let snapshot = emulator
            .snapshots(region)
            .into_iter()
            .find(|s| &s.id == id)
            .unwrap();
        let name = ReplicaName::parse(&snapshot.name).unwrap();
        let read = inventory(tags).unwrap_or_else(|| panic!("{region}/{id}: {tags:?}"));
        assert_eq!(read.source_region, SOURCE);
        assert_eq!(read.snapshot_id, name.source_snapshot_id, "{region}/{id}");
        assert_eq!(read.taken_unix, Some(name.source_created_unix));
        assert_eq!(read.rule.as_deref(), Some("prod"));
        let disk = &disks[&read.disk_id];
        assert_eq!(read.disk_id, snapshot.disk_id);
        assert_eq!(read.name.as_deref(), Some(disk.name.as_str()));
        assert_eq!(read.size_gb, Some(disk.size_gb));
        assert_eq!(read.disk_type.as_deref(), Some("CLOUD_SSD"));
        assert_eq!(read.system_disk, Some(false));
        assert_eq!(read.instance, disk.instance_id);
        // One value per key: binding again replaces, never adds.
        let mut keys: Vec<&str> = tags.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort();
        let before = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), before, "{tags:?}");
    }
    replicas.len()
}

/// The newest snapshot of `disk_id` in the source.
fn newest_snapshot(emulator: &EmulatorHandle, disk_id: &str) -> String {
    emulator
        .snapshots(SOURCE)
        .into_iter()
        .rfind(|s| s.disk_id == disk_id)
        .unwrap()
        .id
}

fn tag_calls(recording: &Recording<cbs_emulator::LocalTransport>, from: usize) -> usize {
    counts(&recording.sent()[from..])
        .get("TagResources")
        .copied()
        .unwrap_or(0)
}

#[tokio::test(start_paused = true)]
async fn replicas_carry_the_source_inventory_and_a_second_run_binds_nothing() {
    let emulator = emulator(Duration::from_secs(60));
    let recording = Recording::new(emulator.transport());
    let client = client_builder(&emulator)
        .transport(recording.clone())
        .build()
        .unwrap();
    // Two of the disks on one instance; the owner's tags on a disk and on a snapshot.
    emulator.add_instance(SOURCE, "ap-guangzhou-1", "ins-prod0001");
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
        .instance_id("ins-prod0001")
        .disk_ids(["disk-prod0002", "disk-prod0001"])
        .send()
        .await
        .unwrap();
    let nightly = newest_snapshot(&emulator, "disk-prod0001");
    client
        .tag_resources()
        .resources([tag::disk_resource(SOURCE, "disk-prod0001")])
        .tags([Tag::new("team", "db"), Tag::new("cost-center", "42")])
        .send()
        .await
        .unwrap();
    client
        .tag_resources()
        .resources([tag::snapshot_resource(SOURCE, &nightly)])
        .tags([Tag::new("backup", "nightly"), Tag::new("team", "db-oncall")])
        .send()
        .await
        .unwrap();
    let replication = replication(&client);

    let plan = replication.plan().await.unwrap();
    for destination in plan.destinations() {
        // Six of ours for each of the two attached disks' new copies, five for the
        // other's (no instance), and the owner's three on one.
        assert_eq!(destination.tags_to_add, 6 + 6 + 5 + 3, "{destination:?}");
        assert_eq!(destination.untagged, 0);
    }

    let from = recording.sent().len();
    let report = replication.apply().await.unwrap();
    assert!(report.converged, "{report:#?}");
    assert!(
        report
            .items
            .iter()
            .all(|i| i.outcome == Outcome::Copied && i.tagged && i.warning.is_none()),
        "{report:#?}"
    );
    assert_eq!(assert_every_replica_carries_its_inventory(&emulator), 6);
    // A source's replicas in both destinations lack the same tags: one call each.
    assert_eq!(tag_calls(&recording, from), 3);
    let replicas = replica_tags(&emulator);
    let of_db1: Vec<&Vec<(String, String)>> = replicas
        .values()
        .filter(|tags| inventory(tags).unwrap().disk_id == "disk-prod0001")
        .collect();
    assert_eq!(of_db1.len(), 2);
    for tags in of_db1 {
        let read = inventory(tags).unwrap();
        assert_eq!(
            (read.instance.as_deref(), read.order),
            (Some("ins-prod0001"), Some(0))
        );
        let own: BTreeMap<&str, &str> = tags
            .iter()
            .filter(|(k, _)| !k.starts_with(cbs_dr::TAG_PREFIX))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        // The snapshot's value wins over the disk's for one key.
        assert_eq!(
            own,
            BTreeMap::from([
                ("backup", "nightly"),
                ("cost-center", "42"),
                ("team", "db-oncall")
            ])
        );
    }

    // The second run reads the tags from the listing it makes anyway: no Tag call.
    let from = recording.sent().len();
    let again = replication.apply().await.unwrap();
    assert!(again.converged);
    let rerun = counts(&recording.sent()[from..]);
    assert!(
        rerun
            .keys()
            .all(|a| !["TagResources", "GetResources"].contains(&a.as_str())),
        "{rerun:?}"
    );
    assert!(replication.plan().await.unwrap().is_converged());

    // The owner's check shows each pair's newest replica's tags, none untagged.
    let check = replication.check(DAY).await.unwrap();
    assert!(check.is_ok(), "{check:#?}");
    for item in &check.items {
        assert_eq!(item.untagged, Some(0), "{item:?}");
        let read = inventory(&item.tags).unwrap();
        assert_eq!(read.disk_id, item.disk_id);
    }
}

#[tokio::test(start_paused = true)]
async fn replicas_without_their_tags_are_tagged_by_the_next_apply() {
    let emulator = emulator(Duration::from_secs(60));
    let recording = Recording::new(emulator.transport());
    let client = client_builder(&emulator)
        .transport(recording.clone())
        .build()
        .unwrap();
    let replication = replication(&client);
    assert!(replication.apply().await.unwrap().converged);
    // Replicas made before tags were bound: one loses all of them, another two of its
    // inventory tags.
    let replicas: Vec<(String, String)> = replica_tags(&emulator).into_keys().collect();
    let (bare, partial) = (&replicas[0], &replicas[3]);
    assert_ne!(bare.0, partial.0, "one in each destination");
    for ((region, id), keys) in [
        (
            bare,
            vec![
                "tccbs:source",
                "tccbs:taken",
                "tccbs:rule",
                "tccbs:disk",
                "tccbs:name",
            ],
        ),
        (partial, vec!["tccbs:disk", "tccbs:name"]),
    ] {
        client
            .untag_resources()
            .resources([tag::snapshot_resource(region, id)])
            .keys(keys)
            .send()
            .await
            .unwrap();
    }

    let plan = replication.plan().await.unwrap();
    let to_tag: Vec<&str> = plan
        .items()
        .iter()
        .filter_map(|i| match &i.action {
            PlanAction::Tag {
                replica_id,
                lacks_inventory,
                ..
            } => {
                assert!(lacks_inventory);
                Some(replica_id.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(to_tag.len(), 2, "{to_tag:?}");
    assert!(to_tag.contains(&bare.1.as_str()) && to_tag.contains(&partial.1.as_str()));
    for destination in plan.destinations() {
        assert_eq!(destination.untagged, 1, "{destination:?}");
    }
    let check = replication.check(DAY).await.unwrap();
    let untagged: usize = check.items.iter().filter_map(|i| i.untagged).sum();
    assert_eq!(untagged, 2, "{check:#?}");

    let from = recording.sent().len();
    let report = replication.apply().await.unwrap();
    assert!(report.converged, "{report:#?}");
    // Each on its own line, up to date otherwise.
    let tagged: Vec<&str> = report
        .items
        .iter()
        .filter(|i| i.tagged)
        .filter_map(|i| i.replica_id.as_deref())
        .collect();
    assert_eq!(tagged.len(), 2, "{report:#?}");
    assert!(tagged.contains(&bare.1.as_str()) && tagged.contains(&partial.1.as_str()));
    assert!(!counts(&recording.sent()[from..]).contains_key("CopySnapshotCrossRegions"));
    // They lack different tags: a call each.
    assert_eq!(tag_calls(&recording, from), 2);
    assert_eq!(assert_every_replica_carries_its_inventory(&emulator), 6);
    let check = replication.check(DAY).await.unwrap();
    assert!(
        check.items.iter().all(|i| i.untagged == Some(0)),
        "{check:#?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_source_with_fifty_tags_of_its_own_keeps_the_inventory_and_says_what_was_left_out() {
    let emulator = emulator(Duration::from_secs(60));
    // The most a disk may carry, one of them under this tool's prefix. The disk is
    // attached to an instance, so six tags are ours: 44 of its own fit.
    let mut tags: Vec<(String, String)> = (0..49)
        .map(|i| (format!("owner-{i:02}"), format!("value {i}")))
        .collect();
    tags.push(("tccbs:name".into(), "forged".into()));
    assert!(emulator.set_disk_tags("disk-prod0003", tags));
    let recording = Recording::new(emulator.transport());
    let client = client_builder(&emulator)
        .transport(recording.clone())
        .build()
        .unwrap();
    let replication = replication(&client);
    let report = replication.apply().await.unwrap();
    assert!(report.converged, "{report:#?}");
    assert_eq!(report.failed(), 0);
    let warned: Vec<&cbs_dr::ReportItem> = report
        .items
        .iter()
        .filter(|i| i.warning.is_some())
        .collect();
    assert_eq!(warned.len(), 2, "one per destination: {report:#?}");
    for item in warned {
        assert_eq!(item.disk_id, "disk-prod0003");
        assert!(item.tagged);
        let warning = item.warning.as_deref().unwrap();
        assert!(warning.contains("\"tccbs:name\" collides"), "{warning}");
        assert!(
            warning.contains("at most 50 tags: 5 of the source's own are not copied"),
            "{warning}"
        );
    }
    assert_eq!(assert_every_replica_carries_its_inventory(&emulator), 6);
    for ((_, _), tags) in replica_tags(&emulator) {
        let read = inventory(&tags).unwrap();
        if read.disk_id == "disk-prod0003" {
            assert_eq!(tags.len(), 50);
            assert_eq!(read.name.as_deref(), Some("prod-web-1"));
        }
    }
    // What cannot be bound is not tried again and again.
    let from = recording.sent().len();
    assert!(replication.apply().await.unwrap().converged);
    assert!(replication.plan().await.unwrap().is_converged());
    assert_eq!(tag_calls(&recording, from), 0);
}

#[tokio::test(start_paused = true)]
async fn a_destination_refusing_tag_calls_fails_alone_and_its_replicas_still_count() {
    let emulator = emulator(Duration::from_secs(60));
    emulator.inject(
        Fault::new(FaultKind::Error {
            code: "AuthFailure.UnauthorizedOperation".into(),
            message: "not allowed to tag here".into(),
        })
        .service("tag")
        .action("TagResources")
        .region("ap-tokyo"),
    );
    let client = client(&emulator);
    let replication = replication(&client);
    let report = replication.apply().await.unwrap();
    assert!(!report.converged);
    let failed: Vec<&cbs_dr::ReportItem> = report
        .items
        .iter()
        .filter(|i| i.outcome == Outcome::Failed)
        .collect();
    assert_eq!(failed.len(), 3, "{report:#?}");
    for item in &failed {
        assert_eq!(item.destination.as_deref(), Some("ap-tokyo"));
        let failure = item.failure.as_ref().unwrap();
        assert_eq!(failure.code, "AuthFailure.UnauthorizedOperation");
        assert!(failure.request_id.as_ref().is_some_and(|r| r.len() == 36));
    }
    // Every copy landed, in both destinations; Seoul's replicas are tagged.
    assert_eq!(report.count(Outcome::Copied), 6, "{report:#?}");
    for ((region, _), tags) in replica_tags(&emulator) {
        assert_eq!(
            inventory(&tags).is_some(),
            region == "ap-seoul",
            "{region}: {tags:?}"
        );
    }
    // The replicas count for the recovery point all the same (a run's own report
    // does not count untagged replicas: check does).
    assert!(report.recovery_points.iter().all(|p| p.ok), "{report:#?}");
    assert!(report.recovery_points.iter().all(|p| p.untagged.is_none()));
    let check = replication.check(DAY).await.unwrap();
    assert!(check.is_ok(), "{check:#?}");
    for item in &check.items {
        let expected = usize::from(item.destination == "ap-tokyo");
        assert_eq!(item.untagged, Some(expected), "{item:?}");
    }

    // Allowed again: the next run tags Tokyo's, and only those.
    emulator.clear_faults();
    let report = replication.apply().await.unwrap();
    assert!(report.converged, "{report:#?}");
    let tagged: Vec<&str> = report
        .items
        .iter()
        .filter(|i| i.tagged)
        .filter_map(|i| i.destination.as_deref())
        .collect();
    assert_eq!(tagged, ["ap-tokyo"; 3], "{report:#?}");
    assert_eq!(assert_every_replica_carries_its_inventory(&emulator), 6);
}

#[tokio::test(start_paused = true)]
async fn throttled_tag_calls_are_waited_out() {
    let emulator = emulator(Duration::from_secs(60));
    emulator.inject(
        Fault::new(FaultKind::Error {
            code: "RequestLimitExceeded".into(),
            message: String::new(),
        })
        .service("tag")
        .times(5),
    );
    let recording = Recording::new(emulator.transport());
    let client = client_builder(&emulator)
        .transport(recording.clone())
        .build()
        .unwrap();
    let report = replication(&client).apply().await.unwrap();
    assert!(report.converged, "{report:#?}");
    assert!(report.items.iter().all(|i| i.tagged), "{report:#?}");
    assert_eq!(tag_calls(&recording, 0), 3 + 5);
    assert_eq!(assert_every_replica_carries_its_inventory(&emulator), 6);
}

#[tokio::test(start_paused = true)]
async fn a_tag_call_whose_answers_are_always_lost_ends_with_the_run() {
    let emulator = emulator(Duration::from_secs(60));
    emulator.inject(
        Fault::new(FaultKind::DropAfterRead)
            .service("tag")
            .action("TagResources"),
    );
    let recording = Recording::new(emulator.transport());
    let client = client_builder(&emulator)
        .transport(recording.clone())
        .build()
        .unwrap();
    let deadline = Duration::from_secs(30 * 60);
    let started = tokio::time::Instant::now();
    let report = replication(&client)
        .deadline(deadline)
        .apply()
        .await
        .unwrap();
    assert!(started.elapsed() <= deadline, "{:?}", started.elapsed());
    assert!(!report.converged);
    // The copies stand; each source's tag call was tried three times (not again per
    // region: a lost answer is no region's refusal).
    assert_eq!(report.count(Outcome::Copied), 6, "{report:#?}");
    assert_eq!(report.failed(), 6, "{report:#?}");
    assert_eq!(tag_calls(&recording, 0), 3 * 3);
    // The service did bind them: the next run finds nothing to do.
    emulator.clear_faults();
    let from = recording.sent().len();
    let again = replication(&client).apply().await.unwrap();
    assert!(again.converged, "{again:#?}");
    assert_eq!(tag_calls(&recording, from), 0);
    assert_eq!(assert_every_replica_carries_its_inventory(&emulator), 6);
}

#[tokio::test(start_paused = true)]
async fn runs_killed_at_random_with_lost_tag_answers_leave_every_replica_tagged_once() {
    // Copies take ten minutes; runs are killed within five minutes of their start, so
    // the first ones die copying or tagging the new copies, the later ones tagging
    // what the final look finds.
    let emulator = emulator(Duration::from_secs(600));
    emulator.inject(
        Fault::new(FaultKind::DropAfterRead)
            .service("tag")
            .probability(0.4),
    );
    emulator.inject(
        Fault::new(FaultKind::DropAfterRead)
            .action("CopySnapshotCrossRegions")
            .probability(0.3),
    );
    emulator.add_fleet(SOURCE, "prod-batch", 12, 50);
    let recording = Recording::new(emulator.transport());
    let client = client_builder(&emulator)
        .transport(recording.clone())
        .build()
        .unwrap();
    let replication = replication(&client);
    let killed = runs_killed_at_random(20, Duration::from_secs(300), 0x7a6_cb50, || {
        replication.apply()
    })
    .await;
    assert!(killed >= 5, "only {killed} runs were killed");
    assert!(tag_calls(&recording, 0) > 0, "no run got as far as tagging");
    emulator.clear_faults();
    let last = replication.apply().await.unwrap();
    assert!(last.converged, "{last:#?}");
    assert_eq!(last.failed(), 0, "{last:#?}");
    // One replica per source and destination, each with its own inventory.
    assert_eq!(
        assert_every_replica_carries_its_inventory(&emulator),
        2 * 15
    );
    let from = recording.sent().len();
    assert!(replication.apply().await.unwrap().converged);
    assert_eq!(tag_calls(&recording, from), 0);
}
