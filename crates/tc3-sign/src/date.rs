use core::fmt;

use crate::error::{SignError, SignErrorKind};

/// The first Unix second whose UTC year has five digits (10000-01-01T00:00:00Z).
const FIRST_UNREPRESENTABLE: u64 = 253_402_300_800;

/// A UTC calendar date, as it appears in a credential scope (`YYYY-MM-DD`).
///
/// The scope date is always the UTC date of the request's timestamp; a local-time date
/// would break every signature for part of each day.
///
/// ```
/// use tc3_sign::UtcDate;
/// let date = UtcDate::from_unix(1_700_000_000)?;
/// assert_eq!(date.to_string(), "2023-11-14");
/// // One second before midnight UTC is still the previous day.
/// assert_eq!(UtcDate::from_unix(1_699_919_999)?.to_string(), "2023-11-13");
/// # Ok::<(), tc3_sign::SignError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UtcDate {
    /// Days since 1970-01-01.
    days: u32,
    text: [u8; 10],
}

impl UtcDate {
    /// The UTC date of a Unix timestamp in seconds.
    ///
    /// Fails with [`SignErrorKind::TimestampOutOfRange`] past the year 9999, which a
    /// `YYYY-MM-DD` scope cannot express.
    pub fn from_unix(unix_secs: u64) -> Result<Self, SignError> {
        if unix_secs >= FIRST_UNREPRESENTABLE {
            return Err(SignError::new(SignErrorKind::TimestampOutOfRange));
        }
        let days = (unix_secs / 86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        let mut text = *b"0000-00-00";
        write_digits(&mut text[0..4], year);
        write_digits(&mut text[5..7], month);
        write_digits(&mut text[8..10], day);
        Ok(UtcDate { days, text })
    }

    /// The current UTC date from the system clock.
    #[cfg(feature = "std")]
    pub fn today() -> Result<Self, SignError> {
        Self::from_unix(unix_now()?)
    }

    /// The date as `YYYY-MM-DD`.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.text).unwrap_or("0000-00-00")
    }

    /// Whether `unix_secs` falls on this date: cheaper than building the date of
    /// `unix_secs` to compare, for a caller checking that a cached key still serves.
    ///
    /// ```
    /// use tc3_sign::UtcDate;
    /// let date = UtcDate::from_unix(1_700_000_000)?;
    /// assert!(date.contains(1_700_000_000 + 3_600));
    /// assert!(!date.contains(1_700_000_000 + 86_400));
    /// # Ok::<(), tc3_sign::SignError>(())
    /// ```
    pub fn contains(&self, unix_secs: u64) -> bool {
        unix_secs / 86_400 == u64::from(self.days)
    }

    /// Days since 1970-01-01.
    pub fn days_since_epoch(&self) -> u32 {
        self.days
    }
}

impl fmt::Display for UtcDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn write_digits(out: &mut [u8], mut value: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Proleptic Gregorian calendar date of a day count since 1970-01-01
/// (the well-known era-based conversion; exact for every `u32` day in range).
///
/// `cbs-model` (`service_time.rs`) has the same conversion for the service's times.
/// The copy is deliberate: the signer and the model know nothing of each other (they
/// are cherry-picked separately, and this one is `no_std` without dependencies of
/// ours), so neither can borrow the other's; each is tested day by day on its own.
fn civil_from_days(days: u32) -> (u32, u32, u32) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of a year.
    let z = days as u64 + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year as u32, month as u32, day as u32)
}

/// Seconds since the Unix epoch by the system clock.
#[cfg(feature = "std")]
pub(crate) fn unix_now() -> Result<u64, SignError> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| SignError::new(SignErrorKind::TimestampOutOfRange))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(secs: u64) -> alloc::string::String {
        alloc::string::ToString::to_string(&UtcDate::from_unix(secs).unwrap())
    }

    #[test]
    fn known_dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(951_868_800), "2000-03-01");
        assert_eq!(date(4_102_444_800), "2100-01-01");
        assert_eq!(date(4_107_456_000), "2100-02-28");
        assert_eq!(date(4_107_542_400), "2100-03-01");
        assert_eq!(date(FIRST_UNREPRESENTABLE - 1), "9999-12-31");
    }

    #[test]
    fn midnight_utc_boundary() {
        // 2024-01-01T00:00:00Z
        assert_eq!(date(1_704_067_199), "2023-12-31");
        assert_eq!(date(1_704_067_200), "2024-01-01");
    }

    #[test]
    fn out_of_range() {
        assert_eq!(
            UtcDate::from_unix(FIRST_UNREPRESENTABLE)
                .unwrap_err()
                .kind(),
            SignErrorKind::TimestampOutOfRange
        );
        assert!(UtcDate::from_unix(u64::MAX).is_err());
    }

    #[test]
    fn matches_day_by_day_walk() {
        // Walk every day from 1970 to 2101 with a naive calendar and compare.
        let (mut y, mut m, mut d) = (1970u32, 1u32, 1u32);
        for days in 0..48_000u32 {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            d += 1;
            if d > len[(m - 1) as usize] {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }
}
