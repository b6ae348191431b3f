//! Properties: whatever is signed verifies, and any change to a signed part does not.

use proptest::prelude::*;
use tc3_sign::{
    Credentials, ParsedAuthorization, ReceivedRequest, SignableRequest, Verifier, VerifyErrorKind,
    sign,
};

/// A request as generated: enough variety to reach every part of the canonical form.
#[derive(Clone, Debug)]
struct Case {
    method: &'static str,
    host: String,
    query: String,
    content_type: &'static str,
    body: Vec<u8>,
    extra: Vec<(String, String)>,
    secret_key: String,
    timestamp: u64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![Just("POST"), Just("GET")],
        "[a-z0-9.-]{1,40}(:[0-9]{1,5})?",
        "([A-Za-z0-9%.=&_-]{0,60})",
        prop_oneof![
            Just("application/json"),
            Just("application/x-www-form-urlencoded")
        ],
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::btree_map("x-tc-[a-z]{1,12}", "[ -~]{0,30}", 0..4),
        "[ -~]{1,120}",
        0u64..4_102_444_800,
    )
        .prop_map(
            |(method, host, query, content_type, body, extra, secret_key, timestamp)| Case {
                method,
                host,
                query,
                content_type,
                body,
                extra: extra.into_iter().collect(),
                secret_key,
                timestamp,
            },
        )
}

/// Signs `case` and returns the headers a client would send.
fn signed_headers(case: &Case, credentials: &Credentials) -> Vec<(String, String)> {
    let extra: Vec<(&str, &str)> = case
        .extra
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let req = SignableRequest::new(
        case.method,
        &case.host,
        tc3_sign::Payload::Bytes(&case.body),
    )
    .query(&case.query)
    .content_type(case.content_type)
    .sign_headers(&extra);
    let signed = sign(&req, credentials, "cbs", case.timestamp).expect("valid request signs");
    let mut headers = vec![
        ("Host".to_owned(), case.host.clone()),
        ("Content-Type".to_owned(), case.content_type.to_owned()),
    ];
    headers.extend(case.extra.iter().cloned());
    headers.extend(signed.headers().map(|(n, v)| (n.to_owned(), v.to_owned())));
    headers
}

fn verify(
    case: &Case,
    body: &[u8],
    headers: &[(String, String)],
    credentials: &Credentials,
    now: u64,
) -> Result<(), VerifyErrorKind> {
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let received = ReceivedRequest::new(case.method, "/", &case.query, body, &headers);
    Verifier::new("cbs")
        .verify(&received, now, |id| {
            (id == "AKIDtest").then_some(credentials)
        })
        .map(|_| ())
        .map_err(|e| e.kind())
}

fn set(headers: &mut [(String, String)], name: &str, value: String) {
    let slot = headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .expect("header present");
    slot.1 = value;
}

fn get<'h>(headers: &'h [(String, String)], name: &str) -> &'h str {
    &headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .expect("header present")
        .1
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn signed_requests_verify(case in case(), skew in -300i64..=300) {
        let credentials = Credentials::new("AKIDtest", case.secret_key.as_str());
        let headers = signed_headers(&case, &credentials);
        let now = case.timestamp.saturating_add_signed(skew);
        prop_assert_eq!(verify(&case, &case.body, &headers, &credentials, now), Ok(()));
    }

    #[test]
    fn changed_payload_is_rejected(case in case(), index in any::<prop::sample::Index>(), flip in 1u8..=255) {
        prop_assume!(!case.body.is_empty());
        let credentials = Credentials::new("AKIDtest", case.secret_key.as_str());
        let headers = signed_headers(&case, &credentials);
        let mut body = case.body.clone();
        let at = index.index(body.len());
        body[at] ^= flip;
        prop_assert_eq!(verify(&case, &body, &headers, &credentials, case.timestamp), Err(VerifyErrorKind::SignatureFailure));
    }

    #[test]
    fn changed_host_is_rejected(case in case(), suffix in "[a-z0-9]{1,5}") {
        let credentials = Credentials::new("AKIDtest", case.secret_key.as_str());
        let mut headers = signed_headers(&case, &credentials);
        set(&mut headers, "host", format!("{}{suffix}", case.host));
        prop_assert_eq!(verify(&case, &case.body, &headers, &credentials, case.timestamp), Err(VerifyErrorKind::SignatureFailure));
    }

    #[test]
    fn changed_signed_header_value_is_rejected(case in case(), which in any::<prop::sample::Index>(), suffix in "[a-z0-9]{1,5}") {
        prop_assume!(!case.extra.is_empty());
        let credentials = Credentials::new("AKIDtest", case.secret_key.as_str());
        let mut headers = signed_headers(&case, &credentials);
        let name = case.extra[which.index(case.extra.len())].0.clone();
        let value = format!("{}{suffix}", get(&headers, &name).trim());
        set(&mut headers, &name, value);
        prop_assert_eq!(verify(&case, &case.body, &headers, &credentials, case.timestamp), Err(VerifyErrorKind::SignatureFailure));
    }

    #[test]
    fn changed_timestamp_is_rejected(case in case(), delta in 1u64..=300) {
        let credentials = Credentials::new("AKIDtest", case.secret_key.as_str());
        let mut headers = signed_headers(&case, &credentials);
        let moved = case.timestamp + delta;
        set(&mut headers, "x-tc-timestamp", moved.to_string());
        // Within the window of the server clock, so only the signature can catch it.
        prop_assert_eq!(verify(&case, &case.body, &headers, &credentials, moved), Err(VerifyErrorKind::SignatureFailure));
    }

    #[test]
    fn changed_signature_is_rejected(case in case(), position in 0usize..64, digit in 0u32..16) {
        let credentials = Credentials::new("AKIDtest", case.secret_key.as_str());
        let mut headers = signed_headers(&case, &credentials);
        let authorization = get(&headers, "authorization").to_owned();
        let start = authorization.len() - 64;
        let old = authorization.as_bytes()[start + position] as char;
        let new = char::from_digit(digit, 16).unwrap();
        prop_assume!(old != new);
        let mut changed = authorization.clone();
        changed.replace_range(start + position..start + position + 1, &new.to_string());
        set(&mut headers, "authorization", changed);
        prop_assert_eq!(verify(&case, &case.body, &headers, &credentials, case.timestamp), Err(VerifyErrorKind::SignatureFailure));
    }

    #[test]
    fn timestamps_outside_the_window_expire(case in case(), skew in 301u64..1_000_000, ahead in any::<bool>()) {
        let credentials = Credentials::new("AKIDtest", case.secret_key.as_str());
        let headers = signed_headers(&case, &credentials);
        let now = if ahead { case.timestamp + skew } else { case.timestamp.saturating_sub(skew) };
        prop_assume!(now.abs_diff(case.timestamp) > 300);
        prop_assert_eq!(verify(&case, &case.body, &headers, &credentials, now), Err(VerifyErrorKind::SignatureExpire));
    }

    #[test]
    fn wrong_secret_is_a_signature_failure(case in case()) {
        let credentials = Credentials::new("AKIDtest", case.secret_key.as_str());
        let headers = signed_headers(&case, &credentials);
        let other = Credentials::new("AKIDtest", format!("{}x", case.secret_key));
        prop_assert_eq!(verify(&case, &case.body, &headers, &other, case.timestamp), Err(VerifyErrorKind::SignatureFailure));
    }

    #[test]
    fn garbage_authorization_never_panics(value in ".{0,300}", ts in ".{0,30}") {
        let _ = ParsedAuthorization::parse(&value);
        let headers = [("Host", "h"), ("Content-Type", "application/json"), ("X-TC-Timestamp", ts.as_str()), ("Authorization", value.as_str())];
        let received = ReceivedRequest::new("POST", "/", "", b"{}", &headers);
        let credentials = Credentials::new("a", "b");
        let result = Verifier::new("cbs").verify(&received, 0, |_| Some(&credentials));
        prop_assert!(result.is_err());
    }

    #[test]
    fn near_miss_authorization_never_panics(
        id in "[A-Za-z0-9/]{0,12}",
        date in "[0-9-]{0,12}",
        names in "[a-z;-]{0,30}",
        signature in "[0-9a-fA-F]{0,70}",
        separator in prop_oneof![Just(", "), Just(","), Just(" ,"), Just("")],
    ) {
        let value = format!("TC3-HMAC-SHA256 Credential={id}/{date}/cbs/tc3_request{separator}SignedHeaders={names}{separator}Signature={signature}");
        let headers = [("host", "h"), ("content-type", "x"), ("x-tc-timestamp", "0"), ("authorization", value.as_str())];
        let received = ReceivedRequest::new("POST", "/", "", b"", &headers);
        let credentials = Credentials::new("a", "b");
        let _ = Verifier::new("cbs").verify(&received, 0, |_| Some(&credentials));
    }
}

#[test]
fn unknown_secret_id_and_missing_token() {
    let credentials = Credentials::new("AKIDtest", "key").with_token("session-token");
    let body = b"{}";
    let req = SignableRequest::post_json("h", body);
    let signed = sign(&req, &credentials, "cbs", 1000).unwrap();
    let mut headers = vec![("host", "h"), ("content-type", "application/json")];
    headers.extend(signed.headers());
    let received = ReceivedRequest::new("POST", "/", "", body, &headers);
    let verifier = Verifier::new("cbs");
    let err = verifier.verify(&received, 1000, |_| None).unwrap_err();
    assert_eq!(err.kind(), VerifyErrorKind::SecretIdNotFound);
    assert_eq!(err.api_code(), "AuthFailure.SecretIdNotFound");
    assert!(
        verifier
            .verify(&received, 1000, |_| Some(&credentials))
            .is_ok()
    );

    let without_token: Vec<_> = headers
        .iter()
        .copied()
        .filter(|(n, _)| *n != "X-TC-Token")
        .collect();
    let received = ReceivedRequest::new("POST", "/", "", body, &without_token);
    let err = verifier
        .verify(&received, 1000, |_| Some(&credentials))
        .unwrap_err();
    assert_eq!(err.kind(), VerifyErrorKind::TokenFailure);

    let other = Verifier::new("cvm").verify(
        &ReceivedRequest::new("POST", "/", "", body, &headers),
        1000,
        |_| Some(&credentials),
    );
    assert_eq!(other.unwrap_err().kind(), VerifyErrorKind::SignatureFailure);
}

#[test]
fn signed_headers_must_cover_host_and_content_type_and_be_present() {
    let credentials = Credentials::new("AKIDtest", "key");
    let extra = [("x-tc-action", "DescribeSnapshots")];
    let req = SignableRequest::post_json("h", b"{}").sign_headers(&extra);
    let signed = sign(&req, &credentials, "cbs", 1000).unwrap();
    let mut headers = vec![("host", "h"), ("content-type", "application/json")];
    headers.extend(signed.headers());
    // x-tc-action was signed but is not sent.
    let received = ReceivedRequest::new("POST", "/", "", b"{}", &headers);
    let err = Verifier::new("cbs")
        .verify(&received, 1000, |_| Some(&credentials))
        .unwrap_err();
    assert_eq!(err.kind(), VerifyErrorKind::InvalidAuthorization);
    headers.push(("X-TC-Action", "DescribeSnapshots"));
    let received = ReceivedRequest::new("POST", "/", "", b"{}", &headers);
    assert!(
        Verifier::new("cbs")
            .verify(&received, 1000, |_| Some(&credentials))
            .is_ok()
    );

    let host_only = signed
        .authorization()
        .replace("content-type;host;x-tc-action", "host");
    let headers = [
        ("host", "h"),
        ("content-type", "application/json"),
        ("x-tc-timestamp", "1000"),
        ("authorization", host_only.as_str()),
    ];
    let received = ReceivedRequest::new("POST", "/", "", b"{}", &headers);
    let err = Verifier::new("cbs")
        .verify(&received, 1000, |_| Some(&credentials))
        .unwrap_err();
    assert_eq!(err.kind(), VerifyErrorKind::InvalidAuthorization);
}

#[test]
fn debug_output_never_shows_secrets() {
    let credentials = Credentials::new("AKIDtest", "TOPSECRETKEY").with_token("SESSIONTOKEN");
    let mut signer = tc3_sign::CachingSigner::new(credentials.clone(), "cbs");
    let key = signer.key_for(0).unwrap().clone();
    let req = SignableRequest::post_json("h", b"{}");
    let signed = sign(&req, &credentials, "cbs", 0).unwrap();
    let shown = format!("{credentials:?} {signer:?} {key:?} {signed:?} {credentials:#?}");
    for secret in ["TOPSECRETKEY", "SESSIONTOKEN", signed.signature()] {
        assert!(!shown.contains(secret), "{secret} leaked into {shown}");
    }
}

/// The key chain and MAC of the TC3 scheme computed with the RustCrypto `hmac` crate.
fn reference_signature(secret_key: &str, date: &str, service: &str, message: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    type H = hmac::Hmac<sha2::Sha256>;
    let mac = |key: &[u8], data: &[u8]| {
        let mut m = <H as KeyInit>::new_from_slice(key).unwrap();
        m.update(data);
        m.finalize().into_bytes().to_vec()
    };
    let k_date = mac(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = mac(&k_date, service.as_bytes());
    let k_signing = mac(&k_service, b"tc3_request");
    mac(&k_signing, message)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

proptest! {
    #[test]
    fn signing_key_matches_the_rustcrypto_hmac_chain(
        secret_key in "\\PC{0,150}",
        days in 0u64..2_932_896,
        service in "[a-z]{1,20}",
        message in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let date = tc3_sign::UtcDate::from_unix(days * 86_400).unwrap();
        let key = tc3_sign::SigningKey::derive(&secret_key, date, &service);
        // `signature_hex` takes text; any bytes are fine for the MAC, so map them to chars.
        let text: String = message.iter().map(|&b| char::from(b)).collect();
        prop_assert_eq!(
            key.signature_hex(&text),
            reference_signature(&secret_key, date.as_str(), &service, text.as_bytes())
        );
    }
}
