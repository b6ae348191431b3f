//! The client core end to end against the emulator: wire format, errors, retry rules,
//! clock skew, rate limits, secrets.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use cbs_e2e::*;
use cbs_emulator::{Fault, FaultKind};
use cbs_transport::test_util::MockTransport;
use tencentcloud_cbs::model::{DescribeSnapshotsRequest, SnapshotState};
use tencentcloud_cbs::{
    Client, Clock, Credentials, Error, ErrorCode, Language, OffsetClock, RateLimitConfig,
    RetryConfig, TransportErrorKind,
};

const EMPTY_PAGE: &str = r#"{"Response":{"TotalCount":0,"SnapshotSet":[],"RequestId":"r"}}"#;
const SEED_RESPONSE: &str = r#"{"Response":{"SnapshotCopyResultSet":[{"SnapshotId":"snap-d012rm6t","DestinationRegion":"ap-beijing","Code":"Success","Message":""}],"RequestId":"98f0b5f0-7d84-4d11-9819-ee7804e524a4"}}"#;

fn mock_client(mock: MockTransport) -> (Client, Arc<MockTransport>) {
    let mock = Arc::new(mock);
    let client = Client::builder()
        .region("ap-guangzhou")
        .credentials(Credentials::new("AKIDmock", "mock-key").with_token("mock-token", None))
        .transport(mock.clone())
        .language(Language::EnUs)
        .request_client("e2e")
        .retry_config(
            RetryConfig::standard()
                .with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    (client, mock)
}

#[tokio::test]
async fn seed_request_and_response() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let output = client
        .copy_snapshot_cross_regions()
        .snapshot_id("snap-demo0001")
        .destination_regions(["ap-beijing"])
        .send()
        .await
        .unwrap();
    let result = &output.snapshot_copy_result_set()[0];
    assert_eq!(result.code.as_deref(), Some("Success"));
    assert_eq!(result.destination_region.as_deref(), Some("ap-beijing"));
    assert_eq!(output.request_id.len(), 36);
    let copies = emulator.snapshots("ap-beijing");
    assert!(
        copies
            .iter()
            .any(|s| Some(&s.id) == result.snapshot_id.as_ref())
    );
}

#[tokio::test]
async fn wire_format() {
    let (client, mock) = mock_client(MockTransport::new());
    mock.push_response(200, SEED_RESPONSE);
    client
        .copy_snapshot_cross_regions()
        .snapshot_id("snap-ckgjwkqh")
        .destination_regions(["ap-beijing"])
        .trace_id("trace-from-caller")
        .send()
        .await
        .unwrap();
    let request = &mock.requests()[0];
    assert_eq!(request.method(), "POST");
    assert_eq!(
        request.uri().to_string(),
        "https://cbs.tencentcloudapi.com/"
    );
    assert_eq!(
        request.body().as_ref(),
        br#"{"DestinationRegions":["ap-beijing"],"SnapshotId":"snap-ckgjwkqh"}"#
    );
    let h = request.headers();
    assert_eq!(h["host"], "cbs.tencentcloudapi.com");
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["x-tc-action"], "CopySnapshotCrossRegions");
    assert_eq!(h["x-tc-version"], "2017-03-12");
    assert_eq!(h["x-tc-region"], "ap-guangzhou");
    assert_eq!(h["x-tc-language"], "en-US");
    assert_eq!(h["x-tc-token"], "mock-token");
    assert_eq!(h["x-tc-traceid"], "trace-from-caller");
    assert!(
        h["x-tc-requestclient"]
            .to_str()
            .unwrap()
            .starts_with("tencentcloud-cbs-rs/")
    );
    assert!(h["x-tc-requestclient"].to_str().unwrap().ends_with(" e2e"));
    let timestamp: u64 = h["x-tc-timestamp"].to_str().unwrap().parse().unwrap();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(timestamp) < 5);
    let authorization = h["authorization"].to_str().unwrap();
    assert!(authorization.starts_with("TC3-HMAC-SHA256 Credential=AKIDmock/"));
    assert!(
        authorization.contains("/cbs/tc3_request, SignedHeaders=content-type;host, Signature=")
    );
    let mut names: Vec<&str> = h.keys().map(|n| n.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "authorization",
            "content-type",
            "host",
            "x-tc-action",
            "x-tc-language",
            "x-tc-region",
            "x-tc-requestclient",
            "x-tc-timestamp",
            "x-tc-token",
            "x-tc-traceid",
            "x-tc-version"
        ]
    );
    assert_eq!(h.len(), names.len(), "one value per header");

    // A generated trace id when the caller gives none, different per call.
    mock.push_response(200, SEED_RESPONSE)
        .push_response(200, SEED_RESPONSE);
    for _ in 0..2 {
        client
            .copy_snapshot_cross_regions()
            .snapshot_id("snap-1")
            .destination_regions(["ap-beijing"])
            .send()
            .await
            .unwrap();
    }
    let requests = mock.requests();
    let (a, b) = (
        &requests[1].headers()["x-tc-traceid"],
        &requests[2].headers()["x-tc-traceid"],
    );
    assert_eq!(a.len(), 36);
    assert_ne!(a, b);
}

#[tokio::test]
async fn regional_and_custom_hosts() {
    let mock = Arc::new(MockTransport::new());
    mock.push_response(200, EMPTY_PAGE)
        .push_response(200, EMPTY_PAGE);
    let regional = Client::builder()
        .region("ap-shanghai")
        .credentials(Credentials::new("a", "b"))
        .regional_endpoint(true)
        .transport(mock.clone())
        .build()
        .unwrap();
    regional.describe_snapshots().send().await.unwrap();
    let internal = Client::builder()
        .credentials(Credentials::new("a", "b"))
        .root_domain("internal.tencentcloudapi.com")
        .transport(mock.clone())
        .build()
        .unwrap();
    internal
        .describe_snapshots()
        .region("ap-beijing")
        .send()
        .await
        .unwrap();
    let requests = mock.requests();
    assert_eq!(
        requests[0].headers()["host"],
        "cbs.ap-shanghai.tencentcloudapi.com"
    );
    assert_eq!(
        requests[1].headers()["host"],
        "cbs.internal.tencentcloudapi.com"
    );
    assert_eq!(requests[1].headers()["x-tc-region"], "ap-beijing");
}

#[tokio::test]
async fn a_call_without_region_token_or_language_sends_none_of_them() {
    let mock = Arc::new(MockTransport::new());
    mock.push_response(200, EMPTY_PAGE);
    let client = Client::builder()
        .credentials(Credentials::new("a", "b"))
        .transport(mock.clone())
        .build()
        .unwrap();
    client.describe_snapshots().send().await.unwrap();
    let requests = mock.requests();
    let h = requests[0].headers();
    for absent in ["x-tc-region", "x-tc-token", "x-tc-language"] {
        assert!(!h.contains_key(absent), "{absent}");
    }
    assert_eq!(h.len(), 8);
    assert!(h.values().all(|v| !v.is_empty()), "{h:?}");
}

#[tokio::test]
async fn invalid_input_is_caught_before_sending() {
    let (client, mock) = mock_client(MockTransport::new());
    let err = client
        .copy_snapshot_cross_regions()
        .destination_regions(["ap-beijing"])
        .send()
        .await
        .unwrap_err();
    match &err {
        Error::InvalidInput(e) => assert_eq!(e.member.as_deref(), Some("SnapshotId")),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("SnapshotId"));
    let err = client
        .copy_snapshot_cross_regions()
        .snapshot_id("snap-1")
        .destination_regions(Vec::<String>::new())
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(e) if e.member.as_deref() == Some("DestinationRegions")),
        "{err:?}"
    );
    assert!(mock.requests().is_empty(), "nothing may be sent");
}

#[tokio::test]
async fn api_errors_with_charset_content_types_are_errors() {
    let (client, mock) = mock_client(MockTransport::new());
    let body = r#"{"Response":{"Error":{"Code":"InvalidSnapshotId.NotFound","Message":"not found"},"RequestId":"req-42"}}"#;
    mock.push_http_response(
        http::Response::builder()
            .status(200)
            .header("content-type", "application/json; charset=utf-8")
            .body(bytes::Bytes::from(body))
            .unwrap(),
    );
    let err = client
        .copy_snapshot_cross_regions()
        .snapshot_id("snap-x")
        .destination_regions(["ap-beijing"])
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InvalidSnapshotIdNotFound));
    assert_eq!(err.request_id(), Some("req-42"));
    assert!(err.to_string().contains("(request id req-42)"));
}

#[tokio::test]
async fn bad_gateway_pages_are_decode_errors_and_retried_only_when_read_only() {
    let emulator = emulator().await;
    let client = client(&emulator);
    emulator.inject(
        Fault::new(FaultKind::BadGateway)
            .action("CopySnapshotCrossRegions")
            .times(1),
    );
    let err = client
        .copy_snapshot_cross_regions()
        .snapshot_id("snap-demo0001")
        .destination_regions(["ap-beijing"])
        .send()
        .await
        .unwrap_err();
    match &err {
        Error::Decode(d) => {
            assert_eq!(d.status, 502);
            assert!(d.excerpt.contains("502 Bad Gateway"));
            assert_eq!(d.context.attempts, 1);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.may_have_executed());

    emulator.inject(
        Fault::new(FaultKind::BadGateway)
            .action("DescribeSnapshots")
            .times(2),
    );
    let page = client.describe_snapshots().send().await.unwrap();
    assert_eq!(page.total_count, Some(2));
}

#[tokio::test]
async fn throttling_is_retried_for_every_action() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let throttle = || {
        Fault::new(FaultKind::Error {
            code: "RequestLimitExceeded".into(),
            message: String::new(),
        })
    };
    emulator.inject(throttle().action("CopySnapshotCrossRegions").times(2));
    let output = client
        .copy_snapshot_cross_regions()
        .snapshot_id("snap-demo0001")
        .destination_regions(["ap-beijing"])
        .send()
        .await
        .unwrap();
    assert_eq!(
        output.snapshot_copy_result_set()[0].code.as_deref(),
        Some("Success")
    );
    assert_eq!(
        emulator.snapshots("ap-beijing").len(),
        2,
        "one demo snapshot and exactly one copy"
    );

    // Three throttles exhaust three attempts.
    emulator.inject(throttle().action("DescribeSnapshots").times(3));
    let err = client.describe_snapshots().send().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::RequestLimitExceeded));
    assert!(err.to_string().contains("after 3 attempts"), "{err}");
}

#[tokio::test]
async fn a_mutating_call_dropped_after_it_ran_is_not_sent_again() {
    let emulator = emulator().await;
    let client = client(&emulator);
    emulator.inject(
        Fault::new(FaultKind::DropAfterRead)
            .action("CopySnapshotCrossRegions")
            .times(1),
    );
    let err = client
        .copy_snapshot_cross_regions()
        .snapshot_id("snap-demo0001")
        .destination_regions(["ap-chengdu"])
        .send()
        .await
        .unwrap_err();
    match &err {
        Error::Transport(t) => {
            assert!(t.may_have_been_sent());
            assert_eq!(t.context.attempts, 1);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.may_have_executed() && !err.is_retryable());
    assert!(err.to_string().contains("may have been executed"), "{err}");
    assert_eq!(
        emulator.snapshots("ap-chengdu").len(),
        1,
        "exactly one copy"
    );

    // The same fault on a read-only call is retried and succeeds.
    emulator.inject(
        Fault::new(FaultKind::DropAfterRead)
            .action("DescribeSnapshots")
            .times(1),
    );
    let page = client.describe_snapshots().send().await.unwrap();
    assert_eq!(page.total_count, Some(2));
}

#[tokio::test]
async fn transient_errors_are_retried_only_for_read_only_actions() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let internal = || {
        Fault::new(FaultKind::Error {
            code: "InternalError".into(),
            message: String::new(),
        })
    };
    emulator.inject(internal().action("CopySnapshotCrossRegions").times(1));
    let err = client
        .copy_snapshot_cross_regions()
        .snapshot_id("snap-demo0001")
        .destination_regions(["ap-beijing"])
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InternalError));
    assert_eq!(err.as_api().unwrap().context.attempts, 1);
    emulator.inject(internal().action("DescribeSnapshots").times(2));
    assert!(client.describe_snapshots().send().await.is_ok());
}

#[tokio::test]
async fn connection_failures_are_retried_even_for_mutating_calls() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = Client::builder()
        .endpoint(endpoint)
        .credentials(Credentials::new("a", "b"))
        .retry_config(
            RetryConfig::standard()
                .with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    let err = client
        .copy_snapshot_cross_regions()
        .snapshot_id("snap-1")
        .destination_regions(["ap-beijing"])
        .send()
        .await
        .unwrap_err();
    match &err {
        Error::Transport(t) => {
            assert_eq!(t.source.kind(), TransportErrorKind::Connect);
            assert_eq!(t.context.attempts, 3);
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.may_have_executed());
}

#[tokio::test]
async fn a_clock_ten_minutes_off_recovers() {
    let emulator = emulator().await;
    for offset in [-600, 600] {
        let client = client_builder(&emulator)
            .clock(OffsetClock {
                offset_secs: offset,
            })
            .retry_config(RetryConfig::disabled())
            .build()
            .unwrap();
        let page = client.describe_snapshots().send().await.unwrap();
        assert_eq!(page.total_count, Some(2));
        assert!(
            (client.clock_offset_secs() + offset).abs() <= 2,
            "learned {}",
            client.clock_offset_secs()
        );
        // Later calls use the learned offset straight away.
        client.describe_snapshots().send().await.unwrap();
    }
}

#[tokio::test]
async fn every_attempt_is_signed_afresh() {
    #[derive(Debug)]
    struct Ticking(AtomicU64);
    impl Clock for Ticking {
        fn now(&self) -> SystemTime {
            SystemTime::UNIX_EPOCH
                + Duration::from_secs(1_700_000_000 + self.0.fetch_add(7, Ordering::SeqCst))
        }
    }
    let mock = Arc::new(MockTransport::new());
    mock.push_error(TransportErrorKind::Connect);
    mock.push_response(200, SEED_RESPONSE);
    let client = Client::builder()
        .credentials(Credentials::new("a", "b"))
        .clock(Ticking(AtomicU64::new(0)))
        .transport(mock.clone())
        .retry_config(
            RetryConfig::standard()
                .with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .build()
        .unwrap();
    client
        .copy_snapshot_cross_regions()
        .snapshot_id("snap-1")
        .destination_regions(["ap-beijing"])
        .send()
        .await
        .unwrap();
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    assert_ne!(
        requests[0].headers()["x-tc-timestamp"],
        requests[1].headers()["x-tc-timestamp"]
    );
    assert_ne!(
        requests[0].headers()["authorization"],
        requests[1].headers()["authorization"]
    );
}

#[tokio::test]
async fn a_hundred_concurrent_copies_meet_no_rate_limit() {
    let emulator = emulator_builder(Duration::from_secs(1))
        .snapshot_quota(10_000)
        .start()
        .await
        .unwrap();
    let sources = emulator.add_snapshots("ap-guangzhou", 100);
    // No retries: a RequestLimitExceeded from the service would surface.
    let client = client_builder(&emulator)
        .retry_config(RetryConfig::disabled())
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for source in sources {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client
                .copy_snapshot_cross_regions()
                .snapshot_id(source)
                .destination_regions(["ap-beijing"])
                .send()
                .await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(output) => {
                assert_eq!(
                    output.snapshot_copy_result_set()[0].code.as_deref(),
                    Some("Success")
                );
                ok += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(ok, 100);
    assert_eq!(emulator.snapshots("ap-beijing").len(), 101);

    // Without the client-side limiter, the same burst meets the service's limit.
    let unlimited = client_builder(&emulator)
        .retry_config(RetryConfig::disabled())
        .rate_limit(RateLimitConfig::none())
        .build()
        .unwrap();
    let mut throttled = 0;
    for _ in 0..60 {
        if let Err(e) = unlimited.describe_snapshots().send().await {
            assert_eq!(e.code(), Some(&ErrorCode::RequestLimitExceeded));
            throttled += 1;
        }
    }
    assert!(throttled > 0);
}

#[tokio::test]
async fn call_json_reaches_any_action() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let response = client
        .call_json(
            "cbs",
            "2017-03-12",
            "DescribeSnapshots",
            Some("ap-guangzhou"),
            serde_json::json!({"Limit": 1}),
        )
        .await
        .unwrap();
    assert_eq!(response["TotalCount"], 2);
    assert_eq!(response["SnapshotSet"].as_array().unwrap().len(), 1);
    let err = client
        .call_json(
            "cbs",
            "2017-03-12",
            "AttachDisks",
            None,
            serde_json::json!({"DiskIds": ["d"], "InstanceId": "i"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::UnsupportedOperation));
    assert!(
        client
            .call_json(
                "cbs",
                "2017-03-12",
                "Describe Snapshots",
                None,
                serde_json::json!({})
            )
            .await
            .is_err()
    );
}

#[tokio::test]
async fn typed_responses_through_the_client() {
    let emulator = emulator().await;
    let client = client(&emulator);
    let page = client
        .send(DescribeSnapshotsRequest::new().snapshot_ids(["snap-demo0001"]))
        .await
        .unwrap();
    let snapshot = &page.snapshot_set()[0];
    assert_eq!(snapshot.snapshot_state, Some(SnapshotState::Normal));
    assert_eq!(snapshot.percent, Some(100));
}

#[test]
fn secrets_never_reach_debug_output_or_trace_logs() {
    let logs = CapturedLogs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let token = "SESSION-TOKEN-must-not-leak";
    let debug = runtime.block_on(async {
        let emulator = cbs_emulator::Emulator::builder()
            .temporary_credential(SECRET_ID, SECRET_KEY, token, u64::MAX)
            .seed_demo(true)
            .start()
            .await
            .unwrap();
        let client = client_builder(&emulator)
            .credentials(Credentials::new(SECRET_ID, SECRET_KEY).with_token(token, None))
            .build()
            .unwrap();
        client.describe_snapshots().send().await.unwrap();
        emulator.inject(
            Fault::new(FaultKind::Error {
                code: "InternalError".into(),
                message: String::new(),
            })
            .times(1),
        );
        client.describe_snapshots().send().await.unwrap();
        let err = client
            .copy_snapshot_cross_regions()
            .snapshot_id("snap-nothere")
            .destination_regions(["ap-beijing"])
            .send()
            .await
            .unwrap_err();
        format!(
            "{client:?} {err:?} {err} {:?}",
            Credentials::new(SECRET_ID, SECRET_KEY).with_token(token, None)
        )
    });
    let text = logs.text();
    assert!(
        text.contains("cbs_call"),
        "the call span was logged: {text}"
    );
    assert!(text.contains("retrying"));
    for secret in [SECRET_KEY, token, "Signature=", "TC3-HMAC-SHA256"] {
        assert!(!text.contains(secret), "{secret} appeared in the logs");
        assert!(!debug.contains(secret), "{secret} appeared in Debug output");
    }
}
