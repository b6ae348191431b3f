//! `tccbs replicate`, run as cron would run it, against the embedded emulator with its
//! state kept in a file between runs.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tencentcloud_cbs::replication::ReplicaName;

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
    let drilled = json(&drill);
    let items = drilled["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(
        items
            .iter()
            .all(|i| i["deleted"] == true && i["error"].is_null())
    );
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
