//! Client CPU per call: the whole `tencentcloud-cbs` client (validate, rate-limit, sign,
//! serialize, send, parse) beside a bare hyper-util client making the same HTTP calls,
//! in the same run, against a keep-alive server in a separate process.
//!
//! A third contender shows the floor: bare hyper-util doing only the work no client can
//! skip for this call — serialize the typed request, sign it, parse the typed response —
//! and none of what the client adds (validation, rate limit, trace id, retry
//! bookkeeping, the `Transport` indirection, the request timeout).
//!
//! `cargo bench -p tencentcloud-cbs --bench client_vs_bare`

#[path = "../../cbs-transport/benches/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tencentcloud_cbs::model::{
    CopySnapshotCrossRegionsRequest, CopySnapshotCrossRegionsResponse, parse_response,
};
use tencentcloud_cbs::{Client, Credentials, RateLimitConfig};

const SECRET_ID: &str = "AKIDEXAMPLE";
const SECRET_KEY: &str = "EXAMPLEKEYexamplekeyEXAMPLEKEY12";

fn main() {
    support::compare(&[
        ("tencentcloud-cbs", &client_call),
        ("floor: serialize + sign + parse on bare", &floor_call),
    ]);
}

fn client_call(url: &str) -> support::Call {
    let client = Client::builder()
        .endpoint(url.trim_end_matches('/'))
        .region("ap-guangzhou")
        .credentials(Credentials::new(SECRET_ID, SECRET_KEY))
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
}

fn floor_call(url: &str) -> support::Call {
    let http = support::bare_client();
    let uri: http::Uri = url.parse().expect("url");
    let host = uri.authority().expect("host").as_str().to_owned();
    let headers = support::seed_headers(&host);
    let keys = tc3_sign::Credentials::new(SECRET_ID, SECRET_KEY);
    let now = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs()
    };
    // Derived once, as any client would keep it for the day.
    let key = Arc::new(tc3_sign::SigningKey::derive(
        SECRET_KEY,
        tc3_sign::UtcDate::from_unix(now()).expect("date"),
        "cbs",
    ));
    Arc::new(move || {
        let (http, uri, host, keys, key) = (
            http.clone(),
            uri.clone(),
            host.clone(),
            keys.clone(),
            key.clone(),
        );
        let mut headers = headers.clone();
        Box::pin(async move {
            let request = CopySnapshotCrossRegionsRequest::new(["ap-beijing"], "snap-ckgjwkqh");
            let body = Bytes::from(serde_json::to_vec(&request).expect("serialize"));
            let timestamp = now();
            let signable = tc3_sign::SignableRequest::post_json(&host, &body);
            let signed = tc3_sign::sign_with_key(&signable, &keys, &key, timestamp).expect("sign");
            headers.insert(http::header::AUTHORIZATION, {
                http::HeaderValue::try_from(signed.into_authorization()).expect("header")
            });
            headers.insert("x-tc-timestamp", http::HeaderValue::from(timestamp));
            let body = support::bare_exchange(&http, uri, headers, body).await;
            let output = parse_response::<CopySnapshotCrossRegionsResponse>(&body)
                .expect("decodes")
                .expect("an output");
            assert_eq!(output.snapshot_copy_result_set().len(), 1);
        })
    })
}
