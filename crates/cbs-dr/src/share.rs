//! Sharing kept replicas with the rules' accounts (a recovery account, say) once they
//! are `NORMAL`: only the accounts not known to be shared with, one call per replica;
//! a call that fails is followed by a look at the replica's share permissions, so a
//! share whose answer was lost is reported as made, not made again. A replica not yet
//! `NORMAL` is left for a later run, which finds it unshared and shares it.

use std::collections::BTreeMap;

use tokio::task::JoinSet;

use crate::observe;
use crate::report::{ItemFailure, Outcome, ReportItem};
use crate::run::{ReplicationEvent, Run};
use crate::state::{Status, Target, target_report};

/// The permission `ModifySnapshotsSharePermission` takes to share.
const SHARE: &str = "SHARE";
/// The permission `ModifySnapshotsSharePermission` takes to end a share.
pub(crate) const CANCEL: &str = "CANCEL";

/// One replica to share, and the report line of each of its accounts.
struct Job {
    replica_id: String,
    destination: String,
    /// Per account: whether it is known to be shared already.
    accounts: BTreeMap<String, bool>,
    /// The report line for any account (`account` and outcome filled in later).
    line: ReportItem,
}

/// Shares every `NORMAL` target with the accounts it lacks; one report item per
/// (replica, account). Destinations are worked on side by side, so one that
/// refuses does not hold up the others.
pub(crate) async fn share_replicas(run: &Run, targets: &[Target]) -> Vec<ReportItem> {
    let mut report = Vec::new();
    let mut jobs: BTreeMap<String, Vec<Job>> = BTreeMap::new();
    for target in targets.iter().filter(|t| !t.shares.is_empty()) {
        let line = share_line(target);
        let Status::Done { replica_id } = &target.status else {
            for account in target.shares.keys() {
                report.push(with_account(
                    &line,
                    account,
                    Outcome::Incomplete,
                    Some(ItemFailure::new(
                        "ReplicaNotReady",
                        "the replica is not NORMAL; a later run shares it",
                    )),
                ));
            }
            continue;
        };
        jobs.entry(target.destination().to_owned())
            .or_default()
            .push(Job {
                replica_id: replica_id.clone(),
                destination: target.destination().to_owned(),
                accounts: target.shares.clone(),
                line: ReportItem {
                    replica_id: Some(replica_id.clone()),
                    ..line
                },
            });
    }
    let mut tasks = JoinSet::new();
    for (_, jobs) in jobs {
        let run = run.clone();
        tasks.spawn(async move {
            let mut lines = Vec::new();
            for job in jobs {
                lines.extend(share_one(&run, job).await);
            }
            lines
        });
    }
    while let Some(done) = tasks.join_next().await {
        for line in done.expect("share tasks do not panic") {
            run.emit(ReplicationEvent::Finished(line.clone()));
            report.push(line);
        }
    }
    report
}

/// Shares one replica with the accounts it lacks.
async fn share_one(run: &Run, job: Job) -> Vec<ReportItem> {
    let missing: Vec<String> = job
        .accounts
        .iter()
        .filter(|(_, shared)| !**shared)
        .map(|(account, _)| account.clone())
        .collect();
    let mut lines: Vec<ReportItem> = job
        .accounts
        .iter()
        .filter(|(_, shared)| **shared)
        .map(|(account, _)| with_account(&job.line, account, Outcome::AlreadyShared, None))
        .collect();
    if missing.is_empty() {
        return lines;
    }
    let sent = set_permission(run, &job.destination, &job.replica_id, &missing, SHARE).await;
    match sent {
        Ok(_) => lines.extend(
            missing
                .iter()
                .map(|a| with_account(&job.line, a, Outcome::Shared, None)),
        ),
        Err(error) => {
            // The share may have been made with its answer lost: the replica says.
            let failure = ItemFailure::of_error(&error);
            let now_shared = observe::share_permissions(run, &job.destination, &job.replica_id)
                .await
                .unwrap_or_default();
            for account in &missing {
                lines.push(if now_shared.contains(account) {
                    with_account(&job.line, account, Outcome::Shared, None)
                } else {
                    with_account(&job.line, account, Outcome::Failed, Some(failure.clone()))
                });
            }
        }
    }
    lines
}

/// Shares `replica_id` in `region` with `accounts`, or ends its shares with them
/// (`permission` [`SHARE`] or [`CANCEL`]).
pub(crate) async fn set_permission(
    run: &Run,
    region: &str,
    replica_id: &str,
    accounts: &[String],
    permission: &str,
) -> Result<(), tencentcloud_cbs::Error> {
    run.client
        .modify_snapshots_share_permission()
        .region(region)
        .snapshot_ids([replica_id])
        .account_ids(accounts.iter().cloned())
        .permission(permission)
        .retry_config(run.patience())
        .send()
        .await
        .map(drop)
}

/// A target's report line, for its shares: where it stands, without the copy's
/// outcome.
fn share_line(target: &Target) -> ReportItem {
    ReportItem {
        replica_id: None,
        state: None,
        size_gb: 0,
        outcome: Outcome::Incomplete,
        copy_started: false,
        failure: None,
        ..target_report(target)
    }
}

/// `line` for `account`, with its outcome.
pub(crate) fn with_account(
    line: &ReportItem,
    account: &str,
    outcome: Outcome,
    failure: Option<ItemFailure>,
) -> ReportItem {
    ReportItem {
        account: Some(account.to_owned()),
        outcome,
        failure,
        ..line.clone()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tencentcloud_cbs::{TransportError, TransportErrorKind};

    use super::*;
    use crate::plan::PlanAction;
    use crate::state::Regions;
    use crate::testing::{self, Call, item, of};

    fn target_with_shares(disk: &str, status: Status, shares: &[(&str, bool)]) -> Target {
        let (mut state, _) = crate::testing::of_plan(
            vec![item(disk, "ap-beijing", PlanAction::Copy)],
            Regions::default(),
        );
        let mut target = state.targets.remove(0);
        target.status = status;
        target.shares = shares.iter().map(|(a, s)| (a.to_string(), *s)).collect();
        target
    }

    fn outcomes(lines: &[ReportItem]) -> Vec<(String, Option<String>, Outcome)> {
        let mut all: Vec<_> = lines
            .iter()
            .map(|l| (l.disk_id.clone(), l.account.clone(), l.outcome))
            .collect();
        all.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        all
    }

    #[tokio::test(start_paused = true)]
    async fn only_missing_accounts_are_shared_and_a_lost_answer_is_looked_up_not_resent() {
        let (client, calls) = testing::client(|call: &Call| {
            match (call.action.as_str(), call.body["SnapshotIds"][0].as_str()) {
                // b's share happens, but its answer is lost on the way back.
                ("ModifySnapshotsSharePermission", Some("snap-rb")) => Err(TransportError::new(
                    TransportErrorKind::Interrupted,
                    "connection reset after sending",
                )),
                ("DescribeSnapshotSharePermission", _) => Ok(json!({
                    "SharePermissionSet": [{"AccountId": "100"}]
                })),
                _ => Ok(json!({})),
            }
        });
        let run = testing::run(&client);
        let done = |id: &str| Status::Done {
            replica_id: id.into(),
        };
        let targets = vec![
            target_with_shares("a", done("snap-ra"), &[("100", false), ("200", true)]),
            target_with_shares("b", done("snap-rb"), &[("100", false), ("300", false)]),
            target_with_shares(
                "c",
                Status::Unknown {
                    since: tokio::time::Instant::now(),
                },
                &[("100", false)],
            ),
        ];
        let lines = share_replicas(&run, &targets).await;
        let shares = of(&calls, "ModifySnapshotsSharePermission");
        assert_eq!(
            shares.len(),
            2,
            "one call per replica, never repeated: {shares:?}"
        );
        assert_eq!(shares[0].body["AccountIds"], json!(["100"]));
        assert_eq!(shares[0].body["Permission"], "SHARE");
        let who = |a: &str| Some(a.to_owned());
        assert_eq!(
            outcomes(&lines),
            [
                ("disk-a".into(), who("100"), Outcome::Shared),
                ("disk-a".into(), who("200"), Outcome::AlreadyShared),
                // The look says 100 got its share; 300 did not.
                ("disk-b".into(), who("100"), Outcome::Shared),
                ("disk-b".into(), who("300"), Outcome::Failed),
                // Not NORMAL yet: a later run shares it.
                ("disk-c".into(), who("100"), Outcome::Incomplete),
            ]
        );
        let failed = lines.iter().find(|l| l.outcome == Outcome::Failed).unwrap();
        assert_eq!(failed.failure.as_ref().unwrap().code, "NetworkError");
    }
}
