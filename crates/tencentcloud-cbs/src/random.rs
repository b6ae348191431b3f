//! Random numbers for identifiers and jitter: trace ids, client tokens, backoff.
//!
//! Not for secrets. Each value is SipHash of a process-wide counter under keys the
//! standard library draws from the operating system, so values never repeat within a
//! process and differ between processes, without a random-number crate.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

fn keys() -> &'static RandomState {
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    KEYS.get_or_init(RandomState::new)
}

/// 64 random bits.
pub(crate) fn next_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = keys().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

/// A number in `[0, 1)`.
pub(crate) fn unit() -> f64 {
    (next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A random UUID (version 4 layout), lower-case: `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`.
pub(crate) fn uuid() -> String {
    // Only ASCII is written.
    String::from(std::str::from_utf8(&uuid_text()).unwrap_or_default())
}

/// [`uuid`]'s text on the stack, for callers that put it somewhere other than a `String`.
pub(crate) fn uuid_text() -> [u8; 36] {
    let bits = u128::from(next_u64()) << 64 | u128::from(next_u64());
    // Version 4 and the RFC 4122 variant.
    let bits = bits & !(0xF000u128 << 64) | (0x4000u128 << 64);
    let bits = bits & !(0xC000u128 << 48) | (0x8000u128 << 48);
    // All 32 digits first, then the groups: a loop without branches the compiler can
    // vectorise.
    let mut digits = [0u8; 32];
    for (pair, byte) in digits.chunks_exact_mut(2).zip(bits.to_be_bytes()) {
        pair[0] = hex_digit(byte >> 4);
        pair[1] = hex_digit(byte & 0x0f);
    }
    let mut text = [b'-'; 36];
    text[..8].copy_from_slice(&digits[..8]);
    text[9..13].copy_from_slice(&digits[8..12]);
    text[14..18].copy_from_slice(&digits[12..16]);
    text[19..23].copy_from_slice(&digits[16..20]);
    text[24..].copy_from_slice(&digits[20..]);
    text
}

/// The lower-case hex digit of a nibble (0 to 15).
fn hex_digit(nibble: u8) -> u8 {
    nibble + if nibble > 9 { b'a' - 10 } else { b'0' }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_have_the_version_4_layout_and_differ() {
        let ids: Vec<String> = (0..1000).map(|_| uuid()).collect();
        for id in &ids {
            let b = id.as_bytes();
            assert_eq!(id.len(), 36);
            assert!([8, 13, 18, 23].iter().all(|&i| b[i] == b'-'));
            assert_eq!(b[14], b'4');
            assert!(b"89ab".contains(&b[19]), "{id}");
            assert!(
                id.bytes()
                    .all(|c| c == b'-' || c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
            );
        }
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        // Every free hex position takes many values, not a few stuck ones.
        for position in (0..36).filter(|p| ![8, 13, 14, 18, 19, 23].contains(p)) {
            let mut seen: Vec<u8> = ids.iter().map(|id| id.as_bytes()[position]).collect();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), 16, "position {position}");
        }
    }

    #[test]
    fn unit_is_in_range_and_spread() {
        let draws: Vec<f64> = (0..1000).map(|_| unit()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        assert!(draws.iter().any(|&d| d < 0.1) && draws.iter().any(|&d| d > 0.9));
    }
}
