//! SHA-256 and HMAC-SHA256, from RustCrypto's `sha2` and `hmac`, behind the few
//! operations the signer needs.
//!
//! A keyed [`HmacKey`] keeps the state after its pad blocks (the `hmac` crate does that
//! when it is cloned), so every MAC of a derived signing key pays only for its message.

use hmac::{KeyInit, Mac};
use sha2::Digest;
use zeroize::Zeroize;

/// An incremental SHA-256 computation.
#[derive(Clone)]
pub(crate) struct Sha256(sha2::Sha256);

impl Sha256 {
    pub(crate) fn new() -> Self {
        Sha256(sha2::Sha256::new())
    }

    pub(crate) fn digest(data: &[u8]) -> [u8; 32] {
        sha2::Sha256::digest(data).into()
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    pub(crate) fn finalize(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// An HMAC-SHA256 computation in progress.
pub(crate) struct MacState(hmac::Hmac<sha2::Sha256>);

impl MacState {
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
}

/// An HMAC-SHA256 key, ready to MAC messages.
#[derive(Clone)]
pub(crate) struct HmacKey(hmac::Hmac<sha2::Sha256>);

impl HmacKey {
    pub(crate) fn new(key: &[u8]) -> Self {
        // Any length is a valid HMAC key.
        HmacKey(
            <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length")),
        )
    }

    /// The key `prefix || key`, joined on the stack.
    pub(crate) fn with_prefix(prefix: &[u8], key: &[u8]) -> Self {
        const BLOCK: usize = 64;
        let mut joined = [0u8; BLOCK];
        let len = prefix.len() + key.len();
        let mac = if len <= BLOCK {
            joined[..prefix.len()].copy_from_slice(prefix);
            joined[prefix.len()..len].copy_from_slice(key);
            Self::new(&joined[..len])
        } else {
            // HMAC replaces a key longer than a block by its hash (RFC 2104).
            let mut hasher = Sha256::new();
            hasher.update(prefix);
            hasher.update(key);
            let mut hashed = hasher.finalize();
            let mac = Self::new(&hashed);
            hashed.zeroize();
            mac
        };
        joined.zeroize();
        mac
    }

    /// A MAC that has absorbed the key; feed it the message.
    pub(crate) fn start(&self) -> MacState {
        MacState(self.0.clone())
    }

    /// The MAC of everything fed to `state` (which came from [`start`](Self::start)).
    pub(crate) fn finish(&self, state: MacState) -> [u8; 32] {
        state.0.finalize().into_bytes().into()
    }

    pub(crate) fn mac(&self, message: &[u8]) -> [u8; 32] {
        let mut state = self.start();
        state.update(message);
        self.finish(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> alloc::string::String {
        bytes.iter().map(|b| alloc::format!("{b:02x}")).collect()
    }

    #[test]
    fn sha256_known_answers() {
        assert_eq!(
            hex(&Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut streamed = Sha256::new();
        streamed.update(b"a");
        streamed.update(b"bc");
        assert_eq!(streamed.finalize(), Sha256::digest(b"abc"));
    }

    #[test]
    fn hmac_rfc4231_cases() {
        // RFC 4231 test cases 1, 2 and 6 (a key longer than a block).
        let cases: [(&[u8], &[u8], &str); 3] = [
            (
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (key, message, expected) in cases {
            assert_eq!(hex(&HmacKey::new(key).mac(message)), expected);
        }
    }

    #[test]
    fn prefixed_key_equals_concatenated_key() {
        for len in [0usize, 1, 60, 61, 62, 64, 65, 200] {
            let key: alloc::vec::Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut joined = alloc::vec::Vec::from(&b"TC3"[..]);
            joined.extend_from_slice(&key);
            assert_eq!(
                HmacKey::with_prefix(b"TC3", &key).mac(b"m"),
                HmacKey::new(&joined).mac(b"m"),
                "len {len}"
            );
        }
    }
}
