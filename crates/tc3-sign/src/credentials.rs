use alloc::string::String;
use core::fmt;

use zeroize::Zeroizing;

/// A secret id, its secret key and, for temporary credentials, a session token.
///
/// The key and the token are wiped from memory when the value is dropped, and `Debug`
/// shows only the secret id:
///
/// ```
/// let credentials = tc3_sign::Credentials::new("AKIDEXAMPLE", "very-secret").with_token("tok");
/// let shown = format!("{credentials:?}");
/// assert!(shown.contains("AKIDEXAMPLE"));
/// assert!(!shown.contains("very-secret") && !shown.contains("tok\""));
/// ```
#[derive(Clone)]
pub struct Credentials {
    secret_id: String,
    secret_key: Zeroizing<String>,
    token: Option<Zeroizing<String>>,
}

impl Credentials {
    /// Long-term credentials: a secret id and its secret key.
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Credentials {
            secret_id: secret_id.into(),
            secret_key: Zeroizing::new(secret_key.into()),
            token: None,
        }
    }

    /// Adds the session token that temporary credentials come with.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Zeroizing::new(token.into()));
        self
    }

    /// The secret id (`AKID…`), which is public and appears in every `Authorization` value.
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// The secret key. Handle with care: never log it.
    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// The session token, if these are temporary credentials.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref().map(String::as_str)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &crate::text::Redacted)
            .field("token", &self.token.as_ref().map(|_| crate::text::Redacted))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn debug_hides_key_and_token() {
        let c = Credentials::new("AKIDpublic", "k3y-S3CRET").with_token("T0KEN-value");
        let shown = format!("{c:?} {c:#?}");
        assert!(shown.contains("AKIDpublic"));
        assert!(!shown.contains("k3y-S3CRET"));
        assert!(!shown.contains("T0KEN-value"));
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn accessors_return_inputs() {
        let c = Credentials::new("id", "key");
        assert_eq!(
            (c.secret_id(), c.secret_key(), c.token()),
            ("id", "key", None)
        );
        assert_eq!(c.with_token("t").token(), Some("t"));
    }
}
