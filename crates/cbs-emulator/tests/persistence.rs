//! The state file: a restart keeps everything, a kill during a burst of writes leaves a
//! file that loads with every acknowledged change, and a file that cannot be read is
//! refused and left alone.

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cbs_emulator::{Emulator, EmulatorBuilder, StartError};
use cbs_transport::Transport;
use serde_json::Value;
use support::*;

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "cbs-emulator-{name}-{}-{}",
        std::process::id(),
        now()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn builder(state: &PathBuf) -> EmulatorBuilder {
    Emulator::builder()
        .credential(ID, KEY)
        .rate_limit(0)
        .state_file(state)
}

const CREATE_DISK: &str = r#"{"Placement":{"Zone":"ap-guangzhou-2"},"DiskChargeType":"POSTPAID_BY_HOUR","DiskType":"CLOUD_SSD","DiskSize":100}"#;

#[tokio::test(start_paused = true)]
async fn a_restart_keeps_disks_snapshots_policies_and_time() {
    let dir = scratch_dir("restart");
    let state = dir.join("state.json");
    let (disk_id, snapshot_id, policy_id, count_before) = {
        let emulator = builder(&state)
            .seed_demo(true)
            .start_in_process()
            .expect("starts");
        let created = Call::new("CreateDisks", CREATE_DISK).send(&emulator).await;
        let disk_id = created["DiskIdSet"][0].as_str().unwrap().to_owned();
        let snapshot = Call::new("CreateSnapshot", &format!(r#"{{"DiskId":"{disk_id}"}}"#))
            .send(&emulator)
            .await;
        let policy = Call::new(
            "CreateAutoSnapshotPolicy",
            r#"{"Policy":[{"Hour":[3]}],"AutoSnapshotPolicyName":"nightly"}"#,
        )
        .send(&emulator)
        .await;
        tokio::time::advance(Duration::from_secs(3600)).await;
        let snapshots = emulator.snapshots("ap-guangzhou");
        let count_before = snapshots.len();
        (
            disk_id,
            snapshot["SnapshotId"].as_str().unwrap().to_owned(),
            policy["AutoSnapshotPolicyId"].as_str().unwrap().to_owned(),
            count_before,
        )
    };
    // Started again without demo data: everything comes from the file.
    let emulator = builder(&state).start_in_process().expect("restarts");
    assert!(
        emulator
            .disks("ap-guangzhou")
            .iter()
            .any(|d| d.id == disk_id)
    );
    let snapshots = emulator.snapshots("ap-guangzhou");
    assert_eq!(snapshots.len(), count_before);
    let kept = snapshots.iter().find(|s| s.id == snapshot_id).unwrap();
    // Its creation finished an emulated hour ago, and time does not go back.
    assert_eq!(kept.state, "NORMAL");
    let policies = Call::new(
        "DescribeAutoSnapshotPolicies",
        &format!(r#"{{"AutoSnapshotPolicyIds":["{policy_id}"]}}"#),
    )
    .send(&emulator)
    .await;
    assert_eq!(policies["TotalCount"], 1, "{policies}");
    assert_eq!(
        policies["AutoSnapshotPolicySet"][0]["AutoSnapshotPolicyName"],
        "nightly"
    );
    drop(emulator);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_state_file_that_cannot_be_read_is_refused_and_left_alone() {
    let dir = scratch_dir("refused");
    let state = dir.join("state.json");
    std::fs::write(&state, b"{\"format\": 1, \"world\": [").unwrap();
    let error = builder(&state).start_in_process().unwrap_err();
    assert!(matches!(error, StartError::State(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("state.json"), "{message}");
    assert_eq!(
        std::fs::read(&state).unwrap(),
        b"{\"format\": 1, \"world\": ["
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// The emulator binary, started with a state file; its endpoint once it listens.
struct Process {
    child: std::process::Child,
    endpoint: String,
}

fn spawn(state: &std::path::Path) -> Process {
    let credential = format!("{ID}:{KEY}");
    let state = state.to_str().unwrap();
    spawn_with(&[
        "--credential",
        &credential,
        "--rate-limit",
        "0",
        "--create-duration",
        "0",
        "--state",
        state,
    ])
}

fn spawn_with(args: &[&str]) -> Process {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cbs-emulator"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the emulator binary starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    // The rest of what it prints is drained, so that it never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let endpoint = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .trim()
        .to_owned();
    Process { child, endpoint }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_during_a_burst_of_writes_loses_nothing_acknowledged() {
    let dir = scratch_dir("kill");
    let state = dir.join("state.json");
    let mut process = spawn(&state);
    let host = process.endpoint.trim_start_matches("http://").to_owned();
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let (enough, mut enough_rx) = tokio::sync::mpsc::channel::<()>(1);
    let mut writers = Vec::new();
    for _ in 0..4 {
        let (endpoint, host) = (process.endpoint.clone(), host.clone());
        let (acknowledged, count, enough) = (acknowledged.clone(), count.clone(), enough.clone());
        writers.push(tokio::spawn(async move {
            let transport = transport();
            // Bounded: each writer stops after 500 writes or at the first failure,
            // which the kill causes.
            for _ in 0..500 {
                let request = Call::new("CreateDisks", CREATE_DISK).request_to(&endpoint, &host);
                let response = match transport.send(request).await {
                    Ok(response) => response,
                    Err(e) => return Some(e.to_string()),
                };
                let json: Value = serde_json::from_slice(response.body()).unwrap();
                let id = json["Response"]["DiskIdSet"][0]
                    .as_str()
                    .unwrap()
                    .to_owned();
                acknowledged.lock().unwrap().push(id);
                if count.fetch_add(1, Ordering::SeqCst) + 1 == 60 {
                    let _ = enough.try_send(());
                }
            }
            None
        }));
    }
    drop(enough);
    // Killed (SIGKILL) in the middle of the burst, once 60 writes were acknowledged.
    if enough_rx.recv().await.is_none() {
        let mut stops = Vec::new();
        for writer in writers {
            stops.push(writer.await.unwrap());
        }
        panic!("the writers stopped before 60 writes: {stops:?}");
    }
    process.child.kill().unwrap();
    process.child.wait().unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 60);

    let reloaded = builder(&state)
        .start_in_process()
        .expect("the file loads after the kill");
    let kept: Vec<String> = reloaded
        .disks("ap-guangzhou")
        .into_iter()
        .map(|d| d.id)
        .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !kept.contains(id))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn temporary_credentials_from_the_command_line() {
    let mut process = spawn_with(&["--credential", "AKIDtemp:temp-key:the-token"]);
    let host = process.endpoint.trim_start_matches("http://").to_owned();
    let transport = transport();
    let mut call = Call::new("DescribeSnapshots", "{}");
    call.credentials = tc3_sign::Credentials::new("AKIDtemp", "temp-key").with_token("the-token");
    let answer = |response: cbs_transport::HttpResponse| -> Value {
        serde_json::from_slice::<Value>(response.body()).unwrap()["Response"].clone()
    };
    let with_token = transport
        .send(call.request_to(&process.endpoint, &host))
        .await
        .unwrap();
    assert_eq!(code(&answer(with_token)), None);
    call.send_token = false;
    let without = transport
        .send(call.request_to(&process.endpoint, &host))
        .await
        .unwrap();
    assert_eq!(code(&answer(without)), Some("AuthFailure.TokenFailure"));
    process.child.kill().unwrap();
    process.child.wait().unwrap();
}

#[test]
fn bad_flags_are_refused_with_help() {
    let output = Command::new(env!("CARGO_BIN_EXE_cbs-emulator"))
        .args(["--credential", "only-an-id"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ID:KEY"), "{stderr}");
    let zone = Command::new(env!("CARGO_BIN_EXE_cbs-emulator"))
        .args(["--zone", "ap-nowhere-1"])
        .output()
        .unwrap();
    assert!(!zone.status.success());
    assert!(String::from_utf8_lossy(&zone.stderr).contains("REGION-N"));
    let help = Command::new(env!("CARGO_BIN_EXE_cbs-emulator"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--bind",
        "--credential",
        "--seed-demo",
        "--time-scale",
        "--copy-duration",
        "--create-duration",
        "--state",
        "--faults",
        "--rate-limit",
        "--tls",
        "--instance",
        "--snapshot-quota",
        "--zone",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

#[tokio::test]
async fn quota_and_zones_from_the_command_line() {
    let mut process = spawn_with(&[
        "--credential",
        &format!("{ID}:{KEY}"),
        "--snapshot-quota",
        "1",
        "--zone",
        "ap-guangzhou-8",
        "--create-duration",
        "0",
    ]);
    let host = process.endpoint.trim_start_matches("http://").to_owned();
    let transport = transport();
    let send = |action: &str, body: String| {
        let request = Call::new(action, &body).request_to(&process.endpoint, &host);
        let transport = &transport;
        async move {
            let response = transport.send(request).await.unwrap();
            serde_json::from_slice::<Value>(response.body()).unwrap()["Response"].clone()
        }
    };
    let created = send(
        "CreateDisks",
        r#"{"Placement":{"Zone":"ap-guangzhou-8"},"DiskChargeType":"POSTPAID_BY_HOUR","DiskType":"CLOUD_SSD","DiskSize":20}"#.to_owned(),
    )
    .await;
    let disk = created["DiskIdSet"][0]
        .as_str()
        .expect("a disk in the added zone")
        .to_owned();
    let snapshot = |name: &str| format!(r#"{{"DiskId":"{disk}","SnapshotName":"{name}"}}"#);
    let first = send("CreateSnapshot", snapshot("one")).await;
    assert_eq!(code(&first), None, "{first}");
    // The quota of one is used up: the second is refused as the service refuses it.
    let second = send("CreateSnapshot", snapshot("two")).await;
    assert_eq!(code(&second), Some("InsufficientSnapshotQuota"), "{second}");
    process.child.kill().unwrap();
    process.child.wait().unwrap();
}
