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
        shift(SystemTime::now(), self.offset_secs).unwrap_or(UNIX_EPOCH)
    }
}

/// The largest correction a client learns from a server's `Date` (a century). Real
/// skews are large: a VM restored from an old image is months behind, a board without a
/// battery-backed clock boots in 1970. A century covers them all, keeps the offset far
/// inside an `i64` and the corrected time inside the four-digit years a signature's date
/// can carry.
pub const MAX_LEARNED_OFFSET: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// No service speaking API version 2017-03-12 can answer with an earlier `Date`
/// (2017-03-12T00:00:00Z): a `Date` before it is a broken server clock, never learned.
const EARLIEST_SERVER_DATE_SECS: u64 = 1_489_276_800;

fn shift(time: SystemTime, secs: i64) -> Option<SystemTime> {
    let by = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        time.checked_add(by)
    } else {
        time.checked_sub(by)
    }
}

fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A gap as a person reads it: "30 days 2 h 5 min 9 s", "4 min 1 s".
fn describe_gap(gap: Duration) -> String {
    let secs = gap.as_secs();
    let (days, hours, minutes, seconds) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days} days"));
    }
    if hours > 0 {
        parts.push(format!("{hours} h"));
    }
    if minutes > 0 {
        parts.push(format!("{minutes} min"));
    }
    if seconds > 0 || parts.is_empty() {
        parts.push(format!("{seconds} s"));
    }
    parts.join(" ")
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
        let now = self.clock.now();
        let offset = self.offset_secs.load(Ordering::Relaxed);
        unix_secs(shift(now, offset).unwrap_or(now))
    }

    /// Learns the offset from a response's `Date` header. `false` when there is none, it
    /// cannot be read, it is before this API version existed, or it is further than
    /// [`MAX_LEARNED_OFFSET`] from this clock: then nothing changes.
    pub(crate) fn learn_from_date(&self, date: Option<&str>) -> bool {
        let Some(server) = date.and_then(|d| httpdate::parse_http_date(d).ok()) else {
            return false;
        };
        if unix_secs(server) < EARLIEST_SERVER_DATE_SECS {
            tracing::warn!(
                date = date.unwrap_or_default(),
                "ignored a server Date older than the API itself"
            );
            return false;
        }
        let local = self.clock.now();
        let (ahead, gap) = match server.duration_since(local) {
            Ok(gap) => (true, gap),
            Err(behind) => (false, behind.duration()),
        };
        if gap > MAX_LEARNED_OFFSET {
            tracing::warn!(
                gap_secs = gap.as_secs(),
                "ignored a server Date more than a century from the local clock"
            );
            return false;
        }
        // Within a century: fits in an i64 whatever the clocks say.
        let secs = gap.as_secs() as i64;
        let offset = if ahead { secs } else { -secs };
        self.offset_secs.store(offset, Ordering::Relaxed);
        tracing::warn!(
            offset_secs = offset,
            "the local clock is {} {}; signing with the service's time from now on",
            describe_gap(gap),
            if ahead {
                "behind the service's"
            } else {
                "ahead of the service's"
            },
        );
        true
    }

    pub(crate) fn offset_secs(&self) -> i64 {
        self.offset_secs.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Fixed(u64);

    impl Clock for Fixed {
        fn now(&self) -> SystemTime {
            UNIX_EPOCH + Duration::from_secs(self.0)
        }
    }

    #[test]
    fn learns_an_offset_within_a_day() {
        // 2023-11-14T22:13:20Z, the local clock ten minutes behind.
        let clock = SkewedClock::new(Arc::new(Fixed(1_700_000_000 - 600)));
        assert!(clock.learn_from_date(Some("Tue, 14 Nov 2023 22:13:20 GMT")));
        assert_eq!(clock.offset_secs(), 600);
        assert_eq!(clock.unix_now(), 1_700_000_000);
        assert!(!clock.learn_from_date(None));
        assert!(!clock.learn_from_date(Some("garbage")));
        assert_eq!(clock.offset_secs(), 600);
    }

    #[test]
    fn learns_skews_of_months_years_and_decades() {
        // 2023-11-14T22:13:20Z from clocks 30 days behind, 400 days ahead, and at the epoch.
        for local in [1_700_000_000 - 30 * 86_400, 1_700_000_000 + 400 * 86_400, 0] {
            let clock = SkewedClock::new(Arc::new(Fixed(local)));
            assert!(clock.learn_from_date(Some("Tue, 14 Nov 2023 22:13:20 GMT")));
            assert_eq!(clock.unix_now(), 1_700_000_000, "from {local}");
        }
    }

    #[test]
    fn gaps_read_as_days_hours_minutes_seconds() {
        assert_eq!(describe_gap(Duration::ZERO), "0 s");
        assert_eq!(describe_gap(Duration::from_secs(241)), "4 min 1 s");
        assert_eq!(
            describe_gap(Duration::from_secs(30 * 86_400 + 7509)),
            "30 days 2 h 5 min 9 s"
        );
    }

    #[test]
    fn absurd_dates_change_nothing_and_never_panic() {
        let clock = SkewedClock::new(Arc::new(Fixed(1_700_000_000)));
        for date in [
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "Thu, 01 Jan 1970 00:00:00 GMT",
            "Sun, 06 Nov 99999999999999999999 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sat, 11 Mar 2017 23:59:59 GMT",
            "Mon, 99 Foo 2023 99:99:99 GMT",
        ] {
            assert!(!clock.learn_from_date(Some(date)), "{date}");
            assert_eq!(clock.offset_secs(), 0);
            assert_eq!(clock.unix_now(), 1_700_000_000);
        }
    }

    #[test]
    fn a_clock_at_the_edge_of_time_still_signs_something() {
        let clock = SkewedClock::new(Arc::new(Fixed(0)));
        clock.offset_secs.store(-5, Ordering::Relaxed);
        assert_eq!(clock.unix_now(), 0);
    }
}
