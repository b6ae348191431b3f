//! Small calls on disks that the workflows share (disks by id, a disk's price by the
//! hour, deleting one) and the listing limit every listing keeps to.

use tencentcloud_cbs::Error;
use tencentcloud_cbs::model::{Disk, ErrorCode};

use crate::report::ItemFailure;
use crate::run::Run;

/// The most ids one `DescribeDisks` or `DescribeSnapshots` call may name, and the
/// most items a page of either holds.
pub(crate) const IDS_PER_CALL: usize = 100;

/// What a pay-as-you-go disk of `disk_type` and `size_gb` costs by the hour.
pub(crate) async fn hourly_price(
    run: &Run,
    region: &str,
    disk_type: Option<&str>,
    size_gb: u64,
) -> Option<f64> {
    let price = run
        .client
        .inquiry_price_create_disks()
        .region(region)
        .disk_charge_type("POSTPAID_BY_HOUR")
        .disk_type(disk_type?)
        .disk_size(size_gb.max(10))
        .retry_config(run.patience())
        .send()
        .await
        .ok()?
        .disk_price?;
    price.unit_price_discount.or(price.unit_price)
}

/// Deletes one disk; one that is gone already (an earlier try did it, its answer lost)
/// counts as deleted.
pub(crate) async fn terminate(run: &Run, region: &str, disk_id: &str) -> Result<(), ItemFailure> {
    let deleted = run
        .client
        .terminate_disks()
        .region(region)
        .disk_ids([disk_id])
        .retry_config(run.patience())
        .send()
        .await;
    match deleted {
        Ok(_) => Ok(()),
        Err(error) if error.code() == Some(&ErrorCode::InvalidDiskIdNotFound) => Ok(()),
        Err(error) => Err(ItemFailure::of_error(&error)),
    }
}

/// The disks of `region` named in `ids` that exist, a hundred ids a `DescribeDisks`
/// call.
pub(crate) async fn by_ids(run: &Run, region: &str, ids: &[String]) -> Result<Vec<Disk>, Error> {
    let mut found = Vec::new();
    for chunk in ids.chunks(IDS_PER_CALL) {
        let page = run
            .client
            .describe_disks()
            .region(region)
            .disk_ids(chunk.iter().cloned())
            .limit(IDS_PER_CALL as u64)
            .retry_config(run.patience())
            .send()
            .await?;
        found.extend(page.disk_set.unwrap_or_default());
    }
    Ok(found)
}
