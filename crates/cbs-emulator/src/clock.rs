//! Emulated time: the service's clock, which may run faster than the wall clock.
//!
//! Emulated time starts at the wall clock's time when the emulator starts and advances
//! `scale` times as fast as tokio's clock, so tests under paused time control it and a
//! demo can compress an hour into a minute. Signatures are still checked against the
//! real wall clock, as the client signs with it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// The emulator's clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EmuClock {
    started: Instant,
    started_unix_ms: u64,
    scale: f64,
}

impl EmuClock {
    /// A clock starting now at the wall clock's time, running `scale` times as fast.
    pub(crate) fn new(scale: f64) -> Self {
        EmuClock {
            started: Instant::now(),
            started_unix_ms: wall_unix_ms(),
            scale,
        }
    }

    /// The same clock, but reading `unix_ms` now (if that is later than it reads): a
    /// restarted emulator's time goes on from its saved state, never backwards.
    pub(crate) fn resume_at(self, unix_ms: u64) -> Self {
        EmuClock {
            started_unix_ms: self.started_unix_ms.max(unix_ms),
            ..self
        }
    }

    /// Emulated Unix milliseconds.
    pub(crate) fn now_ms(&self) -> u64 {
        let elapsed = self.started.elapsed().as_secs_f64() * 1000.0 * self.scale;
        self.started_unix_ms.saturating_add(elapsed as u64)
    }
}

/// The wall clock's Unix seconds, which signatures are checked against.
pub(crate) fn wall_unix_secs() -> u64 {
    wall_unix_ms() / 1000
}

fn wall_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as u64
}

/// China Standard Time, UTC+8, in which the service writes and reads its times.
const CST_OFFSET_MS: u64 = 8 * 3_600_000;

/// The date (`YYYY-MM-DD`) and the seconds into that day, in China Standard Time.
fn cst(unix_ms: u64) -> (String, u64) {
    let secs = (unix_ms + CST_OFFSET_MS) / 1000;
    let date = tc3_sign::UtcDate::from_unix(secs)
        .map(|d| d.to_string())
        .unwrap_or_else(|_| "9999-12-31".to_owned());
    (date, secs % 86_400)
}

/// `YYYY-MM-DD HH:MM:SS`, the way the service writes `CreateTime` (UTC+8).
pub(crate) fn datetime(unix_ms: u64) -> String {
    cbs_model::format_service_time((unix_ms / 1000) as i64)
}

/// `YYYY-MM-DDTHH:MM:SS+08:00`, the way the service writes its ISO times.
pub(crate) fn iso(unix_ms: u64) -> String {
    let (date, secs) = cst(unix_ms);
    format!(
        "{date}T{:02}:{:02}:{:02}+08:00",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// `YYYY-MM-DD` (UTC+8).
pub(crate) fn date(unix_ms: u64) -> String {
    cst(unix_ms).0
}

/// `yyyyMMdd_HH` (UTC+8), as scheduled snapshots are named.
pub(crate) fn compact_hour(unix_ms: u64) -> String {
    let (date, secs) = cst(unix_ms);
    format!("{}_{:02}", date.replace('-', ""), secs / 3600)
}

/// `(day number, weekday with 0 for Sunday, day of the month, hour)` in UTC+8.
pub(crate) fn calendar(unix_ms: u64) -> (u64, u64, u64, u64) {
    let local = (unix_ms + CST_OFFSET_MS) / 1000;
    let day = local / 86_400;
    let (date, secs) = cst(unix_ms);
    let day_of_month = date[8..10].parse().unwrap_or(1);
    // 1970-01-01 was a Thursday.
    (day, (day + 4) % 7, day_of_month, secs / 3600)
}

/// Reads `YYYY-MM-DD HH:MM:SS` (UTC+8), as a request's `Deadline` is written.
pub(crate) fn parse_datetime(text: &str) -> Option<u64> {
    let secs = cbs_model::parse_service_time(text)?;
    u64::try_from(secs).ok().map(|s| s * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_china_standard_time() {
        // 2023-11-14T22:13:20Z is 2023-11-15 06:13:20 in UTC+8, a Wednesday.
        assert_eq!(datetime(1_700_000_000_000), "2023-11-15 06:13:20");
        assert_eq!(iso(1_700_000_000_000), "2023-11-15T06:13:20+08:00");
        assert_eq!(compact_hour(1_700_000_000_000), "20231115_06");
        let (_, weekday, day_of_month, hour) = calendar(1_700_000_000_000);
        assert_eq!((weekday, day_of_month, hour), (3, 15, 6));
        assert_eq!(
            parse_datetime("2023-11-15 06:13:20"),
            Some(1_700_000_000_000)
        );
        assert_eq!(parse_datetime("2023-13-15 06:13:20"), None);
        assert_eq!(parse_datetime("soon"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn emulated_time_runs_at_its_scale() {
        let clock = EmuClock::new(60.0);
        let start = clock.now_ms();
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(clock.now_ms() - start, 60_000);
    }
}
