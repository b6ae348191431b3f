//! `X-TC-TraceId` values: a random UUID (version 4 layout) for every call.

use std::cell::Cell;

use http::HeaderValue;

use crate::retry::jitter;

thread_local! {
    /// Each thread draws from its own generator, so calls on different threads never
    /// contend for one counter. Seeds differ between threads and processes: the shared
    /// jitter source starts from the clock and moves on with every draw.
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let high = (jitter() * (1u64 << 53) as f64) as u64;
    let low = (jitter() * (1u64 << 53) as f64) as u64;
    high << 11 ^ low
}

/// wyrand: fast, and random enough for identifiers (not for secrets).
fn next(state: &Cell<u64>) -> u64 {
    let s = state.get().wrapping_add(0xa076_1d64_78bd_642f);
    state.set(s);
    let t = u128::from(s) * u128::from(s ^ 0xe703_7ed1_a0b4_28db);
    (t >> 64) as u64 ^ t as u64
}

/// A fresh trace id as a header value.
pub(crate) fn generate() -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bits = STATE.with(|s| u128::from(next(s)) << 64 | u128::from(next(s)));
    let mut text = [0u8; 36];
    let mut shift = 128;
    for (i, slot) in text.iter_mut().enumerate() {
        *slot = match i {
            8 | 13 | 18 | 23 => b'-',
            14 => b'4',
            // The variant: binary 10xx.
            19 => HEX[8 | (bits & 0x3) as usize],
            _ => {
                shift -= 4;
                HEX[((bits >> shift) & 0xf) as usize]
            }
        };
    }
    HeaderValue::from_bytes(&text).unwrap_or(HeaderValue::from_static(
        "00000000-0000-4000-8000-000000000000",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_look_like_uuids_and_differ() {
        let ids: Vec<String> = (0..1000)
            .map(|_| generate().to_str().unwrap().to_owned())
            .collect();
        for id in &ids {
            assert_eq!(id.len(), 36);
            let b = id.as_bytes();
            assert!([8, 13, 18, 23].iter().all(|&i| b[i] == b'-'));
            assert_eq!(b[14], b'4');
            assert!(b"89ab".contains(&b[19]));
            assert!(id.bytes().all(|c| c == b'-' || c.is_ascii_hexdigit()));
        }
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        // Every hex position takes many values, not a few stuck ones.
        for position in (0..36).filter(|p| ![8, 13, 14, 18, 19, 23].contains(p)) {
            let mut seen: Vec<u8> = ids.iter().map(|id| id.as_bytes()[position]).collect();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), 16, "position {position}");
        }
    }

    #[test]
    fn threads_draw_different_ids() {
        let first = std::thread::spawn(generate).join().unwrap();
        let second = std::thread::spawn(generate).join().unwrap();
        assert_ne!(first, second);
    }
}
