//! Reading a `CopySnapshotCrossRegions` result: which regions got a copy, which refused.

use crate::{CopySnapshotCrossRegionsResponse, ErrorCode, SnapshotCopyResult};

/// What one destination region answered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegionCopy {
    /// The copy started; `snapshot_id` is the new snapshot in `region`.
    Started {
        /// The destination region.
        region: String,
        /// The new snapshot's id.
        snapshot_id: String,
    },
    /// The region refused the copy.
    Refused {
        /// The destination region.
        region: String,
        /// Why.
        code: ErrorCode,
        /// The service's message.
        message: String,
    },
}

impl RegionCopy {
    /// The destination region.
    pub fn region(&self) -> &str {
        match self {
            RegionCopy::Started { region, .. } | RegionCopy::Refused { region, .. } => region,
        }
    }

    fn from_result(result: &SnapshotCopyResult) -> Self {
        let region = result.destination_region.clone().unwrap_or_default();
        let code = result.code.as_deref().unwrap_or("");
        match result.snapshot_id.as_deref() {
            Some(id) if code == "Success" && !id.is_empty() => RegionCopy::Started {
                region,
                snapshot_id: id.to_owned(),
            },
            _ => RegionCopy::Refused {
                region,
                code: ErrorCode::parse(if code.is_empty() {
                    "UnknownError"
                } else {
                    code
                }),
                message: result.message.clone().unwrap_or_default(),
            },
        }
    }
}

impl CopySnapshotCrossRegionsResponse {
    /// One entry per destination region, in the order the service listed them. A call
    /// that succeeded as a whole can still have refused regions.
    ///
    /// ```
    /// # use cbs_model::{CopySnapshotCrossRegionsResponse, RegionCopy, SnapshotCopyResult};
    /// let mut ok = SnapshotCopyResult::default();
    /// ok.destination_region = Some("ap-beijing".into());
    /// ok.code = Some("Success".into());
    /// ok.snapshot_id = Some("snap-new1".into());
    /// let mut refused = SnapshotCopyResult::default();
    /// refused.destination_region = Some("ap-nowhere".into());
    /// refused.code = Some("InvalidParameterValue".into());
    /// let mut response = CopySnapshotCrossRegionsResponse::default();
    /// response.snapshot_copy_result_set = Some(vec![ok, refused]);
    ///
    /// assert_eq!(response.started().collect::<Vec<_>>(), [("ap-beijing", "snap-new1")]);
    /// assert_eq!(response.refused().count(), 1);
    /// assert!(matches!(&response.region_copies()[1], RegionCopy::Refused { region, .. } if region == "ap-nowhere"));
    /// ```
    pub fn region_copies(&self) -> Vec<RegionCopy> {
        self.snapshot_copy_result_set()
            .iter()
            .map(RegionCopy::from_result)
            .collect()
    }

    /// `(region, new snapshot id)` of every region where the copy started.
    pub fn started(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.snapshot_copy_result_set().iter().filter_map(|r| {
            match (
                r.code.as_deref(),
                r.destination_region.as_deref(),
                r.snapshot_id.as_deref(),
            ) {
                (Some("Success"), Some(region), Some(id)) if !id.is_empty() => Some((region, id)),
                _ => None,
            }
        })
    }

    /// Every region that refused, with its code and message.
    pub fn refused(&self) -> impl Iterator<Item = RegionCopy> + '_ {
        self.region_copies()
            .into_iter()
            .filter(|c| matches!(c, RegionCopy::Refused { .. }))
    }
}
