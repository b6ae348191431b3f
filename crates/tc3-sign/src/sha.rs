//! Streaming SHA-256 and HMAC-SHA256 over `sha2`'s block function.
//!
//! The signature hashes three short messages; at that size the fixed cost of a general
//! purpose hashing API is as large as the hashing itself. This streamer keeps only what
//! TC3 needs, and the HMAC key keeps its two chaining states (after the inner and outer
//! padded key blocks) so that every MAC starts one block in.

use zeroize::Zeroize;

/// SHA-256 initial hash value (FIPS 180-4, 5.3.3).
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];
const BLOCK: usize = 64;

/// An incremental SHA-256 computation.
#[derive(Clone)]
pub(crate) struct Sha256 {
    state: [u32; 8],
    buf: [u8; BLOCK],
    buf_len: usize,
    /// Bytes absorbed so far, including any blocks absorbed before `resume`.
    len: u64,
}

impl Sha256 {
    pub(crate) fn new() -> Self {
        Self::resume(IV, 0)
    }

    /// Continues from a chaining state reached after `absorbed` bytes (a multiple of 64).
    fn resume(state: [u32; 8], absorbed: u64) -> Self {
        Sha256 {
            state,
            buf: [0; BLOCK],
            buf_len: 0,
            len: absorbed,
        }
    }

    pub(crate) fn digest(data: &[u8]) -> [u8; 32] {
        let mut hasher = Self::new();
        hasher.update(data);
        hasher.finalize()
    }

    pub(crate) fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.buf_len > 0 {
            let take = (BLOCK - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len < BLOCK {
                return;
            }
            sha2::block_api::compress256(&mut self.state, core::slice::from_ref(&self.buf));
            self.buf_len = 0;
        }
        let (blocks, rest) = data.as_chunks::<BLOCK>();
        if !blocks.is_empty() {
            sha2::block_api::compress256(&mut self.state, blocks);
        }
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
    }

    pub(crate) fn finalize(mut self) -> [u8; 32] {
        let bit_len = self.len.wrapping_mul(8);
        self.buf[self.buf_len] = 0x80;
        self.buf[self.buf_len + 1..].fill(0);
        if self.buf_len + 1 > BLOCK - 8 {
            sha2::block_api::compress256(&mut self.state, core::slice::from_ref(&self.buf));
            self.buf.fill(0);
        }
        self.buf[BLOCK - 8..].copy_from_slice(&bit_len.to_be_bytes());
        sha2::block_api::compress256(&mut self.state, core::slice::from_ref(&self.buf));
        state_bytes(&self.state)
    }
}

fn state_bytes(state: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// An HMAC-SHA256 key, kept as the chaining states after its inner and outer pad blocks.
#[derive(Clone)]
pub(crate) struct HmacKey {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl HmacKey {
    pub(crate) fn new(key: &[u8]) -> Self {
        Self::with_prefix(b"", key)
    }

    /// The key `prefix || key`, without concatenating the two in memory.
    pub(crate) fn with_prefix(prefix: &[u8], key: &[u8]) -> Self {
        let mut block = [0u8; BLOCK];
        let len = prefix.len() + key.len();
        if len <= BLOCK {
            block[..prefix.len()].copy_from_slice(prefix);
            block[prefix.len()..len].copy_from_slice(key);
        } else {
            // Keys longer than a block are replaced by their hash (RFC 2104).
            let mut hasher = Sha256::new();
            hasher.update(prefix);
            hasher.update(key);
            let mut hashed = hasher.finalize();
            block[..32].copy_from_slice(&hashed);
            hashed.zeroize();
        }
        let pad = |byte: u8| {
            let mut padded = block;
            padded.iter_mut().for_each(|b| *b ^= byte);
            let mut state = IV;
            sha2::block_api::compress256(&mut state, core::slice::from_ref(&padded));
            padded.zeroize();
            state
        };
        let key = HmacKey {
            inner: pad(0x36),
            outer: pad(0x5c),
        };
        block.zeroize();
        key
    }

    /// A hash that has absorbed the inner pad block; feed it the message.
    pub(crate) fn start(&self) -> Sha256 {
        Sha256::resume(self.inner, BLOCK as u64)
    }

    /// The MAC of everything fed to `inner` (which came from [`start`](Self::start)).
    pub(crate) fn finish(&self, inner: Sha256) -> [u8; 32] {
        let inner_hash = inner.finalize();
        // The outer message is the 32-byte inner hash after one pad block: it and its
        // padding fill exactly one more block.
        let mut block = [0u8; BLOCK];
        block[..32].copy_from_slice(&inner_hash);
        block[32] = 0x80;
        block[BLOCK - 8..].copy_from_slice(&(((BLOCK + 32) * 8) as u64).to_be_bytes());
        let mut state = self.outer;
        sha2::block_api::compress256(&mut state, core::slice::from_ref(&block));
        state_bytes(&state)
    }

    pub(crate) fn mac(&self, message: &[u8]) -> [u8; 32] {
        let mut inner = self.start();
        inner.update(message);
        self.finish(inner)
    }
}

impl Drop for HmacKey {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
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
        // FIPS 180-4 examples, and lengths around the padding boundary (from Python's hashlib).
        assert_eq!(
            hex(&Sha256::digest(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&Sha256::digest(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(
            hex(&Sha256::digest(&[b'a'; 55])),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"
        );
        assert_eq!(
            hex(&Sha256::digest(&[b'a'; 56])),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"
        );
        assert_eq!(
            hex(&Sha256::digest(&[b'a'; 64])),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"
        );
    }

    #[test]
    fn streaming_matches_one_shot_for_every_split() {
        let data: alloc::vec::Vec<u8> = (0..200u8).collect();
        let whole = Sha256::digest(&data);
        for split in 0..data.len() {
            for second in split..data.len() {
                let mut h = Sha256::new();
                h.update(&data[..split]);
                h.update(&data[split..second]);
                h.update(&data[second..]);
                assert_eq!(h.finalize(), whole, "split at {split}/{second}");
            }
        }
    }

    #[test]
    fn hmac_rfc4231_cases() {
        // RFC 4231 test cases 1, 2, 6 (a key longer than a block) and 7.
        let cases: [(&[u8], &[u8], &str); 4] = [
            (&[0x0b; 20], b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First", "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            (&[0xaa; 131], b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.", "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
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
