//! Fleet replication on a bad day, against the emulator under paused time: a region
//! refusing every call, one timing out, one failing, a source region down for one rule,
//! throttling from other clients of the account, quotas running out, a destination
//! saying it is busy, and drills that must leave nothing behind.

use std::collections::BTreeMap;
use std::time::Duration;

use cbs_dr::{Outcome, PlanAction, Policy, QuotaSource, ReplicaName, Replication, Report, Rule};
use cbs_e2e::*;
use cbs_emulator::{Emulator, EmulatorHandle, Fault, FaultKind, Latency};
use tencentcloud_cbs::Client;

const SOURCE: &str = "ap-guangzhou";

fn emulator() -> EmulatorHandle {
    emulator_where_restores_take(Duration::ZERO)
}

/// The emulator, with disks made from snapshots taking `restore` per 100 GB to load.
fn emulator_where_restores_take(restore: Duration) -> EmulatorHandle {
    Emulator::builder()
        .credential(SECRET_ID, SECRET_KEY)
        .seed_demo(true)
        .rate_limit(0)
        .snapshot_quota(10_000)
        .copy_duration(Duration::from_secs(600))
        .restore_duration(restore)
        .start_in_process()
        .expect("emulator starts")
}

fn replication(client: &Client, policy: Policy) -> Replication {
    Replication::new(client, policy)
        .poll_interval(Duration::from_secs(5), Duration::from_secs(30))
        .clock(TokioClock::new())
}

fn policy(destinations: &[&str]) -> Policy {
    Policy::new(vec![
        Rule::new("prod", SOURCE, destinations.iter().copied()).disk_name_pattern("prod-*"),
    ])
    .unwrap()
}

fn error(code: &str) -> FaultKind {
    FaultKind::Error {
        code: code.into(),
        message: String::new(),
    }
}

/// Outcomes per destination.
fn outcomes(report: &Report) -> BTreeMap<String, BTreeMap<&'static str, usize>> {
    let mut found: BTreeMap<String, BTreeMap<&'static str, usize>> = BTreeMap::new();
    for item in &report.items {
        let destination = item.destination.clone().unwrap_or_else(|| "-".into());
        *found
            .entry(destination)
            .or_default()
            .entry(item.outcome.as_str())
            .or_default() += 1;
    }
    found
}

/// This tool's replicas in `region`, by source snapshot.
fn replicas(emulator: &EmulatorHandle, region: &str) -> BTreeMap<String, usize> {
    let mut found = BTreeMap::new();
    for snapshot in emulator.snapshots(region) {
        if let Some(name) = ReplicaName::parse(&snapshot.name) {
            *found.entry(name.source_snapshot_id).or_default() += 1;
        }
    }
    found
}

#[tokio::test(start_paused = true)]
async fn a_destination_refusing_every_call_fails_alone() {
    let emulator = emulator();
    // A CAM policy that leaves ap-chengdu out.
    emulator.inject(Fault::new(error("AuthFailure.UnauthorizedOperation")).region("ap-chengdu"));
    let client = client(&emulator);
    let replication = replication(&client, policy(&["ap-chengdu", "ap-seoul"]));

    let plan = replication.plan().await.unwrap();
    let unavailable: Vec<_> = plan
        .items()
        .iter()
        .filter(|i| matches!(i.action, PlanAction::Unavailable { .. }))
        .collect();
    assert_eq!(unavailable.len(), 3, "{plan:#?}");
    assert!(
        unavailable
            .iter()
            .all(|i| i.destination.as_deref() == Some("ap-chengdu"))
    );
    assert_eq!(
        plan.totals().copies,
        3,
        "the healthy destination is planned"
    );

    let report = replication.apply().await.unwrap();
    let by = outcomes(&report);
    assert_eq!(by["ap-seoul"].get("copied"), Some(&3), "{report:#?}");
    assert_eq!(by["ap-chengdu"].get("failed"), Some(&3), "{report:#?}");
    let refused = report
        .items
        .iter()
        .find(|i| i.destination.as_deref() == Some("ap-chengdu"))
        .unwrap();
    let failure = refused.failure.as_ref().unwrap();
    assert_eq!(failure.code, "AuthFailure.UnauthorizedOperation");
    assert!(failure.request_id.as_ref().is_some_and(|r| r.len() == 36));
    assert!(!report.converged);
    assert_eq!(replicas(&emulator, "ap-seoul").len(), 3);
    assert!(replicas(&emulator, "ap-chengdu").is_empty());
    // The recovery points say where each disk stands, the refusing region included.
    let unknown = report
        .recovery_points
        .iter()
        .filter(|p| p.destination == "ap-chengdu")
        .all(|p| !p.ok && p.failure.is_some());
    assert!(unknown);

    let check = replication
        .check(Duration::from_secs(86_400))
        .await
        .unwrap();
    let offenders: Vec<_> = check.offenders().map(|o| o.destination.as_str()).collect();
    assert_eq!(offenders, ["ap-chengdu"; 3]);
}

#[tokio::test(start_paused = true)]
async fn destinations_timing_out_or_failing_fail_alone() {
    let emulator = emulator();
    emulator.inject(
        Fault::new(FaultKind::Delay(Latency::fixed(Duration::from_secs(3600)))).region("ap-tokyo"),
    );
    emulator.inject(Fault::new(error("InternalError")).region("ap-mumbai"));
    let client = client_builder(&emulator)
        .attempt_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let report = replication(&client, policy(&["ap-tokyo", "ap-mumbai", "ap-seoul"]))
        .apply()
        .await
        .unwrap();
    let by = outcomes(&report);
    assert_eq!(by["ap-seoul"].get("copied"), Some(&3), "{report:#?}");
    assert_eq!(by["ap-tokyo"].get("failed"), Some(&3), "{report:#?}");
    assert_eq!(by["ap-mumbai"].get("failed"), Some(&3), "{report:#?}");
    let code = |region: &str| {
        report
            .items
            .iter()
            .find(|i| i.destination.as_deref() == Some(region))
            .and_then(|i| i.failure.clone())
            .unwrap()
            .code
    };
    assert_eq!(code("ap-mumbai"), "InternalError");
    assert_eq!(code("ap-tokyo"), "Timeout", "a timeout has no service code");
    // The healthy destination was not held up by the others for long: about the
    // time the same run takes on a clean day, plus the client's minute of giving up
    // on the slow region's listing.
    let bad_day = started.elapsed();
    let clean = emulator_after_a_clean_run().await;
    assert!(
        bad_day <= clean + Duration::from_secs(120),
        "{bad_day:?} against {clean:?} on a clean day"
    );
}

/// How long the same fleet takes to replicate to ap-seoul on a clean day.
async fn emulator_after_a_clean_run() -> Duration {
    let emulator = emulator();
    let client = client(&emulator);
    let started = tokio::time::Instant::now();
    let report = replication(&client, policy(&["ap-seoul"]))
        .apply()
        .await
        .unwrap();
    assert!(report.converged);
    started.elapsed()
}

#[tokio::test(start_paused = true)]
async fn a_source_region_down_stops_only_its_rule() {
    let emulator = emulator();
    let other = emulator.add_fleet("ap-shanghai", "web", 2, 50);
    assert_eq!(other.len(), 2);
    emulator.inject(Fault::new(error("InternalError")).region(SOURCE));
    let client = client(&emulator);
    let policy = Policy::new(vec![
        Rule::new("prod", SOURCE, ["ap-seoul"]).disk_name_pattern("prod-*"),
        Rule::new("web", "ap-shanghai", ["ap-seoul"]).disk_name_pattern("web-*"),
    ])
    .unwrap();
    let report = replication(&client, policy).apply().await.unwrap();
    let prod: Vec<_> = report.items.iter().filter(|i| i.rule == "prod").collect();
    assert_eq!(prod.len(), 1, "one item for the whole rule: {report:#?}");
    assert_eq!(prod[0].disk_id, "*");
    assert_eq!(prod[0].outcome, Outcome::Failed);
    assert_eq!(prod[0].failure.as_ref().unwrap().code, "InternalError");
    let web: Vec<_> = report.items.iter().filter(|i| i.rule == "web").collect();
    assert_eq!(web.len(), 2);
    assert!(
        web.iter().all(|i| i.outcome == Outcome::Copied),
        "{report:#?}"
    );
}

#[tokio::test(start_paused = true)]
async fn throttling_from_other_clients_is_waited_out_exactly_once() {
    let emulator = emulator();
    let fleet = emulator.add_fleet(SOURCE, "prod-batch", 20, 50);
    assert_eq!(fleet.len(), 20);
    // Half of every call is refused as over the account's limit, by others' traffic.
    emulator.inject(Fault::new(error("RequestLimitExceeded")).probability(0.5));
    let recording = Recording::new(emulator.transport());
    let client = client_builder(&emulator)
        .transport(recording.clone())
        .build()
        .unwrap();
    let replication = replication(&client, policy(&["ap-seoul", "ap-tokyo"]));
    let report = replication.apply().await.unwrap();
    assert!(report.converged, "{report:#?}");
    assert_eq!(report.failed(), 0, "{report:#?}");
    for region in ["ap-seoul", "ap-tokyo"] {
        let found = replicas(&emulator, region);
        assert_eq!(found.len(), 23, "{region}: {found:?}");
        assert!(found.values().all(|n| *n == 1), "{region}: {found:?}");
    }
    // Copy calls were refused and sent again, never more than once accepted.
    let copies = counts(&recording.sent())["CopySnapshotCrossRegions"];
    assert!(copies > 23, "throttled calls were retried: {copies}");

    // A drill in the same weather restores every disk and leaves none behind.
    let before = emulator.disks("ap-seoul").len();
    let drill = replication.drill("ap-seoul", false).await.unwrap();
    assert_eq!(drill.succeeded(), 23, "{drill:#?}");
    assert!(drill.items.iter().all(|i| i.deleted));
    assert_eq!(emulator.disks("ap-seoul").len(), before);
}

#[tokio::test(start_paused = true)]
async fn a_drill_whose_creations_lose_their_answers_adopts_them_and_leaves_nothing_behind() {
    let emulator = emulator();
    let client = client(&emulator);
    let replication = replication(&client, policy(&["ap-seoul"]));
    replication.apply().await.unwrap();
    let before = emulator.disks("ap-seoul").len();
    // Every creation runs, then its answer is lost; the repeats carry the same token.
    emulator.inject(
        Fault::new(FaultKind::DropAfterRead)
            .action("CreateDisks")
            .region("ap-seoul"),
    );
    let drill = replication.drill("ap-seoul", false).await.unwrap();
    // Each disk was made once (the repeats carry its token), found again by the run's
    // tag, rehearsed, and deleted.
    assert_eq!(drill.succeeded(), 3, "{drill:#?}");
    assert_eq!(
        emulator.disks("ap-seoul").len(),
        before,
        "the clean-up found and deleted every disk made: {drill:#?}"
    );
    assert!(
        drill
            .items
            .iter()
            .all(|i| i.deleted && i.left_behind.is_none())
    );
}

#[tokio::test(start_paused = true)]
async fn a_disk_the_drill_cannot_delete_is_named_with_its_command() {
    let emulator = emulator();
    let client = client(&emulator);
    let replication = replication(&client, policy(&["ap-seoul"]));
    replication.apply().await.unwrap();
    emulator.inject(
        Fault::new(error("AuthFailure.UnauthorizedOperation"))
            .action("TerminateDisks")
            .region("ap-seoul"),
    );
    let drill = replication.drill("ap-seoul", false).await.unwrap();
    let left: Vec<_> = drill.left_behind().collect();
    assert_eq!(left.len(), 3, "{drill:#?}");
    for (disk, command) in left {
        assert!(disk.starts_with("disk-"), "{disk}");
        assert!(
            command.contains("TerminateDisks") && command.contains(disk),
            "{command}"
        );
    }
    assert_eq!(drill.succeeded(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_known_quota_starts_only_what_fits() {
    let emulator = emulator();
    emulator.add_fleet(SOURCE, "prod-more", 7, 50);
    emulator.add_snapshots("ap-seoul", 5);
    let recording = Recording::new(emulator.transport());
    let client = client_builder(&emulator)
        .transport(recording.clone())
        .build()
        .unwrap();
    // Ten copies planned; ap-seoul holds 5 of a quota of 9: 4 fit.
    let replication =
        replication(&client, policy(&["ap-seoul", "ap-tokyo"])).snapshot_quota(Some(9));
    let plan = replication.plan().await.unwrap();
    let seoul = plan
        .destinations()
        .iter()
        .find(|d| d.region == "ap-seoul")
        .unwrap();
    assert_eq!(seoul.held_snapshots, Some(5));
    assert_eq!(seoul.room(), Some(4));
    assert_eq!(seoul.shortfall(), 6);
    assert_eq!(seoul.quota_source, Some(QuotaSource::Given));
    assert_eq!(seoul.transfer_gb, plan.destinations()[1].transfer_gb);

    let report = replication.apply().await.unwrap();
    let by = outcomes(&report);
    assert_eq!(by["ap-seoul"].get("copied"), Some(&4), "{report:#?}");
    assert_eq!(by["ap-seoul"].get("failed"), Some(&6), "{report:#?}");
    assert!(by["ap-tokyo"].get("copied") >= Some(&9), "{report:#?}");
    assert!(
        report
            .items
            .iter()
            .filter(|i| i.outcome == Outcome::Failed)
            .all(|i| i.failure.as_ref().unwrap().code == "InsufficientSnapshotQuota")
    );
    // Nothing was sent that could not fit: every copy call was accepted for ap-seoul.
    assert_eq!(replicas(&emulator, "ap-seoul").len(), 4);
}

#[tokio::test(start_paused = true)]
async fn an_unknown_quota_is_learnt_from_the_first_refusal() {
    let emulator = Emulator::builder()
        .credential(SECRET_ID, SECRET_KEY)
        .seed_demo(true)
        .rate_limit(0)
        .snapshot_quota(12)
        .copy_duration(Duration::from_secs(60))
        .start_in_process()
        .unwrap();
    emulator.add_fleet(SOURCE, "prod-more", 17, 50);
    emulator.add_snapshots("ap-seoul", 8);
    let client = client(&emulator);
    // Twenty copies, room for four; with one call per source in flight at a time, the
    // fifth is refused and no later one is sent to ap-seoul.
    let policy = policy(&["ap-seoul"]).with_max_in_flight_per_region(1);
    let report = replication(&client, policy).apply().await.unwrap();
    let by = outcomes(&report);
    assert_eq!(by["ap-seoul"].get("copied"), Some(&4), "{report:#?}");
    let failed: Vec<_> = report
        .items
        .iter()
        .filter(|i| i.outcome == Outcome::Failed)
        .collect();
    assert_eq!(failed.len(), 16);
    let refused_by_service = failed
        .iter()
        .filter(|i| i.failure.as_ref().unwrap().request_id.is_some())
        .count();
    assert_eq!(
        refused_by_service, 1,
        "one refusal, then none sent: {report:#?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_busy_destination_is_slowed_down_not_failed() {
    let emulator = emulator();
    let busy = serde_json::json!({"Response": {
        "SnapshotCopyResultSet": [{"DestinationRegion": "ap-seoul", "Code": "ResourceBusy",
            "Message": "busy", "SnapshotId": ""}],
        "RequestId": "00000000-0000-4000-8000-000000000001"}});
    emulator.inject(
        Fault::new(FaultKind::Answer {
            status: 200,
            body: busy,
        })
        .action("CopySnapshotCrossRegions")
        .times(2),
    );
    let client = client(&emulator);
    let report = replication(&client, policy(&["ap-seoul"]))
        .apply()
        .await
        .unwrap();
    assert!(report.converged, "{report:#?}");
    assert_eq!(report.count(Outcome::Copied), 3, "{report:#?}");
    assert_eq!(replicas(&emulator, "ap-seoul").len(), 3);
}

#[tokio::test(start_paused = true)]
async fn every_copy_starts_at_once_without_a_cap() {
    let emulator = emulator();
    emulator.add_fleet(SOURCE, "prod-wide", 60, 50);
    let recording = Recording::new(emulator.transport());
    let client = client_builder(&emulator)
        .transport(recording.clone())
        .build()
        .unwrap();
    let report = replication(&client, policy(&["ap-seoul"]))
        .apply()
        .await
        .unwrap();
    assert_eq!(report.count(Outcome::Copied), 63);
    let sent = recording.sent();
    let last_copy = sent
        .iter()
        .filter(|(_, a)| a == "CopySnapshotCrossRegions")
        .map(|(t, _)| *t)
        .max()
        .unwrap();
    let first_copy = sent
        .iter()
        .find(|(_, a)| a == "CopySnapshotCrossRegions")
        .unwrap()
        .0;
    // 63 copies at the client's 20 calls per second: about three seconds, not one
    // batch of 20 per copy time.
    assert!(
        last_copy - first_copy < Duration::from_secs(5),
        "{:?}",
        last_copy - first_copy
    );
}

/// A transport that tells `notify` each time a call of `action` has been answered.
#[derive(Debug)]
struct Notifying<T> {
    inner: T,
    action: &'static str,
    notify: std::sync::Arc<tokio::sync::Notify>,
}

impl<T: tencentcloud_cbs::Transport> tencentcloud_cbs::Transport for Notifying<T> {
    fn send(
        &self,
        request: tencentcloud_cbs::HttpRequest,
    ) -> tencentcloud_cbs::BoxFuture<
        '_,
        Result<tencentcloud_cbs::HttpResponse, tencentcloud_cbs::TransportError>,
    > {
        let matches = request
            .headers()
            .get("x-tc-action")
            .is_some_and(|v| v.as_bytes() == self.action.as_bytes());
        Box::pin(async move {
            let answer = self.inner.send(request).await;
            if matches {
                self.notify.notify_one();
            }
            answer
        })
    }
}

/// A client whose `CreateDisks` answers ring `notify`.
fn notifying_client(
    emulator: &EmulatorHandle,
    notify: &std::sync::Arc<tokio::sync::Notify>,
) -> Client {
    client_builder(emulator)
        .transport(Notifying {
            inner: emulator.transport(),
            action: "CreateDisks",
            notify: notify.clone(),
        })
        .build()
        .unwrap()
}

/// Disks in `region` named as a drill's.
fn drill_disks(emulator: &EmulatorHandle, region: &str) -> Vec<String> {
    emulator
        .disks(region)
        .into_iter()
        .filter(|d| d.name.starts_with("tccbs-drill-"))
        .map(|d| d.name)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_drill_told_to_stop_removes_what_it_made_and_says_so() {
    let emulator = emulator_where_restores_take(Duration::from_secs(300));
    let notify = std::sync::Arc::new(tokio::sync::Notify::new());
    let client = notifying_client(&emulator, &notify);
    let replication = replication(&client, policy(&["ap-seoul"]));
    replication.apply().await.unwrap();
    // Stopped as soon as the first disk is made (a Ctrl-C, as far as the library knows).
    let stop = async {
        notify.notified().await;
    };
    let drill = replication
        .drill_until("ap-seoul", false, stop)
        .await
        .unwrap();
    assert!(drill.interrupted, "{drill:#?}");
    let made: Vec<_> = drill
        .items
        .iter()
        .filter(|i| i.restored_disk_id.is_some())
        .collect();
    // Creations run side by side (as on the recovery day): those answered by the stop
    // were made, and every one of them is removed.
    assert!(!made.is_empty(), "{drill:#?}");
    assert!(made.iter().all(|i| i.deleted && i.left_behind.is_none()));
    assert_eq!(drill.left_behind().count(), 0);
    assert!(
        drill_disks(&emulator, "ap-seoul").is_empty(),
        "nothing left"
    );
}

#[tokio::test(start_paused = true)]
async fn a_killed_drills_disks_are_reported_by_check_and_swept_by_the_next_drill() {
    let emulator = emulator_where_restores_take(Duration::from_secs(300));
    let notify = std::sync::Arc::new(tokio::sync::Notify::new());
    let client = notifying_client(&emulator, &notify);
    let replication =
        replication(&client, policy(&["ap-seoul"])).deadline(Duration::from_secs(3600));
    replication.apply().await.unwrap();
    // Killed (the future dropped, as SIGKILL would) once its first disk is made.
    tokio::select! {
        _ = replication.drill("ap-seoul", false) => panic!("the drill was to be killed"),
        () = notify.notified() => {}
    }
    let left = drill_disks(&emulator, "ap-seoul");
    assert!(!left.is_empty(), "{left:?}");
    // While that drill could still be running, its disk is nobody's leftover yet.
    let check = replication
        .check(Duration::from_secs(86_400))
        .await
        .unwrap();
    assert!(check.leftovers.is_empty(), "{:#?}", check.leftovers);
    let early = replication.drill("ap-seoul", false).await.unwrap();
    assert!(early.swept.is_empty());
    assert_eq!(
        drill_disks(&emulator, "ap-seoul"),
        left,
        "a running drill's disk is left alone"
    );
    // Past its deadline (an hour) and its clean-up (half an hour): a leftover, priced.
    tokio::time::advance(Duration::from_secs(2 * 3600)).await;
    let check = replication
        .check(Duration::from_secs(86_400))
        .await
        .unwrap();
    assert_eq!(check.leftovers.len(), left.len(), "{:#?}", check.leftovers);
    let leftover = &check.leftovers[0];
    assert!(left.contains(&leftover.name), "{leftover:#?}");
    assert!(
        leftover.hourly_price.is_some_and(|p| p > 0.0),
        "{leftover:#?}"
    );
    assert!(leftover.delete_command().contains(&leftover.disk_id));
    // The next drill removes it first, says so, and leaves nothing of its own.
    let next = replication.drill("ap-seoul", false).await.unwrap();
    assert_eq!(next.swept.len(), left.len(), "{next:#?}");
    assert!(next.swept.iter().all(|s| s.removed));
    assert_eq!(next.succeeded(), next.items.len(), "{next:#?}");
    assert!(drill_disks(&emulator, "ap-seoul").is_empty());
    // Kept disks are never swept.
    let kept = replication.drill("ap-seoul", true).await.unwrap();
    tokio::time::advance(Duration::from_secs(30 * 86_400)).await;
    let after = replication.drill("ap-seoul", false).await.unwrap();
    assert!(after.swept.is_empty(), "{:#?}", after.swept);
    let kept_disks = emulator
        .disks("ap-seoul")
        .into_iter()
        .filter(|d| d.name.starts_with("tccbs-kept-"))
        .count();
    assert_eq!(kept_disks, kept.items.len());
}
