//! Client CPU per call: the whole `tencentcloud-cbs` client (validate, rate-limit, sign,
//! serialize, send, parse) beside a bare hyper-util client making the same HTTP calls,
//! in the same run, against a keep-alive server in a separate process.
//!
//! `cargo bench -p tencentcloud-cbs --bench client_vs_bare`

#[path = "../../cbs-transport/benches/support/mod.rs"]
mod support;

use std::sync::Arc;

use tencentcloud_cbs::{Client, Credentials, RateLimitConfig};

fn main() {
    support::compare("tencentcloud-cbs", |url| {
        let client = Client::builder()
            .endpoint(url.trim_end_matches('/'))
            .region("ap-guangzhou")
            .credentials(Credentials::new(
                "AKIDEXAMPLE",
                "EXAMPLEKEYexamplekeyEXAMPLEKEY12",
            ))
            // The limiter runs on every call but must not pace a benchmark.
            .rate_limit(RateLimitConfig::default().default_rate(100_000_000, 1_000_000))
            .build()
            .expect("client");
        Arc::new(move || {
            let client = client.clone();
            Box::pin(async move {
                let output = client
                    .copy_snapshot_cross_regions()
                    .snapshot_id("snap-ckgjwkqh")
                    .destination_regions(["ap-beijing"])
                    .send()
                    .await
                    .expect("call succeeds");
                assert_eq!(output.snapshot_copy_result_set().len(), 1);
            })
        })
    });
}
