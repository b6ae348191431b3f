//! The client's own CPU per call, with an in-memory transport answering the seed
//! response: build, validate, rate-limit, sign, serialize, send, parse.
//!
//! `cargo bench -p tencentcloud-cbs --bench client`

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use tencentcloud_cbs::{
    BoxFuture, Client, Credentials, HttpRequest, HttpResponse, RateLimitConfig, Transport,
    TransportError,
};

const SEED_RESPONSE: &[u8] = br#"{"Response":{"SnapshotCopyResultSet":[{"SnapshotId":"snap-d012rm6t","DestinationRegion":"ap-beijing","Code":"Success","Message":""}],"RequestId":"98f0b5f0-7d84-4d11-9819-ee7804e524a4"}}"#;

/// Answers every request with the seed response; does nothing else.
#[derive(Debug)]
struct InMemory;

impl Transport for InMemory {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        drop(request);
        Box::pin(async {
            Ok(http::Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(Bytes::from_static(SEED_RESPONSE))
                .expect("response"))
        })
    }
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = Client::builder()
        .region("ap-guangzhou")
        .credentials(Credentials::new(
            "AKIDEXAMPLE",
            "EXAMPLEKEYexamplekeyEXAMPLEKEY12",
        ))
        .transport(InMemory)
        // The limiter runs on every call but never makes this loop wait.
        .rate_limit(RateLimitConfig::default().default_rate(100_000_000, 1_000_000))
        .build()
        .expect("client");
    c.bench_function("seed_call_in_memory", |b| {
        b.to_async(&runtime).iter(|| async {
            let output = client
                .copy_snapshot_cross_regions()
                .snapshot_id(black_box("snap-ckgjwkqh"))
                .destination_regions(["ap-beijing"])
                .send()
                .await
                .expect("call succeeds");
            black_box(output)
        })
    });
}

criterion_group!(client_benches, benches);
criterion_main!(client_benches);
