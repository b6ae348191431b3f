//! The legacy v1 signatures, `HmacSHA1` and `HmacSHA256`, which the API still accepts.
//!
//! A v1 request carries everything as parameters (in a form body, or a GET query): the
//! action's own members flattened (`Filters.0.Values.1`) and the common ones (`Action`,
//! `Version`, `Region`, `Timestamp`, `Nonce`, `SecretId`, `SignatureMethod`, `Token`,
//! …). The string to sign is the method, host and path, `?`, and every parameter but
//! `Signature`, sorted by name, as `name=value` joined by `&`, with raw values and every
//! `_` in a name written as `.`. The signature is the base64 of the string's HMAC under
//! the secret key.
//!
//! ```
//! use tc3_sign::v1::{self, Algorithm};
//!
//! let params = [
//!     ("Action", "DescribeSnapshots"),
//!     ("Version", "2017-03-12"),
//!     ("Region", "ap-guangzhou"),
//!     ("Timestamp", "1700000000"),
//!     ("Nonce", "11886"),
//!     ("SecretId", "AKIDEXAMPLE"),
//!     ("SignatureMethod", "HmacSHA256"),
//!     ("Limit", "10"),
//! ];
//! let request = v1::Request::new("POST", "cbs.tencentcloudapi.com", &params);
//! assert!(request.string_to_sign()?.starts_with("POSTcbs.tencentcloudapi.com/?Action=DescribeSnapshots&Limit=10&"));
//! let signature = request.sign("secret", Algorithm::HmacSha256)?;
//! let body = v1::form_body(&params, &signature);
//! assert!(body.ends_with(&format!("&Signature={}", v1::encode(&signature))));
//! # Ok::<(), tc3_sign::SignError>(())
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use base64::Engine as _;
use hmac::{KeyInit, Mac};

use crate::error::{SignError, SignErrorKind, VerifyError, VerifyErrorKind};
use crate::text::{constant_time_eq, is_host, is_single_line, is_token};

/// The parameter that carries the signature, left out of the string to sign.
pub const SIGNATURE: &str = "Signature";

/// A v1 signature method (the `SignatureMethod` parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// `HmacSHA1`.
    HmacSha1,
    /// `HmacSHA256`.
    HmacSha256,
}

impl Algorithm {
    /// The `SignatureMethod` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::HmacSha1 => "HmacSHA1",
            Algorithm::HmacSha256 => "HmacSHA256",
        }
    }

    /// The method a `SignatureMethod` value names; the API reads a missing one as
    /// `HmacSHA1`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "HmacSHA1" => Some(Algorithm::HmacSha1),
            "HmacSHA256" => Some(Algorithm::HmacSha256),
            _ => None,
        }
    }

    /// The base64 HMAC of `message` under `key`.
    fn mac(self, key: &[u8], message: &[u8]) -> String {
        // HMAC takes keys of any length, so these constructors cannot fail.
        let digest: Vec<u8> = match self {
            Algorithm::HmacSha1 => <hmac::Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key)
                .map(|mut mac| {
                    mac.update(message);
                    mac.finalize().into_bytes().to_vec()
                })
                .unwrap_or_default(),
            Algorithm::HmacSha256 => <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key)
                .map(|mut mac| {
                    mac.update(message);
                    mac.finalize().into_bytes().to_vec()
                })
                .unwrap_or_default(),
        };
        base64::engine::general_purpose::STANDARD.encode(digest)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request to sign or verify: method, host, path and its parameters (the signature
/// among them or not).
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    method: &'a str,
    host: &'a str,
    path: &'a str,
    params: &'a [(&'a str, &'a str)],
}

impl<'a> Request<'a> {
    /// A request to `host` at path `/`.
    pub fn new(method: &'a str, host: &'a str, params: &'a [(&'a str, &'a str)]) -> Self {
        Request {
            method,
            host,
            path: "/",
            params,
        }
    }

    /// Another path than `/`.
    pub fn path(mut self, path: &'a str) -> Self {
        self.path = path;
        self
    }

    /// The value of parameter `name`, if the request has it.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    /// The string to sign: the first stage, public so that a failing signature can be
    /// compared with what a server expected.
    pub fn string_to_sign(&self) -> Result<String, SignError> {
        let fail = |kind| Err(SignError::new(kind));
        if !is_token(self.method) {
            return fail(SignErrorKind::InvalidMethod);
        }
        if !is_host(self.host) {
            return fail(SignErrorKind::InvalidHost);
        }
        if !self.path.starts_with('/') || !is_single_line(self.path) {
            return fail(SignErrorKind::InvalidPathOrQuery);
        }
        let mut params: Vec<&(&str, &str)> = self
            .params
            .iter()
            .filter(|(n, _)| *n != SIGNATURE)
            .collect();
        params.sort_by(|a, b| a.0.cmp(b.0));
        if params.windows(2).any(|w| w[0].0 == w[1].0) {
            return fail(SignErrorKind::DuplicateHeader);
        }
        if params.iter().any(|(name, _)| name.is_empty()) {
            return fail(SignErrorKind::InvalidHeaderName);
        }
        let size: usize = params.iter().map(|(n, v)| n.len() + v.len() + 2).sum();
        let mut text =
            String::with_capacity(self.method.len() + self.host.len() + self.path.len() + 1 + size);
        text.push_str(self.method);
        text.push_str(self.host);
        text.push_str(self.path);
        text.push('?');
        for (i, (name, value)) in params.iter().enumerate() {
            if i > 0 {
                text.push('&');
            }
            text.extend(name.chars().map(|c| if c == '_' { '.' } else { c }));
            text.push('=');
            text.push_str(value);
        }
        Ok(text)
    }

    /// The signature under `secret_key` with `algorithm`, as base64.
    pub fn sign(&self, secret_key: &str, algorithm: Algorithm) -> Result<String, SignError> {
        Ok(algorithm.mac(secret_key.as_bytes(), self.string_to_sign()?.as_bytes()))
    }
}

/// The form body (or GET query) of `params` and their `signature`: every parameter in
/// the order given, then `Signature`, each `name=value` URL-encoded as a form encodes it
/// (letters, digits and `_.-~` as they are, a space as `+`, everything else as `%XX`).
pub fn form_body(params: &[(&str, &str)], signature: &str) -> String {
    let mut body = String::new();
    for (name, value) in params.iter().chain([(SIGNATURE, signature)].iter()) {
        if !body.is_empty() {
            body.push('&');
        }
        body.push_str(&encode(name));
        body.push('=');
        body.push_str(&encode(value));
    }
    body
}

/// `text` URL-encoded as a form value.
pub fn encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(char::from(byte))
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 0xf)]));
            }
        }
    }
    out
}

/// What a verified v1 request was signed by.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// The `SecretId` parameter.
    pub secret_id: String,
    /// The signature method.
    pub algorithm: Algorithm,
    /// The `Timestamp` parameter.
    pub timestamp: u64,
}

/// Checks a received v1 request: its `SignatureMethod`, `SecretId`, `Timestamp` within
/// `window_secs` of `now`, and its `Signature` under the secret key `lookup` finds for
/// the secret id (compared in constant time).
pub fn verify<'k>(
    request: &Request<'_>,
    now: u64,
    window_secs: u64,
    lookup: impl FnOnce(&str) -> Option<&'k str>,
) -> Result<Verified, VerifyError> {
    let fail = |kind, detail: &'static str| Err(VerifyError::new(kind, detail));
    let Some(signature) = request.param(SIGNATURE).filter(|s| !s.is_empty()) else {
        return fail(
            VerifyErrorKind::InvalidAuthorization,
            "the Signature parameter is missing",
        );
    };
    let algorithm = match request.param("SignatureMethod") {
        None => Algorithm::HmacSha1,
        Some(method) => match Algorithm::parse(method) {
            Some(algorithm) => algorithm,
            None => {
                return fail(
                    VerifyErrorKind::InvalidAuthorization,
                    "the SignatureMethod is neither HmacSHA1 nor HmacSHA256",
                );
            }
        },
    };
    let Some(secret_id) = request.param("SecretId").filter(|s| !s.is_empty()) else {
        return fail(
            VerifyErrorKind::InvalidAuthorization,
            "the SecretId parameter is missing",
        );
    };
    let timestamp = match request.param("Timestamp").map(str::parse::<u64>) {
        Some(Ok(timestamp)) => timestamp,
        _ => {
            return fail(
                VerifyErrorKind::InvalidAuthorization,
                "the Timestamp parameter is missing or not a number",
            );
        }
    };
    if now.abs_diff(timestamp) > window_secs {
        return fail(
            VerifyErrorKind::SignatureExpire,
            "the timestamp is too far from the server's clock",
        );
    }
    let Some(secret_key) = lookup(secret_id) else {
        return fail(VerifyErrorKind::SecretIdNotFound, "the SecretId is unknown");
    };
    let expected = request.sign(secret_key, algorithm).map_err(|_| {
        VerifyError::new(
            VerifyErrorKind::SignatureFailure,
            "the request cannot be signed",
        )
    })?;
    if !constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
        return fail(
            VerifyErrorKind::SignatureFailure,
            "the signature does not match",
        );
    }
    Ok(Verified {
        secret_id: String::from(secret_id),
        algorithm,
        timestamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> [(&'static str, &'static str); 7] {
        [
            ("Action", "DescribeSnapshots"),
            ("Version", "2017-03-12"),
            ("Timestamp", "1700000000"),
            ("Nonce", "1"),
            ("SecretId", "AKID"),
            ("SignatureMethod", "HmacSHA256"),
            ("Filters.0.Values_x", "a b"),
        ]
    }

    #[test]
    fn names_are_sorted_and_underscores_read_as_dots() {
        let params = params();
        let text = Request::new("GET", "h", &params).string_to_sign().unwrap();
        assert_eq!(
            text,
            "GETh/?Action=DescribeSnapshots&Filters.0.Values.x=a b&Nonce=1&SecretId=AKID&SignatureMethod=HmacSHA256&Timestamp=1700000000&Version=2017-03-12"
        );
    }

    #[test]
    fn a_signature_verifies_and_tampering_fails() {
        let params = params();
        let signature = Request::new("POST", "h", &params)
            .sign("key", Algorithm::HmacSha256)
            .unwrap();
        let mut signed = params.to_vec();
        signed.push((SIGNATURE, signature.as_str()));
        let lookup = |id: &str| (id == "AKID").then_some("key");
        let verified = verify(
            &Request::new("POST", "h", &signed),
            1_700_000_100,
            300,
            lookup,
        )
        .unwrap();
        assert_eq!(verified.algorithm, Algorithm::HmacSha256);
        let kind = |params: &[(&str, &str)], now| {
            verify(&Request::new("POST", "h", params), now, 300, lookup)
                .unwrap_err()
                .kind()
        };
        assert_eq!(
            kind(&signed, 1_700_000_400),
            VerifyErrorKind::SignatureExpire
        );
        let mut tampered = signed.clone();
        tampered[0] = ("Action", "DeleteSnapshots");
        assert_eq!(
            kind(&tampered, 1_700_000_000),
            VerifyErrorKind::SignatureFailure
        );
        assert_eq!(
            kind(&params, 1_700_000_000),
            VerifyErrorKind::InvalidAuthorization
        );
        let mut unknown = signed.clone();
        unknown[4] = ("SecretId", "AKIDother");
        assert_eq!(
            kind(&unknown, 1_700_000_000),
            VerifyErrorKind::SecretIdNotFound
        );
    }

    #[test]
    fn form_encoding_is_pythons_urlencode() {
        assert_eq!(encode("a b*~_.-/=&云"), "a+b%2A~_.-%2F%3D%26%E4%BA%91");
        assert_eq!(
            form_body(&[("A", "1"), ("B c", "")], "s/="),
            "A=1&B+c=&Signature=s%2F%3D"
        );
    }

    #[test]
    fn duplicate_names_are_refused() {
        let params = [("A", "1"), ("A", "2")];
        assert!(Request::new("POST", "h", &params).string_to_sign().is_err());
    }
}
