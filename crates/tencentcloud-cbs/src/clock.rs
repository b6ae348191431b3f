//! The client's clock, and the correction it learns from the service's.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where a client gets the time it signs with. Replace it in tests, or to use a
/// trusted time source.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The system clock shifted by a fixed amount (positive: ahead), e.g. to test skew.
#[derive(Clone, Copy, Debug)]
pub struct OffsetClock {
    /// Seconds to add to the system clock.
    pub offset_secs: i64,
}

impl Clock for OffsetClock {
    fn now(&self) -> SystemTime {
        shift(SystemTime::now(), self.offset_secs)
    }
}

fn shift(time: SystemTime, secs: i64) -> SystemTime {
    if secs >= 0 {
        time + Duration::from_secs(secs as u64)
    } else {
        time - Duration::from_secs(secs.unsigned_abs())
    }
}

/// The clock plus the offset learned from the service, shared by a client's clones.
#[derive(Clone, Debug)]
pub(crate) struct SkewedClock {
    clock: Arc<dyn Clock>,
    offset_secs: Arc<AtomicI64>,
}

impl SkewedClock {
    pub(crate) fn new(clock: Arc<dyn Clock>) -> Self {
        SkewedClock {
            clock,
            offset_secs: Arc::new(AtomicI64::new(0)),
        }
    }

    /// Unix seconds to sign with: the clock corrected by what the service told us.
    pub(crate) fn unix_now(&self) -> u64 {
        let corrected = shift(self.clock.now(), self.offset_secs.load(Ordering::Relaxed));
        corrected
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    /// Learns the offset from a response's `Date` header; `false` if it has none.
    pub(crate) fn learn_from_date(&self, date: Option<&str>) -> bool {
        let Some(server) = date.and_then(parse_http_date) else {
            return false;
        };
        let local = self
            .clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let offset = server as i64 - local as i64;
        self.offset_secs.store(offset, Ordering::Relaxed);
        tracing::debug!(
            offset_secs = offset,
            "corrected the signing clock from the service's Date header"
        );
        true
    }

    pub(crate) fn offset_secs(&self) -> i64 {
        self.offset_secs.load(Ordering::Relaxed)
    }
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) into Unix seconds.
pub(crate) fn parse_http_date(text: &str) -> Option<u64> {
    let mut parts = text.split_whitespace();
    let (_weekday, day, month, year, time, zone) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if zone != "GMT" || parts.next().is_some() {
        return None;
    }
    let day: u64 = day.parse().ok()?;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? as u64 + 1;
    let year: u64 = year.parse().ok()?;
    let mut hms = time.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 || year < 1970 {
        return None;
    }
    // Days from 1970-01-01 to the civil date (era-based conversion).
    let (y, mo) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    Some(days * 86_400 + h * 3600 + m * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_imf_fixdate() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date("Tue, 14 Nov 2023 22:13:20 GMT"),
            Some(1_700_000_000)
        );
        assert_eq!(
            parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT"),
            Some(1_709_164_800)
        );
        assert_eq!(parse_http_date("garbage"), None);
        assert_eq!(parse_http_date("Tue, 14 Nov 2023 22:13:20 PST"), None);
        assert_eq!(parse_http_date("Tue, 14 Foo 2023 22:13:20 GMT"), None);
    }

    #[test]
    fn learns_an_offset() {
        let clock = SkewedClock::new(Arc::new(OffsetClock { offset_secs: -600 }));
        let before = clock.unix_now();
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(real - before >= 599);
        let date = "Tue, 14 Nov 2023 22:13:20 GMT".to_owned();
        assert!(clock.learn_from_date(Some(&date)));
        assert!(clock.unix_now().abs_diff(1_700_000_000) <= 2);
        assert!(!clock.learn_from_date(None));
    }
}
