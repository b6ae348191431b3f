use crate::error::{VerifyError, VerifyErrorKind};
use crate::{ALGORITHM, SCOPE_TERMINATOR};

/// The parts of a TC3 `Authorization` header value.
///
/// ```
/// use tc3_sign::ParsedAuthorization;
/// let value = "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2023-11-14/cbs/tc3_request, \
///              SignedHeaders=content-type;host, \
///              Signature=39f8767dc3009df3f297604faaead3189afaa2fe1581cbf7df908674ffb8524e";
/// let parsed = ParsedAuthorization::parse(value)?;
/// assert_eq!(parsed.secret_id(), "AKIDEXAMPLE");
/// assert_eq!(parsed.date(), "2023-11-14");
/// assert_eq!(parsed.service(), "cbs");
/// assert_eq!(parsed.signed_headers().collect::<Vec<_>>(), ["content-type", "host"]);
/// # Ok::<(), tc3_sign::VerifyError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedAuthorization<'a> {
    secret_id: &'a str,
    date: &'a str,
    service: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn malformed(detail: &'static str) -> VerifyError {
    VerifyError::new(VerifyErrorKind::InvalidAuthorization, detail)
}

impl<'a> ParsedAuthorization<'a> {
    /// Parses `TC3-HMAC-SHA256 Credential=ID/DATE/SERVICE/tc3_request,
    /// SignedHeaders=NAMES, Signature=HEX`. Spaces after the commas are optional.
    ///
    /// Every failure is [`VerifyErrorKind::InvalidAuthorization`].
    pub fn parse(value: &'a str) -> Result<Self, VerifyError> {
        let rest = value
            .strip_prefix(ALGORITHM)
            .and_then(|r| r.strip_prefix(' '))
            .ok_or(malformed(
                "the Authorization value does not start with TC3-HMAC-SHA256",
            ))?;
        let mut parts = rest.split(',').map(|p| p.trim_matches(' '));
        let credential = field(parts.next(), "Credential=")?;
        let signed_headers = field(parts.next(), "SignedHeaders=")?;
        let signature = field(parts.next(), "Signature=")?;
        if parts.next().is_some() {
            return Err(malformed("the Authorization value has extra fields"));
        }

        let mut scope = credential.split('/');
        let (Some(secret_id), Some(date), Some(service), Some(terminator), None) = (
            scope.next(),
            scope.next(),
            scope.next(),
            scope.next(),
            scope.next(),
        ) else {
            return Err(malformed(
                "the Credential is not ID/DATE/SERVICE/tc3_request",
            ));
        };
        if secret_id.is_empty() || service.is_empty() || terminator != SCOPE_TERMINATOR {
            return Err(malformed(
                "the Credential is not ID/DATE/SERVICE/tc3_request",
            ));
        }
        if !is_scope_date(date) {
            return Err(malformed("the Credential date is not YYYY-MM-DD"));
        }
        let lower_token = |n: &str| {
            !n.is_empty() && crate::text::is_token(n) && !n.bytes().any(|b| b.is_ascii_uppercase())
        };
        if !signed_headers.split(';').all(lower_token) {
            return Err(malformed(
                "SignedHeaders must be lower-case names separated by ';'",
            ));
        }
        let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if signature.len() != 64 || !signature.bytes().all(lower_hex) {
            return Err(malformed("the Signature is not 64 lower-case hex digits"));
        }
        Ok(ParsedAuthorization {
            secret_id,
            date,
            service,
            signed_headers,
            signature,
        })
    }

    /// The secret id from the credential.
    pub fn secret_id(&self) -> &'a str {
        self.secret_id
    }

    /// The credential scope's date, `YYYY-MM-DD`.
    pub fn date(&self) -> &'a str {
        self.date
    }

    /// The credential scope's service.
    pub fn service(&self) -> &'a str {
        self.service
    }

    /// The signed header names, as declared (`content-type;host`).
    pub fn signed_headers_str(&self) -> &'a str {
        self.signed_headers
    }

    /// The signed header names one by one, in declared order.
    pub fn signed_headers(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.signed_headers.split(';')
    }

    /// The signature's hex digits.
    pub fn signature(&self) -> &'a str {
        self.signature
    }
}

fn field<'a>(part: Option<&'a str>, prefix: &'static str) -> Result<&'a str, VerifyError> {
    part.and_then(|p| p.strip_prefix(prefix))
        .filter(|v| !v.is_empty())
        .ok_or(malformed(
            "the Authorization value must have Credential, SignedHeaders and Signature, in that order",
        ))
}

fn is_scope_date(date: &str) -> bool {
    let b = date.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "TC3-HMAC-SHA256 Credential=AKID/2023-11-14/cbs/tc3_request, SignedHeaders=content-type;host, Signature=39f8767dc3009df3f297604faaead3189afaa2fe1581cbf7df908674ffb8524e";

    #[test]
    fn accepts_with_and_without_spaces() {
        assert!(ParsedAuthorization::parse(GOOD).is_ok());
        let compact = GOOD.replace(", ", ",");
        assert_eq!(
            ParsedAuthorization::parse(&compact).unwrap(),
            ParsedAuthorization::parse(GOOD).unwrap()
        );
    }

    #[test]
    fn rejects_malformed_values() {
        let bad = [
            "",
            "TC3-HMAC-SHA256",
            "HMAC-SHA256 Credential=a/2023-11-14/cbs/tc3_request, SignedHeaders=host, Signature=00",
            &GOOD.replace("tc3_request", "aws4_request"),
            &GOOD.replace("2023-11-14", "2023/11/14"),
            &GOOD.replace("AKID/", "/"),
            &GOOD.replace("/cbs/", "//"),
            &GOOD.replace("content-type;host", "Content-Type;host"),
            &GOOD.replace("content-type;host", "content-type;;host"),
            &GOOD.replace("Signature=39", "Signature=3"),
            &GOOD.replace("Signature=39f8", "Signature=39F8"),
            &alloc::format!("{GOOD}, Extra=1"),
            &GOOD.replace("SignedHeaders", "Signed"),
        ];
        for value in bad {
            let err = ParsedAuthorization::parse(value).unwrap_err();
            assert_eq!(err.kind(), VerifyErrorKind::InvalidAuthorization, "{value}");
        }
    }
}
