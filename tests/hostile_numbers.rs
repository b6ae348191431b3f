//! Numbers from the network (or a caller) that no arithmetic may panic or wrap on: the
//! paginator's `TotalCount` and `Offset`, the server's `Date` the clock learns from, and
//! the per-region `Code` of a copy. Properties over arbitrary values, on a scripted
//! transport and paused time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cbs_e2e::paused_runtime;
use cbs_transport::HttpRequest;
use cbs_transport::test_util::{MockTransport, json_response};
use proptest::prelude::*;
use tencentcloud_cbs::model::RegionCopy;
use tencentcloud_cbs::{Client, Clock, Credentials, ErrorCode, MAX_LEARNED_OFFSET, RetryConfig};

fn client(mock: Arc<MockTransport>, clock: Option<FixedClock>) -> Client {
    let mut builder = Client::builder()
        .region("ap-guangzhou")
        .credentials(Credentials::new("AKIDmock", "mock-key"))
        .transport(mock)
        .retry_config(RetryConfig::disabled());
    if let Some(clock) = clock {
        builder = builder.clock(clock);
    }
    builder.build().unwrap()
}

fn body_json(request: &HttpRequest) -> serde_json::Value {
    serde_json::from_slice(request.body()).unwrap()
}

/// A local clock stuck at one instant.
#[derive(Debug, Clone, Copy)]
struct FixedClock(SystemTime);

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

/// The last second httpdate can write (9999-12-31T23:59:59Z).
const LAST_HTTP_DATE: u64 = 253_402_300_799;

/// Offsets near the top of u64, small ones, and anything in between.
fn hostile_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(u64::MAX),
        (u64::MAX - 1000)..=u64::MAX,
        0u64..1000,
        any::<u64>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever `TotalCount` says and wherever the caller starts, paging ends (here the
    /// service runs out of fresh items after `pages` pages), never panics, and the
    /// `Offset` it sends never goes backwards (saturating at the top instead of wrapping).
    #[test]
    fn paging_survives_any_total_and_start(
        total in hostile_u64(),
        start in hostile_u64(),
        per_page in 1usize..5,
        pages in 0u64..6,
        omit_total in any::<bool>(),
    ) {
        let counter = AtomicU64::new(0);
        let mock = Arc::new(MockTransport::with_handler(move |_| {
            let page = counter.fetch_add(1, Ordering::SeqCst);
            let items: Vec<_> = if page < pages {
                (0..per_page)
                    .map(|i| serde_json::json!({"SnapshotId": format!("snap-{page}-{i}")}))
                    .collect()
            } else {
                Vec::new()
            };
            let mut response = serde_json::json!({"SnapshotSet": items, "RequestId": "r"});
            if !omit_total {
                response["TotalCount"] = total.into();
            }
            Ok(json_response(200, serde_json::json!({"Response": response}).to_string()))
        }));
        let client = client(mock.clone(), None);
        let items = paused_runtime().block_on(
            client
                .describe_snapshots()
                .offset(start)
                .limit(per_page as u64)
                .into_paginator()
                .collect_items(),
        );
        let items = items.unwrap();
        prop_assert!(items.len() as u64 <= pages * per_page as u64);
        let requests = mock.requests();
        prop_assert!(requests.len() as u64 <= pages + 1, "{} requests", requests.len());
        let offsets: Vec<u64> = requests
            .iter()
            .map(|r| body_json(r)["Offset"].as_u64().unwrap())
            .collect();
        prop_assert_eq!(offsets[0], start);
        prop_assert!(offsets.windows(2).all(|w| w[0] <= w[1]), "{:?}", offsets);
    }

    /// After `SignatureExpire`, any `Date` (any text, any time httpdate can write) and
    /// any local clock: the call never panics, the next call is always sent, and an offset
    /// is learned only when it is within a century and the Date is not before the API.
    #[test]
    fn the_clock_learns_only_plausible_dates_and_never_stops_a_call(
        local in 0u64..LAST_HTTP_DATE,
        server in 0u64..LAST_HTTP_DATE,
        garbage in proptest::option::of("[ -~]{0,40}"),
    ) {
        let date = match &garbage {
            Some(text) => text.clone(),
            None => httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(server)),
        };
        let Ok(header) = http::HeaderValue::from_str(&date) else {
            return Ok(());
        };
        let mock = Arc::new(MockTransport::new());
        let mut expired = json_response(
            200,
            r#"{"Response":{"Error":{"Code":"AuthFailure.SignatureExpire","Message":"expired"},"RequestId":"r"}}"#,
        );
        expired.headers_mut().insert("date", header);
        mock.push_http_response(expired);
        let empty = r#"{"Response":{"TotalCount":0,"SnapshotSet":[],"RequestId":"r"}}"#;
        mock.push_response(200, empty);
        mock.push_response(200, empty);
        let local_time = UNIX_EPOCH + Duration::from_secs(local);
        let client = client(mock.clone(), Some(FixedClock(local_time)));
        let rt = paused_runtime();
        let first = rt.block_on(client.describe_snapshots().send());
        let offset = client.clock_offset_secs();
        if offset != 0 {
            // Learned: the Date was readable, plausible, and is now the signing time.
            prop_assert!(garbage.is_none() || httpdate::parse_http_date(&date).is_ok());
            prop_assert!(offset.unsigned_abs() <= MAX_LEARNED_OFFSET.as_secs());
            prop_assert!(first.is_ok(), "retried once on the corrected clock");
            let learned = httpdate::parse_http_date(&date).unwrap();
            let signed: u64 = mock.requests()[1].headers()["x-tc-timestamp"]
                .to_str().unwrap().parse().unwrap();
            prop_assert_eq!(signed, learned.duration_since(UNIX_EPOCH).unwrap().as_secs());
        } else if garbage.is_none() && server.abs_diff(local) > 0 {
            // Not learned: too far, too early, or no gap at all; the call failed typed.
            let far = server.abs_diff(local) > MAX_LEARNED_OFFSET.as_secs();
            let early = server < 1_489_276_800;
            prop_assert!(far || early, "server {server} local {local} not learned");
            let error = first.unwrap_err();
            prop_assert_eq!(error.code(), Some(&ErrorCode::AuthFailureSignatureExpire));
        }
        // Whatever happened, the next call is sent.
        let before = mock.requests().len();
        let _ = rt.block_on(client.describe_snapshots().send());
        prop_assert_eq!(mock.requests().len(), before + 1);
    }

    /// Any per-region `Code` (text or a number where text belongs) and any snapshot id:
    /// a copy starts only on `Success` with an id; anything else is a refusal with a code,
    /// or the whole answer a typed decode error. Never a panic.
    #[test]
    fn any_copy_code_is_read_as_started_refused_or_undecodable(
        code in prop_oneof![
            Just(serde_json::json!("Success")),
            "[A-Za-z.]{0,30}".prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            Just(serde_json::Value::Null),
        ],
        snapshot_id in proptest::option::of("[a-z0-9-]{0,12}"),
    ) {
        let result = serde_json::json!({
            "DestinationRegion": "ap-beijing",
            "Code": code,
            "Message": "m",
            "SnapshotId": snapshot_id,
        });
        let body = serde_json::json!({"Response": {
            "SnapshotCopyResultSet": [result], "RequestId": "r"
        }});
        let mock = Arc::new(MockTransport::new());
        mock.push_response(200, body.to_string());
        let client = client(mock, None);
        let answer = paused_runtime().block_on(
            client
                .copy_snapshot_cross_regions()
                .snapshot_id("snap-1")
                .destination_regions(["ap-beijing"])
                .send(),
        );
        match answer {
            Ok(output) => {
                let copies = output.region_copies();
                prop_assert_eq!(copies.len(), 1);
                let id = snapshot_id.as_deref().unwrap_or("");
                match &copies[0] {
                    RegionCopy::Started { snapshot_id, .. } => {
                        prop_assert_eq!(code.as_str(), Some("Success"));
                        prop_assert_eq!(snapshot_id.as_str(), id);
                        prop_assert!(!id.is_empty());
                    }
                    RegionCopy::Refused { code: refused, .. } => {
                        prop_assert!(code.as_str() != Some("Success") || id.is_empty());
                        prop_assert!(!refused.as_str().is_empty());
                    }
                    other => prop_assert!(false, "{other:?}"),
                }
            }
            Err(error) if code.is_number() => {
                prop_assert!(error.to_string().to_lowercase().contains("decode")
                    || error.to_string().to_lowercase().contains("invalid"),
                    "{error}");
            }
            Err(error) => prop_assert!(false, "{error}"),
        }
    }
}
