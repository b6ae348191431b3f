//! Removing a run: every disk tagged with it, detached first if attached, and no other.

use tencentcloud_cbs::model::DiskState;

use super::create::{tag, tagged_with_run};
use super::{CleanupItem, CleanupReport, RESTORED_FROM_TAG};
use crate::report::ItemFailure;
use crate::run::Run;

/// Removes every disk of `region` tagged with the run `name` (detaching it first if
/// attached), and only those.
pub(crate) async fn clean_up(run: &Run, region: &str, name: &str) -> CleanupReport {
    let mut report = CleanupReport {
        region: region.to_owned(),
        run: name.to_owned(),
        ..CleanupReport::default()
    };
    let disks = match tagged_with_run(run, region, name).await {
        Ok(disks) => disks,
        Err(error) => {
            report.failure = Some(ItemFailure::of_error(&error));
            return report;
        }
    };
    for disk in disks {
        let Some(disk_id) = disk.disk_id.clone() else {
            continue;
        };
        let mut item = CleanupItem {
            disk_id: disk_id.clone(),
            name: disk.disk_name.clone(),
            source_disk_id: tag(&disk, "tccbs:source")
                .and_then(|s| s.split('/').nth(1).map(str::to_owned)),
            replica_id: tag(&disk, RESTORED_FROM_TAG),
            detached: false,
            deleted: false,
            failure: None,
            left_behind: None,
        };
        let result = remove(run, region, &disk, &mut item).await;
        if let Err(failure) = result {
            item.failure = Some(failure);
            item.left_behind = Some(crate::report::delete_command(region, &disk_id));
        } else {
            item.deleted = true;
        }
        report.items.push(item);
    }
    report
}

/// Detaches `disk` if attached, waits until it is, then deletes it.
pub(super) async fn remove(
    run: &Run,
    region: &str,
    disk: &tencentcloud_cbs::model::Disk,
    item: &mut CleanupItem,
) -> Result<(), ItemFailure> {
    if disk.disk_state == Some(DiskState::Attached) {
        run.client
            .detach_disks()
            .region(region)
            .disk_ids([item.disk_id.clone()])
            .retry_config(run.patience())
            .send()
            .await
            .map_err(|e| ItemFailure::of_error(&e))?;
        item.detached = true;
        let (mut interval, poll_max) = run.poll;
        loop {
            let state = crate::disks::by_ids(run, region, std::slice::from_ref(&item.disk_id))
                .await
                .map_err(|e| ItemFailure::of_error(&e))?
                .into_iter()
                .next()
                .and_then(|d| d.disk_state);
            match state {
                Some(DiskState::Unattached) => break,
                None => return Ok(()),
                _ if run.is_over() => {
                    return Err(ItemFailure::new(
                        "Timeout",
                        "the disk was still attached at the deadline",
                    ));
                }
                _ => {}
            }
            tokio::time::sleep(interval.min(run.left())).await;
            interval = (interval * 3 / 2).min(poll_max);
        }
    }
    crate::disks::terminate(run, region, &item.disk_id).await
}
