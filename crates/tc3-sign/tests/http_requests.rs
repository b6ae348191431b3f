//! Signing and verifying `http::Request` values in place (feature `http`).
#![cfg(feature = "http")]

use tc3_sign::{
    CachingSigner, Credentials, SignErrorKind, Verifier, VerifyErrorKind, sign_http_request,
    verify_http_request,
};

const BODY: &[u8] = br#"{"SnapshotId":"snap-ckgjwkqh","DestinationRegions":["ap-beijing"]}"#;

fn request() -> http::Request<Vec<u8>> {
    http::Request::post("https://cbs.tencentcloudapi.com/")
        .header("content-type", "application/json")
        .header("x-tc-action", "CopySnapshotCrossRegions")
        .body(BODY.to_vec())
        .unwrap()
}

#[test]
fn signs_in_place_like_the_plain_api() {
    let credentials =
        Credentials::new("AKIDEXAMPLE", "EXAMPLEKEYexamplekeyEXAMPLEKEY12").with_token("tok");
    let mut signer = CachingSigner::new(credentials.clone(), "cbs");
    let mut req = request();
    sign_http_request(&mut req, &mut signer, 1_700_000_000, &[]).unwrap();
    let h = req.headers();
    assert_eq!(h["host"], "cbs.tencentcloudapi.com");
    assert_eq!(h["x-tc-timestamp"], "1700000000");
    assert_eq!(h["x-tc-token"], "tok");
    assert!(
        h["authorization"].to_str().unwrap().ends_with(
            "Signature=39f8767dc3009df3f297604faaead3189afaa2fe1581cbf7df908674ffb8524e"
        )
    );

    let verifier = Verifier::new("cbs");
    let ok = verify_http_request(&req, &verifier, 1_700_000_010, |_| Some(&credentials)).unwrap();
    assert_eq!(ok.secret_id(), "AKIDEXAMPLE");

    *req.body_mut() = b"{}".to_vec();
    let err =
        verify_http_request(&req, &verifier, 1_700_000_010, |_| Some(&credentials)).unwrap_err();
    assert_eq!(err.kind(), VerifyErrorKind::SignatureFailure);
}

#[test]
fn extra_signed_headers_and_errors() {
    let credentials = Credentials::new("AKIDEXAMPLE", "key");
    let mut signer = CachingSigner::new(credentials.clone(), "cbs");
    let mut req = request();
    sign_http_request(&mut req, &mut signer, 100, &["x-tc-action"]).unwrap();
    assert!(
        req.headers()["authorization"]
            .to_str()
            .unwrap()
            .contains("SignedHeaders=content-type;host;x-tc-action,")
    );
    let verifier = Verifier::new("cbs");
    assert!(verify_http_request(&req, &verifier, 100, |_| Some(&credentials)).is_ok());
    req.headers_mut()
        .insert("x-tc-action", "DeleteSnapshots".parse().unwrap());
    let err = verify_http_request(&req, &verifier, 100, |_| Some(&credentials)).unwrap_err();
    assert_eq!(err.kind(), VerifyErrorKind::SignatureFailure);

    let mut no_type = http::Request::post("https://h/").body(Vec::new()).unwrap();
    let err = sign_http_request(&mut no_type, &mut signer, 100, &[]).unwrap_err();
    assert_eq!(err.kind(), SignErrorKind::MissingHeader);
    let mut req = request();
    let err = sign_http_request(&mut req, &mut signer, 100, &["x-absent"]).unwrap_err();
    assert_eq!(err.kind(), SignErrorKind::MissingHeader);
}

#[test]
fn the_signature_and_token_are_marked_sensitive() {
    let credentials = Credentials::new("AKIDEXAMPLE", "key").with_token("session-token");
    let mut signer = CachingSigner::new(credentials, "cbs");
    let mut req = request();
    sign_http_request(&mut req, &mut signer, 100, &[]).unwrap();
    let headers = req.headers();
    assert!(headers["authorization"].is_sensitive());
    assert!(headers["x-tc-token"].is_sensitive());
    assert!(!headers["x-tc-timestamp"].is_sensitive());
    let shown = format!("{headers:?}");
    assert!(
        !shown.contains("session-token") && !shown.contains("Signature="),
        "{shown}"
    );
}

#[test]
fn unsigned_payload_header_is_honoured() {
    let credentials = Credentials::new("AKIDEXAMPLE", "key");
    let mut signer = CachingSigner::new(credentials.clone(), "cbs");
    let mut req = request();
    req.headers_mut()
        .insert("x-tc-content-sha256", "UNSIGNED-PAYLOAD".parse().unwrap());
    sign_http_request(&mut req, &mut signer, 100, &[]).unwrap();
    // The body is not covered, so changing it still verifies.
    *req.body_mut() = b"anything".to_vec();
    assert!(verify_http_request(&req, &Verifier::new("cbs"), 100, |_| Some(&credentials)).is_ok());
}
