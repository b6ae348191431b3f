use alloc::string::String;
use core::fmt;

use crate::canonical::{
    HeaderList, TextSink, canonical_request_hash, validate, write_signed_header_names,
};
use crate::credentials::Credentials;
use crate::date::UtcDate;
use crate::error::{SignError, SignErrorKind};
use crate::key::SigningKey;
use crate::request::{Payload, SignableRequest};
use crate::text::Decimal;
use crate::{ALGORITHM, UNSIGNED_PAYLOAD, header};

const CREDENTIAL_PREFIX: &str = " Credential=";
const SIGNED_HEADERS_PREFIX: &str = ", SignedHeaders=";
const SIGNATURE_PREFIX: &str = ", Signature=";

/// A signature and the headers that carry it.
///
/// `Debug` shows the credential scope and timestamp but not the signature or the token.
#[derive(Clone)]
pub struct Signed<'c> {
    authorization: String,
    scope_start: usize,
    scope_end: usize,
    timestamp: Decimal,
    token: Option<&'c str>,
    unsigned_payload: bool,
}

impl<'c> Signed<'c> {
    /// The complete `Authorization` header value.
    pub fn authorization(&self) -> &str {
        &self.authorization
    }

    /// The `Authorization` header value, taken out without copying it.
    pub fn into_authorization(self) -> String {
        self.authorization
    }

    /// The signature: 64 lower-case hex digits.
    pub fn signature(&self) -> &str {
        &self.authorization[self.authorization.len() - 64..]
    }

    /// The credential scope, `YYYY-MM-DD/service/tc3_request`.
    pub fn credential_scope(&self) -> &str {
        &self.authorization[self.scope_start..self.scope_end]
    }

    /// The `X-TC-Timestamp` value.
    pub fn timestamp(&self) -> &str {
        self.timestamp.as_str()
    }

    /// Every header the request must carry for this signature to be accepted, besides the
    /// signed headers themselves: `Authorization`, `X-TC-Timestamp`, `X-TC-Token` with
    /// temporary credentials, and `X-TC-Content-SHA256` for an unsigned payload.
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        [
            Some((header::AUTHORIZATION, self.authorization())),
            Some((header::TIMESTAMP, self.timestamp())),
            self.token.map(|t| (header::TOKEN, t)),
            self.unsigned_payload
                .then_some((header::CONTENT_SHA256, UNSIGNED_PAYLOAD)),
        ]
        .into_iter()
        .flatten()
    }
}

impl fmt::Debug for Signed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signed")
            .field("credential_scope", &self.credential_scope())
            .field("timestamp", &self.timestamp())
            .field("signature", &crate::text::Redacted)
            .field("token", &self.token.map(|_| crate::text::Redacted))
            .finish()
    }
}

/// Signs `request` with `credentials` for `service` at `timestamp` (Unix seconds).
///
/// This derives the signing key afresh; see [`CachingSigner`] or [`sign_with_key`] to
/// derive it once a day instead.
pub fn sign<'c>(
    request: &SignableRequest<'_>,
    credentials: &'c Credentials,
    service: &str,
    timestamp: u64,
) -> Result<Signed<'c>, SignError> {
    let key = SigningKey::derive(
        credentials.secret_key(),
        UtcDate::from_unix(timestamp)?,
        service,
    );
    sign_with_key(request, credentials, &key, timestamp)
}

/// Signs `request` with an already derived key. The key must have been derived from
/// `credentials`' secret key; its date must be the UTC date of `timestamp`
/// (otherwise [`SignErrorKind::SigningKeyMismatch`]).
pub fn sign_with_key<'c>(
    request: &SignableRequest<'_>,
    credentials: &'c Credentials,
    key: &SigningKey,
    timestamp: u64,
) -> Result<Signed<'c>, SignError> {
    let headers = validate(request)?;
    check_key_date(key, timestamp)?;
    let canonical_hash = canonical_request_hash(
        request.method,
        request.path,
        request.query,
        &headers,
        request.payload,
    );
    // Names joined by `;`: one separator fewer than names.
    let mut names_len = 0;
    headers.each(|name, _| names_len += name.len() + 1);
    let names = SignedNames {
        len: names_len.saturating_sub(1),
        write: &|authorization: &mut String| {
            // Header names are tokens (checked by `validate`), so the text stays UTF-8.
            let mut text = TextSink(core::mem::take(authorization).into_bytes());
            write_signed_header_names(&mut text, &headers);
            *authorization = text.into_string();
        },
    };
    Ok(finish(
        credentials,
        key,
        timestamp,
        &canonical_hash,
        &names,
        request.payload,
    ))
}

/// A key serves only the UTC date it was derived for.
pub(crate) fn check_key_date(key: &SigningKey, timestamp: u64) -> Result<(), SignError> {
    if !key.date().contains(timestamp) {
        UtcDate::from_unix(timestamp)?;
        return Err(SignError::new(SignErrorKind::SigningKeyMismatch));
    }
    Ok(())
}

/// The signed header names as the `Authorization` value lists them: their length, and
/// how to write them.
pub(crate) struct SignedNames<'a> {
    pub(crate) len: usize,
    pub(crate) write: &'a dyn Fn(&mut String),
}

/// The signature of a canonical request's hash, and the header that carries it.
pub(crate) fn finish<'c>(
    credentials: &'c Credentials,
    key: &SigningKey,
    timestamp: u64,
    canonical_hash: &[u8; 64],
    names: &SignedNames<'_>,
    payload: Payload<'_>,
) -> Signed<'c> {
    let timestamp = Decimal::new(timestamp);
    let signature = key.sign_string_to_sign(&timestamp, canonical_hash);
    let secret_id = credentials.secret_id();
    let scope = key.credential_scope();
    // The exact length lets a caller turn the string into a header value without
    // copying or reallocating.
    let mut authorization = String::with_capacity(
        ALGORITHM.len()
            + CREDENTIAL_PREFIX.len()
            + secret_id.len()
            + 1
            + scope.len()
            + SIGNED_HEADERS_PREFIX.len()
            + names.len
            + SIGNATURE_PREFIX.len()
            + signature.len(),
    );
    authorization.push_str(ALGORITHM);
    authorization.push_str(CREDENTIAL_PREFIX);
    authorization.push_str(secret_id);
    authorization.push('/');
    let scope_start = authorization.len();
    authorization.push_str(scope);
    let scope_end = authorization.len();
    authorization.push_str(SIGNED_HEADERS_PREFIX);
    (names.write)(&mut authorization);
    authorization.push_str(SIGNATURE_PREFIX);
    authorization.push_str(core::str::from_utf8(&signature).unwrap_or_default());
    Signed {
        authorization,
        scope_start,
        scope_end,
        timestamp,
        token: credentials.token(),
        unsigned_payload: matches!(payload, Payload::Unsigned),
    }
}

/// Signs with one set of credentials for one service, deriving the signing key only when
/// the UTC date changes.
///
/// ```
/// use tc3_sign::{CachingSigner, Credentials, SignableRequest};
/// let mut signer = CachingSigner::new(Credentials::new("AKIDEXAMPLE", "secret"), "cbs");
/// let request = SignableRequest::post_json("cbs.tencentcloudapi.com", b"{}");
/// let first = signer.sign(&request, 1_700_000_000)?.authorization().to_owned();
/// let again = signer.sign(&request, 1_700_000_001)?; // same day: key reused
/// assert_ne!(first, again.authorization());
/// # Ok::<(), tc3_sign::SignError>(())
/// ```
#[derive(Clone, Debug)]
pub struct CachingSigner {
    credentials: Credentials,
    service: String,
    key: Option<SigningKey>,
}

impl CachingSigner {
    /// A signer for `service` (`"cbs"`, `"cvm"`, …).
    pub fn new(credentials: Credentials, service: impl Into<String>) -> Self {
        CachingSigner {
            credentials,
            service: service.into(),
            key: None,
        }
    }

    /// The credentials this signer uses.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The service this signer signs for.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The signing key for `timestamp`'s UTC date, derived now if the cached one is for
    /// another date.
    pub fn key_for(&mut self, timestamp: u64) -> Result<&SigningKey, SignError> {
        let key = match self.key.take() {
            Some(key) if key.date().contains(timestamp) => key,
            _ => SigningKey::derive(
                self.credentials.secret_key(),
                UtcDate::from_unix(timestamp)?,
                &self.service,
            ),
        };
        Ok(self.key.insert(key))
    }

    /// Signs `request` at `timestamp` (Unix seconds).
    pub fn sign(
        &mut self,
        request: &SignableRequest<'_>,
        timestamp: u64,
    ) -> Result<Signed<'_>, SignError> {
        self.key_for(timestamp)?;
        let key = self
            .key
            .as_ref()
            .ok_or(SignError::new(SignErrorKind::SigningKeyMismatch))?;
        sign_with_key(request, &self.credentials, key, timestamp)
    }

    /// Signs `request` at the system clock's current time.
    #[cfg(feature = "std")]
    pub fn sign_now(&mut self, request: &SignableRequest<'_>) -> Result<Signed<'_>, SignError> {
        let now = crate::date::unix_now()?;
        self.sign(request, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_BODY: &[u8] =
        br#"{"SnapshotId":"snap-ckgjwkqh","DestinationRegions":["ap-beijing"]}"#;

    #[test]
    fn seed_reference_signature() {
        let creds = Credentials::new("AKIDEXAMPLE", "EXAMPLEKEYexamplekeyEXAMPLEKEY12");
        let req = SignableRequest::post_json("cbs.tencentcloudapi.com", SEED_BODY);
        let signed = sign(&req, &creds, "cbs", 1_700_000_000).unwrap();
        assert_eq!(
            signed.signature(),
            "39f8767dc3009df3f297604faaead3189afaa2fe1581cbf7df908674ffb8524e"
        );
        assert_eq!(signed.credential_scope(), "2023-11-14/cbs/tc3_request");
        assert_eq!(
            signed.authorization(),
            "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2023-11-14/cbs/tc3_request, \
             SignedHeaders=content-type;host, \
             Signature=39f8767dc3009df3f297604faaead3189afaa2fe1581cbf7df908674ffb8524e"
        );
        assert_eq!(signed.authorization.capacity(), signed.authorization.len());
        let expected = String::from(signed.authorization());
        assert_eq!(signed.into_authorization(), expected);
    }

    #[test]
    fn headers_include_token_and_unsigned_marker() {
        let creds = Credentials::new("id", "key").with_token("tok");
        let req = SignableRequest::new("POST", "h", Payload::Unsigned);
        let signed = sign(&req, &creds, "cbs", 5).unwrap();
        let names: alloc::vec::Vec<_> = signed.headers().collect();
        assert_eq!(names[1], ("X-TC-Timestamp", "5"));
        assert_eq!(names[2], ("X-TC-Token", "tok"));
        assert_eq!(names[3], ("X-TC-Content-SHA256", "UNSIGNED-PAYLOAD"));
        let shown = alloc::format!("{signed:?}");
        assert!(!shown.contains("tok\"") && !shown.contains(signed.signature()));
    }

    #[test]
    fn caching_signer_rederives_across_midnight() {
        let creds = Credentials::new("id", "key");
        let req = SignableRequest::post_json("h", b"{}");
        let mut signer = CachingSigner::new(creds.clone(), "cbs");
        // 2023-11-14T23:59:59Z then 2023-11-15T00:00:00Z.
        for ts in [1_700_006_399, 1_700_006_400, 1_700_006_399] {
            let cached = String::from(signer.sign(&req, ts).unwrap().authorization());
            let fresh = sign(&req, &creds, "cbs", ts).unwrap();
            assert_eq!(cached, fresh.authorization());
        }
        assert_eq!(
            signer.key_for(1_700_006_400).unwrap().date().as_str(),
            "2023-11-15"
        );
    }

    #[test]
    fn key_for_another_date_is_refused() {
        let creds = Credentials::new("id", "key");
        let key = SigningKey::derive("key", UtcDate::from_unix(0).unwrap(), "cbs");
        let req = SignableRequest::post_json("h", b"{}");
        let err = sign_with_key(&req, &creds, &key, 86_400).unwrap_err();
        assert_eq!(err.kind(), SignErrorKind::SigningKeyMismatch);
    }
}
