//! The emulator's protocol checks, driven with hand-signed requests.

mod support;

use std::time::Duration;

use bytes::Bytes;
use cbs_emulator::{Emulator, EmulatorHandle};
use cbs_transport::Transport;
use serde_json::json;
use support::*;
use tc3_sign::Credentials;

fn builder() -> cbs_emulator::EmulatorBuilder {
    Emulator::builder()
        .credential(ID, KEY)
        .temporary_credential("AKIDtemp", "temp-key", "the-token", now() + 3600)
        .temporary_credential("AKIDexpired", "old-key", "old-token", now() - 10)
        .seed_demo(true)
        .rate_limit(0)
}

async fn emulator() -> EmulatorHandle {
    builder().start_in_process().expect("emulator starts")
}

/// One listening on 127.0.0.1, for what only a socket shows.
async fn tcp_emulator() -> EmulatorHandle {
    builder().start().await.unwrap()
}

#[tokio::test]
async fn seed_request_gets_a_seed_shaped_response() {
    let emulator = emulator().await;
    let response = Call::new(
        "CopySnapshotCrossRegions",
        r#"{"SnapshotId":"snap-demo0001","DestinationRegions":["ap-beijing"]}"#,
    )
    .region(None)
    .send(&emulator)
    .await;
    let results = response["SnapshotCopyResultSet"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["Code"], "Success");
    assert_eq!(results[0]["Message"], "");
    assert_eq!(results[0]["DestinationRegion"], "ap-beijing");
    let new_id = results[0]["SnapshotId"].as_str().unwrap();
    assert!(new_id.starts_with("snap-") && new_id.len() == 13);
    let copies = emulator.snapshots("ap-beijing");
    let copy = copies.iter().find(|s| s.id == new_id).unwrap();
    assert_eq!(copy.state, "COPYING_FROM_REMOTE");
    assert_eq!(copy.name, "Copied snap-demo0001 from ap-guangzhou");
    assert_eq!(copy.copied_from.as_deref(), Some("snap-demo0001"));
}

#[tokio::test]
async fn envelope_errors() {
    let emulator = emulator().await;
    let cases: Vec<(Call, &str)> = vec![
        (Call::new("NoSuchAction", "{}"), "InvalidAction"),
        (
            Call::new(
                "AttachDisks",
                r#"{"DiskIds":["disk-1"],"InstanceId":"ins-1"}"#,
            ),
            "InvalidInstanceId.NotFound",
        ),
        (
            Call::new("DescribeSnapshots", "{not json"),
            "InvalidParameter",
        ),
        (Call::new("DescribeSnapshots", "[1,2]"), "InvalidParameter"),
        (
            Call::new("DescribeSnapshots", r#"{"Limit":"ten"}"#),
            "InvalidParameter",
        ),
        (
            Call::new("DescribeSnapshots", r#"{"Limit":500}"#),
            "InvalidParameterValue",
        ),
        (Call::new("DeleteSnapshots", "{}"), "MissingParameter"),
        (
            Call::new(
                "CopySnapshotCrossRegions",
                r#"{"DestinationRegions":["ap-beijing"]}"#,
            ),
            "MissingParameter",
        ),
        (
            Call::new(
                "CopySnapshotCrossRegions",
                r#"{"SnapshotId":"snap-demo0001","DestinationRegions":[]}"#,
            ),
            "InvalidParameterValue",
        ),
        (
            Call::new(
                "CopySnapshotCrossRegions",
                r#"{"SnapshotId":"snap-nothere","DestinationRegions":["ap-beijing"]}"#,
            ),
            "InvalidSnapshotId.NotFound",
        ),
        (
            Call::new("DescribeSnapshots", "{}").region(None),
            "MissingParameter",
        ),
        (
            Call::new("DescribeSnapshots", "{}").region(Some("mars-1")),
            "UnsupportedRegion",
        ),
        (
            Call::new(
                "DescribeSnapshots",
                r#"{"Filters":[{"Name":"colour","Values":["red"]}]}"#,
            ),
            "InvalidFilter",
        ),
        (
            Call {
                version: "2020-01-01".into(),
                ..Call::new("DescribeSnapshots", "{}")
            },
            "NoSuchVersion",
        ),
        (
            Call {
                credentials: Credentials::new(ID, "wrong-key"),
                ..Call::new("DescribeSnapshots", "{}")
            },
            "AuthFailure.SignatureFailure",
        ),
        (
            Call {
                credentials: Credentials::new("AKIDnobody", KEY),
                ..Call::new("DescribeSnapshots", "{}")
            },
            "AuthFailure.SecretIdNotFound",
        ),
        (
            Call {
                timestamp: now() - 600,
                ..Call::new("DescribeSnapshots", "{}")
            },
            "AuthFailure.SignatureExpire",
        ),
        (
            Call {
                timestamp: now() + 600,
                ..Call::new("DescribeSnapshots", "{}")
            },
            "AuthFailure.SignatureExpire",
        ),
        (
            Call {
                credentials: Credentials::new("AKIDtemp", "temp-key").with_token("the-token"),
                send_token: false,
                ..Call::new("DescribeSnapshots", "{}")
            },
            "AuthFailure.TokenFailure",
        ),
        (
            Call {
                credentials: Credentials::new("AKIDtemp", "temp-key").with_token("forged"),
                ..Call::new("DescribeSnapshots", "{}")
            },
            "AuthFailure.TokenFailure",
        ),
        (
            Call {
                credentials: Credentials::new("AKIDexpired", "old-key").with_token("old-token"),
                ..Call::new("DescribeSnapshots", "{}")
            },
            "AuthFailure.TokenFailure",
        ),
    ];
    for (call, expected) in cases {
        let response = call.send(&emulator).await;
        assert_eq!(
            code(&response),
            Some(expected),
            "{} {:?}: {response}",
            call.action,
            String::from_utf8_lossy(&call.body)
        );
        assert!(
            response["Error"]["Message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let temp = Call {
        credentials: Credentials::new("AKIDtemp", "temp-key").with_token("the-token"),
        ..Call::new("DescribeSnapshots", "{}")
    };
    assert_eq!(
        code(&temp.send(&emulator).await),
        None,
        "valid temporary credentials work"
    );
}

#[tokio::test]
async fn requests_without_or_with_broken_authorization() {
    let emulator = emulator().await;
    let mut request = Call::new("DescribeSnapshots", "{}").request(&emulator);
    request.headers_mut().remove("authorization");
    let response = emulator.transport().send(request).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(
        json["Response"]["Error"]["Code"],
        "AuthFailure.InvalidAuthorization"
    );

    let mut request = Call::new("DescribeSnapshots", "{}").request(&emulator);
    request
        .headers_mut()
        .insert("authorization", "TC3-HMAC-SHA256 garbage".parse().unwrap());
    let response = emulator.transport().send(request).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(
        json["Response"]["Error"]["Code"],
        "AuthFailure.InvalidAuthorization"
    );
}

#[tokio::test]
async fn any_declared_signed_headers_are_verified() {
    let emulator = emulator().await;
    let mut call = Call::new("DescribeSnapshots", "{}");
    call.extra_signed = vec![
        ("X-TC-Action".into(), "DescribeSnapshots".into()),
        ("X-TC-Region".into(), "ap-guangzhou".into()),
    ];
    assert_eq!(code(&call.send(&emulator).await), None);
    // Signed as one action, sent as another: the signature no longer matches.
    let mut forged = call.clone();
    forged.action = "DeleteSnapshots".into();
    forged.extra_signed[0].1 = "DescribeSnapshots".into();
    let mut request = forged.request(&emulator);
    request
        .headers_mut()
        .insert("x-tc-action", "DeleteSnapshots".parse().unwrap());
    let response = emulator.transport().send(request).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(
        json["Response"]["Error"]["Code"],
        "AuthFailure.SignatureFailure"
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let emulator = emulator().await;
    let big = format!(
        r#"{{"SnapshotIds":["{}"]}}"#,
        "x".repeat(cbs_emulator::MAX_REQUEST_BYTES)
    );
    let response = Call::new("DescribeSnapshots", &big).send(&emulator).await;
    assert_eq!(code(&response), Some("RequestSizeLimitExceeded"));
}

#[tokio::test]
async fn get_form_requests_work() {
    let emulator = tcp_emulator().await;
    let host = emulator.host();
    let query = "Limit=1&Filters.0.Name=snapshot-id&Filters.0.Values.0=snap-demo0001";
    let signable = tc3_sign::SignableRequest::get_form(&host, query);
    let credentials = Credentials::new(ID, KEY);
    let signed = tc3_sign::sign(&signable, &credentials, "cbs", now()).unwrap();
    let mut builder = http::Request::get(format!("{}/?{query}", emulator.endpoint()))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("host", &host)
        .header("x-tc-action", "DescribeSnapshots")
        .header("x-tc-version", "2017-03-12")
        .header("x-tc-region", "ap-guangzhou");
    for (name, value) in signed.headers() {
        builder = builder.header(name, value);
    }
    let response = transport()
        .send(builder.body(Bytes::new()).unwrap())
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(json["Response"]["TotalCount"], 1, "{json}");
    assert_eq!(
        json["Response"]["SnapshotSet"][0]["SnapshotId"],
        "snap-demo0001"
    );
}

#[tokio::test(start_paused = true)]
async fn the_rate_limit_answers_request_limit_exceeded() {
    let emulator = Emulator::builder()
        .credential(ID, KEY)
        .seed_demo(true)
        .rate_limit(2)
        .start_in_process()
        .expect("emulator starts");
    let mut limited = 0;
    for _ in 0..10 {
        let response = Call::new("DescribeSnapshots", "{}").send(&emulator).await;
        if code(&response) == Some("RequestLimitExceeded") {
            limited += 1;
        }
    }
    assert_eq!(limited, 8, "two a second, and no time passed");
    tokio::time::advance(Duration::from_millis(500)).await;
    let response = Call::new("DescribeSnapshots", "{}").send(&emulator).await;
    assert_eq!(code(&response), None, "half a second refills one");
    // Another action has its own budget.
    let response = Call::new("DescribeSnapshotOverview", "{}")
        .send(&emulator)
        .await;
    assert_eq!(code(&response), None);
}

#[tokio::test]
async fn the_binary_prints_its_address_and_serves() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cbs-emulator"))
        .args([
            "--seed-demo",
            "--credential",
            &format!("{ID}:{KEY}"),
            "--copy-duration",
            "1",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let endpoint = line
        .trim()
        .strip_prefix("listening on ")
        .expect("address line")
        .to_owned();
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    let host = endpoint.trim_start_matches("http://").to_owned();
    let body = br#"{"SnapshotIds":["snap-demo0001"]}"#;
    let credentials = Credentials::new(ID, KEY);
    let signed = tc3_sign::sign(
        &tc3_sign::SignableRequest::post_json(&host, body),
        &credentials,
        "cbs",
        now(),
    )
    .unwrap();
    let mut builder = http::Request::post(format!("{endpoint}/"))
        .header("content-type", "application/json")
        .header("x-tc-action", "DescribeSnapshots")
        .header("x-tc-version", "2017-03-12")
        .header("x-tc-region", "ap-guangzhou");
    for (name, value) in signed.headers() {
        builder = builder.header(name, value);
    }
    let response = transport()
        .send(builder.body(Bytes::from_static(body)).unwrap())
        .await;
    let _ = child.kill();
    let _ = child.wait();
    let json: serde_json::Value = serde_json::from_slice(response.unwrap().body()).unwrap();
    assert_eq!(json["Response"]["TotalCount"], 1);

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_cbs-emulator"))
        .args(["--credential", "nocolon"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("ID:KEY"));
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let emulator = tcp_emulator().await;
    let endpoint = emulator.endpoint();
    assert_eq!(
        code(&Call::new("DescribeSnapshots", "{}").send(&emulator).await),
        None
    );
    emulator.shutdown().await;
    let request = http::Request::post(format!("{endpoint}/"))
        .body(Bytes::new())
        .unwrap();
    let err = tokio::time::timeout(Duration::from_secs(10), transport().send(request))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), cbs_transport::TransportErrorKind::Connect);
    let _ = json!({});
}
