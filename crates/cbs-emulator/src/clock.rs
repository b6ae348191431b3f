//! Wall-clock helpers: Unix seconds and the service's `YYYY-MM-DD HH:MM:SS` times.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

/// `YYYY-MM-DD HH:MM:SS` in UTC, the way the service writes `CreateTime`.
pub(crate) fn datetime(unix_secs: u64) -> String {
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
    #[test]
    fn formats() {
        assert_eq!(super::datetime(1_700_000_000), "2023-11-14 22:13:20");
    }
}
