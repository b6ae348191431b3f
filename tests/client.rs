//! The client core end to end: wire format, errors, the retry rule, idempotency tokens,
//! paced retries, clock skew, rate limits, secrets. Under paused time, against the
//! emulator in process or a scripted transport.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use cbs_e2e::*;
use cbs_emulator::{Fault, FaultKind};
use cbs_transport::test_util::{MockTransport, json_response};
use tencentcloud_cbs::model::{
    DescribeSnapshotsRequest, DiskChargeType, DiskType, Placement, SnapshotState,
};
use tencentcloud_cbs::{
    Client, Clock, Credentials, Error, ErrorCode, Language, OffsetClock, RateLimitConfig,
    RetryConfig, Safety, TransportErrorKind,
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

fn throttle() -> Fault {
    Fault::new(FaultKind::Error {
        code: "RequestLimitExceeded".into(),
        message: String::new(),
    })
}

#[tokio::test(start_paused = true)]
async fn seed_request_and_response() {
    let emulator = emulator();
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
async fn the_wire_format_over_a_socket() {
    let emulator = tcp_emulator().await;
    let client = tcp_client_builder(&emulator).build().unwrap();
    let page = client.describe_snapshots().send().await.unwrap();
    assert_eq!(
        page.total_count,
        Some(emulator.snapshots("ap-guangzhou").len() as u64)
    );
}

#[tokio::test(start_paused = true)]
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
    assert!(h["x-tc-token"].is_sensitive() && h["authorization"].is_sensitive());
    let client_header = h["x-tc-requestclient"].to_str().unwrap();
    assert!(client_header.starts_with("tencentcloud-cbs-rs/") && client_header.ends_with(" e2e"));
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

#[tokio::test(start_paused = true)]
async fn regional_and_custom_hosts() {
    let mock = Arc::new(MockTransport::new());
    mock.push_response(200, EMPTY_PAGE)
        .push_response(200, EMPTY_PAGE)
        .push_response(200, EMPTY_PAGE)
        .push_response(200, EMPTY_PAGE);
    let regional = Client::builder()
        .region("ap-shanghai")
        .credentials(Credentials::new("a", "b"))
        .regional_endpoint(true)
        .transport(mock.clone())
        .build()
        .unwrap();
    regional.describe_snapshots().send().await.unwrap();
    regional
        .describe_snapshots()
        .region("ap-beijing")
        .send()
        .await
        .unwrap();
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
    // Another service through the same client goes to its own host.
    internal
        .call_json(
            "cvm",
            "2017-03-12",
            "DescribeZones",
            None,
            serde_json::json!({}),
        )
        .await
        .unwrap();
    let requests = mock.requests();
    let hosts: Vec<_> = requests
        .iter()
        .map(|r| r.headers()["host"].clone())
        .collect();
    assert_eq!(
        hosts,
        [
            "cbs.ap-shanghai.tencentcloudapi.com",
            "cbs.ap-beijing.tencentcloudapi.com",
            "cbs.internal.tencentcloudapi.com",
            "cvm.internal.tencentcloudapi.com",
        ]
    );
    assert_eq!(requests[2].headers()["x-tc-region"], "ap-beijing");
    assert_eq!(
        requests[3].uri().host(),
        Some("cvm.internal.tencentcloudapi.com")
    );
}

#[tokio::test(start_paused = true)]
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

#[test]
fn a_callers_transport_does_not_take_the_default_transports_settings() {
    let own = || {
        Client::builder()
            .credentials(Credentials::new("a", "b"))
            .transport(MockTransport::new())
    };
    assert!(own().build().is_ok());
    for builder in [
        own().connect_timeout(Duration::from_secs(1)),
        own().request_timeout(Duration::from_secs(1)),
        own().proxy(tencentcloud_cbs::ProxyConfig::none()),
        own().add_root_certificate(b"-----BEGIN CERTIFICATE-----".to_vec()),
    ] {
        let err = builder.build().unwrap_err().to_string();
        assert!(err.contains("default transport"), "{err}");
    }
}

#[tokio::test(start_paused = true)]
async fn invalid_input_is_caught_before_sending() {
    let (client, mock) = mock_client(MockTransport::new());
    let err = client
        .copy_snapshot_cross_regions()
        .destination_regions(["ap-beijing"])
        .send()
        .await
        .unwrap_err();
    match &err {
        Error::InvalidInput(e) => assert_eq!(e.member(), Some("SnapshotId")),
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
        matches!(&err, Error::InvalidInput(e) if e.member() == Some("DestinationRegions")),
        "{err:?}"
    );
    let err = client
        .copy_snapshot_and_wait("snap-1")
        .destination_regions(["ap-beijing", "ap-beijing"])
        .send()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
    assert!(mock.requests().is_empty(), "nothing may be sent");
}

#[tokio::test(start_paused = true)]
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
    // A code this version does not know is kept as it came.
    mock.push_response(
        200,
        r#"{"Response":{"Error":{"Code":"FailedOperation.Brand.New","Message":"m"},"RequestId":"r"}}"#,
    );
    let err = client.describe_snapshots().send().await.unwrap_err();
    assert!(
        matches!(err.code(), Some(ErrorCode::Unknown(code)) if code.as_str() == "FailedOperation.Brand.New")
    );
}

#[tokio::test(start_paused = true)]
async fn bad_gateway_pages_are_decode_errors_and_retried_only_when_repeatable() {
    let emulator = emulator();
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
            assert_eq!(d.status(), 502);
            assert!(d.excerpt().unwrap().contains("502 Bad Gateway"));
            assert_eq!(d.context().attempts(), 1);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.may_have_executed() && !err.is_retryable());

    emulator.inject(
        Fault::new(FaultKind::BadGateway)
            .action("DescribeSnapshots")
            .times(2),
    );
    let page = client.describe_snapshots().send().await.unwrap();
    assert_eq!(
        page.total_count,
        Some(emulator.snapshots("ap-guangzhou").len() as u64)
    );
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_answer_to_a_mutating_call_means_it_may_have_run() {
    let emulator = emulator();
    let client = client(&emulator);
    emulator.inject(
        Fault::new(FaultKind::MalformedJson)
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
    assert!(
        matches!(&err, Error::Decode(d) if d.status() == 200),
        "{err:?}"
    );
    assert!(
        err.may_have_executed(),
        "the service answered: it very likely ran"
    );
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("may have been executed"), "{err}");
    assert_eq!(
        emulator.snapshots("ap-chengdu").len(),
        1,
        "it did run, once"
    );
}

#[tokio::test(start_paused = true)]
async fn throttling_is_retried_for_every_action() {
    let emulator = emulator();
    let client = client(&emulator);
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
    assert!(
        err.is_retryable(),
        "the attempts ran out; the call may pass later"
    );
}

#[tokio::test(start_paused = true)]
async fn a_calls_own_retry_config_can_wait_throttling_out_apart_from_other_failures() {
    let emulator = emulator();
    let client = client(&emulator);
    let patient = || {
        RetryConfig::standard()
            .with_max_attempts(2)
            .with_max_throttled_attempts(Some(50))
            .with_backoff(Duration::from_secs(1), Duration::from_secs(30))
            .with_quota(Some(tencentcloud_cbs::RetryQuota::new(5)))
            .with_deadline(Some(Duration::from_secs(3600)))
    };
    // Forty throttled attempts: far past the client's three, and the quota of 5 tokens
    // (one retry's worth) is not what ends them.
    emulator.inject(throttle().action("DescribeSnapshots").times(40));
    let started = tokio::time::Instant::now();
    let page = client
        .describe_snapshots()
        .retry_config(patient())
        .send()
        .await
        .unwrap();
    assert!(page.total_count.unwrap_or(0) > 0);
    assert!(
        started.elapsed() > Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    // Other failures keep their own count: two attempts, then the error.
    emulator.inject(internal_error().action("DescribeSnapshots").times(2));
    let err = client
        .describe_snapshots()
        .retry_config(patient())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InternalError));
    assert_eq!(err.as_api().unwrap().context().attempts(), 2);
    // The throttled count has its bound too, and the deadline ends it sooner.
    emulator.inject(throttle().action("DescribeSnapshots").times(1_000));
    let err = client
        .describe_snapshots()
        .retry_config(patient().with_deadline(Some(Duration::from_secs(120))))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_throttled(), "{err}");
    assert!(matches!(err, Error::Timeout(_)), "{err}");
    let err = client
        .describe_snapshots()
        .retry_config(patient().with_deadline(None))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.as_api().unwrap().context().attempts(), 50, "{err}");
    // The client's own config is untouched: three attempts.
    let err = client.describe_snapshots().send().await.unwrap_err();
    assert!(err.to_string().contains("after 3 attempts"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_mutating_call_dropped_after_it_ran_is_not_sent_again() {
    let emulator = emulator();
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
            assert_eq!(t.context().attempts(), 1);
            assert_eq!(t.context().safety(), Safety::Mutating);
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
    assert_eq!(
        page.total_count,
        Some(emulator.snapshots("ap-guangzhou").len() as u64)
    );
}

#[tokio::test(start_paused = true)]
async fn an_idempotent_call_is_retried_with_one_token_and_runs_once() {
    let emulator = emulator();
    let recorder = Recording::new(emulator.transport());
    let client = client_builder(&emulator)
        .transport(recorder.clone())
        .build()
        .unwrap();
    emulator.inject(
        Fault::new(FaultKind::DropAfterRead)
            .action("CreateDisks")
            .times(1),
    );
    let before = emulator.disks("ap-guangzhou").len();
    let created = client
        .create_disks()
        .disk_type(DiskType::CloudPremium)
        .disk_charge_type(DiskChargeType::PostpaidByHour)
        .placement(Placement::new("ap-guangzhou-1"))
        .disk_size(50)
        .send()
        .await
        .unwrap();
    assert_eq!(created.disk_id_set().len(), 1);
    assert_eq!(
        emulator.disks("ap-guangzhou").len(),
        before + 1,
        "the dropped first attempt and the retry made one disk"
    );
    assert_eq!(recorder.sent().len(), 2, "the lost answer was retried");

    // A caller's own token wins, and the service answers a repeat as the first.
    let again = || {
        client
            .create_disks()
            .disk_type(DiskType::CloudPremium)
            .disk_charge_type(DiskChargeType::PostpaidByHour)
            .placement(Placement::new("ap-guangzhou-1"))
            .disk_size(50)
            .client_token("my-token-1")
            .send()
    };
    let first = again().await.unwrap();
    let second = again().await.unwrap();
    assert_eq!(first.disk_id_set(), second.disk_id_set());
    assert_eq!(emulator.disks("ap-guangzhou").len(), before + 2);

    // call_json knows the action is idempotent too, and fills the token.
    let response = client
        .call_json(
            "cbs",
            "2017-03-12",
            "CreateDisks",
            None,
            serde_json::json!({"DiskType": "CLOUD_PREMIUM", "DiskChargeType": "POSTPAID_BY_HOUR", "Placement": {"Zone": "ap-guangzhou-1"}, "DiskSize": 20}),
        )
        .await
        .unwrap();
    assert_eq!(response["DiskIdSet"].as_array().unwrap().len(), 1);
    let bodies = recorder.sent();
    assert_eq!(bodies.last().unwrap().1, "CreateDisks");
}

#[tokio::test(start_paused = true)]
async fn the_token_of_a_failed_idempotent_call_is_kept_for_a_resend() {
    let (client, mock) = mock_client(MockTransport::new());
    for _ in 0..3 {
        mock.push_error(TransportErrorKind::Interrupted);
    }
    let err = client
        .create_disks()
        .disk_type(DiskType::CloudPremium)
        .disk_charge_type(DiskChargeType::PostpaidByHour)
        .placement(Placement::new("ap-guangzhou-1"))
        .disk_size(50)
        .send()
        .await
        .unwrap_err();
    let token = err.context().unwrap().client_token().unwrap().to_owned();
    assert_eq!(token.len(), 36);
    assert!(err.may_have_executed() && err.is_retryable());
    let requests = mock.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        let body: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
        assert_eq!(
            body["ClientToken"],
            token.as_str(),
            "one token for every attempt"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn transient_errors_are_retried_only_for_repeatable_actions() {
    let emulator = emulator();
    let client = client(&emulator);
    emulator.inject(internal_error().action("CopySnapshotCrossRegions").times(1));
    let err = client
        .copy_snapshot_cross_regions()
        .snapshot_id("snap-demo0001")
        .destination_regions(["ap-beijing"])
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InternalError));
    assert_eq!(err.as_api().unwrap().context().attempts(), 1);
    assert!(
        err.may_have_executed(),
        "a transient error may come after the work"
    );
    emulator.inject(internal_error().action("DescribeSnapshots").times(2));
    assert!(client.describe_snapshots().send().await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn connection_failures_are_retried_even_for_mutating_calls() {
    let (client, mock) = mock_client(MockTransport::new());
    for _ in 0..3 {
        mock.push_error(TransportErrorKind::Connect);
    }
    let err = client
        .copy_snapshot_cross_regions()
        .snapshot_id("snap-1")
        .destination_regions(["ap-beijing"])
        .send()
        .await
        .unwrap_err();
    match &err {
        Error::Transport(t) => {
            assert_eq!(t.kind(), TransportErrorKind::Connect);
            assert_eq!(t.context().attempts(), 3);
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.may_have_executed() && err.is_retryable());
    assert_eq!(mock.requests().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_clock_off_by_minutes_months_or_decades_recovers() {
    const DAY: i64 = 86_400;
    let emulator = emulator();
    // Ten minutes either way, a VM restored 30 days behind, a clock 400 days ahead, and a
    // board without a battery-backed clock 50 years behind.
    for offset in [-600, 600, -30 * DAY, 400 * DAY, -50 * 365 * DAY] {
        let client = client_builder(&emulator)
            .clock(OffsetClock {
                offset_secs: offset,
            })
            .retry_config(RetryConfig::disabled())
            .build()
            .unwrap();
        let page = client.describe_snapshots().send().await.unwrap();
        assert_eq!(
            page.total_count,
            Some(emulator.snapshots("ap-guangzhou").len() as u64)
        );
        assert!(
            (client.clock_offset_secs() + offset).abs() <= 2,
            "learned {}",
            client.clock_offset_secs()
        );
        // Later calls use the learned offset straight away.
        client.describe_snapshots().send().await.unwrap();
    }
}

fn expired_at(date: &str) -> cbs_transport::HttpResponse {
    let mut response = json_response(
        200,
        r#"{"Response":{"Error":{"Code":"AuthFailure.SignatureExpire","Message":"expired"},"RequestId":"r"}}"#,
    );
    response
        .headers_mut()
        .insert("date", http::HeaderValue::from_str(date).unwrap());
    response
}

#[tokio::test(start_paused = true)]
async fn an_absurd_server_date_never_stops_later_calls_or_relearning() {
    let (client, mock) = mock_client(MockTransport::new());
    for date in [
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Sun, 06 Nov 99999999999999999999999 08:49:37 GMT",
        "Thu, 01 Jan 1970 00:00:00 GMT",
    ] {
        mock.push_http_response(expired_at(date));
        let err = client.describe_snapshots().send().await.unwrap_err();
        assert_eq!(err.code(), Some(&ErrorCode::AuthFailureSignatureExpire));
        assert_eq!(client.clock_offset_secs(), 0, "{date} was not learned");
    }
    // A plausible date is learned, and the call goes through on the corrected clock.
    let ahead = SystemTime::now() + Duration::from_secs(600);
    mock.push_http_response(expired_at(&httpdate::fmt_http_date(ahead)));
    mock.push_response(200, EMPTY_PAGE);
    client.describe_snapshots().send().await.unwrap();
    assert!((client.clock_offset_secs() - 600).abs() <= 2);
    let requests = mock.requests();
    assert_eq!(requests.len(), 5, "every call was sent");
    let last: u64 = requests[4].headers()["x-tc-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let first: u64 = requests[3].headers()["x-tc-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(last >= first + 598, "re-signed with the service's time");
}

#[tokio::test(start_paused = true)]
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

#[tokio::test(start_paused = true)]
async fn a_hundred_concurrent_copies_meet_no_rate_limit() {
    let emulator = emulator_builder(Duration::from_secs(1))
        .snapshot_quota(10_000)
        .start_in_process()
        .expect("emulator starts");
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
    for task in tasks {
        let output = task.await.unwrap().unwrap();
        assert_eq!(
            output.snapshot_copy_result_set()[0].code.as_deref(),
            Some("Success")
        );
    }
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
    assert_eq!(throttled, 40, "20 per second, and no time passes");
}

#[tokio::test(start_paused = true)]
async fn retries_are_paced_like_first_attempts() {
    // The emulator throttles the first 30 calls; the client may send 5 a second with
    // bursts of 2. Retries included, no second may see more than 5 + 2 sends.
    let emulator = emulator_builder(Duration::from_secs(1))
        .rate_limit(0)
        .start_in_process()
        .expect("emulator starts");
    emulator.inject(throttle().action("DescribeSnapshots").times(30));
    let recorder = Recording::new(emulator.transport());
    let client = client_builder(&emulator)
        .transport(recorder.clone())
        .rate_limit(RateLimitConfig::none().per_action("DescribeSnapshots", 5, 2))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(40)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(2))
                .with_deadline(None)
                .with_quota(None),
        )
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client.describe_snapshots().send().await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let sent: Vec<_> = recorder.sent().into_iter().map(|(at, _)| at).collect();
    assert_eq!(sent.len(), 38, "30 throttled attempts and 8 that passed");
    for (i, start) in sent.iter().enumerate() {
        let in_window = sent[i..]
            .iter()
            .take_while(|t| t.duration_since(*start) < Duration::from_secs(1))
            .count();
        assert!(
            in_window <= 7,
            "{in_window} sends within a second from #{i}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn call_json_reaches_any_action() {
    let emulator = emulator();
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
    assert_eq!(
        response["TotalCount"],
        emulator.snapshots("ap-guangzhou").len()
    );
    assert_eq!(response["SnapshotSet"].as_array().unwrap().len(), 1);
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
    let err = client
        .call_json(
            "cbs",
            "2017-03-12",
            "NoSuchAction",
            None,
            serde_json::json!({}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InvalidAction));
}

#[tokio::test(start_paused = true)]
async fn typed_responses_through_the_client() {
    let emulator = emulator();
    let client = client(&emulator);
    let request = DescribeSnapshotsRequest::builder()
        .snapshot_ids(["snap-demo0001"])
        .build()
        .unwrap();
    let page = client.send(request).await.unwrap();
    let snapshot = &page.snapshot_set()[0];
    assert_eq!(snapshot.snapshot_state, Some(SnapshotState::Normal));
    assert_eq!(snapshot.percent, Some(100));
}

#[tokio::test(start_paused = true)]
async fn legacy_v1_signatures_reach_the_emulator() {
    use tencentcloud_cbs::SignatureMethod;
    let emulator = emulator();
    for (method, regions) in [
        (SignatureMethod::HmacSha1, ["ap-beijing", "ap-chengdu"]),
        (SignatureMethod::HmacSha256, ["ap-seoul", "ap-tokyo"]),
    ] {
        let recorder = Recording::new(emulator.transport());
        let client = client_builder(&emulator)
            .transport(recorder.clone())
            .signature_method(method)
            .build()
            .unwrap();
        let page = client
            .describe_snapshots()
            .filters([tencentcloud_cbs::model::Filter::new(
                "snapshot-id",
                ["snap-demo0001"],
            )])
            .send()
            .await
            .unwrap();
        assert_eq!(page.total_count, Some(1), "{method:?}");
        let copy = client
            .copy_snapshot_cross_regions()
            .snapshot_id("snap-demo0001")
            .destination_regions(regions)
            .send()
            .await
            .unwrap();
        assert_eq!(copy.started().count(), 2, "{copy:?}");
        // A wrong key is refused as it would be with TC3.
        let wrong = client_builder(&emulator)
            .credentials(Credentials::new(SECRET_ID, "not-the-key"))
            .signature_method(method)
            .retry_config(RetryConfig::disabled())
            .build()
            .unwrap();
        let err = wrong.describe_snapshots().send().await.unwrap_err();
        assert_eq!(err.code(), Some(&ErrorCode::AuthFailureSignatureFailure));
        assert_eq!(recorder.sent().len(), 2);
    }
}

#[tokio::test(start_paused = true)]
async fn a_v1_request_is_a_signed_form_without_tc_headers() {
    use tencentcloud_cbs::SignatureMethod;
    let mock = Arc::new(MockTransport::new());
    mock.push_response(200, EMPTY_PAGE);
    let client = Client::builder()
        .region("ap-guangzhou")
        .credentials(Credentials::new("AKIDmock", "mock-key").with_token("tok", None))
        .transport(mock.clone())
        .signature_method(SignatureMethod::HmacSha256)
        .build()
        .unwrap();
    client
        .describe_snapshots()
        .snapshot_ids(["snap-1", "snap-2"])
        .limit(5)
        .send()
        .await
        .unwrap();
    let request = &mock.requests()[0];
    let h = request.headers();
    assert_eq!(h["content-type"], "application/x-www-form-urlencoded");
    assert!(
        h.keys()
            .all(|n| !n.as_str().starts_with("x-tc-") && n != "authorization")
    );
    let form = std::str::from_utf8(request.body()).unwrap();
    let params: Vec<(String, String)> = tencentcloud_cbs::model::decode_query(form);
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("Action"), Some("DescribeSnapshots"));
    assert_eq!(get("SnapshotIds.1"), Some("snap-2"));
    assert_eq!(get("Limit"), Some("5"));
    assert_eq!(get("Region"), Some("ap-guangzhou"));
    assert_eq!(get("SignatureMethod"), Some("HmacSHA256"));
    assert_eq!(get("Token"), Some("tok"));
    // The signature verifies over what was sent.
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let now: u64 = get("Timestamp").unwrap().parse().unwrap();
    tc3_sign::v1::verify(
        &tc3_sign::v1::Request::new("POST", "cbs.tencentcloudapi.com", &pairs),
        now,
        300,
        |_| Some("mock-key"),
    )
    .unwrap();
}

#[tokio::test]
async fn https_with_the_emulators_self_signed_certificate() {
    let certificate = std::env::temp_dir().join(format!(
        "cbs-e2e-tls-{}-{}.pem",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let emulator = emulator_builder(Duration::from_secs(1))
        .tls(&certificate)
        .start()
        .await
        .expect("emulator starts with TLS");
    assert!(emulator.endpoint().starts_with("https://127.0.0.1:"));
    let pem = std::fs::read(&certificate).expect("the certificate was written");
    let trusted = tcp_client_builder(&emulator)
        .add_root_certificate(pem)
        .build()
        .unwrap();
    let page = trusted.describe_snapshots().send().await.unwrap();
    assert_eq!(
        page.total_count,
        Some(emulator.snapshots("ap-guangzhou").len() as u64)
    );
    // Trusting another emulator's certificate instead, the handshake fails: each makes
    // its own.
    let other_certificate = certificate.with_extension("other.pem");
    let other = emulator_builder(Duration::from_secs(1))
        .tls(&other_certificate)
        .start()
        .await
        .unwrap();
    let untrusted = tcp_client_builder(&emulator)
        .add_root_certificate(std::fs::read(&other_certificate).unwrap())
        .build()
        .unwrap();
    let error = untrusted.describe_snapshots().send().await.unwrap_err();
    assert!(
        matches!(error, tencentcloud_cbs::Error::Transport(_)),
        "{error:?}"
    );
    drop(other);
    let _ = std::fs::remove_file(certificate);
    let _ = std::fs::remove_file(other_certificate);
}
