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

/// `YYYY-MM-DD HH:MM:SS` in UTC, the way the service writes `CreateTime`.
pub(crate) fn datetime(unix_ms: u64) -> String {
    let unix_secs = unix_ms / 1000;
    let date = tc3_sign::UtcDate::from_unix(unix_secs)
        .map(|d| d.to_string())
        .unwrap_or_else(|_| "9999-12-31".to_owned());
    let secs = unix_secs % 86_400;
    format!(
        "{date} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(datetime(1_700_000_000_000), "2023-11-14 22:13:20");
    }

    #[tokio::test(start_paused = true)]
    async fn emulated_time_runs_at_its_scale() {
        let clock = EmuClock::new(60.0);
        let start = clock.now_ms();
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(clock.now_ms() - start, 60_000);
    }
}
