//! Fleet replication against the emulator, under paused time: convergence, exactly
//! once through dropped answers, throttling, refusing and slow regions, runs killed at
//! random moments, retention, the RPO check and the restore drill.

use std::collections::BTreeMap;
use std::time::Duration;

use cbs_dr::{Outcome, PlanAction, Policy, ReplicaName, Replication, Rule, Selection};
use cbs_e2e::*;
use cbs_emulator::{Emulator, EmulatorHandle, Fault, FaultKind, Latency};
use tencentcloud_cbs::Client;

const SOURCE: &str = "ap-guangzhou";
const DESTINATIONS: [&str; 2] = ["ap-seoul", "ap-tokyo"];

fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .credential(SECRET_ID, SECRET_KEY)
        .seed_demo(true)
        .rate_limit(0)
        .copy_duration(Duration::from_secs(60))
        .start_in_process()
        .expect("emulator starts")
}

fn replication(client: &Client, policy: Policy) -> Replication {
    Replication::new(client, policy)
        .poll_interval(Duration::from_secs(5), Duration::from_secs(30))
        .clock(TokioClock::new())
}

/// The seeded production fleet (prod-db-1, prod-db-2, prod-web-1) to both destinations.
fn fleet_policy() -> Policy {
    Policy::new(vec![
        Rule::new("prod", SOURCE, DESTINATIONS).disk_name_pattern("prod-*"),
    ])
    .unwrap()
}

/// This tool's replicas in `region`, by source snapshot.
fn replicas(emulator: &EmulatorHandle, region: &str) -> BTreeMap<String, Vec<String>> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for snapshot in emulator.snapshots(region) {
        if let Some(name) = ReplicaName::parse(&snapshot.name) {
            found
                .entry(name.source_snapshot_id)
                .or_default()
                .push(snapshot.id);
        }
    }
    found
}

/// The newest snapshot of each prod disk in the source.
fn newest_sources(emulator: &EmulatorHandle) -> Vec<String> {
    let prod: Vec<String> = emulator
        .disks(SOURCE)
        .into_iter()
        .filter(|d| d.name.starts_with("prod-"))
        .map(|d| d.id)
        .collect();
    let mut newest: BTreeMap<String, String> = BTreeMap::new();
    // Oldest first, so the last one seen per disk is the newest.
    for snapshot in emulator.snapshots(SOURCE) {
        if prod.contains(&snapshot.disk_id) {
            newest.insert(snapshot.disk_id.clone(), snapshot.id.clone());
        }
    }
    newest.into_values().collect()
}

/// Exactly one replica per (newest source, destination), and no other replica.
fn assert_exactly_once(emulator: &EmulatorHandle) {
    let mut wanted = newest_sources(emulator);
    wanted.sort();
    for region in DESTINATIONS {
        let found = replicas(emulator, region);
        let sources: Vec<String> = found.keys().cloned().collect();
        assert_eq!(sources, wanted, "replicated sources in {region}");
        for (source, ids) in &found {
            assert_eq!(ids.len(), 1, "{source} in {region}: {ids:?}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn apply_converges_and_a_second_run_sends_no_copy() {
    let emulator = emulator();
    let recording = Recording::new(emulator.transport());
    let client = client_builder(&emulator)
        .transport(recording.clone())
        .build()
        .unwrap();
    let replication = replication(&client, fleet_policy());

    let plan = replication.plan().await.unwrap();
    let totals = plan.totals();
    assert_eq!(totals.copies, 6, "3 disks × 2 destinations");
    assert_eq!(totals.copy_gb, 2 * (200 + 200 + 50));
    assert!(!counts(&recording.sent()).contains_key("CopySnapshotCrossRegions"));

    let report = replication.apply().await.unwrap();
    assert!(report.converged);
    assert_eq!(report.failed(), 0, "{report:#?}");
    assert!(report.items.iter().all(|i| i.outcome == Outcome::Copied));
    let sent = counts(&recording.sent());
    assert_eq!(
        sent["CopySnapshotCrossRegions"], 3,
        "one call per source snapshot"
    );
    assert_exactly_once(&emulator);

    let before = recording.sent().len();
    let again = replication.apply().await.unwrap();
    assert!(again.items.iter().all(|i| i.outcome == Outcome::UpToDate));
    let rerun = counts(&recording.sent()[before..]);
    assert!(!rerun.contains_key("CopySnapshotCrossRegions"), "{rerun:?}");
    assert!(replication.plan().await.unwrap().is_converged());
}

#[tokio::test(start_paused = true)]
async fn lost_answers_and_throttling_never_make_a_second_copy() {
    // Copies finish within a poll interval, so a copy sent again on a guess would not
    // be stopped by the service's conflict check: it would make a second replica.
    let emulator = Emulator::builder()
        .credential(SECRET_ID, SECRET_KEY)
        .seed_demo(true)
        .rate_limit(0)
        .copy_duration(Duration::from_secs(1))
        .start_in_process()
        .expect("emulator starts");
    // The first two copy calls run but their answers are lost; the next two are
    // throttled (and do not run).
    emulator.inject(
        Fault::new(FaultKind::DropAfterRead)
            .action("CopySnapshotCrossRegions")
            .times(2),
    );
    emulator.inject(
        Fault::new(FaultKind::Error {
            code: "RequestLimitExceeded".into(),
            message: String::new(),
        })
        .action("CopySnapshotCrossRegions")
        .times(2),
    );
    let client = client(&emulator);
    let report = replication(&client, fleet_policy()).apply().await.unwrap();
    assert!(report.converged, "{report:#?}");
    assert_eq!(report.failed(), 0, "{report:#?}");
    // The copies whose answers were lost were adopted, not sent again.
    let adopted = report
        .items
        .iter()
        .filter(|i| i.outcome == Outcome::Adopted)
        .count();
    assert_eq!(
        adopted, 4,
        "two lost answers × two destinations: {report:#?}"
    );
    assert_exactly_once(&emulator);
}

#[tokio::test(start_paused = true)]
async fn a_refusing_region_fails_alone_and_a_slow_flaky_one_still_converges() {
    let emulator = Emulator::builder()
        .credential(SECRET_ID, SECRET_KEY)
        .seed_demo(true)
        .rate_limit(0)
        .snapshot_quota(20)
        .copy_duration(Duration::from_secs(60))
        .start_in_process()
        .unwrap();
    // ap-tokyo is full; ap-seoul answers slowly and fails a third of its polls.
    emulator.add_snapshots("ap-tokyo", 20);
    emulator.inject(
        Fault::new(FaultKind::Delay(Latency::long_tail(
            Duration::from_millis(500),
            Duration::from_secs(2),
        )))
        .region("ap-seoul"),
    );
    emulator.inject(
        Fault::new(FaultKind::Error {
            code: "InternalError".into(),
            message: String::new(),
        })
        .action("DescribeSnapshots")
        .region("ap-seoul")
        .probability(0.3),
    );
    let client = client(&emulator);
    let report = replication(&client, fleet_policy()).apply().await.unwrap();
    let by_region = |region: &str, outcome: Outcome| {
        report
            .items
            .iter()
            .filter(|i| i.destination.as_deref() == Some(region) && i.outcome == outcome)
            .count()
    };
    assert_eq!(by_region("ap-seoul", Outcome::Copied), 3, "{report:#?}");
    assert_eq!(by_region("ap-tokyo", Outcome::Failed), 3, "{report:#?}");
    let refused = report
        .items
        .iter()
        .find(|i| i.outcome == Outcome::Failed)
        .unwrap();
    let failure = refused.failure.as_ref().unwrap();
    assert_eq!(failure.code, "InsufficientSnapshotQuota");
    assert!(failure.request_id.as_ref().is_some_and(|r| r.len() == 36));
    assert!(!report.converged);
}

#[tokio::test(start_paused = true)]
async fn runs_killed_at_random_moments_converge_to_exactly_one_replica_each() {
    // Copies of 50 to 200 GB take 5 to 20 minutes.
    let emulator = Emulator::builder()
        .credential(SECRET_ID, SECRET_KEY)
        .seed_demo(true)
        .rate_limit(0)
        .copy_duration(Duration::from_secs(600))
        .start_in_process()
        .expect("emulator starts");
    // A third of the copy answers are lost on the way back, on top of the kills.
    emulator.inject(
        Fault::new(FaultKind::DropAfterRead)
            .action("CopySnapshotCrossRegions")
            .probability(0.3),
    );
    let fleet = emulator.add_fleet(SOURCE, "prod-batch", 12, 50);
    assert_eq!(fleet.len(), 12);
    let client = client(&emulator);
    let replication = replication(&client, fleet_policy());
    // Twenty runs, each killed after a random moment up to five minutes in.
    let killed = runs_killed_at_random(20, Duration::from_secs(300), 0x5eed_cb50, || {
        replication.apply()
    })
    .await;
    assert!(killed >= 5, "only {killed} runs were killed");
    emulator.clear_faults();
    let last = replication.apply().await.unwrap();
    assert!(last.converged, "{last:#?}");
    assert_eq!(last.failed(), 0, "{last:#?}");
    assert_exactly_once(&emulator);
}

#[tokio::test(start_paused = true)]
async fn retention_prunes_only_surplus_replicas_and_never_the_newest() {
    let emulator = emulator();
    let client = client(&emulator);
    // Every snapshot of prod-db-1 (four, aged 72, 48, 24 and 2 hours) to ap-seoul.
    let keep = |n: u32| {
        Policy::new(vec![
            Rule::new("db1", SOURCE, ["ap-seoul"])
                .disk_ids(["disk-prod0001"])
                .snapshots(Selection::All)
                .keep(n),
        ])
        .unwrap()
    };
    let first = replication(&client, keep(4)).apply().await.unwrap();
    assert_eq!(first.succeeded(), 4, "{first:#?}");
    let seoul_before = emulator.snapshots("ap-seoul");
    let sources_before = emulator.snapshots(SOURCE);

    let without_prune = replication(&client, keep(2)).apply().await.unwrap();
    let would: Vec<_> = without_prune
        .items
        .iter()
        .filter(|i| i.outcome == Outcome::WouldPrune)
        .collect();
    assert_eq!(would.len(), 2);
    assert_eq!(
        emulator.snapshots("ap-seoul"),
        seoul_before,
        "nothing deleted"
    );

    let plan = replication(&client, keep(2)).plan().await.unwrap();
    let doomed: Vec<String> = plan
        .items()
        .iter()
        .filter_map(|i| match &i.action {
            PlanAction::Prune { replica_id, .. } => Some(replica_id.clone()),
            _ => None,
        })
        .collect();
    let pruned = replication(&client, keep(2))
        .prune(true)
        .apply()
        .await
        .unwrap();
    let deleted: Vec<String> = pruned
        .items
        .iter()
        .filter(|i| i.outcome == Outcome::Pruned)
        .filter_map(|i| i.replica_id.clone())
        .collect();
    assert_eq!(deleted, doomed);
    let left = replicas(&emulator, "ap-seoul");
    assert_eq!(left.len(), 2);
    // The two kept are the replicas of the two newest sources.
    let mut newest_two: Vec<String> = sources_before
        .iter()
        .filter(|s| s.disk_id == "disk-prod0001")
        .rev()
        .take(2)
        .map(|s| s.id.clone())
        .collect();
    newest_two.sort();
    assert_eq!(left.keys().cloned().collect::<Vec<_>>(), newest_two);
    // Sources and snapshots that are not replicas are untouched.
    assert_eq!(emulator.snapshots(SOURCE), sources_before);
    let others_before: Vec<_> = seoul_before
        .iter()
        .filter(|s| ReplicaName::parse(&s.name).is_none())
        .collect();
    let others_after: Vec<_> = emulator
        .snapshots("ap-seoul")
        .into_iter()
        .filter(|s| ReplicaName::parse(&s.name).is_none())
        .collect();
    assert_eq!(others_before.len(), others_after.len());
}

#[tokio::test(start_paused = true)]
async fn overlapping_rules_keep_what_either_keeps_and_never_copy_twice() {
    let emulator = emulator();
    let client = client(&emulator);
    // prod-db-1 has four snapshots; one rule keeps three of every snapshot, the other
    // one of the latest, both into ap-seoul, both pruning.
    let policy = Policy::new(vec![
        Rule::new("history", SOURCE, ["ap-seoul"])
            .disk_ids(["disk-prod0001"])
            .snapshots(Selection::All)
            .keep(3)
            .prune(true),
        Rule::new("latest", SOURCE, ["ap-seoul"])
            .disk_ids(["disk-prod0001"])
            .keep(1)
            .prune(true),
    ])
    .unwrap();
    let plan = replication(&client, policy.clone()).plan().await.unwrap();
    assert_eq!(
        plan.totals().copies,
        3,
        "the newest is wanted twice, planned once"
    );
    for run in 0..3 {
        let report = replication(&client, policy.clone()).apply().await.unwrap();
        assert!(report.converged, "run {run}: {report:#?}");
        let copied = report.items.iter().filter(|i| i.copy_started).count();
        assert_eq!(
            copied,
            if run == 0 { 3 } else { 0 },
            "run {run}: {report:#?}"
        );
        assert_eq!(report.count(Outcome::Pruned), 0, "run {run}: {report:#?}");
        assert_eq!(replicas(&emulator, "ap-seoul").len(), 3);
        // No replica is both kept and let go in one report.
        let kept: Vec<&String> = report
            .items
            .iter()
            .filter(|i| i.outcome == Outcome::UpToDate)
            .filter_map(|i| i.replica_id.as_ref())
            .collect();
        assert!(
            report
                .items
                .iter()
                .filter(|i| matches!(i.outcome, Outcome::Pruned | Outcome::WouldPrune))
                .all(|i| !kept.contains(&i.replica_id.as_ref().unwrap())),
            "{report:#?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_rpo_check_flags_missing_and_stale_replicas() {
    let emulator = emulator();
    let client = client(&emulator);
    let replication = replication(&client, fleet_policy());
    let day = Duration::from_secs(86_400);

    let before = replication.check(day).await.unwrap();
    assert_eq!(before.offenders().count(), 6, "nothing replicated yet");
    assert!(before.items.iter().all(|i| i.replica_id.is_none()));

    replication.apply().await.unwrap();
    let after = replication.check(day).await.unwrap();
    assert!(after.is_ok(), "{after:#?}");

    // Two days on, with no new snapshot, every replica's data is stale.
    tokio::time::advance(2 * day).await;
    let stale = replication.check(day).await.unwrap();
    assert_eq!(stale.offenders().count(), 6);
    assert!(stale.items.iter().all(|i| i.data_age.unwrap() > 2 * day));
}

#[tokio::test(start_paused = true)]
async fn the_drill_restores_each_disk_and_cleans_up() {
    let emulator = emulator();
    let client = client(&emulator);
    let replication = replication(&client, fleet_policy());
    let none = replication.drill("ap-tokyo", false).await.unwrap();
    assert_eq!(none.succeeded(), 0, "nothing to restore before a run");

    replication.apply().await.unwrap();
    let disks_before = emulator.disks("ap-tokyo").len();
    let drill = replication.drill("ap-tokyo", false).await.unwrap();
    assert_eq!(drill.items.len(), 3);
    assert_eq!(drill.succeeded(), 3, "{drill:#?}");
    assert!(
        drill
            .items
            .iter()
            .all(|i| i.deleted && i.time_to_usable.is_some())
    );
    assert_eq!(emulator.disks("ap-tokyo").len(), disks_before);

    let kept = replication.drill("ap-tokyo", true).await.unwrap();
    assert_eq!(kept.succeeded(), 3);
    let restored = emulator.disks("ap-tokyo");
    assert_eq!(restored.len(), disks_before + 3);
    for item in &kept.items {
        let disk = restored
            .iter()
            .find(|d| Some(&d.id) == item.restored_disk_id.as_ref())
            .unwrap();
        // Kept disks are named apart from a drill's, so no later drill sweeps them.
        let prefix = format!("tccbs-kept-{}-", item.disk_id);
        assert!(disk.name.starts_with(&prefix), "{}", disk.name);
    }
}

#[tokio::test(start_paused = true)]
async fn waiting_is_batched_per_destination() {
    let emulator = Emulator::builder()
        .credential(SECRET_ID, SECRET_KEY)
        .rate_limit(0)
        .snapshot_quota(100_000)
        .copy_duration(Duration::from_secs(300))
        .start_in_process()
        .unwrap();
    emulator.add_fleet(SOURCE, "big", 250, 100);
    let recording = Recording::new(emulator.transport());
    let client = client_builder(&emulator)
        .transport(recording.clone())
        .rate_limit(tencentcloud_cbs::RateLimitConfig::none())
        .build()
        .unwrap();
    let policy = Policy::new(vec![
        Rule::new("big", SOURCE, DESTINATIONS).disk_name_pattern("big-*"),
    ])
    .unwrap()
    .with_max_in_flight_per_region(1000);
    let rounds = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = rounds.clone();
    let report = replication(&client, policy)
        .poll_interval(Duration::from_secs(30), Duration::from_secs(30))
        .on_event(move |event| {
            if let cbs_dr::ReplicationEvent::Progress { destination, .. } = event
                && destination == "ap-seoul"
            {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        })
        .apply()
        .await
        .unwrap();
    assert!(report.converged);
    assert_eq!(report.succeeded(), 500);
    let sent = counts(&recording.sent());
    assert_eq!(sent["CopySnapshotCrossRegions"], 250);
    // Listing: the source and both destinations, before and after (100 per page);
    // polling: 3 calls (250 ids) per destination per round.
    let poll_rounds = rounds.load(std::sync::atomic::Ordering::SeqCst) - 1;
    let describes = sent["DescribeSnapshots"];
    let listing = 2 * (3 + 2 * 3);
    assert!(
        describes <= listing + poll_rounds * 2 * 3,
        "{describes} DescribeSnapshots for {poll_rounds} rounds: {sent:?}"
    );
    let per_replica_per_round = (describes - listing) as f64 / (500.0 * poll_rounds as f64);
    assert!(per_replica_per_round <= 0.05, "{per_replica_per_round}");
}

#[tokio::test(start_paused = true)]
async fn overlapping_runs_adopt_each_others_copies() {
    // Cron started the next run before the last one finished: both plan the same
    // copies; whichever copies second is told the copy is in flight and adopts it.
    let emulator = emulator();
    let recording = Recording::new(emulator.transport());
    let client = client_builder(&emulator)
        .transport(recording.clone())
        .build()
        .unwrap();
    let first = replication(&client, fleet_policy());
    let second = replication(&client, fleet_policy());
    let (a, b) = tokio::join!(first.apply(), second.apply());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.converged && b.converged);
    assert_eq!(a.failed() + b.failed(), 0, "{a:#?} {b:#?}");
    let copied = |r: &cbs_dr::Report| {
        r.items
            .iter()
            .filter(|i| i.outcome == Outcome::Copied)
            .count()
    };
    assert_eq!(
        copied(&a) + copied(&b),
        6,
        "each copy made once: {a:#?} {b:#?}"
    );
    assert_exactly_once(&emulator);
}

/// Two hosts' crons applying one policy: separate clients, each with its own rate
/// limiter, the second starting `later` after the first and polling on a schedule of
/// its own; `polls`: the first host's (min, max).
async fn two_hosts(
    emulator: &EmulatorHandle,
    policy: Policy,
    later: Duration,
    polls: (u64, u64),
) -> (
    cbs_dr::Report,
    cbs_dr::Report,
    Recording<cbs_emulator::LocalTransport>,
) {
    let recording = Recording::new(emulator.transport());
    let host = |transport: Recording<cbs_emulator::LocalTransport>| {
        client_builder(emulator)
            .transport(transport)
            .build()
            .unwrap()
    };
    let (a, b) = (host(recording.clone()), host(recording.clone()));
    let secs = Duration::from_secs;
    let first = replication(&a, policy.clone()).poll_interval(secs(polls.0), secs(polls.1));
    let second = replication(&b, policy).poll_interval(secs(polls.0 + 2), secs(polls.1 * 3 / 2));
    let second = async {
        tokio::time::sleep(later).await;
        second.apply().await
    };
    let (a, b) = tokio::join!(first.apply(), second);
    (a.unwrap(), b.unwrap(), recording)
}

/// Replicas per source in `region`, counting every copy (duplicates included).
fn copies_per_source(emulator: &EmulatorHandle, region: &str) -> BTreeMap<usize, usize> {
    let mut histogram = BTreeMap::new();
    for ids in replicas(emulator, region).values() {
        *histogram.entry(ids.len()).or_default() += 1;
    }
    histogram
}

#[tokio::test(start_paused = true)]
async fn overlapping_runs_on_two_hosts_with_a_cap_make_no_duplicate() {
    // A cap of one copy in flight per destination: every copy after the first waits a
    // round or more, and the other host's run may finish it meanwhile (copies take 20
    // s, polls come up to 30 s apart).
    let emulator = Emulator::builder()
        .credential(SECRET_ID, SECRET_KEY)
        .seed_demo(true)
        .rate_limit(0)
        .copy_duration(Duration::from_secs(20))
        .start_in_process()
        .expect("emulator starts");
    emulator.add_fleet(SOURCE, "cap", 12, 100);
    let policy = Policy::new(vec![
        Rule::new("cap", SOURCE, DESTINATIONS).disk_name_pattern("cap-*"),
    ])
    .unwrap()
    .with_max_in_flight_per_region(1);
    let (a, b, recording) = two_hosts(&emulator, policy, Duration::ZERO, (5, 30)).await;
    assert!(a.converged && b.converged, "{a:#?} {b:#?}");
    for region in DESTINATIONS {
        assert_eq!(
            copies_per_source(&emulator, region),
            BTreeMap::from([(1, 12)]),
            "{region}: one replica per source"
        );
    }
    let pruned = |r: &cbs_dr::Report| r.count(Outcome::Pruned);
    assert_eq!(pruned(&a) + pruned(&b), 0, "no duplicate to remove either");
    // What looking again cost: a few DescribeSnapshots per destination per round.
    let sent = recording.sent();
    let describes = sent
        .iter()
        .filter(|(_, a)| a == "DescribeSnapshots")
        .count();
    let copies = sent
        .iter()
        .filter(|(_, a)| a == "CopySnapshotCrossRegions")
        .count();
    assert!(copies <= 24, "{copies} copy calls for 24 replicas");
    assert!(describes < 12 * 2 * 2 * 4, "{describes} DescribeSnapshots");
}

#[tokio::test(start_paused = true)]
async fn a_duplicate_made_by_copies_quicker_than_a_look_is_removed_by_its_maker() {
    // Small disks whose copies take a second, many of them, no cap, the service's rate
    // limit shared by both hosts: a copy can start and finish between one host's look
    // and its send. Whatever was made twice is deleted by the run that made it, with
    // or without pruning; none is left.
    let emulator = Emulator::builder()
        .credential(SECRET_ID, SECRET_KEY)
        .seed_demo(true)
        .copy_duration(Duration::from_secs(10))
        .snapshot_quota(100_000)
        .start_in_process()
        .expect("emulator starts");
    emulator.add_fleet(SOURCE, "tiny", 100, 10);
    let policy = Policy::new(vec![
        Rule::new("tiny", SOURCE, DESTINATIONS).disk_name_pattern("tiny-*"),
    ])
    .unwrap();
    let (a, b, _) = two_hosts(&emulator, policy, Duration::from_secs(1), (1, 2)).await;
    for region in DESTINATIONS {
        assert_eq!(
            copies_per_source(&emulator, region),
            BTreeMap::from([(1, 100)]),
            "{region}: one replica per source left"
        );
    }
    assert_eq!(a.failed() + b.failed(), 0, "{a:#?} {b:#?}");
    // Every copy either run reports as its own is the one kept.
    for report in [&a, &b] {
        for item in report.items.iter().filter(|i| i.outcome == Outcome::Pruned) {
            let made = report
                .items
                .iter()
                .any(|i| i.copy_started && i.replica_id == item.replica_id);
            assert!(made, "only its own duplicates are deleted: {item:#?}");
        }
    }
}
