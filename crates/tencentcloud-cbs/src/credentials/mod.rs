//! Credentials and where they come from.

mod cache;
mod chain;
mod cvm;
mod profile;
pub(crate) mod sts;

pub use cache::CachingProvider;
pub use chain::ChainProvider;
#[cfg(feature = "hyper")]
pub(crate) use cvm::METADATA_HOST;
pub use cvm::{CvmRoleProvider, DEFAULT_METADATA_ENDPOINT};
pub use profile::ProfileProvider;
pub use sts::{MAX_DURATION_SECS, OidcProvider, STS_VERSION};

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use cbs_transport::{BoxFuture, SharedTransport};

/// A secret id and key, with a session token and expiry for temporary credentials.
///
/// Cheap to clone (shared). The key and token are wiped from memory when the last
/// clone is dropped, and `Debug` shows neither.
///
/// ```
/// use tencentcloud_cbs::Credentials;
/// let credentials = Credentials::new("AKIDEXAMPLE", "secret-key");
/// assert_eq!(credentials.secret_id(), "AKIDEXAMPLE");
/// assert!(!format!("{credentials:?}").contains("secret-key"));
/// ```
#[derive(Clone)]
pub struct Credentials(Arc<Inner>);

struct Inner {
    keys: tc3_sign::Credentials,
    expires_at: Option<SystemTime>,
    source: &'static str,
}

impl Credentials {
    /// Long-term credentials.
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Credentials(Arc::new(Inner {
            keys: tc3_sign::Credentials::new(secret_id, secret_key),
            expires_at: None,
            source: "static",
        }))
    }

    /// Temporary credentials: a session token, and when they stop working if known.
    pub fn with_token(self, token: impl Into<String>, expires_at: Option<SystemTime>) -> Self {
        let inner = &self.0;
        Credentials(Arc::new(Inner {
            keys: tc3_sign::Credentials::new(inner.keys.secret_id(), inner.keys.secret_key())
                .with_token(token),
            expires_at,
            source: inner.source,
        }))
    }

    /// Names where the credentials came from (`static`, `environment`, …), for messages.
    pub fn with_source(self, source: &'static str) -> Self {
        let inner = &self.0;
        let mut keys = tc3_sign::Credentials::new(inner.keys.secret_id(), inner.keys.secret_key());
        if let Some(token) = inner.keys.token() {
            keys = keys.with_token(token);
        }
        Credentials(Arc::new(Inner {
            keys,
            expires_at: inner.expires_at,
            source,
        }))
    }

    /// The secret id.
    pub fn secret_id(&self) -> &str {
        self.0.keys.secret_id()
    }

    /// The secret key. Handle with care: never log it or put it in an error.
    pub fn secret_key(&self) -> &str {
        self.0.keys.secret_key()
    }

    /// The session token of temporary credentials.
    pub fn token(&self) -> Option<&str> {
        self.0.keys.token()
    }

    /// When temporary credentials expire, if known.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.0.expires_at
    }

    /// Where they came from.
    pub fn source(&self) -> &'static str {
        self.0.source
    }

    /// The signer's view of these credentials.
    pub(crate) fn keys(&self) -> &tc3_sign::Credentials {
        &self.0.keys
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("secret_id", &self.secret_id())
            .field("secret_key", &"** redacted **")
            .field("token", &self.token().map(|_| "** redacted **"))
            .field("expires_at", &self.0.expires_at)
            .field("source", &self.0.source)
            .finish()
    }
}

/// What a client lends its credentials provider: its HTTP transport, so that providers
/// that fetch credentials over the network (CVM role, STS, OIDC) use the client's
/// connection pool, proxy and timeouts instead of stacks of their own.
#[derive(Clone, Debug)]
pub struct ProviderContext {
    transport: SharedTransport,
}

impl ProviderContext {
    /// A context lending `transport`.
    pub fn new(transport: SharedTransport) -> Self {
        ProviderContext { transport }
    }

    /// The transport to fetch credentials with.
    pub fn transport(&self) -> &SharedTransport {
        &self.transport
    }
}

/// Where a client gets credentials, each time it signs.
///
/// Implementations cache as they see fit; the client asks before every attempt.
pub trait ProvideCredentials: Send + Sync + fmt::Debug + 'static {
    /// Current credentials. A provider that fetches them over the network uses
    /// `context`'s transport.
    fn provide_credentials<'a>(
        &'a self,
        context: &'a ProviderContext,
    ) -> BoxFuture<'a, Result<Credentials, CredentialsError>>;

    /// The service rejected the last credentials' token (`AuthFailure.TokenFailure`):
    /// drop anything cached so the next call fetches afresh. Does nothing by default.
    fn invalidate(&self) {}
}

impl<P: ProvideCredentials + ?Sized> ProvideCredentials for Arc<P> {
    fn provide_credentials<'a>(
        &'a self,
        context: &'a ProviderContext,
    ) -> BoxFuture<'a, Result<Credentials, CredentialsError>> {
        (**self).provide_credentials(context)
    }

    fn invalidate(&self) {
        (**self).invalidate();
    }
}

impl ProvideCredentials for Credentials {
    fn provide_credentials<'a>(
        &'a self,
        _: &'a ProviderContext,
    ) -> BoxFuture<'a, Result<Credentials, CredentialsError>> {
        let credentials = self.clone();
        Box::pin(async move { Ok(credentials) })
    }
}

/// Reads `TENCENTCLOUD_SECRET_ID`, `TENCENTCLOUD_SECRET_KEY` and, if set,
/// `TENCENTCLOUD_TOKEN` from the environment at every call.
#[derive(Debug, Default, Clone, Copy)]
pub struct EnvProvider;

impl EnvProvider {
    /// Credentials from `lookup` applied to the variable names; `NotFound` when neither
    /// the id nor the key is set, `Invalid` when only one is.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Credentials, CredentialsError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let (id, key) = (
            get("TENCENTCLOUD_SECRET_ID"),
            get("TENCENTCLOUD_SECRET_KEY"),
        );
        let credentials = match (id, key) {
            (Some(id), Some(key)) => Credentials::new(id.trim(), key.trim()),
            (None, None) => {
                return Err(CredentialsError::not_found(
                    "environment",
                    "TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY are not set",
                ));
            }
            (Some(_), None) => {
                return Err(CredentialsError::invalid(
                    "environment",
                    "TENCENTCLOUD_SECRET_ID is set but TENCENTCLOUD_SECRET_KEY is not",
                ));
            }
            (None, Some(_)) => {
                return Err(CredentialsError::invalid(
                    "environment",
                    "TENCENTCLOUD_SECRET_KEY is set but TENCENTCLOUD_SECRET_ID is not",
                ));
            }
        };
        let credentials = match get("TENCENTCLOUD_TOKEN") {
            Some(token) => credentials.with_token(token.trim(), None),
            None => credentials,
        };
        Ok(credentials.with_source("environment"))
    }
}

impl ProvideCredentials for EnvProvider {
    fn provide_credentials<'a>(
        &'a self,
        _: &'a ProviderContext,
    ) -> BoxFuture<'a, Result<Credentials, CredentialsError>> {
        let result = Self::from_lookup(|name| std::env::var(name).ok());
        Box::pin(async move { result })
    }
}

/// What kind of credentials failure happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialsErrorKind {
    /// This source is not configured here; a chain moves on to the next.
    NotFound,
    /// This source is configured but unusable (incomplete, malformed, expired).
    Invalid,
    /// Fetching from this source failed (a metadata or STS call).
    Provider,
}

/// What is wrong with a credential service's JSON answer, without any of its values:
/// such answers carry secret keys and tokens, which must not reach an error or a log.
pub(crate) fn describe_json_error(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let what = match error.classify() {
        serde_json::error::Category::Eof => "it is cut off".to_owned(),
        serde_json::error::Category::Syntax => "it is not valid JSON".to_owned(),
        serde_json::error::Category::Io => "it could not be read".to_owned(),
        // `missing field `X`` names a member, never a value; other data errors quote one.
        serde_json::error::Category::Data => match text.strip_prefix("missing field ") {
            Some(rest) => format!(
                "it lacks the member {}",
                rest.split(" at line").next().unwrap_or(rest)
            ),
            None => "a member has an unexpected type".to_owned(),
        },
    };
    match error.line() {
        0 => what,
        line => format!("{what} (line {line}, column {})", error.column()),
    }
}

/// Why no credentials could be had. Never contains a secret.
#[derive(Debug)]
pub struct CredentialsError {
    kind: CredentialsErrorKind,
    source_name: &'static str,
    message: String,
    cause: Option<Box<dyn StdError + Send + Sync>>,
}

impl CredentialsError {
    /// `source_name` is not configured: `message` says what was looked for.
    pub fn not_found(source_name: &'static str, message: impl Into<String>) -> Self {
        Self::new(CredentialsErrorKind::NotFound, source_name, message)
    }

    /// `source_name` is configured but unusable.
    pub fn invalid(source_name: &'static str, message: impl Into<String>) -> Self {
        Self::new(CredentialsErrorKind::Invalid, source_name, message)
    }

    /// Fetching from `source_name` failed because of `cause`.
    pub fn provider(
        source_name: &'static str,
        message: impl Into<String>,
        cause: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        let mut e = Self::new(CredentialsErrorKind::Provider, source_name, message);
        e.cause = Some(cause.into());
        e
    }

    fn new(
        kind: CredentialsErrorKind,
        source_name: &'static str,
        message: impl Into<String>,
    ) -> Self {
        CredentialsError {
            kind,
            source_name,
            message: message.into(),
            cause: None,
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> CredentialsErrorKind {
        self.kind
    }

    /// The source that failed (`environment`, `profile`, …).
    pub fn source_name(&self) -> &'static str {
        self.source_name
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source_name, self.message)
    }
}

impl StdError for CredentialsError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.cause
            .as_ref()
            .map(|c| &**c as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_lookup() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let ok = EnvProvider::from_lookup(env(&[
            ("TENCENTCLOUD_SECRET_ID", "AKID1"),
            ("TENCENTCLOUD_SECRET_KEY", "key1"),
            ("TENCENTCLOUD_TOKEN", "tok"),
        ]))
        .unwrap();
        assert_eq!(
            (ok.secret_id(), ok.token(), ok.source()),
            ("AKID1", Some("tok"), "environment")
        );
        let none = EnvProvider::from_lookup(env(&[])).unwrap_err();
        assert_eq!(none.kind(), CredentialsErrorKind::NotFound);
        let half =
            EnvProvider::from_lookup(env(&[("TENCENTCLOUD_SECRET_ID", "AKID1")])).unwrap_err();
        assert_eq!(half.kind(), CredentialsErrorKind::Invalid);
        assert!(half.to_string().contains("TENCENTCLOUD_SECRET_KEY"));
    }

    #[test]
    fn debug_hides_secrets() {
        let c = Credentials::new("AKIDx", "SUPERSECRET").with_token("TOKENVALUE", None);
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains("SUPERSECRET") && !shown.contains("TOKENVALUE"));
        assert!(shown.contains("AKIDx"));
    }
}
