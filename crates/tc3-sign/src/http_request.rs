//! Signing and verifying `http::Request` values (feature `http`).

use alloc::string::String;
use alloc::vec::Vec;

use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderValue, Request};

use crate::error::{SignError, SignErrorKind, VerifyError};
use crate::request::{Payload, SignableRequest};
use crate::sign::CachingSigner;
use crate::verify::{ReceivedRequest, Verified, Verifier};
use crate::{Credentials, UNSIGNED_PAYLOAD, header};

/// Signs `request` in place at `timestamp` and adds the headers the signature needs,
/// `Authorization` and `X-TC-Token` marked sensitive.
///
/// The signed headers are `content-type` (which the request must have), `host` (the `Host`
/// header, or the URI's authority, which is then also set as `Host`) and the headers named
/// in `also_sign`, which must be on the request. A request carrying
/// `X-TC-Content-SHA256: UNSIGNED-PAYLOAD` is signed without hashing its body.
///
/// ```
/// use tc3_sign::{sign_http_request, CachingSigner, Credentials};
///
/// let mut signer = CachingSigner::new(Credentials::new("AKIDEXAMPLE", "secret"), "cbs");
/// let mut request = http::Request::post("https://cbs.tencentcloudapi.com/")
///     .header("content-type", "application/json")
///     .header("x-tc-action", "DescribeSnapshots")
///     .body(br#"{"Limit":20}"#.to_vec())?;
/// sign_http_request(&mut request, &mut signer, 1_700_000_000, &["x-tc-action"])?;
/// assert!(request.headers()["authorization"].to_str()?.contains("content-type;host;x-tc-action"));
/// assert_eq!(request.headers()["host"], "cbs.tencentcloudapi.com");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn sign_http_request<B: AsRef<[u8]>>(
    request: &mut Request<B>,
    signer: &mut CachingSigner,
    timestamp: u64,
    also_sign: &[&str],
) -> Result<(), SignError> {
    let missing = || SignError::new(SignErrorKind::MissingHeader);
    let bad_value = SignError::new(SignErrorKind::InvalidHeaderValue);
    let host = match request.headers().get(HOST) {
        Some(value) => String::from(value.to_str().map_err(|_| bad_value)?),
        None => String::from(request.uri().authority().ok_or_else(missing)?.as_str()),
    };
    let headers = request.headers();
    let content_type = headers
        .get(CONTENT_TYPE)
        .ok_or_else(missing)?
        .to_str()
        .map_err(|_| bad_value)?;
    let mut extra = Vec::with_capacity(also_sign.len());
    for name in also_sign {
        let value = headers.get(*name).ok_or_else(missing)?;
        extra.push((*name, value.to_str().map_err(|_| bad_value)?));
    }
    let unsigned = headers
        .get(header::CONTENT_SHA256)
        .is_some_and(|v| v.as_bytes() == UNSIGNED_PAYLOAD.as_bytes());
    let payload = if unsigned {
        Payload::Unsigned
    } else {
        Payload::Bytes(request.body().as_ref())
    };
    let signable = SignableRequest::new(request.method().as_str(), &host, payload)
        .path(request.uri().path())
        .query(request.uri().query().unwrap_or(""))
        .content_type(content_type)
        .sign_headers(&extra);
    let signed = signer.sign(&signable, timestamp)?;
    let mut to_add = Vec::with_capacity(5);
    for (name, value) in signed.headers() {
        let mut value = HeaderValue::from_str(value).map_err(|_| bad_value)?;
        // Kept out of `Debug` output and HTTP/2 header compression tables.
        value.set_sensitive(name == header::AUTHORIZATION || name == header::TOKEN);
        to_add.push((name, value));
    }
    if !request.headers().contains_key(HOST) {
        to_add.push((
            HOST.as_str(),
            HeaderValue::from_str(&host).map_err(|_| bad_value)?,
        ));
    }
    let headers = request.headers_mut();
    for (name, value) in to_add {
        headers.insert(name, value);
    }
    Ok(())
}

/// Verifies a received `http::Request` (see [`Verifier::verify`]). When the request has no
/// `Host` header (HTTP/2), the URI's authority stands in for it.
pub fn verify_http_request<'c, B: AsRef<[u8]>>(
    request: &Request<B>,
    verifier: &Verifier,
    now: u64,
    lookup: impl FnOnce(&str) -> Option<&'c Credentials>,
) -> Result<Verified, VerifyError> {
    // Headers that are not visible ASCII cannot have been signed by a conforming client;
    // leaving them out makes a signed one show up as missing.
    let mut headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    if let (false, Some(authority)) = (
        request.headers().contains_key(HOST),
        request.uri().authority(),
    ) {
        headers.push(("host", authority.as_str()));
    }
    let received = ReceivedRequest::new(
        request.method().as_str(),
        request.uri().path(),
        request.uri().query().unwrap_or(""),
        request.body().as_ref(),
        &headers,
    );
    verifier.verify(&received, now, lookup)
}
