//! `tccbs replicate`, run as cron would run it, against the embedded emulator with its
//! state kept in a file between runs.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use cbs_dr::ReplicaName;
use serde_json::Value;

const POLICY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/dr.toml");

mod common;
use common::scratch;

fn command(state: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tccbs"));
    command
        .args(["--local", "--local-state"])
        .arg(state)
        .args(["--local-copy-duration", "2s"])
        .args(args)
        .env("HOME", "/nonexistent-home")
        .env_remove("TENCENTCLOUD_SECRET_ID")
        .env_remove("TENCENTCLOUD_SECRET_KEY");
    command
}

fn tccbs(state: &Path, args: &[&str]) -> Output {
    command(state, args).output().expect("tccbs runs")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn status(output: &Output) -> i32 {
    output.status.code().expect("exited")
}

/// This tool's replicas in `region`, by source snapshot.
fn replicas(state: &Path, region: &str) -> BTreeMap<String, usize> {
    let listed = tccbs(
        state,
        &["--region", region, "--output", "json", "snapshot", "list"],
    );
    assert_eq!(status(&listed), 0);
    let mut found = BTreeMap::new();
    for snapshot in json(&listed).as_array().unwrap() {
        if let Some(name) = snapshot["SnapshotName"]
            .as_str()
            .and_then(ReplicaName::parse)
        {
            *found.entry(name.source_snapshot_id).or_default() += 1;
        }
    }
    found
}

#[test]
fn plan_apply_check_drill_as_a_runbook() {
    let dir = scratch("replicate-runbook");
    let state = dir.join("state.json");

    let plan = tccbs(
        &state,
        &["--output", "json", "replicate", "plan", "--policy", POLICY],
    );
    assert_eq!(
        status(&plan),
        0,
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    let plan = json(&plan);
    assert_eq!(plan["totals"]["copies"], 6);
    assert_eq!(plan["totals"]["copy_gb"], 900);
    assert!(
        plan["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["action"] == "copy")
    );

    let missed = tccbs(
        &state,
        &["replicate", "check", "--policy", POLICY, "--max-age", "24h"],
    );
    assert_eq!(status(&missed), 4, "nothing replicated yet");

    let applied = tccbs(
        &state,
        &["--output", "json", "replicate", "apply", "--policy", POLICY],
    );
    assert_eq!(
        status(&applied),
        0,
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let report = json(&applied);
    assert_eq!(report["converged"], true);
    let items = report["items"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    for item in items {
        assert_eq!(item["action"], "copied");
        assert_eq!(item["state"], "NORMAL");
        assert!(item["replica_id"].as_str().unwrap().starts_with("snap-"));
        assert!(item["error"].is_null());
    }

    let again = tccbs(
        &state,
        &["--output", "json", "replicate", "apply", "--policy", POLICY],
    );
    assert_eq!(status(&again), 0);
    assert!(
        json(&again)["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["action"] == "up_to_date")
    );

    let ok = tccbs(
        &state,
        &[
            "--output",
            "json",
            "replicate",
            "check",
            "--policy",
            POLICY,
            "--max-age",
            "24h",
        ],
    );
    assert_eq!(status(&ok), 0);
    assert_eq!(json(&ok)["ok"], true);
    // The newest prod snapshot is two hours old: a one-hour objective is missed, and
    // the offenders are listed.
    let strict = tccbs(
        &state,
        &["replicate", "check", "--policy", POLICY, "--max-age", "1h"],
    );
    assert_eq!(status(&strict), 4);
    assert!(String::from_utf8_lossy(&strict.stdout).contains("MISSED"));

    let drill = tccbs(
        &state,
        &[
            "--region",
            "ap-beijing",
            "--output",
            "json",
            "replicate",
            "drill",
            "--policy",
            POLICY,
        ],
    );
    assert_eq!(
        status(&drill),
        0,
        "{}",
        String::from_utf8_lossy(&drill.stderr)
    );
    assert_restored_and_deleted(&drill, 3);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn usage_errors_exit_2_and_name_the_line() {
    let dir = scratch("replicate-usage");
    let state = dir.join("state.json");
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[[rule]]\nname = \"prod\"\nsource_region = \"ap-guangzhou\"\ndisk_name = \"prod-*\"\ndestinations = [\"ap-beijing\", \"ap-nowhere\"]\n",
    )
    .unwrap();
    let out = tccbs(
        &state,
        &["replicate", "plan", "--policy", bad.to_str().unwrap()],
    );
    assert_eq!(status(&out), 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 5") && stderr.contains("ap-nowhere"),
        "{stderr}"
    );

    let no_region = tccbs(&state, &["replicate", "drill", "--policy", POLICY]);
    assert_eq!(status(&no_region), 2);
    let not_destination = tccbs(
        &state,
        &[
            "--region",
            "ap-tokyo",
            "replicate",
            "drill",
            "--policy",
            POLICY,
        ],
    );
    assert_eq!(status(&not_destination), 2);
    assert!(String::from_utf8_lossy(&not_destination.stderr).contains("not a destination"));
    let missing = tccbs(
        &state,
        &["replicate", "plan", "--policy", "/nonexistent/dr.toml"],
    );
    assert_eq!(status(&missing), 2);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_region_refusing_every_copy_is_a_partial_failure() {
    let dir = scratch("replicate-partial");
    let state = dir.join("state.json");
    let faults = dir.join("faults.json");
    // The three copy calls (one per disk) are answered with ap-shanghai refusing for
    // quota and ap-beijing left out of the answer: the run must look in Beijing before
    // copying there, and report Shanghai's refusals with their request id.
    std::fs::write(
        &faults,
        r#"[{"action": "CopySnapshotCrossRegions", "kind": "answer", "body": {"Response": {"RequestId": "00000000-0000-0000-0000-000000000042", "SnapshotCopyResultSet": [{"DestinationRegion": "ap-shanghai", "Code": "InsufficientSnapshotQuota", "Message": "full", "SnapshotId": ""}]}}, "times": 3}]"#,
    )
    .unwrap();
    let out = tccbs(
        &state,
        &[
            "--local-faults",
            faults.to_str().unwrap(),
            "--output",
            "json",
            "replicate",
            "apply",
            "--policy",
            POLICY,
            "--max-wait",
            "2m",
        ],
    );
    let report = json(&out);
    assert_eq!(status(&out), 3, "{report:#}");
    let failed: Vec<&Value> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["action"] == "failed")
        .collect();
    assert_eq!(failed.len(), 3, "{report:#}");
    for item in failed {
        assert_eq!(item["destination"], "ap-shanghai");
        assert_eq!(item["error"]["code"], "InsufficientSnapshotQuota");
        assert_eq!(
            item["error"]["request_id"],
            "00000000-0000-0000-0000-000000000042"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn killed_runs_converge_with_exactly_one_replica_each() {
    let dir = scratch("replicate-kill");
    let state = dir.join("state.json");
    let faults = dir.join("faults.json");
    // A third of the copy answers are lost, on top of the kills.
    std::fs::write(
        &faults,
        r#"[{"action": "CopySnapshotCrossRegions", "kind": "drop_after_read", "probability": 0.3}]"#,
    )
    .unwrap();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut kills = 0;
    for _ in 0..12 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // Killed right after its k-th successful call: anywhere from the first look
        // at the regions to the middle of waiting.
        let k = 1 + (seed % 14) as usize;
        let mut child = command(
            &state,
            &[
                "-vv",
                "--local-faults",
                faults.to_str().unwrap(),
                "replicate",
                "apply",
                "--policy",
                POLICY,
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let mut calls = 0;
        let mut killed = false;
        for line in stderr.lines() {
            let Ok(line) = line else { break };
            if line.contains("call succeeded") {
                calls += 1;
                if calls == k {
                    child.kill().unwrap();
                    killed = true;
                    break;
                }
            }
        }
        child.wait().unwrap();
        kills += usize::from(killed);
    }
    assert!(kills >= 6, "only {kills} runs were killed");
    let last = tccbs(
        &state,
        &["--output", "json", "replicate", "apply", "--policy", POLICY],
    );
    assert_eq!(
        status(&last),
        0,
        "{}",
        String::from_utf8_lossy(&last.stdout)
    );
    for region in ["ap-beijing", "ap-shanghai"] {
        let found = replicas(&state, region);
        assert_eq!(found.len(), 3, "{region}: {found:?}");
        assert!(found.values().all(|&n| n == 1), "{region}: {found:?}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The replication commands' stderr, for messages.
/// A drill's JSON report: `disks` items, each restored and deleted without error.
fn assert_restored_and_deleted(drill: &Output, disks: usize) {
    let drilled = json(drill);
    let items = drilled["items"].as_array().unwrap();
    assert_eq!(items.len(), disks, "{drilled}");
    assert!(
        items
            .iter()
            .all(|i| i["deleted"] == true && i["error"].is_null()),
        "{drilled}"
    );
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_region_refusing_every_call_fails_alone_and_shows_in_the_metrics() {
    let dir = scratch("replicate-refusing");
    let state = dir.join("state.json");
    let faults = dir.join("faults.json");
    let metrics = dir.join("tccbs.prom");
    // A CAM policy that leaves ap-shanghai out.
    std::fs::write(
        &faults,
        r#"[{"region": "ap-shanghai", "kind": "error", "code": "AuthFailure.UnauthorizedOperation"}]"#,
    )
    .unwrap();
    let faulty = |args: &[&str]| {
        let mut all = vec!["--local-faults", faults.to_str().unwrap()];
        all.extend_from_slice(args);
        tccbs(&state, &all)
    };
    let plan = faulty(&["--output", "json", "replicate", "plan", "--policy", POLICY]);
    assert_eq!(status(&plan), 3, "{}", stderr(&plan));
    let plan = json(&plan);
    assert_eq!(plan["totals"]["copies"], 3);
    assert_eq!(plan["totals"]["unavailable"], 3);
    let shanghai = plan["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["region"] == "ap-shanghai")
        .unwrap()
        .clone();
    assert_eq!(
        shanghai["error"]["code"], "AuthFailure.UnauthorizedOperation",
        "{plan:#}"
    );

    let out = faulty(&[
        "--output",
        "json",
        "replicate",
        "apply",
        "--policy",
        POLICY,
        "--metrics-file",
        metrics.to_str().unwrap(),
    ]);
    let report = json(&out);
    assert_eq!(status(&out), 3, "{report:#}");
    for item in report["items"].as_array().unwrap() {
        match item["destination"].as_str() {
            Some("ap-beijing") => assert_eq!(item["action"], "copied", "{item:#}"),
            Some("ap-shanghai") => {
                assert_eq!(item["action"], "failed", "{item:#}");
                assert_eq!(item["error"]["code"], "AuthFailure.UnauthorizedOperation");
                assert_eq!(item["error"]["request_id"].as_str().unwrap().len(), 36);
            }
            other => panic!("{other:?}: {item:#}"),
        }
    }
    assert_eq!(replicas(&state, "ap-beijing").len(), 3);
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        text.contains("# TYPE tccbs_replication_copies_started_total counter"),
        "{text}"
    );
    assert!(
        text.contains(
            r#"tccbs_replication_copies_started_total{rule="prod",destination="ap-beijing"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"tccbs_replication_copies_failed_total{rule="prod",destination="ap-shanghai"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"tccbs_replication_run_exit_status{command="apply"} 3"#),
        "{text}"
    );
    assert!(
        !dir.read_dir()
            .unwrap()
            .any(|e| { e.unwrap().file_name().to_string_lossy().contains(".tmp.") })
    );

    // The check as Prometheus reads it: ages in Beijing, Shanghai unknown.
    let check = faulty(&[
        "--output",
        "prometheus",
        "replicate",
        "check",
        "--policy",
        POLICY,
        "--max-age",
        "1d",
    ]);
    assert_eq!(status(&check), 4, "{}", stderr(&check));
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(
        text.contains("# HELP tccbs_replication_newest_replica_age_seconds"),
        "{text}"
    );
    let ages = text
        .lines()
        .filter(|l| l.starts_with("tccbs_replication_newest_replica_age_seconds{"))
        .count();
    assert_eq!(ages, 3, "{text}");
    let missing_in_shanghai = text
        .lines()
        .filter(|l| {
            l.starts_with("tccbs_replication_replica_missing{")
                && l.contains(r#"destination="ap-shanghai""#)
                && l.ends_with(" 1")
        })
        .count();
    assert_eq!(missing_in_shanghai, 3, "{text}");
    assert!(
        text.contains(r#"tccbs_replication_run_exit_status{command="check"} 4"#),
        "{text}"
    );
    // Prometheus output is for the commands that have metrics.
    let plan = faulty(&[
        "--output",
        "prometheus",
        "replicate",
        "plan",
        "--policy",
        POLICY,
    ]);
    assert_eq!(status(&plan), 2);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn plan_prune_previews_apply_prune() {
    let dir = scratch("replicate-plan-prune");
    let state = dir.join("state.json");
    let policy = dir.join("keep-one.toml");
    std::fs::write(
        &policy,
        r#"[[rule]]
name = "db"
source_region = "ap-guangzhou"
disk_name = "prod-db-1"
destinations = ["ap-beijing"]
keep = 1
"#,
    )
    .unwrap();
    let policy = policy.to_str().unwrap();
    let first = tccbs(
        &state,
        &["--output", "json", "replicate", "apply", "--policy", policy],
    );
    assert_eq!(status(&first), 0, "{}", stderr(&first));
    let disk = json(&first)["items"][0]["disk_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A newer snapshot of the disk, replicated: the first replica is now beyond `keep`.
    let created = tccbs(
        &state,
        &[
            "--output",
            "json",
            "cbs",
            "CreateSnapshot",
            "--DiskId",
            &disk,
        ],
    );
    assert_eq!(status(&created), 0, "{}", stderr(&created));
    let id = json(&created)["SnapshotId"].as_str().unwrap().to_owned();
    let waited = tccbs(&state, &["snapshot", "wait", &id, "--timeout", "10m"]);
    assert_eq!(status(&waited), 0, "{}", stderr(&waited));
    let second = tccbs(
        &state,
        &["--output", "json", "replicate", "apply", "--policy", policy],
    );
    assert_eq!(status(&second), 0, "{}", stderr(&second));
    let actions = |output: &Output| -> Vec<String> {
        json(output)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["action"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(actions(&second).contains(&"would_prune".to_owned()));

    let plan = tccbs(
        &state,
        &["--output", "json", "replicate", "plan", "--policy", policy],
    );
    assert_eq!(actions(&plan), ["up_to_date", "would_prune"]);
    let preview = tccbs(
        &state,
        &[
            "--output",
            "json",
            "replicate",
            "plan",
            "--policy",
            policy,
            "--prune",
        ],
    );
    assert_eq!(actions(&preview), ["up_to_date", "prune"]);
    let text = tccbs(&state, &["replicate", "plan", "--policy", policy]);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("apply --prune"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    let pruned = tccbs(
        &state,
        &[
            "--output",
            "json",
            "replicate",
            "apply",
            "--policy",
            policy,
            "--prune",
        ],
    );
    assert_eq!(actions(&pruned), ["up_to_date", "pruned"]);
    let after = tccbs(
        &state,
        &["--output", "json", "replicate", "plan", "--policy", policy],
    );
    assert_eq!(actions(&after), ["up_to_date"]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn plan_shows_transfer_quota_and_cost_per_destination() {
    let dir = scratch("replicate-plan-quota");
    let state = dir.join("state.json");
    let out = tccbs(
        &state,
        &[
            "replicate",
            "plan",
            "--policy",
            POLICY,
            "--snapshot-quota",
            "2",
            "--price-per-gb",
            "0.5",
        ],
    );
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("TRANSFER_GB"), "{stdout}");
    // 900 GB to copy across the two destinations, 450 each, at 0.5 per GB.
    assert!(stdout.contains("225.00"), "{stdout}");
    let errors = stderr(&out);
    assert!(
        errors.contains("quota: ap-beijing runs out") && errors.contains("apply will not start"),
        "{errors}"
    );
    let json_plan = json(&tccbs(
        &state,
        &["--output", "json", "replicate", "plan", "--policy", POLICY],
    ));
    let beijing = &json_plan["destinations"][0];
    assert_eq!(beijing["region"], "ap-beijing");
    assert_eq!(beijing["transfer_gb"], 450);
    assert_eq!(beijing["quota_source"], "estimated");
    let _ = std::fs::remove_dir_all(dir);
}

const RECOVERY_POLICY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/dr-recovery-account.toml"
);
const RECOVERY_ACCOUNT: &str = "100000000002";

#[test]
fn the_recovery_account_checks_and_drills_with_its_own_keys() {
    let dir = scratch("replicate-recovery-account");
    let state = dir.join("state.json");
    let run = |args: &[&str]| tccbs(&state, args);
    // `replicate check` of the policy with a 24h objective; `before` goes ahead of the
    // subcommand, `after` behind it.
    let check = |before: &[&str], after: &[&str]| {
        let mut args = before.to_vec();
        args.extend([
            "replicate",
            "check",
            "--policy",
            RECOVERY_POLICY,
            "--max-age",
            "24h",
        ]);
        args.extend(after);
        run(&args)
    };

    let plan = run(&[
        "--output",
        "json",
        "replicate",
        "plan",
        "--policy",
        RECOVERY_POLICY,
    ]);
    assert_eq!(status(&plan), 0, "{}", stderr(&plan));
    let plan = json(&plan);
    assert_eq!(plan["totals"]["shares"], 6, "{plan}");
    let share = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["action"] == "share")
        .unwrap();
    assert_eq!(share["accounts"], serde_json::json!([RECOVERY_ACCOUNT]));

    // Before any run, the recovery account sees nothing: exit 4, each pair named.
    let nothing = check(&[], &["--as-profile", "dr"]);
    assert_eq!(status(&nothing), 4, "{}", stderr(&nothing));
    let said = stderr(&nothing);
    assert!(
        said.contains("missed: disk-prod0002 in ap-shanghai: no NORMAL replica"),
        "{said}"
    );

    let apply = run(&[
        "--output",
        "json",
        "replicate",
        "apply",
        "--policy",
        RECOVERY_POLICY,
    ]);
    assert_eq!(status(&apply), 0, "{}", stderr(&apply));
    let applied = json(&apply);
    let shared: Vec<&Value> = applied["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["action"] == "shared")
        .collect();
    assert_eq!(shared.len(), 6, "{applied}");
    assert!(shared.iter().all(|i| i["account"] == RECOVERY_ACCOUNT));

    let again = run(&["replicate", "apply", "--policy", RECOVERY_POLICY]);
    assert_eq!(status(&again), 0);
    let table = String::from_utf8_lossy(&again.stdout);
    assert!(table.contains("ACCOUNT"), "{table}");
    assert_eq!(table.matches("already_shared").count(), 6, "{table}");

    for as_profile in [&[][..], &["--as-profile", "dr"]] {
        let ok = check(&["--output", "json"], as_profile);
        assert_eq!(status(&ok), 0, "{as_profile:?}: {}", stderr(&ok));
        assert_eq!(json(&ok)["ok"], true);
    }

    // The owner ends the share of one replica: both sides see it, naming the pair.
    let beijing = tccbs(
        &state,
        &[
            "--region",
            "ap-beijing",
            "--output",
            "json",
            "snapshot",
            "list",
        ],
    );
    let replica = json(&beijing)
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["SnapshotName"]
                .as_str()
                .and_then(ReplicaName::parse)
                .is_some()
                && s["DiskId"] == "disk-prod0001"
        })
        .map(|s| s["SnapshotId"].as_str().unwrap().to_owned())
        .unwrap();
    let cancel = run(&[
        "--region",
        "ap-beijing",
        "cbs",
        "ModifySnapshotsSharePermission",
        "--SnapshotIds",
        &format!(r#"["{replica}"]"#),
        "--AccountIds",
        &format!(r#"["{RECOVERY_ACCOUNT}"]"#),
        "--Permission",
        "CANCEL",
    ]);
    assert_eq!(status(&cancel), 0, "{}", stderr(&cancel));
    let receiver = check(&[], &["--as-profile", "dr"]);
    assert_eq!(status(&receiver), 4);
    assert!(
        stderr(&receiver).contains("missed: disk-prod0001 in ap-beijing: no NORMAL replica"),
        "{}",
        stderr(&receiver)
    );
    let owner = check(&[], &[]);
    assert_eq!(status(&owner), 4);
    assert!(
        stderr(&owner).contains(&format!(
            "missed: disk-prod0001 in ap-beijing: not shared with {RECOVERY_ACCOUNT}"
        )),
        "{}",
        stderr(&owner)
    );
    let metrics = check(&["--output", "prometheus"], &[]);
    assert_eq!(status(&metrics), 4);
    let text = String::from_utf8_lossy(&metrics.stdout);
    let unshared: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("tccbs_replication_replica_unshared{"))
        .collect();
    assert_eq!(unshared.len(), 6, "{text}");
    assert_eq!(
        unshared
            .iter()
            .filter(|l| l.ends_with(" 1"))
            .collect::<Vec<_>>(),
        [
            &r#"tccbs_replication_replica_unshared{rule="prod",disk="disk-prod0001",destination="ap-beijing"} 1"#
        ],
        "{text}"
    );
    let fixed = run(&["replicate", "apply", "--policy", RECOVERY_POLICY]);
    assert_eq!(status(&fixed), 0, "{}", stderr(&fixed));

    // The drill restores in the recovery account and leaves nothing behind there.
    let drill = run(&[
        "--region",
        "ap-beijing",
        "--output",
        "json",
        "replicate",
        "drill",
        "--policy",
        RECOVERY_POLICY,
        "--as-profile",
        "dr",
    ]);
    assert_eq!(status(&drill), 0, "{}", stderr(&drill));
    assert_restored_and_deleted(&drill, 3);
    let _ = std::fs::remove_dir_all(dir);
}

/// The path a real deployment takes: no `--local`, the recovery account's keys from a
/// profile of the credentials file, no owner keys anywhere; against an emulator on
/// 127.0.0.1 that holds the state a local rehearsal left.
#[test]
fn as_profile_reads_the_recovery_accounts_keys_from_the_credentials_file() {
    const DR_ID: &str = "AKIDrecoveryprofile00000000000000000";
    const DR_KEY: &str = "recovery-profile-key";
    let dir = scratch("replicate-as-profile");
    let state = dir.join("state.json");
    let apply = tccbs(&state, &["replicate", "apply", "--policy", RECOVERY_POLICY]);
    assert_eq!(status(&apply), 0, "{}", stderr(&apply));

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let emulator = runtime
        .block_on(
            cbs_emulator::Emulator::builder()
                .state_file(&state)
                .account_credential(RECOVERY_ACCOUNT, DR_ID, DR_KEY)
                .start(),
        )
        .expect("emulator starts");
    let credentials = dir.join("credentials");
    std::fs::write(
        &credentials,
        format!("[dr]\nsecret_id = {DR_ID}\nsecret_key = {DR_KEY}\n"),
    )
    .unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let remote = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tccbs"))
            .args(["--endpoint", &emulator.endpoint()])
            .args(args)
            .env("HOME", "/nonexistent-home")
            .env("TENCENTCLOUD_CREDENTIALS_FILE", &credentials)
            .env("TENCENTCLOUD_METADATA_ENDPOINT", &closed_port)
            .env_remove("TENCENTCLOUD_SECRET_ID")
            .env_remove("TENCENTCLOUD_SECRET_KEY")
            .env_remove("TENCENTCLOUD_PROFILE")
            .output()
            .expect("tccbs runs")
    };
    let check = |profile: &str| {
        remote(&[
            "--output",
            "json",
            "replicate",
            "check",
            "--policy",
            RECOVERY_POLICY,
            "--max-age",
            "24h",
            "--as-profile",
            profile,
        ])
    };
    let ok = check("dr");
    assert_eq!(status(&ok), 0, "{}", stderr(&ok));
    let checked = json(&ok);
    assert_eq!(checked["ok"], true, "{checked}");
    assert_eq!(checked["items"].as_array().unwrap().len(), 6);

    let missing = check("nosuch");
    assert_eq!(status(&missing), 1);
    assert!(
        stderr(&missing).contains("has no [nosuch] profile"),
        "{}",
        stderr(&missing)
    );
    assert!(!stderr(&missing).contains(DR_KEY));

    // The owner's keys are nowhere: a plain check (as the owner) cannot sign.
    let owner = remote(&[
        "replicate",
        "check",
        "--policy",
        RECOVERY_POLICY,
        "--max-age",
        "24h",
    ]);
    assert_eq!(status(&owner), 1, "{}", stderr(&owner));
    assert!(stderr(&owner).contains("credentials"), "{}", stderr(&owner));

    let drill = remote(&[
        "--region",
        "ap-beijing",
        "--output",
        "json",
        "replicate",
        "drill",
        "--policy",
        RECOVERY_POLICY,
        "--as-profile",
        "dr",
    ]);
    assert_eq!(status(&drill), 0, "{}", stderr(&drill));
    assert_restored_and_deleted(&drill, 3);
    drop(emulator);
    drop(runtime);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn replicas_carry_their_inventory_and_plan_and_check_show_what_lacks() {
    let dir = scratch("replicate-inventory");
    let state = dir.join("state.json");
    let applied = tccbs(
        &state,
        &["--output", "json", "replicate", "apply", "--policy", POLICY],
    );
    assert_eq!(status(&applied), 0, "{}", stderr(&applied));
    let report = json(&applied);
    assert!(
        report["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["tagged"] == true)
    );

    // The replicas' tags, as anyone lists them in the destination.
    let listed = tccbs(
        &state,
        &[
            "--region",
            "ap-beijing",
            "--output",
            "json",
            "snapshot",
            "list",
        ],
    );
    assert_eq!(status(&listed), 0);
    let replica = json(&listed)
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["SnapshotName"]
                .as_str()
                .and_then(ReplicaName::parse)
                .is_some()
        })
        .cloned()
        .unwrap();
    let tags: BTreeMap<String, String> = replica["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["Key"].as_str().unwrap().to_owned(),
                t["Value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let disk = replica["DiskId"].as_str().unwrap();
    assert!(
        tags["tccbs:source"].starts_with(&format!("ap-guangzhou/{disk}/snap-")),
        "{tags:?}"
    );
    assert_eq!(tags["tccbs:rule"], "prod");
    assert!(tags["tccbs:disk"].starts_with("CLOUD_SSD/"), "{tags:?}");
    assert!(tags["tccbs:name"].starts_with("prod-"), "{tags:?}");

    // Taken away (as on a replica made before tags were bound): plan and check say so.
    let replica_id = replica["SnapshotId"].as_str().unwrap();
    let untag = format!(
        r#"{{"ResourceList":["qcs::cvm:ap-beijing:uin/:snapshot/{replica_id}"],"TagKeys":["tccbs:source","tccbs:name"]}}"#
    );
    let untagged = tccbs(
        &state,
        &[
            "call",
            "--service",
            "tag",
            "UnTagResources",
            "--json",
            &untag,
        ],
    );
    assert_eq!(status(&untagged), 0, "{}", stderr(&untagged));
    let plan = tccbs(&state, &["replicate", "plan", "--policy", POLICY]);
    assert_eq!(status(&plan), 0, "{}", stderr(&plan));
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(text.contains("TAGS_TO_ADD"), "{text}");
    assert!(
        text.contains("1 replicas to tag (1 lack their lineage and inventory)"),
        "{text}"
    );
    let check = tccbs(
        &state,
        &["replicate", "check", "--policy", POLICY, "--max-age", "24h"],
    );
    assert_eq!(
        status(&check),
        0,
        "the recovery point stands: {}",
        stderr(&check)
    );
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        stderr(&check)
    );
    assert!(
        said.contains(&format!("untagged: {disk} in ap-beijing: 1 replicas lack")),
        "{said}"
    );
    let check = json(&tccbs(
        &state,
        &[
            "--output",
            "json",
            "replicate",
            "check",
            "--policy",
            POLICY,
            "--max-age",
            "24h",
        ],
    ));
    let items = check["items"].as_array().unwrap();
    assert_eq!(
        items
            .iter()
            .map(|i| i["untagged"].as_u64().unwrap())
            .sum::<u64>(),
        1
    );
    let tagged = items.iter().find(|i| i["untagged"] == 0).unwrap();
    assert_eq!(tagged["tags"]["tccbs:rule"], "prod", "{tagged}");

    // The next apply binds them back, and only them.
    let applied = tccbs(
        &state,
        &["--output", "json", "replicate", "apply", "--policy", POLICY],
    );
    assert_eq!(status(&applied), 0, "{}", stderr(&applied));
    let report = json(&applied);
    let retagged: Vec<&Value> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["tagged"] == true)
        .collect();
    assert_eq!(retagged.len(), 1);
    assert_eq!(retagged[0]["replica_id"], replica_id);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn restore_plans_rebuilds_adopts_and_cleans_up_a_run() {
    let dir = scratch("replicate-restore");
    let state = dir.join("state.json");
    let applied = tccbs(&state, &["replicate", "apply", "--policy", POLICY]);
    assert_eq!(status(&applied), 0, "{}", stderr(&applied));
    let restore = |extra: &[&str]| {
        let mut args = vec![
            "--region",
            "ap-beijing",
            "--output",
            "json",
            "replicate",
            "restore",
            "--policy",
            POLICY,
        ];
        args.extend_from_slice(extra);
        tccbs(&state, &args)
    };

    let plan = restore(&["--dry-run", "--run", "day1"]);
    assert_eq!(status(&plan), 0, "{}", stderr(&plan));
    let plan = json(&plan);
    let items = plan["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|i| i["action"] == "would_create"));
    assert!(
        items
            .iter()
            .all(|i| i["hourly_price"].as_f64().unwrap() > 0.0)
    );

    let metrics = dir.join("restore.prom");
    let done = restore(&["--run", "day1", "--metrics-file", metrics.to_str().unwrap()]);
    assert_eq!(status(&done), 0, "{}", stderr(&done));
    let done = json(&done);
    assert!(done["rto_secs"].as_f64().is_some());
    let restored: Vec<&str> = done["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["action"], "created", "{i}");
            i["restored_disk_id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(restored.len(), 3);
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        text.contains(
            "tccbs_restore_disks{region=\"ap-beijing\",run=\"day1\",result=\"created\"} 3"
        ),
        "{text}"
    );
    assert!(text.contains("tccbs_restore_duration_seconds{"), "{text}");

    // Again: adopted, nothing made twice.
    let again = json(&restore(&["--run", "day1"]));
    assert!(
        again["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["action"] == "adopted")
    );

    // Bad input is a usage error, before anything is called.
    for bad in [
        &["--run", "two words"][..],
        &["--at", "yesterday"],
        &["--at", "2026-12-07T12:30:00"],
        &["--rule", "nope"],
    ] {
        let out = restore(bad);
        assert_eq!(status(&out), 2, "{bad:?}: {}", stderr(&out));
    }
    let no_region = tccbs(&state, &["replicate", "restore", "--policy", POLICY]);
    assert_eq!(status(&no_region), 2);

    let cleaned = tccbs(
        &state,
        &[
            "--region",
            "ap-beijing",
            "replicate",
            "restore",
            "--policy",
            POLICY,
            "--cleanup",
            "day1",
        ],
    );
    assert_eq!(status(&cleaned), 0, "{}", stderr(&cleaned));
    assert!(
        String::from_utf8_lossy(&cleaned.stdout).contains("3 of 3 disks removed"),
        "{}",
        String::from_utf8_lossy(&cleaned.stdout)
    );
    let listed = tccbs(
        &state,
        &[
            "--region",
            "ap-beijing",
            "--output",
            "json",
            "cbs",
            "DescribeDisks",
        ],
    );
    let listed = json(&listed);
    for id in restored {
        assert!(!listed.to_string().contains(id), "{id} is still there");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The examples the README's recovery day uses.
const STANDBY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/standby-beijing.toml"
);
const ORDER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/restore-order.toml"
);

/// Chromium, where installed (CI installs it and sets `TCCBS_REQUIRE_CHROMIUM=1`, so
/// there the page is always rendered).
fn chromium() -> Option<&'static str> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    assert!(
        found.is_some() || std::env::var("TCCBS_REQUIRE_CHROMIUM").as_deref() != Ok("1"),
        "chromium is required (TCCBS_REQUIRE_CHROMIUM=1) but not installed"
    );
    found
}

/// Headless Chromium on `page` with `extra` (`--dump-dom`, `--screenshot=…`), its
/// network cut off so that a fetch would show as a missing part, not load.
fn render(chromium: &str, profile: &Path, page: &Path, extra: &str) -> Output {
    Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--proxy-server=127.0.0.1:9",
            "--window-size=1100,1300",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs")
}

#[test]
fn restore_attaches_to_standbys_group_by_group_and_writes_a_page_chromium_renders() {
    let dir = scratch("replicate-restore-attach");
    let state = dir.join("state.json");
    let applied = tccbs(&state, &["replicate", "apply", "--policy", POLICY]);
    assert_eq!(status(&applied), 0, "{}", stderr(&applied));
    let page = dir.join("day2.html");
    let restore = |extra: &[&str]| {
        let mut args = vec![
            "--region",
            "ap-beijing",
            "--output",
            "json",
            "replicate",
            "restore",
            "--policy",
            POLICY,
            "--run",
            "day2",
            "--attach",
            STANDBY,
            "--order",
            ORDER,
        ];
        args.extend_from_slice(extra);
        tccbs(&state, &args)
    };

    let plan = restore(&["--dry-run"]);
    assert_eq!(status(&plan), 0, "{}", stderr(&plan));
    let plan = json(&plan);
    let standby: BTreeMap<&str, &str> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["disk_id"].as_str().unwrap(),
                i["standby"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(standby["disk-prod0001"], "ins-beij0001");
    assert_eq!(standby["disk-prod0002"], "ins-beij0001");
    assert_eq!(standby["disk-prod0003"], "ins-beij0002");
    assert!(
        plan["waves"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["outcome"] == "planned")
    );

    let metrics = dir.join("day2.prom");
    let done = restore(&[
        "--report",
        page.to_str().unwrap(),
        "--metrics-file",
        metrics.to_str().unwrap(),
    ]);
    assert_eq!(status(&done), 0, "{}", stderr(&done));
    let done = json(&done);
    for item in done["items"].as_array().unwrap() {
        assert_eq!(item["action"], "created", "{item}");
        assert_eq!(item["attached"], true, "{item}");
        assert!(
            item["seconds_to_attached"].as_f64().unwrap()
                >= item["seconds_to_usable"].as_f64().unwrap()
        );
    }
    let waves = done["waves"].as_array().unwrap();
    assert_eq!(waves.len(), 2, "{waves:?}");
    assert_eq!(
        (waves[0]["name"].as_str(), waves[1]["name"].as_str()),
        (Some("databases"), Some("web"))
    );
    assert!(waves.iter().all(|w| w["outcome"] == "done"));
    // The web group starts once the databases are usable and attached.
    assert!(waves[1]["started_after_secs"].as_f64() >= waves[0]["finished_after_secs"].as_f64());
    let prom = std::fs::read_to_string(&metrics).unwrap();
    for line in [
        "tccbs_restore_attached_disks{region=\"ap-beijing\",run=\"day2\",state=\"attached\"} 3",
        "tccbs_restore_group_finished_seconds{region=\"ap-beijing\",run=\"day2\",group=\"web\"}",
    ] {
        assert!(prom.contains(line), "{line} not in {prom}");
    }
    let rto = done["rto_secs"].as_f64().unwrap();
    assert!(rto >= waves[1]["finished_after_secs"].as_f64().unwrap());

    // The standbys hold the disks, as the region says.
    let listed = json(&listed_disks(&state));
    let on: BTreeMap<String, String> = listed["DiskSet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["DiskName"].as_str().unwrap().to_owned(),
                d["InstanceId"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(on["prod-db-1"], "ins-beij0001");
    assert_eq!(on["prod-db-2"], "ins-beij0001");
    assert_eq!(on["prod-web-1"], "ins-beij0002");

    // The page stands alone: nothing it would fetch.
    let html = std::fs::read_to_string(&page).unwrap();
    for outside in ["src=", "href=", "url(", "@import", "<script", "<link"] {
        assert!(
            !html.contains(outside),
            "the page refers to something outside: {outside}"
        );
    }
    assert!(html.contains("Restore day2 into ap-beijing") && html.contains("<svg"));
    if let Some(chromium) = chromium() {
        let profile = dir.join("chromium-profile");
        let dom = render(chromium, &profile, &page, "--dump-dom");
        let dom = String::from_utf8_lossy(&dom.stdout);
        // What the browser made of it: the heading, one row per disk, the chart's bars.
        assert!(
            dom.contains("<h1>Restore day2 into ap-beijing</h1>"),
            "{dom}"
        );
        assert_eq!(
            dom.matches("<td class=\"ok\">created</td>").count(),
            3,
            "{dom}"
        );
        assert!(dom.matches("<rect").count() >= 3, "{dom}");
        let shot = dir.join("day2.png");
        let out = render(
            chromium,
            &profile,
            &page,
            &format!("--screenshot={}", shot.display()),
        );
        let png = std::fs::read(&shot).unwrap_or_else(|e| {
            panic!(
                "no screenshot ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert_eq!(&png[1..4], b"PNG");
        // A blank page compresses to a few KB; text, tables and a chart do not.
        assert!(png.len() > 30_000, "{} bytes", png.len());
        eprintln!("the page as Chromium draws it: {}", shot.display());
    }

    // The clean-up detaches them first, and removes only the run's disks.
    let cleaned = tccbs(
        &state,
        &[
            "--region",
            "ap-beijing",
            "--output",
            "json",
            "replicate",
            "restore",
            "--policy",
            POLICY,
            "--cleanup",
            "day2",
        ],
    );
    assert_eq!(status(&cleaned), 0, "{}", stderr(&cleaned));
    let cleaned = json(&cleaned);
    let items = cleaned["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(
        items
            .iter()
            .all(|i| i["detached"] == true && i["deleted"] == true),
        "{items:?}"
    );

    // The drill rehearses the same restore, with its recovery time, and removes it.
    let before = json(&listed_disks(&state));
    let rehearsal = dir.join("drill.html");
    let drill = tccbs(
        &state,
        &[
            "--region",
            "ap-beijing",
            "--output",
            "json",
            "replicate",
            "drill",
            "--policy",
            POLICY,
            "--attach",
            STANDBY,
            "--order",
            ORDER,
            "--report",
            rehearsal.to_str().unwrap(),
        ],
    );
    assert_eq!(status(&drill), 0, "{}", stderr(&drill));
    let drill = json(&drill);
    assert!(
        drill["run"].as_str().unwrap().starts_with("drill-"),
        "{drill}"
    );
    let restored = &drill["restore"];
    assert!(restored["rto_secs"].as_f64().unwrap() > 0.0, "{drill}");
    assert!(
        restored["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["attached"] == true),
        "{drill}"
    );
    assert!(
        drill["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["deleted"] == true),
        "{drill}"
    );
    assert!(
        std::fs::read_to_string(&rehearsal)
            .unwrap()
            .contains("<svg")
    );
    assert_eq!(
        json(&listed_disks(&state))["TotalCount"],
        before["TotalCount"]
    );
    if std::env::var_os("TCCBS_KEEP_SCRATCH").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// `DescribeDisks` in ap-beijing, as JSON.
fn listed_disks(state: &Path) -> Output {
    tccbs(
        state,
        &[
            "--region",
            "ap-beijing",
            "--output",
            "json",
            "cbs",
            "DescribeDisks",
            "--Limit",
            "100",
        ],
    )
}
