//! The built `tccbs` binary, run as a user would, against its embedded emulator.

use std::process::{Command, Output};

/// A port on 127.0.0.1 nobody listens on: the CVM-role provider of the default chain is
/// pointed there, so no test ever sends anything to the real metadata address.
fn closed_local_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

fn tccbs_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tccbs"));
    command.args(args);
    for name in [
        "TENCENTCLOUD_SECRET_ID",
        "TENCENTCLOUD_SECRET_KEY",
        "TENCENTCLOUD_TOKEN",
        "TENCENTCLOUD_REGION",
        "TENCENTCLOUD_PROFILE",
        "TKE_ROLE_ARN",
    ] {
        command.env_remove(name);
    }
    command
        .env("TENCENTCLOUD_METADATA_ENDPOINT", closed_local_port())
        .env(
            "TENCENTCLOUD_CREDENTIALS_FILE",
            "/nonexistent/tccbs-test-credentials",
        )
        .env("HOME", "/nonexistent-home");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("tccbs runs")
}

fn tccbs(args: &[&str]) -> Output {
    tccbs_with(args, &[])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn no_panic(output: &Output) {
    let stderr = text(&output.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
}

#[test]
fn copy_with_wait_succeeds_in_every_region() {
    let out = tccbs(&[
        "--local",
        "--local-copy-duration",
        "1s",
        "snapshot",
        "copy",
        "snap-demo0001",
        "--to",
        "ap-beijing",
        "--to",
        "ap-shanghai",
        "--wait",
    ]);
    no_panic(&out);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    // Progress lines (stdout is not a terminal here), then the summary.
    assert!(stdout.contains("COPYING_FROM_REMOTE"), "{stdout}");
    let summary: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("REGION"))
        .collect();
    assert_eq!(summary.len(), 3, "{stdout}");
    assert!(summary[1].starts_with("ap-beijing") && summary[1].ends_with("NORMAL"));
    assert!(summary[2].starts_with("ap-shanghai") && summary[2].ends_with("NORMAL"));
}

#[test]
fn partial_failure_has_its_own_exit_code_and_names_the_region() {
    let out = tccbs(&[
        "--local",
        "--local-copy-duration",
        "1s",
        "snapshot",
        "copy",
        "snap-demo0001",
        "--to",
        "ap-beijing",
        "--to",
        "xx-nowhere-1",
        "--wait",
    ]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(3));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("xx-nowhere-1") && stdout.contains("InvalidParameterValue"),
        "{stdout}"
    );
    assert!(text(&out.stderr).contains("failed: xx-nowhere-1"));

    let all_failed = tccbs(&[
        "--local",
        "snapshot",
        "copy",
        "snap-demo0001",
        "--to",
        "xx-nowhere-1",
    ]);
    assert_eq!(all_failed.status.code(), Some(1));
}

#[test]
fn copy_json_output() {
    let out = tccbs(&[
        "--local",
        "--output",
        "json",
        "snapshot",
        "copy",
        "snap-demo0001",
        "--to",
        "ap-beijing",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(value["regions"][0]["status"], "started");
    assert!(
        value["regions"][0]["snapshot_id"]
            .as_str()
            .unwrap()
            .starts_with("snap-")
    );
}

#[test]
fn list_and_wait() {
    let out = tccbs(&["--local", "snapshot", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("SNAPSHOT"));
    assert!(stdout.contains("snap-demo0001") && stdout.contains("snap-demo0002"));

    let out = tccbs(&[
        "--local",
        "--output",
        "json",
        "snapshot",
        "list",
        "--region",
        "ap-shanghai",
        "--state",
        "NORMAL",
    ]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(value.as_array().unwrap().len(), 1);
    assert_eq!(value[0]["SnapshotId"], "snap-demo0003");

    let out = tccbs(&["--local", "snapshot", "list", "--disk", "disk-none"]);
    assert_eq!(text(&out.stdout).lines().count(), 1, "header only");

    let out = tccbs(&[
        "--local",
        "snapshot",
        "wait",
        "snap-demo0001",
        "--timeout",
        "30s",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("NORMAL"));

    let out = tccbs(&[
        "--local",
        "snapshot",
        "wait",
        "snap-missing0",
        "--timeout",
        "30s",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no longer found"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn call_round_trips_json() {
    let out = tccbs(&[
        "--local",
        "call",
        "DescribeSnapshots",
        "--json",
        r#"{"SnapshotIds":["snap-demo0001"]}"#,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["TotalCount"], 1);
    assert_eq!(value["SnapshotSet"][0]["SnapshotId"], "snap-demo0001");
    assert!(value["RequestId"].is_string());

    let file = std::env::temp_dir().join(format!("tccbs-test-{}.json", std::process::id()));
    std::fs::write(
        &file,
        r#"{"SnapshotId":"snap-demo0001","DestinationRegions":["ap-chengdu"]}"#,
    )
    .unwrap();
    let out = tccbs(&[
        "--local",
        "call",
        "CopySnapshotCrossRegions",
        "--json-file",
        file.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&file);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["SnapshotCopyResultSet"][0]["Code"], "Success");

    let out = tccbs(&["--local", "call", "DescribeSnapshotOverview"]);
    assert_eq!(out.status.code(), Some(0));

    // API errors: code, message and request id on one line.
    let out = tccbs(&[
        "--local",
        "call",
        "DeleteSnapshots",
        "--json",
        r#"{"SnapshotIds":["snap-nope0000"]}"#,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let line = stderr.lines().find(|l| l.starts_with("error:")).unwrap();
    assert!(
        line.contains("InvalidSnapshotId.NotFound") && line.contains("request id"),
        "{stderr}"
    );
}

#[test]
fn actions_lists_all_61_with_their_sites() {
    let out = tccbs(&["actions"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 62);
    let remote = stdout
        .lines()
        .find(|l| l.starts_with("CreateRemoteDisks "))
        .unwrap();
    assert!(remote.contains("china"), "{remote}");
    let out = tccbs(&["actions", "--output", "json"]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let actions = value.as_array().unwrap();
    assert_eq!(actions.len(), 61);
    let copy = actions
        .iter()
        .find(|a| a["name"] == "CopySnapshotCrossRegions")
        .unwrap();
    assert_eq!(copy["sites"], "both");
    assert_eq!(copy["safety"], "mutating");
}

#[test]
fn a_region_the_answer_leaves_out_counts_as_failed() {
    // The service answers for ap-beijing only, though ap-shanghai was asked for too.
    let faults = std::env::temp_dir().join(format!("tccbs-faults-{}.json", std::process::id()));
    std::fs::write(
        &faults,
        r#"[{"action": "CopySnapshotCrossRegions", "kind": "answer", "body": {"Response": {"SnapshotCopyResultSet": [{"DestinationRegion": "ap-beijing", "Code": "Success", "Message": "", "SnapshotId": "snap-demo0004"}], "RequestId": "r"}}}]"#,
    )
    .unwrap();
    let path = faults.to_str().unwrap();
    for wait in [false, true] {
        let mut args = vec![
            "--local",
            "--local-faults",
            path,
            "snapshot",
            "copy",
            "snap-demo0001",
            "--to",
            "ap-beijing",
            "--to",
            "ap-shanghai",
        ];
        if wait {
            args.push("--wait");
        }
        let out = tccbs(&args);
        no_panic(&out);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(3), "wait {wait}: {stdout}");
        let shanghai = stdout
            .lines()
            .find(|l| l.starts_with("ap-shanghai"))
            .unwrap();
        assert!(shanghai.contains("not in the answer"), "{shanghai}");
    }
    let _ = std::fs::remove_file(&faults);
}

#[test]
fn bad_input_gets_a_clear_message_and_non_zero_status() {
    let cases: &[(&[&str], i32, &str)] = &[
        (&["snapshot", "copy", "snap-1"], 2, "--to"),
        (
            &[
                "snapshot",
                "copy",
                "snap-1",
                "--to",
                "ap-beijing",
                "--timeout",
                "soon",
            ],
            2,
            "not a duration",
        ),
        (&["--output", "yaml", "actions"], 2, "yaml"),
        (&["frobnicate"], 2, "frobnicate"),
        (&["--local", "call", "NoSuchAction"], 2, "not a CBS action"),
        (
            &[
                "--local",
                "call",
                "DescribeSnapshots",
                "--json",
                "{not json",
            ],
            2,
            "not valid JSON",
        ),
        (
            &["--local", "call", "DescribeSnapshots", "--json", "[1]"],
            2,
            "JSON object",
        ),
        (
            &[
                "--local",
                "call",
                "DescribeSnapshots",
                "--json-file",
                "/nonexistent/x.json",
            ],
            1,
            "cannot read",
        ),
        (
            &["--endpoint", "ftp://example", "snapshot", "list"],
            2,
            "scheme",
        ),
    ];
    for (args, code, needle) in cases {
        let out = tccbs(args);
        no_panic(&out);
        assert_eq!(
            out.status.code(),
            Some(*code),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn missing_credentials_explain_where_they_were_looked_for() {
    // No --local and no credentials anywhere: fails before anything is sent.
    let out = tccbs_with(
        &["--region", "ap-guangzhou", "snapshot", "list"],
        &[("TENCENTCLOUD_CREDENTIALS_FILE", "")],
    );
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let line = stderr.lines().find(|l| l.starts_with("error:")).unwrap();
    for source in [
        "environment",
        "profile",
        "cvm-role",
        "tke-oidc",
        "TENCENTCLOUD_SECRET_ID",
    ] {
        assert!(line.contains(source), "{source} missing from: {stderr}");
    }
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("hint:") && l.contains("--local")),
        "{stderr}"
    );

    let out = tccbs(&["snapshot", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--region"));
}

#[test]
fn profiles_from_a_credentials_file() {
    // A named profile that the file lacks is an error naming the file.
    let file = std::env::temp_dir().join(format!("tccbs-profile-{}.ini", std::process::id()));
    std::fs::write(
        &file,
        "[default]\nsecret_id = AKIDfile\nsecret_key = file-key\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let out = tccbs_with(
        &[
            "--region",
            "ap-guangzhou",
            "--profile",
            "dr",
            "snapshot",
            "list",
        ],
        &[("TENCENTCLOUD_CREDENTIALS_FILE", path)],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("has no [dr] profile"),
        "{}",
        text(&out.stderr)
    );

    // A malformed file names the line.
    std::fs::write(&file, "[default]\nsecret_id AKIDfile\n").unwrap();
    let out = tccbs_with(
        &["--region", "ap-guangzhou", "snapshot", "list"],
        &[("TENCENTCLOUD_CREDENTIALS_FILE", path)],
    );
    let _ = std::fs::remove_file(&file);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&format!("{path}:2:")),
        "{}",
        text(&out.stderr)
    );
}
