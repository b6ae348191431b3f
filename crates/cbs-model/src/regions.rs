//! The regions CBS is offered in, as the API names them.

/// Every region CBS is offered in (both sites), sorted. A region missing here still
/// works when passed to a client; this list is for checking configuration up front.
pub const REGIONS: &[&str] = &[
    "ap-bangkok",
    "ap-beijing",
    "ap-chengdu",
    "ap-chongqing",
    "ap-guangzhou",
    "ap-hongkong",
    "ap-jakarta",
    "ap-mumbai",
    "ap-nanjing",
    "ap-seoul",
    "ap-shanghai",
    "ap-shanghai-fsi",
    "ap-shenzhen-fsi",
    "ap-singapore",
    "ap-tokyo",
    "eu-frankfurt",
    "na-ashburn",
    "na-siliconvalley",
    "na-toronto",
    "sa-saopaulo",
];

/// Whether `name` is a region CBS is offered in.
///
/// ```
/// assert!(cbs_model::is_region("ap-guangzhou"));
/// assert!(!cbs_model::is_region("ap-nowhere"));
/// ```
pub fn is_region(name: &str) -> bool {
    REGIONS.binary_search(&name).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sorted_for_binary_search() {
        assert!(super::REGIONS.windows(2).all(|w| w[0] < w[1]));
    }
}
