//! Which availability zones each region has.
//!
//! The table follows Tencent Cloud's public "Regions and Availability Zones" page as the
//! project last read it (zone numbers the service has used, including ones no longer on
//! sale, since disks made there still exist). The page changes as zones open, and the API
//! itself has no call that lists CBS zones, so the table can be extended: the builder's
//! `zone` and `cbs-emulator --zone REGION-N` add zones the table lacks.

/// Zone numbers per region: `ap-guangzhou` with `[3, 4]` has `ap-guangzhou-3` and
/// `ap-guangzhou-4`. Sorted by region.
const ZONES: &[(&str, &[u8])] = &[
    ("ap-bangkok", &[1, 2]),
    ("ap-beijing", &[1, 2, 3, 4, 5, 6, 7]),
    ("ap-chengdu", &[1, 2]),
    ("ap-chongqing", &[1]),
    ("ap-guangzhou", &[1, 2, 3, 4, 6, 7]),
    ("ap-hongkong", &[1, 2, 3]),
    ("ap-jakarta", &[1, 2]),
    ("ap-mumbai", &[1, 2]),
    ("ap-nanjing", &[1, 2, 3]),
    ("ap-seoul", &[1, 2]),
    ("ap-shanghai", &[1, 2, 3, 4, 5, 8]),
    ("ap-shanghai-fsi", &[1, 2, 3]),
    ("ap-shenzhen-fsi", &[1, 2, 3]),
    ("ap-singapore", &[1, 2, 3, 4]),
    ("ap-tokyo", &[1, 2]),
    ("eu-frankfurt", &[1, 2]),
    ("na-ashburn", &[1, 2]),
    ("na-siliconvalley", &[1, 2]),
    ("na-toronto", &[1]),
    ("sa-saopaulo", &[1]),
];

fn numbers(region: &str) -> &'static [u8] {
    ZONES
        .binary_search_by(|(name, _)| name.cmp(&region))
        .map(|i| ZONES[i].1)
        .unwrap_or(&[])
}

/// The zones of `region` in the table, in order.
pub(crate) fn table_zones(region: &str) -> impl Iterator<Item = String> + '_ {
    numbers(region).iter().map(move |n| format!("{region}-{n}"))
}

/// Whether `zone` is a zone of `region` in the table.
pub(crate) fn in_table(zone: &str, region: &str) -> bool {
    zone.strip_prefix(region)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|n| n.parse::<u8>().ok())
        .is_some_and(|n| numbers(region).contains(&n))
}

/// The region a zone name belongs to (`ap-shanghai-fsi-2` → `ap-shanghai-fsi`), if it
/// names one: a known region, a dash, a number.
pub(crate) fn region_of(zone: &str) -> Option<&str> {
    let (region, number) = zone.rsplit_once('-')?;
    let numeric = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
    (numeric && super::is_region(region)).then_some(region)
}

/// The zone resources land in when nothing says otherwise: the region's first zone.
pub(crate) fn default_zone(region: &str) -> String {
    table_zones(region)
        .next()
        .unwrap_or_else(|| format!("{region}-1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_region_has_zones_and_the_table_is_sorted() {
        assert!(ZONES.windows(2).all(|w| w[0].0 < w[1].0));
        for region in cbs_model::REGIONS {
            assert!(table_zones(region).next().is_some(), "{region}");
        }
        assert_eq!(ZONES.len(), cbs_model::REGIONS.len());
    }

    #[test]
    fn real_zones_are_known_and_others_are_not() {
        assert!(in_table("ap-guangzhou-4", "ap-guangzhou"));
        assert!(in_table("ap-shanghai-8", "ap-shanghai"));
        assert!(!in_table("ap-guangzhou-5", "ap-guangzhou"));
        assert!(!in_table("ap-shanghai-fsi-1", "ap-shanghai"));
        assert!(!in_table("ap-guangzhou-x", "ap-guangzhou"));
        assert_eq!(region_of("ap-shanghai-fsi-2"), Some("ap-shanghai-fsi"));
        assert_eq!(region_of("ap-nowhere-1"), None);
        assert_eq!(region_of("ap-guangzhou-"), None);
    }
}
