//! The replica's name: the only lineage a copy can carry.
//!
//! The copy API takes no idempotency token and no tags, and a replica has no field
//! naming its source, but it does take a name, and `DescribeSnapshots` can filter by
//! name. So a replica is named after its source snapshot, the source region and when
//! the source was taken: `tccbs_snap-8dkx2lq9_ap-guangzhou_20261201083000`. A snapshot
//! whose name does not parse is not this tool's and is never deleted.

use std::fmt;

/// What every replica name starts with.
pub const REPLICA_NAME_PREFIX: &str = "tccbs_";

/// The longest snapshot name the service accepts.
pub const MAX_SNAPSHOT_NAME_CHARS: usize = 60;

/// The lineage a replica's name encodes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct ReplicaName {
    /// The snapshot copied.
    pub source_snapshot_id: String,
    /// The region it was copied from.
    pub source_region: String,
    /// When the source snapshot was taken (Unix seconds): the age of the data.
    pub source_created_unix: i64,
}

impl ReplicaName {
    /// The lineage of a copy of `source_snapshot_id`, taken at `source_created_unix`
    /// in `source_region`.
    pub fn new(
        source_snapshot_id: impl Into<String>,
        source_region: impl Into<String>,
        source_created_unix: i64,
    ) -> Self {
        ReplicaName {
            source_snapshot_id: source_snapshot_id.into(),
            source_region: source_region.into(),
            source_created_unix,
        }
    }

    /// Reads a snapshot name; `None` unless it is exactly a replica name.
    ///
    /// ```
    /// use cbs_dr::ReplicaName;
    /// let name = ReplicaName::parse("tccbs_snap-8dkx2lq9_ap-guangzhou_20261201083000").unwrap();
    /// assert_eq!(name.source_snapshot_id, "snap-8dkx2lq9");
    /// assert_eq!(name.to_string(), "tccbs_snap-8dkx2lq9_ap-guangzhou_20261201083000");
    /// assert!(ReplicaName::parse("nightly backup").is_none());
    /// ```
    pub fn parse(name: &str) -> Option<ReplicaName> {
        let rest = name.strip_prefix(REPLICA_NAME_PREFIX)?;
        let mut parts = rest.split('_');
        let (snapshot, region, stamp) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let id_ok = snapshot
            .strip_prefix("snap-")
            .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()));
        let region_ok = !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok || !region_ok {
            return None;
        }
        let created = parse_stamp(stamp)?;
        let parsed = ReplicaName::new(snapshot, region, created);
        // Only the canonical spelling: one name per lineage.
        (parsed.to_string() == name).then_some(parsed)
    }

    /// Whether the name fits the service's limit.
    pub fn fits(&self) -> bool {
        self.to_string().chars().count() <= MAX_SNAPSHOT_NAME_CHARS
    }
}

impl fmt::Display for ReplicaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{REPLICA_NAME_PREFIX}{}_{}_{}",
            self.source_snapshot_id,
            self.source_region,
            stamp(self.source_created_unix)
        )
    }
}

/// `yyyyMMddHHmmss` in UTC.
pub(crate) fn stamp(unix: i64) -> String {
    // The service's formatter writes UTC+8; shift back so the stamp is UTC.
    let text = tencentcloud_cbs::model::format_service_time(
        unix - tencentcloud_cbs::model::SERVICE_UTC_OFFSET_SECS,
    );
    text.chars().filter(char::is_ascii_digit).collect()
}

pub(crate) fn parse_stamp(stamp: &str) -> Option<i64> {
    if stamp.len() != 14 || !stamp.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let text = format!(
        "{}-{}-{} {}:{}:{}",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[8..10],
        &stamp[10..12],
        &stamp[12..14]
    );
    tencentcloud_cbs::model::parse_service_time(&text)
        .map(|t| t + tencentcloud_cbs::model::SERVICE_UTC_OFFSET_SECS)
}

/// Unix seconds as an RFC 3339 time in UTC (`2026-12-01T08:30:00Z`), the form the
/// replicas' `tccbs:taken` tag and the reports use; [`parse_time`] reads it back.
///
/// ```
/// assert_eq!(cbs_dr::format_time(1_796_646_600), "2026-12-07T12:30:00Z");
/// assert_eq!(cbs_dr::parse_time(&cbs_dr::format_time(1_796_646_600)), Some(1_796_646_600));
/// ```
pub fn format_time(unix: i64) -> String {
    let stamp = stamp(unix);
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[8..10],
        &stamp[10..12],
        &stamp[12..14]
    )
}

/// An RFC 3339 time with its offset (`2026-12-07T12:30:00Z`,
/// `2026-12-07T20:30:00+08:00`; a fraction of a second is dropped) as Unix seconds;
/// `None` for anything else, a time without an offset included (which zone it meant
/// cannot be told).
///
/// ```
/// assert_eq!(cbs_dr::parse_time("2026-12-07T12:30:00Z"), Some(1_796_646_600));
/// assert_eq!(cbs_dr::parse_time("2026-12-07T20:30:00.5+08:00"), Some(1_796_646_600));
/// assert_eq!(cbs_dr::parse_time("2026-12-07 12:30:00"), None);
/// ```
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, time) = text.split_once(['T', 't'])?;
    let (clock, offset) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else {
        let at = time.rfind(['+', '-'])?;
        let (clock, zone) = time.split_at(at);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (hours, minutes) = zone[1..].split_once(':')?;
        let (hours, minutes): (i64, i64) = (hours.parse().ok()?, minutes.parse().ok()?);
        if hours > 23 || minutes > 59 || zone.len() != 6 {
            return None;
        }
        (clock, sign * (hours * 3600 + minutes * 60))
    };
    let clock = clock.split_once('.').map_or(clock, |(whole, fraction)| {
        if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            ""
        } else {
            whole
        }
    });
    if date.len() != 10 || clock.len() != 8 {
        return None;
    }
    // The service's parser reads wall time in UTC+8: read it so, then move it by the
    // offset the text gives.
    let wall = tencentcloud_cbs::model::parse_service_time(&format!("{date} {clock}"))?;
    Some(wall + tencentcloud_cbs::model::SERVICE_UTC_OFFSET_SECS - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_near_misses() {
        let name = ReplicaName::new("snap-8dkx2lq9", "na-siliconvalley", 1_764_577_800);
        let text = name.to_string();
        assert_eq!(text, "tccbs_snap-8dkx2lq9_na-siliconvalley_20251201083000");
        assert!(name.fits(), "{} chars", text.len());
        assert_eq!(ReplicaName::parse(&text), Some(name));
        for near in [
            "tccbs_snap-8dkx2lq9_ap-guangzhou_2025120108300",
            "tccbs_snap-8dkx2lq9_ap-guangzhou_20251301083000",
            "tccbs_disk-8dkx2lq9_ap-guangzhou_20251201083000",
            "tccbs_snap-8dkx2lq9_AP-guangzhou_20251201083000",
            "tccbs_snap-8dkx2lq9_ap-guangzhou_20251201083000_x",
            "tccbs_snap-_ap-guangzhou_20251201083000",
            "Copied snap-8dkx2lq9 from ap-guangzhou",
            "TCCBS_snap-8dkx2lq9_ap-guangzhou_20251201083000",
        ] {
            assert_eq!(ReplicaName::parse(near), None, "{near}");
        }
    }
}
