use alloc::string::String;
use core::fmt;

use zeroize::Zeroize;

use crate::SCOPE_TERMINATOR;
use crate::canonical::{credential_scope, hex_digest, write_string_to_sign};
use crate::date::UtcDate;
use crate::sha::HmacKey;
use crate::text::Decimal;

/// The prefix the TC3 scheme puts before the secret key.
const KEY_PREFIX: &[u8] = b"TC3";

/// `kSigning`, the key that signs every string to sign of one (secret key, UTC date,
/// service), ready to use.
///
/// Deriving it takes three HMAC computations; a `SigningKey` keeps the HMAC state with
/// the key already absorbed, so each signature pays only for its own message. Keep one
/// per day and service (or let [`CachingSigner`](crate::CachingSigner) do it).
///
/// `Debug` does not show the key.
#[derive(Clone)]
pub struct SigningKey {
    mac: HmacKey,
    date: UtcDate,
    /// `date/service/tc3_request`, kept whole because every signature writes it twice.
    scope: String,
}

impl SigningKey {
    /// Derives the signing key for `secret_key`, the scope date `date` and `service`.
    ///
    /// ```
    /// use tc3_sign::{SigningKey, UtcDate};
    /// let key = SigningKey::derive("secret", UtcDate::from_unix(1_700_000_000)?, "cbs");
    /// assert_eq!(key.service(), "cbs");
    /// assert_eq!(key.date().as_str(), "2023-11-14");
    /// # Ok::<(), tc3_sign::SignError>(())
    /// ```
    pub fn derive(secret_key: &str, date: UtcDate, service: &str) -> Self {
        let root = HmacKey::with_prefix(KEY_PREFIX, secret_key.as_bytes());
        let mut k = root.mac(date.as_str().as_bytes());
        for step in [service.as_bytes(), SCOPE_TERMINATOR.as_bytes()] {
            let next = HmacKey::new(&k).mac(step);
            k.zeroize();
            k = next;
        }
        let mac = HmacKey::new(&k);
        k.zeroize();
        SigningKey {
            mac,
            date,
            scope: credential_scope(&date, service),
        }
    }

    /// The scope date this key signs for.
    pub fn date(&self) -> UtcDate {
        self.date
    }

    /// The service this key signs for.
    pub fn service(&self) -> &str {
        let end = self.scope.len() - SCOPE_TERMINATOR.len() - 1;
        &self.scope[11..end]
    }

    /// The credential scope, `date/service/tc3_request`.
    pub fn credential_scope(&self) -> &str {
        &self.scope
    }

    /// The signature of a string to sign, as 64 lower-case hex digits: the last stage.
    pub fn signature_hex(&self, string_to_sign: &str) -> String {
        let mut hex = [0u8; 64];
        hex_digest(&self.mac.mac(string_to_sign.as_bytes()), &mut hex);
        String::from(core::str::from_utf8(&hex).unwrap_or_default())
    }

    /// The hex signature of the string to sign for `timestamp` and a canonical request's
    /// hash, streamed into the keyed state without building the string.
    pub(crate) fn sign_string_to_sign(
        &self,
        timestamp: &Decimal,
        canonical_hash_hex: &[u8; 64],
    ) -> [u8; 64] {
        let mut inner = self.mac.start();
        write_string_to_sign(&mut inner, timestamp, &self.scope, canonical_hash_hex);
        let mut out = [0u8; 64];
        hex_digest(&self.mac.finish(inner), &mut out);
        out
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("date", &self.date.as_str())
            .field("service", &self.service())
            .field("key", &crate::text::Redacted)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_key_material() {
        let key = SigningKey::derive("secret", UtcDate::from_unix(0).unwrap(), "cbs");
        let shown = alloc::format!("{key:?}");
        assert!(shown.contains("1970-01-01") && shown.contains("redacted"));
        assert_eq!(key.service(), "cbs");
        assert_eq!(key.credential_scope(), "1970-01-01/cbs/tc3_request");
    }
}
