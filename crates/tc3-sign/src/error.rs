use core::fmt;

/// Why a request could not be signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignError {
    kind: SignErrorKind,
}

/// The kinds of [`SignError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignErrorKind {
    /// The method is empty or not an HTTP token.
    InvalidMethod,
    /// The host is empty or contains characters a `Host` header cannot carry.
    InvalidHost,
    /// The path or query would break the canonical request (a line break, or a path not
    /// starting with `/`).
    InvalidPathOrQuery,
    /// A header to sign has a name that is not an HTTP token.
    InvalidHeaderName,
    /// A header to sign has a value with a control character such as a line break.
    InvalidHeaderValue,
    /// The same header name (ignoring case) was given twice, or duplicates `host` or
    /// `content-type`.
    DuplicateHeader,
    /// A precomputed payload hash is not 64 lower-case hexadecimal digits.
    InvalidPayloadHash,
    /// The timestamp is past the year 9999, or the system clock is before 1970.
    TimestampOutOfRange,
    /// A header that must be signed is not on the `http::Request` (its `Content-Type`,
    /// its host, or one named to sign).
    MissingHeader,
    /// A [`SigningKey`](crate::SigningKey) was used for another date or service than the
    /// one it was derived for.
    SigningKeyMismatch,
}

impl SignError {
    pub(crate) const fn new(kind: SignErrorKind) -> Self {
        SignError { kind }
    }

    /// What went wrong.
    pub fn kind(&self) -> SignErrorKind {
        self.kind
    }
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            SignErrorKind::InvalidMethod => "the HTTP method is not a valid token",
            SignErrorKind::InvalidHost => "the host is empty or not a valid header value",
            SignErrorKind::InvalidPathOrQuery => {
                "the path must start with '/' and neither path nor query may contain a line break"
            }
            SignErrorKind::InvalidHeaderName => "a header name to sign is not a valid token",
            SignErrorKind::InvalidHeaderValue => {
                "a header value to sign contains a control character"
            }
            SignErrorKind::DuplicateHeader => "a header to sign was given more than once",
            SignErrorKind::InvalidPayloadHash => {
                "a precomputed payload hash must be 64 lower-case hex digits"
            }
            SignErrorKind::TimestampOutOfRange => {
                "the timestamp is outside 1970-01-01..=9999-12-31 UTC"
            }
            SignErrorKind::MissingHeader => "a header to sign is missing from the request",
            SignErrorKind::SigningKeyMismatch => {
                "the signing key was derived for another date or service"
            }
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SignError {}

/// Why a received request failed verification.
///
/// [`kind`](Self::kind) says which API error the server should answer with (see
/// [`VerifyErrorKind::api_code`]); [`detail`](Self::detail) says what exactly failed, for
/// the error message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyError {
    kind: VerifyErrorKind,
    detail: &'static str,
}

/// The kinds of [`VerifyError`], one per API error code a server answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VerifyErrorKind {
    /// The `Authorization` header is missing or malformed, or a header it names is
    /// absent (`AuthFailure.InvalidAuthorization`).
    InvalidAuthorization,
    /// No secret is known for the secret id (`AuthFailure.SecretIdNotFound`).
    SecretIdNotFound,
    /// The signature does not match the request (`AuthFailure.SignatureFailure`).
    SignatureFailure,
    /// The timestamp is outside the allowed clock window (`AuthFailure.SignatureExpire`).
    SignatureExpire,
    /// The credentials need a session token and the request's `X-TC-Token` is missing or
    /// wrong (`AuthFailure.TokenFailure`).
    TokenFailure,
}

impl VerifyErrorKind {
    /// The Tencent Cloud API error code for this failure.
    pub fn api_code(self) -> &'static str {
        match self {
            VerifyErrorKind::InvalidAuthorization => "AuthFailure.InvalidAuthorization",
            VerifyErrorKind::SecretIdNotFound => "AuthFailure.SecretIdNotFound",
            VerifyErrorKind::SignatureFailure => "AuthFailure.SignatureFailure",
            VerifyErrorKind::SignatureExpire => "AuthFailure.SignatureExpire",
            VerifyErrorKind::TokenFailure => "AuthFailure.TokenFailure",
        }
    }
}

impl VerifyError {
    pub(crate) const fn new(kind: VerifyErrorKind, detail: &'static str) -> Self {
        VerifyError { kind, detail }
    }

    /// Which check failed.
    pub fn kind(&self) -> VerifyErrorKind {
        self.kind
    }

    /// A short description of what exactly was wrong; never contains request data.
    pub fn detail(&self) -> &'static str {
        self.detail
    }

    /// Shorthand for `self.kind().api_code()`.
    pub fn api_code(&self) -> &'static str {
        self.kind.api_code()
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.api_code(), self.detail)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for VerifyError {}
