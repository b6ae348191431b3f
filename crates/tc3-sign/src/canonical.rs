//! The canonical request and the string to sign, streamed into a hash or a string.
//!
//! Signing never builds the canonical request as a string: its pieces go straight into
//! SHA-256, so the hot path allocates nothing. The same writer fills a `String` when a
//! caller asks to see it.

use alloc::string::String;
use core::cmp::Ordering;

use crate::date::UtcDate;
use crate::error::{SignError, SignErrorKind};
use crate::request::{Payload, SignableRequest};
use crate::sha::Sha256;
use crate::text::{Decimal, is_field_value, is_host, is_single_line, is_token, trim_header_value};
use crate::{ALGORITHM, SCOPE_TERMINATOR};

/// Something the canonical text can be written into.
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

impl Sink for crate::sha::MacState {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

/// Collects text; every piece written is valid UTF-8 because it comes from `&str`.
pub(crate) struct TextSink(pub(crate) alloc::vec::Vec<u8>);

impl Sink for TextSink {
    fn put(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

impl TextSink {
    pub(crate) fn into_string(self) -> String {
        String::from_utf8(self.0).unwrap_or_default()
    }
}

/// Writes a header name in lower case without allocating.
pub(crate) fn put_lowercase(sink: &mut impl Sink, name: &str) {
    let bytes = name.as_bytes();
    if !bytes.iter().any(u8::is_ascii_uppercase) {
        sink.put(bytes);
        return;
    }
    let mut chunk = [0u8; 32];
    for piece in bytes.chunks(chunk.len()) {
        for (out, b) in chunk.iter_mut().zip(piece) {
            *out = b.to_ascii_lowercase();
        }
        sink.put(&chunk[..piece.len()]);
    }
}

/// Compares header names as the canonical form orders them: by their lower-case bytes.
pub(crate) fn cmp_names(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// The signed headers of a request, in canonical order.
pub(crate) trait HeaderList {
    /// Calls `f(name, value)` for each signed header in canonical order.
    fn each(&self, f: impl FnMut(&str, &str));
}

/// `content-type`, `host` and the caller's extra headers, sorted by lower-case name.
pub(crate) struct SortedHeaders<'r> {
    content_type: &'r str,
    host: &'r str,
    extra: &'r [(&'r str, &'r str)],
}

impl<'r> SortedHeaders<'r> {
    fn entry(&self, i: usize) -> (&'r str, &'r str) {
        match i {
            0 => ("content-type", self.content_type),
            1 => ("host", self.host),
            _ => self.extra[i - 2],
        }
    }

    fn len(&self) -> usize {
        2 + self.extra.len()
    }
}

impl HeaderList for SortedHeaders<'_> {
    fn each(&self, mut f: impl FnMut(&str, &str)) {
        if self.extra.is_empty() {
            f("content-type", self.content_type);
            f("host", self.host);
            return;
        }
        // Selection by successor: names are unique (checked in `validate`), so repeatedly
        // taking the smallest name above the previous one visits each once, in order,
        // without a buffer. The lists are a handful of entries long.
        let mut previous: Option<&str> = None;
        for _ in 0..self.len() {
            let mut best: Option<(&str, &str)> = None;
            for i in 0..self.len() {
                let (name, value) = self.entry(i);
                let above = previous.is_none_or(|p| cmp_names(name, p) == Ordering::Greater);
                let smaller = best.is_none_or(|(b, _)| cmp_names(name, b) == Ordering::Less);
                if above && smaller {
                    best = Some((name, value));
                }
            }
            let Some((name, value)) = best else { return };
            f(name, value);
            previous = Some(name);
        }
    }
}

/// Checks everything the canonical request is built from, so that no input can add or
/// break a line of it.
pub(crate) fn validate<'r>(req: &SignableRequest<'r>) -> Result<SortedHeaders<'r>, SignError> {
    let fail = |kind| Err(SignError::new(kind));
    if !is_token(req.method) {
        return fail(SignErrorKind::InvalidMethod);
    }
    if !is_host(req.host) {
        return fail(SignErrorKind::InvalidHost);
    }
    if !req.path.starts_with('/') || !is_single_line(req.path) || !is_single_line(req.query) {
        return fail(SignErrorKind::InvalidPathOrQuery);
    }
    if !is_field_value(req.content_type) {
        return fail(SignErrorKind::InvalidHeaderValue);
    }
    check_payload(req.payload)?;
    let headers = SortedHeaders {
        content_type: req.content_type,
        host: req.host,
        extra: req.extra_headers,
    };
    for (i, (name, value)) in req.extra_headers.iter().enumerate() {
        if !is_token(name) {
            return fail(SignErrorKind::InvalidHeaderName);
        }
        if !is_field_value(value) {
            return fail(SignErrorKind::InvalidHeaderValue);
        }
        // Compare against everything before it, host and content-type included.
        if (0..i + 2).any(|j| cmp_names(headers.entry(j).0, name) == Ordering::Equal) {
            return fail(SignErrorKind::DuplicateHeader);
        }
    }
    Ok(headers)
}

/// A payload hash given by the caller must be 64 lower-case hex digits.
pub(crate) fn check_payload(payload: Payload<'_>) -> Result<(), SignError> {
    if let Payload::Sha256Hex(hash) = payload {
        let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if hash.len() != 64 || !hash.bytes().all(lower_hex) {
            return Err(SignError::new(SignErrorKind::InvalidPayloadHash));
        }
    }
    Ok(())
}

/// Hex SHA-256 of the payload as the canonical request's last line wants it.
pub(crate) fn payload_hash_hex(payload: Payload<'_>) -> [u8; 64] {
    let mut out = [0u8; 64];
    match payload {
        Payload::Bytes(bytes) => hex_digest(&Sha256::digest(bytes), &mut out),
        Payload::Unsigned => out.copy_from_slice(UNSIGNED_PAYLOAD_SHA256_HEX.as_bytes()),
        Payload::Sha256Hex(hash) => out.copy_from_slice(hash.as_bytes()),
    }
    out
}

/// SHA-256 of the literal `UNSIGNED-PAYLOAD` (checked by a unit test).
pub(crate) const UNSIGNED_PAYLOAD_SHA256_HEX: &str =
    "438d4109ef0d676b8c2c7ed13cdfcb418e494d53b843d4634ce3b1085f07bb96";

/// Lower-case hex of a 32-byte digest.
///
/// Signing writes three digests as hex. This byte-at-a-time form, free of tables and
/// branches, is what the compiler turns into vector code, which beat a table lookup per
/// digit and four bytes at a time in a `u64` when they were tried (the `sign` bench
/// measures whole signatures).
pub(crate) fn hex_digest(digest: &[u8; 32], out: &mut [u8; 64]) {
    for (pair, byte) in out.chunks_exact_mut(2).zip(digest) {
        pair[0] = hex_digit(byte >> 4);
        pair[1] = hex_digit(byte & 0x0f);
    }
}

/// The lower-case hex digit of a nibble (0 to 15).
fn hex_digit(nibble: u8) -> u8 {
    nibble + if nibble > 9 { b'a' - 10 } else { b'0' }
}

/// Writes the canonical request:
/// `method \n path \n query \n headers… \n signed-names \n payload-hash`.
pub(crate) fn write_canonical_request(
    sink: &mut impl Sink,
    method: &str,
    path: &str,
    query: &str,
    headers: &impl HeaderList,
    payload_hash_hex: &[u8; 64],
) {
    write_canonical_prefix(sink, method, path, query, headers);
    sink.put(payload_hash_hex);
}

/// Writes the canonical request up to its last line, the payload hash: the part that
/// stays the same from call to call.
pub(crate) fn write_canonical_prefix(
    sink: &mut impl Sink,
    method: &str,
    path: &str,
    query: &str,
    headers: &impl HeaderList,
) {
    sink.put(method.as_bytes());
    sink.put(b"\n");
    sink.put(path.as_bytes());
    sink.put(b"\n");
    sink.put(query.as_bytes());
    sink.put(b"\n");
    headers.each(|name, value| {
        put_lowercase(sink, name);
        sink.put(b":");
        sink.put(trim_header_value(value).as_bytes());
        sink.put(b"\n");
    });
    sink.put(b"\n");
    write_signed_header_names(sink, headers);
    sink.put(b"\n");
}

/// Writes `name;name;…` in canonical order.
pub(crate) fn write_signed_header_names(sink: &mut impl Sink, headers: &impl HeaderList) {
    let mut first = true;
    headers.each(|name, _| {
        if !first {
            sink.put(b";");
        }
        first = false;
        put_lowercase(sink, name);
    });
}

/// Writes the string to sign:
/// `TC3-HMAC-SHA256 \n timestamp \n date/service/tc3_request \n hex(sha256(canonical))`.
pub(crate) fn write_string_to_sign(
    sink: &mut impl Sink,
    timestamp: &Decimal,
    scope: &str,
    canonical_hash_hex: &[u8; 64],
) {
    sink.put(ALGORITHM.as_bytes());
    sink.put(b"\n");
    sink.put(timestamp.as_bytes());
    sink.put(b"\n");
    sink.put(scope.as_bytes());
    sink.put(b"\n");
    sink.put(canonical_hash_hex);
}

/// `date/service/tc3_request`.
pub(crate) fn credential_scope(date: &UtcDate, service: &str) -> String {
    let mut scope = String::with_capacity(10 + 1 + service.len() + 1 + SCOPE_TERMINATOR.len());
    scope.push_str(date.as_str());
    scope.push('/');
    scope.push_str(service);
    scope.push('/');
    scope.push_str(SCOPE_TERMINATOR);
    scope
}

/// The hex SHA-256 of a request's canonical form, computed without building it.
pub(crate) fn canonical_request_hash(
    method: &str,
    path: &str,
    query: &str,
    headers: &impl HeaderList,
    payload: Payload<'_>,
) -> [u8; 64] {
    let payload_hex = payload_hash_hex(payload);
    let mut hasher = Sha256::new();
    write_canonical_request(&mut hasher, method, path, query, headers, &payload_hex);
    let mut out = [0u8; 64];
    hex_digest(&hasher.finalize(), &mut out);
    out
}

/// The canonical request of `request`, as text: the first stage of the signature.
///
/// Useful to compare with what a server says it expected when it answers
/// `AuthFailure.SignatureFailure`.
///
/// ```
/// let req = tc3_sign::SignableRequest::post_json("cbs.tencentcloudapi.com", b"{}");
/// let text = tc3_sign::canonical_request(&req)?;
/// assert!(text.starts_with("POST\n/\n\ncontent-type:application/json\nhost:cbs.tencentcloudapi.com\n\ncontent-type;host\n"));
/// # Ok::<(), tc3_sign::SignError>(())
/// ```
pub fn canonical_request(request: &SignableRequest<'_>) -> Result<String, SignError> {
    let headers = validate(request)?;
    let payload_hex = payload_hash_hex(request.payload);
    let mut sink = TextSink(alloc::vec::Vec::with_capacity(256));
    write_canonical_request(
        &mut sink,
        request.method,
        request.path,
        request.query,
        &headers,
        &payload_hex,
    );
    Ok(sink.into_string())
}

/// The string to sign for a canonical request: the second stage of the signature.
///
/// The credential scope's date is the UTC date of `timestamp`.
pub fn string_to_sign(
    timestamp: u64,
    service: &str,
    canonical_request: &str,
) -> Result<String, SignError> {
    let date = UtcDate::from_unix(timestamp)?;
    let mut hash_hex = [0u8; 64];
    hex_digest(&Sha256::digest(canonical_request.as_bytes()), &mut hash_hex);
    let mut sink = TextSink(alloc::vec::Vec::with_capacity(128));
    let scope = credential_scope(&date, service);
    write_string_to_sign(&mut sink, &Decimal::new(timestamp), &scope, &hash_hex);
    Ok(sink.into_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UNSIGNED_PAYLOAD;

    #[test]
    fn unsigned_payload_constant_is_the_hash_of_the_marker() {
        let mut expected = [0u8; 64];
        hex_digest(&Sha256::digest(UNSIGNED_PAYLOAD.as_bytes()), &mut expected);
        assert_eq!(UNSIGNED_PAYLOAD_SHA256_HEX.as_bytes(), &expected[..]);
    }

    #[test]
    fn hex_digest_writes_every_byte_value() {
        // The eight digests hold every byte value once.
        for start in (0u8..=255).step_by(32) {
            let digest: [u8; 32] = core::array::from_fn(|i| start + i as u8);
            let mut out = [0u8; 64];
            hex_digest(&digest, &mut out);
            let expected: String = digest.iter().map(|b| alloc::format!("{b:02x}")).collect();
            assert_eq!(core::str::from_utf8(&out).unwrap(), expected);
        }
    }

    #[test]
    fn extra_headers_are_sorted_and_lowercased() {
        let extra = [
            ("X-TC-Action", "Copy"),
            ("Accept", "x"),
            ("x-tc-region", "ap-beijing"),
        ];
        let req = SignableRequest::post_json("h", b"").sign_headers(&extra);
        let text = canonical_request(&req).unwrap();
        let lines: alloc::vec::Vec<&str> = text.lines().collect();
        assert_eq!(
            &lines[3..9],
            &[
                "accept:x",
                "content-type:application/json",
                "host:h",
                "x-tc-action:Copy",
                "x-tc-region:ap-beijing",
                "",
            ]
        );
        assert_eq!(lines[9], "accept;content-type;host;x-tc-action;x-tc-region");
    }

    #[test]
    fn duplicate_and_bad_headers_are_rejected() {
        let dup = [("HOST", "other")];
        let req = SignableRequest::post_json("h", b"").sign_headers(&dup);
        assert_eq!(
            canonical_request(&req).unwrap_err().kind(),
            SignErrorKind::DuplicateHeader
        );
        let dup = [("a", "1"), ("A", "2")];
        let req = SignableRequest::post_json("h", b"").sign_headers(&dup);
        assert_eq!(
            canonical_request(&req).unwrap_err().kind(),
            SignErrorKind::DuplicateHeader
        );
        let bad = [("a b", "1")];
        let req = SignableRequest::post_json("h", b"").sign_headers(&bad);
        assert_eq!(
            canonical_request(&req).unwrap_err().kind(),
            SignErrorKind::InvalidHeaderName
        );
        let bad = [("a", "1\nhost:evil")];
        let req = SignableRequest::post_json("h", b"").sign_headers(&bad);
        assert_eq!(
            canonical_request(&req).unwrap_err().kind(),
            SignErrorKind::InvalidHeaderValue
        );
    }

    #[test]
    fn values_are_trimmed() {
        let extra = [("x-a", " \t v a l \t")];
        let req = SignableRequest::post_json("h", b"").sign_headers(&extra);
        assert!(canonical_request(&req).unwrap().contains("\nx-a:v a l\n"));
    }

    #[test]
    fn bad_path_host_method_and_hash() {
        let base = SignableRequest::post_json("h", b"");
        let kind = |r: SignableRequest<'_>| canonical_request(&r).unwrap_err().kind();
        assert_eq!(kind(base.path("x")), SignErrorKind::InvalidPathOrQuery);
        assert_eq!(kind(base.query("a\n")), SignErrorKind::InvalidPathOrQuery);
        assert_eq!(
            kind(SignableRequest::post_json("", b"")),
            SignErrorKind::InvalidHost
        );
        assert_eq!(
            kind(SignableRequest::post_json("a b", b"")),
            SignErrorKind::InvalidHost
        );
        assert_eq!(
            kind(SignableRequest::new("PO ST", "h", Payload::Unsigned)),
            SignErrorKind::InvalidMethod
        );
        assert_eq!(
            kind(base.payload(Payload::Sha256Hex("ABC"))),
            SignErrorKind::InvalidPayloadHash
        );
    }
}
