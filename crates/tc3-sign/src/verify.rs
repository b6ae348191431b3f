use alloc::string::String;

use crate::authorization::ParsedAuthorization;
use crate::canonical::{HeaderList, canonical_request_hash};
use crate::credentials::Credentials;
use crate::date::UtcDate;
use crate::error::{VerifyError, VerifyErrorKind};
use crate::key::SigningKey;
use crate::request::Payload;
use crate::text::{Decimal, constant_time_eq, is_field_value};
use crate::{UNSIGNED_PAYLOAD, header};

/// How far, in seconds, a request's timestamp may be from the verifier's clock, in either
/// direction, by default: five minutes, as the service enforces.
pub const DEFAULT_CLOCK_WINDOW_SECS: u64 = 300;

/// A request as a server received it: what verification needs to recompute the signature.
#[derive(Clone, Copy, Debug)]
pub struct ReceivedRequest<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    body: &'a [u8],
    headers: &'a [(&'a str, &'a str)],
}

impl<'a> ReceivedRequest<'a> {
    /// The method, path, raw query (without `?`), body bytes and every header received, as
    /// `(name, value)` pairs with names in any case.
    pub fn new(
        method: &'a str,
        path: &'a str,
        query: &'a str,
        body: &'a [u8],
        headers: &'a [(&'a str, &'a str)],
    ) -> Self {
        ReceivedRequest {
            method,
            path,
            query,
            body,
            headers,
        }
    }

    /// The first header named `name`, ignoring case.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

/// What a successful verification established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    secret_id: String,
    timestamp: u64,
}

impl Verified {
    /// The secret id that signed the request.
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// The request's `X-TC-Timestamp`.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }
}

/// Checks TC3 signatures the way the service does.
///
/// The checks, in order, each with the error kind it fails with:
/// 1. the `Authorization` header parses, `X-TC-Timestamp` is a number, and every signed
///    header (at least `content-type` and `host`) is present — `InvalidAuthorization`;
/// 2. the timestamp is within the clock window of `now` — `SignatureExpire`;
/// 3. the secret id is known to the lookup — `SecretIdNotFound`;
/// 4. credentials with a token are matched by `X-TC-Token` — `TokenFailure`;
/// 5. the scope names the timestamp's UTC date and this verifier's service, and the
///    signature matches (compared in constant time) — `SignatureFailure`.
///
/// A body marked `X-TC-Content-SHA256: UNSIGNED-PAYLOAD` is not hashed.
#[derive(Clone, Debug)]
pub struct Verifier {
    service: String,
    window_secs: u64,
}

impl Verifier {
    /// A verifier for requests to `service`, with the default five-minute clock window.
    pub fn new(service: impl Into<String>) -> Self {
        Verifier {
            service: service.into(),
            window_secs: DEFAULT_CLOCK_WINDOW_SECS,
        }
    }

    /// Sets the clock window in seconds.
    pub fn clock_window_secs(mut self, secs: u64) -> Self {
        self.window_secs = secs;
        self
    }

    /// Verifies `request` at server time `now` (Unix seconds). `lookup` maps a secret id to
    /// its credentials, or `None` when the id is unknown.
    pub fn verify<'c>(
        &self,
        request: &ReceivedRequest<'_>,
        now: u64,
        lookup: impl FnOnce(&str) -> Option<&'c Credentials>,
    ) -> Result<Verified, VerifyError> {
        let invalid = |detail| VerifyError::new(VerifyErrorKind::InvalidAuthorization, detail);
        let authorization = request
            .header(header::AUTHORIZATION)
            .ok_or(invalid("the Authorization header is missing"))?;
        let parsed = ParsedAuthorization::parse(authorization)?;
        let timestamp: u64 = request
            .header(header::TIMESTAMP)
            .and_then(|t| t.trim().parse().ok())
            .ok_or(invalid(
                "X-TC-Timestamp is missing or not a number of seconds",
            ))?;
        let headers = DeclaredHeaders::resolve(&parsed, request)?;

        if now.abs_diff(timestamp) > self.window_secs {
            return Err(VerifyError::new(
                VerifyErrorKind::SignatureExpire,
                "the request timestamp is outside the allowed clock window",
            ));
        }
        let credentials = lookup(parsed.secret_id()).ok_or(VerifyError::new(
            VerifyErrorKind::SecretIdNotFound,
            "the secret id is not known",
        ))?;
        if let Some(expected) = credentials.token() {
            let sent = request.header(header::TOKEN).unwrap_or_default();
            if !constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
                return Err(VerifyError::new(
                    VerifyErrorKind::TokenFailure,
                    "the X-TC-Token header is missing or does not match the credentials",
                ));
            }
        }

        let mismatch = |detail| VerifyError::new(VerifyErrorKind::SignatureFailure, detail);
        let date = UtcDate::from_unix(timestamp)
            .map_err(|_| mismatch("the timestamp has no valid date"))?;
        if parsed.date() != date.as_str() {
            return Err(mismatch(
                "the credential scope's date is not the timestamp's UTC date",
            ));
        }
        if parsed.service() != self.service {
            return Err(mismatch("the credential scope names another service"));
        }
        let unsigned = request
            .header(header::CONTENT_SHA256)
            .is_some_and(|v| v.trim() == UNSIGNED_PAYLOAD);
        let payload = if unsigned {
            Payload::Unsigned
        } else {
            Payload::Bytes(request.body)
        };
        let canonical_hash = canonical_request_hash(
            request.method,
            request.path,
            request.query,
            &headers,
            payload,
        );
        let key = SigningKey::derive(credentials.secret_key(), date, &self.service);
        let expected = key.sign_string_to_sign(&Decimal::new(timestamp), &canonical_hash);
        if !constant_time_eq(&expected, parsed.signature().as_bytes()) {
            return Err(mismatch("the signature does not match the request"));
        }
        Ok(Verified {
            secret_id: String::from(parsed.secret_id()),
            timestamp,
        })
    }
}

/// The headers an `Authorization` value declares, with their received values, in the
/// declared order (the order the client hashed them in).
struct DeclaredHeaders<'p, 'r> {
    parsed: &'p ParsedAuthorization<'p>,
    request: &'r ReceivedRequest<'r>,
}

impl<'p, 'r> DeclaredHeaders<'p, 'r> {
    fn resolve(
        parsed: &'p ParsedAuthorization<'p>,
        request: &'r ReceivedRequest<'r>,
    ) -> Result<Self, VerifyError> {
        let invalid = |detail| VerifyError::new(VerifyErrorKind::InvalidAuthorization, detail);
        let names = || parsed.signed_headers();
        if !names().any(|n| n == "content-type") || !names().any(|n| n == "host") {
            return Err(invalid("SignedHeaders must include content-type and host"));
        }
        for (i, name) in names().enumerate() {
            if names().take(i).any(|earlier| earlier == name) {
                return Err(invalid("SignedHeaders names a header twice"));
            }
            match request.header(name) {
                Some(value) if is_field_value(value) => {}
                _ => return Err(invalid("a header named in SignedHeaders is missing")),
            }
        }
        Ok(DeclaredHeaders { parsed, request })
    }
}

impl HeaderList for DeclaredHeaders<'_, '_> {
    fn each(&self, mut f: impl FnMut(&str, &str)) {
        for name in self.parsed.signed_headers() {
            // `resolve` checked that each is present.
            f(name, self.request.header(name).unwrap_or_default());
        }
    }
}
