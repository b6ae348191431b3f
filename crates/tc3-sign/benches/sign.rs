//! Signing and verifying the seed request (`CopySnapshotCrossRegions` to one region).
//!
//! `cargo bench -p tc3-sign` prints the medians; `fresh_key` derives the signing key for
//! every call, `cached_key` reuses a derived [`SigningKey`].

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tc3_sign::{
    Credentials, ReceivedRequest, SignableRequest, SigningKey, UtcDate, Verifier, sign,
    sign_with_key,
};

const BODY: &[u8] = br#"{"SnapshotId":"snap-ckgjwkqh","DestinationRegions":["ap-beijing"]}"#;
const HOST: &str = "cbs.tencentcloudapi.com";
const TIMESTAMP: u64 = 1_700_000_000;

fn benches(c: &mut Criterion) {
    let credentials = Credentials::new("AKIDEXAMPLE", "EXAMPLEKEYexamplekeyEXAMPLEKEY12");
    let request = SignableRequest::post_json(HOST, BODY);
    let date = UtcDate::from_unix(TIMESTAMP).expect("valid timestamp");
    let key = SigningKey::derive(credentials.secret_key(), date, "cbs");

    let mut group = c.benchmark_group("seed_request");
    group.bench_function("sign_fresh_key", |b| {
        b.iter(|| {
            sign(
                black_box(&request),
                &credentials,
                "cbs",
                black_box(TIMESTAMP),
            )
        })
    });
    group.bench_function("sign_cached_key", |b| {
        b.iter(|| {
            sign_with_key(
                black_box(&request),
                &credentials,
                &key,
                black_box(TIMESTAMP),
            )
        })
    });
    group.bench_function("derive_key", |b| {
        b.iter(|| SigningKey::derive(black_box(credentials.secret_key()), date, "cbs"))
    });

    let signed = sign(&request, &credentials, "cbs", TIMESTAMP).expect("signs");
    let headers = [
        ("Content-Type", "application/json"),
        ("Host", HOST),
        ("X-TC-Action", "CopySnapshotCrossRegions"),
        ("X-TC-Timestamp", "1700000000"),
        ("X-TC-Version", "2017-03-12"),
        ("Authorization", signed.authorization()),
    ];
    let received = ReceivedRequest::new("POST", "/", "", BODY, &headers);
    let verifier = Verifier::new("cbs");
    group.bench_function("verify", |b| {
        b.iter(|| {
            verifier
                .verify(black_box(&received), TIMESTAMP, |_| Some(&credentials))
                .expect("verifies")
        })
    });
    group.finish();
}

criterion_group!(sign_benches, benches);
criterion_main!(sign_benches);
