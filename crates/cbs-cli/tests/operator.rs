//! `tccbs replicate` as an operator meets it on a bad day: odd metrics paths, policies
//! with typos and hostile values, disks that do not exist. Each case runs the binary
//! against its embedded emulator.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::scratch;

fn tccbs(state: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tccbs"))
        .args(["--local", "--local-state"])
        .arg(state)
        .args(["--local-copy-duration", "1s"])
        .args(args)
        .env("HOME", "/nonexistent-home")
        .env_remove("TENCENTCLOUD_SECRET_ID")
        .env_remove("TENCENTCLOUD_SECRET_KEY")
        .output()
        .expect("tccbs runs")
}

fn status(output: &Output) -> i32 {
    output.status.code().expect("exited")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(output), stderr(output)))
}

/// A one-rule policy with `selection` (a `disk_ids` or `disk_name` line).
fn policy(dir: &Path, name: &str, selection: &str) -> String {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "[[rule]]\nname = \"prod\"\nsource_region = \"ap-guangzhou\"\n{selection}\ndestinations = [\"ap-beijing\"]\n"
        ),
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn metrics_targets_that_are_not_regular_files_are_refused_and_the_runs_status_wins() {
    let dir = scratch("operator-metrics");
    let state = dir.join("state.json");
    let prod = policy(&dir, "prod", "disk_name = \"prod-*\"");
    let check = |target: &Path| {
        tccbs(
            &state,
            &[
                "replicate",
                "check",
                "--policy",
                &prod,
                "--max-age",
                "24h",
                "--metrics-file",
                target.to_str().unwrap(),
            ],
        )
    };
    // Nothing replicated yet: the check misses (4), whatever becomes of the metrics.
    let directory = dir.join("a-directory");
    std::fs::create_dir(&directory).unwrap();
    let fifo = dir.join("a-fifo.prom");
    let made_fifo = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    let link = dir.join("a-link.prom");
    let file = dir.join("tccbs.prom");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    let mut refused = vec![
        (directory.clone(), "a directory"),
        (link.clone(), "symbolic link"),
    ];
    if made_fifo {
        refused.push((fifo.clone(), "FIFO"));
    }
    for (target, kind) in refused {
        let out = check(&target);
        assert_eq!(status(&out), 4, "{}: {}", target.display(), stderr(&out));
        let said = stderr(&out);
        assert!(
            said.contains("cannot write the metrics") && said.contains(kind),
            "{said}"
        );
    }
    assert!(directory.is_dir());
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    if made_fifo {
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    }
    // A regular file is written, and the status is still the check's.
    let out = check(&file);
    assert_eq!(status(&out), 4, "{}", stderr(&out));
    let metrics = std::fs::read_to_string(&file).unwrap();
    assert!(metrics.contains("tccbs_replication_run_exit_status{command=\"check\"} 4"));
    // A run that succeeded, with metrics it cannot write: 1.
    let apply = tccbs(
        &state,
        &[
            "replicate",
            "apply",
            "--policy",
            &prod,
            "--metrics-file",
            directory.to_str().unwrap(),
        ],
    );
    assert_eq!(status(&apply), 1, "{}", stderr(&apply));
    assert!(stdout(&apply).contains("everything is replicated"));
    // No temporary file is left anywhere.
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp."))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_policy_that_selects_nothing_warns_and_fails_the_check() {
    let dir = scratch("operator-nothing");
    let state = dir.join("state.json");
    let typo = policy(&dir, "typo", "disk_name = \"prd-*\"");
    let plan = tccbs(&state, &["replicate", "plan", "--policy", &typo]);
    assert_eq!(status(&plan), 0, "{}", stderr(&plan));
    assert!(
        stderr(&plan).contains("warning: rule prod selects no disk in ap-guangzhou"),
        "{}",
        stderr(&plan)
    );
    let apply = tccbs(&state, &["replicate", "apply", "--policy", &typo]);
    assert_eq!(status(&apply), 0, "{}", stderr(&apply));
    assert!(
        stderr(&apply).contains("selects no disk"),
        "{}",
        stderr(&apply)
    );
    let check = tccbs(
        &state,
        &[
            "--output",
            "json",
            "replicate",
            "check",
            "--policy",
            &typo,
            "--max-age",
            "24h",
        ],
    );
    assert_eq!(
        status(&check),
        4,
        "the RPO alarm must fire: {}",
        stderr(&check)
    );
    let report = json(&check);
    assert_eq!(report["ok"], false);
    assert_eq!(report["items"][0]["error"]["code"], "NoDisks");
    let table = tccbs(
        &state,
        &["replicate", "check", "--policy", &typo, "--max-age", "24h"],
    );
    assert_eq!(status(&table), 4);
    assert!(stdout(&table).contains("MISSED"), "{}", stdout(&table));
    // A pattern that can match nothing is refused before anything is called.
    for selection in [
        "disk_name = \"\"",
        &format!("disk_name = \"{}\"", "x".repeat(61)),
    ] {
        let bad = policy(&dir, "empty", selection);
        let out = tccbs(&state, &["replicate", "plan", "--policy", &bad]);
        assert_eq!(status(&out), 2, "{selection}: {}", stderr(&out));
        assert!(stderr(&out).contains("line 4"), "{}", stderr(&out));
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_disk_that_does_not_exist_fails_the_apply_and_says_so() {
    let dir = scratch("operator-missing");
    let state = dir.join("state.json");
    let missing = policy(&dir, "missing", "disk_ids = [\"disk-prod0004\"]");
    let apply = tccbs(
        &state,
        &[
            "--output",
            "json",
            "replicate",
            "apply",
            "--policy",
            &missing,
        ],
    );
    assert_eq!(status(&apply), 1, "{}", stderr(&apply));
    let report = json(&apply);
    assert_eq!(report["converged"], false);
    assert_eq!(report["succeeded"], 0);
    assert_eq!(report["items"][0]["action"], "failed");
    assert_eq!(
        report["items"][0]["error"]["code"],
        "InvalidDiskId.NotFound"
    );
    let table = tccbs(&state, &["replicate", "apply", "--policy", &missing]);
    assert_eq!(status(&table), 1);
    let said = format!("{}{}", stdout(&table), stderr(&table));
    assert!(
        said.contains("disk-prod0004 does not exist in ap-guangzhou"),
        "{said}"
    );
    assert!(
        said.contains("0 of 1 items fine; not converged: 1 failed"),
        "{said}"
    );
    assert!(!said.contains("everything is replicated"), "{said}");
    // One that exists beside it replicates; the run is a partial failure.
    let both = policy(
        &dir,
        "both",
        "disk_ids = [\"disk-prod0001\", \"disk-prod0004\"]",
    );
    let apply = tccbs(&state, &["replicate", "apply", "--policy", &both]);
    assert_eq!(status(&apply), 3, "{}", stderr(&apply));
    let plan = tccbs(&state, &["replicate", "plan", "--policy", &both]);
    assert!(
        stderr(&plan).contains("1 disks named by id do not exist: disk-prod0004"),
        "{}",
        stderr(&plan)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn hostile_names_and_policy_files_are_refused_without_a_panic() {
    let dir = scratch("operator-hostile");
    let state = dir.join("state.json");
    let named = |name: &str| {
        let path = dir.join("named.toml");
        let escaped = serde_json::to_string(name).unwrap();
        std::fs::write(
            &path,
            format!(
                "[[rule]]\nname = {escaped}\nsource_region = \"ap-guangzhou\"\ndisk_name = \"prod-*\"\ndestinations = [\"ap-beijing\"]\n"
            ),
        )
        .unwrap();
        tccbs(
            &state,
            &["replicate", "plan", "--policy", path.to_str().unwrap()],
        )
    };
    for name in [
        "r".repeat(70_000),
        "new\nline".to_owned(),
        "esc\u{1b}[31mred".to_owned(),
        "bidi\u{202e}txt".to_owned(),
        "nul\u{0}".to_owned(),
    ] {
        let out = named(&name);
        assert_eq!(status(&out), 2, "{}", stderr(&out));
        let said = stderr(&out);
        assert!(said.contains("not a rule name"), "{said}");
        assert!(said.len() < 600, "{} bytes", said.len());
        assert!(
            !said
                .chars()
                .any(|c| c == '\u{1b}' || c == '\u{202e}' || c == '\0'),
            "{said:?}"
        );
    }
    // Endless or huge files end in an error, at once.
    let huge = dir.join("huge.toml");
    std::fs::write(&huge, format!("# {}\n", "x".repeat(3 << 20))).unwrap();
    for path in [Path::new("/dev/zero"), huge.as_path()] {
        let out = tccbs(
            &state,
            &["replicate", "plan", "--policy", path.to_str().unwrap()],
        );
        assert_eq!(status(&out), 2, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("larger than 1024 KiB"),
            "{}",
            stderr(&out)
        );
    }
    let binary = dir.join("binary.toml");
    std::fs::write(&binary, [0xffu8, 0xfe, 0x00, 0x9b]).unwrap();
    let out = tccbs(
        &state,
        &["replicate", "plan", "--policy", binary.to_str().unwrap()],
    );
    assert_eq!(status(&out), 2);
    assert!(stderr(&out).contains("not UTF-8"), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(dir);
}

/// `tccbs replicate apply` on one "host": its own temporary directory (where the apply
/// lock lives), against the emulator at `endpoint`, capped at one copy in flight.
fn apply_on_host(endpoint: &str, tmp: &Path, policy: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_tccbs"))
        .args(["--endpoint", endpoint, "--output", "json"])
        .args([
            "replicate",
            "apply",
            "--policy",
            policy,
            "--max-in-flight",
            "1",
        ])
        .env("HOME", "/nonexistent-home")
        .env("TMPDIR", tmp)
        .env("TENCENTCLOUD_SECRET_ID", cbs_emulator::DEMO_SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", cbs_emulator::DEMO_SECRET_KEY)
        .env_remove("TENCENTCLOUD_PROFILE")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tccbs starts")
}

/// Replicas of each source in `region`, per source snapshot.
fn replica_counts(emulator: &cbs_emulator::EmulatorHandle, region: &str) -> Vec<usize> {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for snapshot in emulator.snapshots(region) {
        if let Some(name) = cbs_dr::ReplicaName::parse(&snapshot.name) {
            *counts.entry(name.source_snapshot_id).or_default() += 1;
        }
    }
    counts.into_values().collect()
}

#[test]
fn two_processes_overlapping_make_one_replica_each_on_two_hosts_or_one() {
    let dir = scratch("operator-overlap");
    let (host_a, host_b) = (dir.join("host-a"), dir.join("host-b"));
    std::fs::create_dir_all(&host_a).unwrap();
    std::fs::create_dir_all(&host_b).unwrap();
    let prod = policy(&dir, "prod", "disk_name = \"prod-*\"");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Copies of the demo's 200 GB disks take two seconds of real time.
    let emulator = runtime
        .block_on(
            cbs_emulator::Emulator::builder()
                .seed_demo(true)
                .copy_duration(std::time::Duration::from_secs(100))
                .time_scale(100.0)
                .start(),
        )
        .expect("emulator starts");
    let endpoint = emulator.endpoint();
    // Two hosts (no shared lock): the second starts a second after the first.
    for (second_host, lock_shared) in [(&host_b, false), (&host_a, true)] {
        let first = apply_on_host(&endpoint, &host_a, &prod);
        std::thread::sleep(std::time::Duration::from_secs(1));
        let second = apply_on_host(&endpoint, second_host, &prod);
        let (first, second) = (
            first.wait_with_output().unwrap(),
            second.wait_with_output().unwrap(),
        );
        let mut made = 0;
        for out in [&first, &second] {
            assert_eq!(status(out), 0, "{}", stderr(out));
            let report = json(out);
            assert_eq!(report["converged"], true);
            for item in report["items"].as_array().unwrap() {
                // No duplicate was made, so none had to be removed.
                assert_ne!(item["action"], "pruned", "{item}");
                made += usize::from(item["copy_started"] == true);
            }
        }
        assert_eq!(made, 3, "each source copied once between the two runs");
        assert_eq!(
            stderr(&second).contains("waiting: another `tccbs replicate apply`"),
            lock_shared,
            "{}",
            stderr(&second)
        );
        assert_eq!(replica_counts(&emulator, "ap-beijing"), [1, 1, 1]);
        // Start the next pair from nothing.
        for snapshot in emulator.snapshots("ap-beijing") {
            if cbs_dr::ReplicaName::parse(&snapshot.name).is_some() {
                assert!(emulator.remove_snapshot(&snapshot.id));
            }
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The drill disks the --local emulator's state holds in `region`.
fn drill_disks(state: &Path, region: &str) -> Vec<String> {
    let listed = tccbs(
        state,
        &["--region", region, "cbs", "DescribeDisks", "--Limit", "100"],
    );
    assert_eq!(status(&listed), 0, "{}", stderr(&listed));
    json(&listed)["DiskSet"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["DiskName"].as_str())
        .filter(|n| n.starts_with("tccbs-drill-"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_drill_stopped_by_sigint_or_sigterm_removes_its_disks_and_reports() {
    use std::io::{BufRead, BufReader, Read};
    let dir = scratch("operator-signals");
    let state = dir.join("state.json");
    let prod = policy(&dir, "prod", "disk_name = \"prod-*\"");
    let apply = tccbs(&state, &["replicate", "apply", "--policy", &prod]);
    assert_eq!(status(&apply), 0, "{}", stderr(&apply));
    for (signal, exit) in [("-INT", 130), ("-TERM", 143)] {
        // Disks made from replicas take a minute to become usable: the drill is
        // stopped while it waits for its first.
        let mut child = Command::new(env!("CARGO_BIN_EXE_tccbs"))
            .args(["--local", "--local-state"])
            .arg(&state)
            .args(["--local-restore-duration", "60s", "-vv"])
            .args([
                "--region",
                "ap-beijing",
                "replicate",
                "drill",
                "--policy",
                &prod,
            ])
            .env("HOME", "/nonexistent-home")
            .env_remove("TENCENTCLOUD_SECRET_ID")
            .env_remove("TENCENTCLOUD_SECRET_KEY")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut said = String::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            let made = line.contains("action=\"CreateDisks\"") && line.contains("call succeeded");
            said.push_str(&line);
            said.push('\n');
            if made {
                break;
            }
        }
        let sent = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        for line in lines {
            said.push_str(&line.unwrap());
            said.push('\n');
        }
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let ended = child.wait().unwrap();
        assert_eq!(ended.code(), Some(exit), "{signal}: {said}");
        assert!(said.contains("stopping (SIG"), "{said}");
        assert!(
            said.contains("interrupted: the drill stopped before restoring every disk; every disk it made was removed"),
            "{said}"
        );
        assert!(out.contains("DRILL"), "the report is printed: {out}");
        assert!(
            drill_disks(&state, "ap-beijing").is_empty(),
            "{signal}: nothing left"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
