//! Signing and verifying the seed request (`CopySnapshotCrossRegions` to one region).
//!
//! `cargo bench -p tc3-sign` prints the medians; `fresh_key` derives the signing key for
//! every call, `cached_key` reuses a derived [`SigningKey`], `prepared` also reuses the
//! hashed constant part of the canonical request ([`tc3_sign::PreparedRequest`]). `sha256_8_blocks` is the
//! floor of a cached-key signature: hashing the payload (2 blocks) and the canonical
//! request (3 to 4) and the HMAC of the string to sign (2 inner, 1 outer, the pads
//! absorbed once per key) are about 8 compressions of SHA-256. `four_hashes_alone` does
//! just that hashing as the four separate hashes it is (each with its own finalisation),
//! the tighter floor; `sign_cached_key` divided by either says what signing costs beyond
//! the hashing it cannot skip.

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
    // Everything but the payload checked and hashed once, as a client sending every
    // call to one host can.
    let prepared = tc3_sign::PreparedRequest::new(&request).expect("prepares");
    group.bench_function("sign_prepared", |b| {
        b.iter(|| {
            prepared.sign(
                tc3_sign::Payload::Bytes(black_box(BODY)),
                &credentials,
                &key,
                black_box(TIMESTAMP),
            )
        })
    });
    // 503 bytes plus SHA-256's 9 bytes of padding: exactly 8 blocks.
    let eight_blocks = [0x5au8; 8 * 64 - 9];
    group.bench_function("sha256_8_blocks", |b| {
        b.iter(|| {
            use sha2::Digest;
            sha2::Sha256::digest(black_box(&eight_blocks[..]))
        })
    });
    // The hashing a cached-key signature cannot skip, done alone: the payload, the
    // canonical request (already built), and the HMAC of the string to sign with a
    // keyed state cloned per signature. Four hashes of 8 blocks in all.
    let canonical = tc3_sign::canonical_request(&request).expect("canonical request");
    let string_to_sign =
        tc3_sign::string_to_sign(TIMESTAMP, "cbs", &canonical).expect("string to sign");
    let keyed = {
        use hmac::KeyInit;
        hmac::Hmac::<sha2::Sha256>::new_from_slice(b"a 32-byte derived signing key...")
            .expect("any key length")
    };
    group.bench_function("four_hashes_alone", |b| {
        b.iter(|| {
            use hmac::Mac;
            use sha2::Digest;
            let payload = sha2::Sha256::digest(black_box(BODY));
            let canonical = sha2::Sha256::digest(black_box(canonical.as_bytes()));
            let mut mac = keyed.clone();
            mac.update(black_box(string_to_sign.as_bytes()));
            (payload, canonical, mac.finalize().into_bytes())
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
