//! Small text helpers shared by signing and verification.

use core::fmt;

/// Stands in for a secret in `Debug` output.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("** redacted **")
    }
}

/// Decimal digits of a `u64` without allocating; `as_str` borrows the buffer.
#[derive(Clone, Copy)]
pub(crate) struct Decimal {
    buf: [u8; 20],
    start: u8,
}

impl Decimal {
    pub(crate) fn new(mut value: u64) -> Self {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        Decimal {
            buf,
            start: i as u8,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits are ever written.
        core::str::from_utf8(self.as_bytes()).unwrap_or("0")
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start as usize..]
    }
}

/// Header values are signed without leading or trailing spaces and tabs.
pub(crate) fn trim_header_value(value: &str) -> &str {
    let blank = |b: Option<&u8>| matches!(b, Some(b' ' | b'\t'));
    let bytes = value.as_bytes();
    if !blank(bytes.first()) && !blank(bytes.last()) {
        return value;
    }
    value.trim_matches([' ', '\t'])
}

/// RFC 9110 token characters, as allowed in header names and methods, by byte value.
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    table
};

pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| TCHAR[b as usize])
}

/// A host: no whitespace and no control characters.
pub(crate) fn is_host(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b > b' ' && b != 0x7f)
}

/// Visible ASCII, spaces, tabs and any non-ASCII byte; no other control characters.
/// A line break would let one header forge another line of the canonical request.
pub(crate) fn is_field_value(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// A path or query must stay on its own line of the canonical request.
pub(crate) fn is_single_line(s: &str) -> bool {
    !s.bytes().any(|b| b == b'\n' || b == b'\r')
}

/// Compares two byte strings in time that depends only on their lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    core::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_formats_edges() {
        assert_eq!(Decimal::new(0).as_str(), "0");
        assert_eq!(Decimal::new(1_700_000_000).as_str(), "1700000000");
        assert_eq!(Decimal::new(u64::MAX).as_str(), "18446744073709551615");
    }

    #[test]
    fn field_value_rejects_line_breaks() {
        assert!(is_field_value("application/json; charset=utf-8\t"));
        assert!(is_field_value("云"));
        assert!(!is_field_value("a\nb"));
        assert!(!is_field_value("a\rb"));
    }

    #[test]
    fn tokens() {
        assert!(is_token("x-tc-action"));
        assert!(!is_token(""));
        assert!(!is_token("bad name"));
        assert!(!is_token("a:b"));
    }

    #[test]
    fn constant_time_eq_works() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
