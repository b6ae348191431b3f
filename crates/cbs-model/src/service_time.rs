//! The service's times: `CreateTime`, `DeadlineTime` and the like are written
//! `YYYY-MM-DD HH:MM:SS` in China Standard Time (UTC+8), whichever region or site
//! answers. These functions convert them to and from Unix seconds.

/// China Standard Time's offset from UTC, in seconds.
pub const SERVICE_UTC_OFFSET_SECS: i64 = 8 * 3600;

/// Reads `YYYY-MM-DD HH:MM:SS` (UTC+8) as Unix seconds; `None` for anything else.
///
/// ```
/// assert_eq!(cbs_model::parse_service_time("2023-11-15 06:13:20"), Some(1_700_000_000));
/// assert_eq!(cbs_model::parse_service_time("yesterday"), None);
/// ```
pub fn parse_service_time(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, time) = text.split_once(' ').or_else(|| text.split_once('T'))?;
    let mut d = date.splitn(3, '-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: i64 = d.next()?.parse().ok()?;
    let day: i64 = d.next()?.parse().ok()?;
    let mut t = time.splitn(3, ':');
    let hour: i64 = t.next()?.parse().ok()?;
    let minute: i64 = t.next()?.parse().ok()?;
    let second: i64 = t.next()?.get(..2)?.parse().ok()?;
    if !(1970..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some(local - SERVICE_UTC_OFFSET_SECS)
}

/// Writes Unix seconds the way the service does: `YYYY-MM-DD HH:MM:SS` in UTC+8.
///
/// ```
/// assert_eq!(cbs_model::format_service_time(1_700_000_000), "2023-11-15 06:13:20");
/// ```
pub fn format_service_time(unix_secs: i64) -> String {
    let local = unix_secs + SERVICE_UTC_OFFSET_SECS;
    let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (the inverse of `days_from_civil`).
///
/// `tc3-sign` (`date.rs`) has the same conversion for the credential scope's date. The
/// copy is deliberate: the signer and the model know nothing of each other (users
/// cherry-pick either, and the signer is `no_std`), so neither can borrow the other's;
/// each is tested on its own.
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_across_dates() {
        for secs in [
            0i64,
            951_782_400,
            1_700_000_000,
            4_102_444_799,
            253_402_271_999 - 8 * 3600,
        ] {
            let text = format_service_time(secs);
            assert_eq!(parse_service_time(&text), Some(secs), "{text}");
        }
        // Leap days, and the day before the epoch in UTC+8 terms.
        assert_eq!(
            parse_service_time("2024-02-29 00:00:00"),
            Some(1_709_136_000)
        );
        assert_eq!(parse_service_time("2023-02-29 00:00:00"), None);
        assert_eq!(
            parse_service_time("2023-11-15T06:13:20+08:00"),
            Some(1_700_000_000)
        );
        for bad in [
            "",
            "2023-11-15",
            "2023-11-15 24:00:00",
            "2023-1x-15 00:00:00",
            "9-9-9 9:9",
        ] {
            assert_eq!(parse_service_time(bad), None, "{bad}");
        }
    }
}
