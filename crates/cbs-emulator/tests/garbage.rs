//! Random headers and bodies get error envelopes, never a crash or a hang: 200 cases,
//! in process, each bounded in time.

mod support;

use std::time::Duration;

use bytes::Bytes;
use cbs_emulator::Emulator;
use cbs_transport::Transport;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use support::*;

#[test]
fn garbage_requests_get_envelopes() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let emulator = runtime.block_on(async {
        Emulator::builder()
            .credential(ID, KEY)
            .seed_demo(true)
            .start_in_process()
            .expect("emulator starts")
    });
    let client = emulator.transport();
    let header_value = "[ -~]{0,60}";
    let strategy = (
        prop_oneof![Just("POST"), Just("GET"), Just("PUT"), Just("DELETE")],
        prop_oneof![Just("/".to_owned()), "/[a-z?=&]{0,10}"],
        proptest::option::of(prop_oneof![
            Just("DescribeSnapshots".to_owned()),
            Just("CopySnapshotCrossRegions".to_owned()),
            "[A-Za-z.]{0,20}"
        ]),
        proptest::option::of(prop_oneof![Just("2017-03-12".to_owned()), header_value]),
        proptest::option::of(header_value),
        proptest::option::of(prop_oneof![
            Just(format!(
                "TC3-HMAC-SHA256 Credential={ID}/2024-01-01/cbs/tc3_request, SignedHeaders=content-type;host, Signature={}",
                "0".repeat(64)
            )),
            header_value
        ]),
        proptest::option::of(prop_oneof![Just(now().to_string()), "[0-9a-z-]{0,20}"]),
        proptest::collection::vec(any::<u8>(), 0..400),
    );
    let mut runner = TestRunner::new(Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &strategy,
            |(method, path, action, version, region, authorization, timestamp, body)| {
                let mut builder = http::Request::builder()
                    .method(method)
                    .uri(format!("{}{path}", emulator.endpoint()))
                    .header("content-type", "application/json");
                for (name, value) in [
                    ("x-tc-action", action),
                    ("x-tc-version", version),
                    ("x-tc-region", region),
                    ("authorization", authorization),
                    ("x-tc-timestamp", timestamp),
                ] {
                    if let Some(value) = value {
                        builder = builder.header(name, value);
                    }
                }
                let Ok(request) = builder.body(Bytes::from(body)) else {
                    return Ok(());
                };
                let response = runtime
                    .block_on(async {
                        tokio::time::timeout(Duration::from_secs(10), client.send(request)).await
                    })
                    .expect("the emulator answers within 10 s")
                    .expect("the emulator answers");
                prop_assert_eq!(response.status(), 200);
                let json: serde_json::Value =
                    serde_json::from_slice(response.body()).expect("a JSON envelope");
                prop_assert!(json["Response"]["Error"]["Code"].is_string(), "{}", json);
                prop_assert!(json["Response"]["RequestId"].is_string());
                Ok(())
            },
        )
        .unwrap();
    // Still healthy afterwards.
    let response = runtime.block_on(Call::new("DescribeSnapshots", "{}").send(&emulator));
    assert_eq!(code(&response), None);
}
