//! Every action from the shell, tccli style and kebab-case, against the embedded
//! emulator.

use std::process::{Command, Output};

use serde_json::Value;

fn tccbs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tccbs"))
        .arg("--local")
        .args(args)
        .env("HOME", "/nonexistent-home")
        .env_remove("TENCENTCLOUD_SECRET_ID")
        .env_remove("TENCENTCLOUD_SECRET_KEY")
        .output()
        .expect("tccbs runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(output), stderr(output)))
}

#[test]
fn every_skeleton_round_trips_through_cli_input_json() {
    for action in tencentcloud_cbs::model::ACTIONS {
        let skeleton = tccbs(&["cbs", action.name, "--generate-cli-skeleton"]);
        assert_eq!(
            skeleton.status.code(),
            Some(0),
            "{}: {}",
            action.name,
            stderr(&skeleton)
        );
        let body = json(&skeleton);
        let request =
            tencentcloud_cbs::model::object_schema(&format!("{}Request", action.name)).unwrap();
        for member in request.members {
            assert!(
                body.get(member.name).is_some(),
                "{}: {} missing from the skeleton",
                action.name,
                member.name
            );
        }
        let text = body.to_string();
        let sent = tccbs(&["cbs", action.name, "--cli-input-json", &text]);
        // The emulator answers: a response (0) or an API error for the placeholder
        // values (1, with the service's code); never a refusal before sending (2).
        let code = sent.status.code();
        assert!(
            code == Some(0) || (code == Some(1) && stderr(&sent).contains("error:")),
            "{}: exit {code:?}\n{}\n{}",
            action.name,
            stdout(&sent),
            stderr(&sent)
        );
        if code == Some(0) {
            assert!(
                json(&sent)["RequestId"].is_string(),
                "{}: {}",
                action.name,
                stdout(&sent)
            );
        }
    }
}

#[test]
fn the_three_ways_to_give_members_send_the_same_request() {
    let lines: [&[&str]; 4] = [
        &[
            "cbs",
            "DescribeSnapshots",
            "--SnapshotIds",
            r#"["snap-demo0001","snap-demo0002"]"#,
            "--Limit",
            "5",
        ],
        &[
            "describe-snapshots",
            "--snapshot-ids",
            "snap-demo0001",
            "--snapshot-ids",
            "snap-demo0002",
            "--limit",
            "5",
        ],
        &[
            "cbs",
            "DescribeSnapshots",
            "--cli-unfold-argument",
            "--SnapshotIds",
            "snap-demo0001",
            "snap-demo0002",
            "--Limit",
            "5",
        ],
        &[
            "cbs",
            "DescribeSnapshots",
            "--cli-input-json",
            r#"{"SnapshotIds": ["snap-demo0001", "snap-demo0002"], "Limit": 5}"#,
        ],
    ];
    let mut answers = Vec::new();
    for line in lines {
        let out = tccbs(line);
        assert_eq!(out.status.code(), Some(0), "{line:?}: {}", stderr(&out));
        let mut answer = json(&out);
        answer.as_object_mut().unwrap().remove("RequestId");
        // Each run starts its own emulator: the times are its own.
        for snapshot in answer["SnapshotSet"].as_array_mut().unwrap() {
            let snapshot = snapshot.as_object_mut().unwrap();
            snapshot.remove("CreateTime");
            snapshot.remove("LatestModifyTime");
        }
        answers.push(answer);
    }
    assert_eq!(answers[0]["TotalCount"], 2);
    for answer in &answers[1..] {
        assert_eq!(answer, &answers[0]);
    }
}

#[test]
fn output_filter_and_text() {
    let filtered = tccbs(&[
        "cbs",
        "DescribeSnapshots",
        "--cli-unfold-argument",
        "--Filters.0.Name",
        "snapshot-name",
        "--Filters.0.Values",
        "web-data nightly",
        "db-data nightly",
        "--filter",
        "sort(SnapshotSet[].SnapshotId)",
    ]);
    assert_eq!(filtered.status.code(), Some(0), "{}", stderr(&filtered));
    assert_eq!(
        json(&filtered),
        serde_json::json!(["snap-demo0001", "snap-demo0002"])
    );

    let text = tccbs(&[
        "describe-snapshots",
        "--snapshot-ids",
        "snap-demo0001",
        "--output",
        "text",
    ]);
    let text = stdout(&text);
    let lines: Vec<&str> = text.lines().collect();
    // The top line: RequestId and TotalCount (keys sorted); then one line per snapshot.
    assert!(lines[0].ends_with("\t1"), "{text}");
    assert!(lines[1].starts_with("SNAPSHOTSET\t"), "{text}");
    assert!(lines[1].contains("\tsnap-demo0001\t"), "{text}");
    assert!(lines.iter().any(|l| l.starts_with("PLACEMENT\t")), "{text}");

    let table = tccbs(&[
        "cbs",
        "DescribeSnapshots",
        "--Limit",
        "1",
        "--output",
        "table",
    ]);
    assert!(
        stdout(&table).contains("DescribeSnapshots"),
        "{}",
        stdout(&table)
    );
}

#[test]
fn values_are_checked_before_anything_is_sent() {
    let cases: [(&[&str], &str); 12] = [
        (
            &["cbs", "DescribeSnapshots", "--Limit", "five"],
            "Limit: expected an unsigned integer",
        ),
        (
            &["cbs", "DescribeSnapshots", "--SnapshotIds", "snap-1"],
            "SnapshotIds: expected JSON",
        ),
        (
            &["cbs", "DescribeSnapshots", "--Nope", "1"],
            "--Nope is not a member of DescribeSnapshots",
        ),
        (
            &["cbs", "CopySnapshotCrossRegions", "--SnapshotId", "snap-1"],
            "DestinationRegions: required",
        ),
        (
            &[
                "cbs",
                "DescribeSnapshots",
                "--Filters",
                r#"[{"Name": "x", "Valus": []}]"#,
            ],
            "Filters.0.Valus: not a member of Filter",
        ),
        (
            &["cbs", "DescribeSnapshots", "--Filters.0.Name", "x"],
            "need --cli-unfold-argument",
        ),
        (
            &[
                "cbs",
                "DescribeSnapshots",
                "--cli-unfold-argument",
                "--Filters.1.Name",
                "x",
                "--Filters.1.Values",
                "y",
            ],
            "no .0",
        ),
        (&["cbs", "NoSuchAction"], "not a CBS action"),
        // Contradictions are refused by every command, also those that build no client.
        (
            &["--endpoint", "http://127.0.0.1:9", "actions"],
            "--endpoint does not apply with --local",
        ),
        (
            &["--endpoint", "http://127.0.0.1:9", "completions", "bash"],
            "--endpoint does not apply with --local",
        ),
        (
            &[
                "cbs",
                "DescribeSnapshots",
                "--endpoint",
                "http://127.0.0.1:9",
            ],
            "--endpoint does not apply with --local",
        ),
        (
            &["--use-cvm-role", "--profile", "dr", "man"],
            "--use-cvm-role does not apply with --local",
        ),
    ];
    for (line, message) in cases {
        let out = tccbs(line);
        assert_eq!(out.status.code(), Some(2), "{line:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{line:?}: {}", stderr(&out));
    }
}

#[test]
fn the_waiter_waits_on_read_only_actions_and_refuses_the_others() {
    let refused = tccbs(&[
        "cbs",
        "CopySnapshotCrossRegions",
        "--SnapshotId",
        "snap-demo0001",
        "--DestinationRegions",
        r#"["ap-beijing"]"#,
        "--waiter",
        r#"{"expr": "SnapshotCopyResultSet[0].Code", "to": "Success"}"#,
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("would run again"),
        "{}",
        stderr(&refused)
    );

    let reached = tccbs(&[
        "cbs",
        "DescribeSnapshots",
        "--SnapshotIds",
        r#"["snap-demo0001"]"#,
        "--waiter",
        r#"{"expr": "SnapshotSet[0].SnapshotState", "to": "NORMAL", "timeout": 30, "interval": 1}"#,
    ]);
    assert_eq!(reached.status.code(), Some(0), "{}", stderr(&reached));
    assert_eq!(json(&reached)["SnapshotSet"][0]["SnapshotState"], "NORMAL");

    let failed = tccbs(&[
        "cbs",
        "DescribeSnapshots",
        "--SnapshotIds",
        r#"["snap-demo0001"]"#,
        "--waiter",
        r#"{"expr": "SnapshotSet[0].SnapshotState", "to": "GONE", "failure": "NORMAL"}"#,
    ]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(
        stderr(&failed).contains("failure value"),
        "{}",
        stderr(&failed)
    );

    let timed_out = tccbs(&[
        "cbs",
        "DescribeSnapshots",
        "--waiter",
        r#"{"expr": "TotalCount", "to": 0, "timeout": 0.2, "interval": 0.1}"#,
    ]);
    assert_eq!(timed_out.status.code(), Some(1));
    assert!(
        stderr(&timed_out).contains("timed out"),
        "{}",
        stderr(&timed_out)
    );
}

#[test]
fn secrets_are_not_taken_on_the_command_line() {
    let out = tccbs(&["cbs", "DescribeSnapshots", "--secretKey", "abc"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("shell history"));
    assert!(!stderr(&out).contains("abc"));
}

#[test]
fn tccli_options_after_the_action() {
    // The API version tccli takes after the action: this one, or a clear refusal.
    let same = tccbs(&[
        "cbs",
        "DescribeSnapshots",
        "--Limit",
        "1",
        "--version",
        "2017-03-12",
    ]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    let other = tccbs(&["cbs", "DescribeSnapshots", "--version", "2020-01-01"]);
    assert_eq!(other.status.code(), Some(2));
    assert!(stderr(&other).contains("2017-03-12"), "{}", stderr(&other));

    let timed = tccbs(&["cbs", "DescribeDisks", "--timeout", "5", "--Limit", "1"]);
    assert_eq!(timed.status.code(), Some(0), "{}", stderr(&timed));
    for bad in ["0", "soon", "-3"] {
        let refused = tccbs(&["cbs", "DescribeDisks", "--timeout", bad]);
        assert_eq!(refused.status.code(), Some(2), "--timeout {bad}");
        assert!(
            stderr(&refused).contains("--timeout"),
            "{}",
            stderr(&refused)
        );
    }

    // What cannot go together is refused wherever it was written.
    for line in [
        &["cbs", "DescribeDisks", "--endpoint", "127.0.0.1:1"][..],
        &["cbs", "DescribeDisks", "--ca-bundle", "cert.pem"],
        &["--use-cvm-role", "cbs", "DescribeDisks"],
        &[
            "cbs",
            "DescribeDisks",
            "--role-arn",
            "qcs::cam::uin/1:roleName/x",
        ],
    ] {
        let refused = tccbs(line);
        assert_eq!(
            refused.status.code(),
            Some(2),
            "{line:?}: {}",
            stderr(&refused)
        );
        assert!(stderr(&refused).contains("--local"), "{}", stderr(&refused));
    }
    let lone = Command::new(env!("CARGO_BIN_EXE_tccbs"))
        .args([
            "cbs",
            "DescribeDisks",
            "--role-arn",
            "qcs::cam::uin/1:roleName/x",
        ])
        .args(["--endpoint", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(lone.status.code(), Some(2));
    assert!(
        stderr(&lone).contains("--role-session-name"),
        "{}",
        stderr(&lone)
    );
    let unreadable = Command::new(env!("CARGO_BIN_EXE_tccbs"))
        .args(["cbs", "DescribeDisks", "--ca-bundle", "/nonexistent/ca.pem"])
        .args(["--endpoint", "127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(unreadable.status.code(), Some(2));
    assert!(
        stderr(&unreadable).contains("/nonexistent/ca.pem"),
        "{}",
        stderr(&unreadable)
    );
}

#[test]
fn https_proxy_carries_the_request() {
    let (out, first) = first_tunnel(&[
        "cbs",
        "DescribeDisks",
        "--endpoint",
        "127.0.0.1:9",
        "--timeout",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(first.starts_with("CONNECT 127.0.0.1:9 "), "{first}");
    assert!(!stderr(&out).contains("proxy-test-key"));
}

#[test]
fn each_site_and_service_has_its_own_public_host() {
    for (args, host) in [
        (&["snapshot", "list"][..], "cbs.tencentcloudapi.com"),
        (
            &["call", "--service", "tag", "GetResources"],
            "tag.tencentcloudapi.com",
        ),
        (
            &["--site", "intl", "snapshot", "list"],
            "cbs.intl.tencentcloudapi.com",
        ),
        (
            &["--site", "intl", "call", "--service", "tag", "GetResources"],
            "tag.intl.tencentcloudapi.com",
        ),
    ] {
        let mut line = args.to_vec();
        line.extend(["--request-timeout", "5"]);
        let (out, first) = first_tunnel(&line);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            first.starts_with(&format!("CONNECT {host}:443 ")),
            "{args:?}: {first}"
        );
    }
}

/// Runs `tccbs args` through a proxy on 127.0.0.1 that refuses every tunnel; returns
/// the run and the head of the first tunnel asked for (so no request leaves the host).
fn first_tunnel(args: &[&str]) -> (std::process::Output, String) {
    use std::io::{Read, Write};
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = proxy.local_addr().unwrap();
    let (seen, heard) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in proxy.incoming().take(8) {
            let Ok(mut stream) = stream else { break };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && head.len() < 4096 {
                match stream.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let _ = stream.write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
            if seen
                .send(String::from_utf8_lossy(&head).into_owned())
                .is_err()
            {
                break;
            }
        }
    });
    let out = Command::new(env!("CARGO_BIN_EXE_tccbs"))
        .args(args)
        .args(["--https-proxy", &format!("http://{address}")])
        .env("TENCENTCLOUD_SECRET_ID", "AKIDproxytest")
        .env("TENCENTCLOUD_SECRET_KEY", "proxy-test-key")
        .env("TENCENTCLOUD_REGION", "ap-guangzhou")
        .env("HOME", "/nonexistent-home")
        .env_remove("TENCENTCLOUD_SITE")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .unwrap();
    let first = heard
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the proxy was asked");
    (out, first)
}
