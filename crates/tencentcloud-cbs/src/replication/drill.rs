//! The restore test: a disk made from the newest replica of each selected disk in one
//! destination, waited for until usable, then deleted again (unless kept).

use std::collections::BTreeMap;
use std::time::Duration;

use cbs_model::{DiskState, Placement};
use tokio::time::Instant;

use super::Replication;
use super::apply::ItemFailure;
use super::observe;
use crate::Error;

/// One restored disk.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DrillItem {
    /// The rule.
    pub rule: String,
    /// The source disk.
    pub disk_id: String,
    /// The region restored into.
    pub region: String,
    /// The replica restored from.
    pub replica_id: Option<String>,
    /// The disk made from it.
    pub restored_disk_id: Option<String>,
    /// How long until it was usable.
    pub time_to_usable: Option<Duration>,
    /// Whether it was deleted again.
    pub deleted: bool,
    /// Why it failed.
    pub failure: Option<ItemFailure>,
}

/// The result of [`Replication::drill`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DrillReport {
    /// One item per selected disk of every rule replicating into the region.
    pub items: Vec<DrillItem>,
}

impl DrillReport {
    /// Items that restored (and, unless kept, cleaned up) fine.
    pub fn succeeded(&self) -> usize {
        self.items.iter().filter(|i| i.failure.is_none()).count()
    }
}

/// How long a restored disk may take to become usable.
const MAX_RESTORE_WAIT: Duration = Duration::from_secs(30 * 60);

impl Replication {
    /// Restores the newest `NORMAL` replica of each selected disk in `region` into a
    /// new pay-as-you-go disk (the source disk's type, the replica's zone and size),
    /// waits until it is usable, and deletes it again unless `keep`.
    pub async fn drill(&self, region: &str, keep: bool) -> Result<DrillReport, Error> {
        let observation = observe::observe(&self.client, &self.policy).await?;
        let mut wanted = Vec::new();
        for (rule, sources) in self.policy.rules().iter().zip(&observation.rules) {
            if !rule.destinations.iter().any(|d| d == region) {
                continue;
            }
            for disk_id in &sources.disks {
                let newest = observation.newest_normal(rule, disk_id, region).cloned();
                wanted.push((rule, disk_id.clone(), newest));
            }
        }
        // The source disks' types, one listing per source region.
        let mut types: BTreeMap<String, String> = BTreeMap::new();
        for rule in self.policy.rules() {
            let ids: Vec<String> = wanted
                .iter()
                .filter(|(r, ..)| r.name == rule.name)
                .map(|(_, d, _)| d.clone())
                .collect();
            for chunk in ids.chunks(observe::IDS_PER_CALL) {
                let page = self
                    .client
                    .describe_disks()
                    .region(rule.source_region.clone())
                    .disk_ids(chunk.iter().cloned())
                    .limit(observe::IDS_PER_CALL as u64)
                    .send()
                    .await?;
                for disk in page.disk_set.unwrap_or_default() {
                    if let (Some(id), Some(kind)) = (disk.disk_id, disk.disk_type) {
                        types.insert(id, kind.as_str().to_owned());
                    }
                }
            }
        }
        let mut report = DrillReport::default();
        for (rule, disk_id, replica) in wanted {
            let mut item = DrillItem {
                rule: rule.name.clone(),
                disk_id: disk_id.clone(),
                region: region.to_owned(),
                replica_id: replica.as_ref().map(|r| r.id.clone()),
                restored_disk_id: None,
                time_to_usable: None,
                deleted: false,
                failure: None,
            };
            match replica {
                None => {
                    item.failure = Some(ItemFailure::new(
                        "NoReplica",
                        format!("no NORMAL replica of {disk_id} in {region}"),
                    ));
                }
                Some(replica) => {
                    let disk_type = types
                        .get(&disk_id)
                        .cloned()
                        .unwrap_or_else(|| "CLOUD_PREMIUM".to_owned());
                    self.restore(&mut item, &replica, &disk_type, keep).await;
                }
            }
            report.items.push(item);
        }
        Ok(report)
    }

    async fn restore(
        &self,
        item: &mut DrillItem,
        replica: &observe::Replica,
        disk_type: &str,
        keep: bool,
    ) {
        let zone = replica
            .zone
            .clone()
            .unwrap_or_else(|| format!("{}-1", replica.region));
        let started = Instant::now();
        let created = self
            .client
            .create_disks()
            .region(replica.region.clone())
            .placement(Placement::new(zone))
            .disk_charge_type("POSTPAID_BY_HOUR")
            .disk_type(disk_type)
            .disk_size(replica.size_gb.max(10))
            .snapshot_id(replica.id.clone())
            .disk_name(format!("tccbs-drill-{}", item.disk_id))
            .send()
            .await;
        let disk_id = match created.map(|r| r.disk_id_set.unwrap_or_default().into_iter().next()) {
            Ok(Some(id)) => id,
            Ok(None) => {
                item.failure = Some(ItemFailure::new(
                    "NoDiskId",
                    "CreateDisks answered without a disk id",
                ));
                return;
            }
            Err(error) => {
                item.failure = Some(ItemFailure::of_error(&error));
                return;
            }
        };
        item.restored_disk_id = Some(disk_id.clone());
        let mut interval = self.poll_min;
        loop {
            let page = self
                .client
                .describe_disks()
                .region(replica.region.clone())
                .disk_ids([disk_id.clone()])
                .send()
                .await;
            match page.map(|p| p.disk_set.unwrap_or_default().into_iter().next()) {
                Ok(Some(disk))
                    if matches!(
                        disk.disk_state,
                        Some(DiskState::Unattached) | Some(DiskState::Attached)
                    ) && disk.rollbacking != Some(true) =>
                {
                    item.time_to_usable = Some(started.elapsed());
                    break;
                }
                Ok(_) => {}
                Err(error) => {
                    item.failure = Some(ItemFailure::of_error(&error));
                    break;
                }
            }
            if started.elapsed() >= MAX_RESTORE_WAIT {
                item.failure = Some(ItemFailure::new(
                    "Timeout",
                    "the restored disk did not become usable in 30 minutes",
                ));
                break;
            }
            tokio::time::sleep(interval).await;
            interval = (interval * 3 / 2).min(self.poll_max);
        }
        if keep {
            return;
        }
        match self
            .client
            .terminate_disks()
            .region(replica.region.clone())
            .disk_ids([disk_id])
            .send()
            .await
        {
            Ok(_) => item.deleted = true,
            Err(error) => {
                if item.failure.is_none() {
                    item.failure = Some(ItemFailure::of_error(&error));
                }
            }
        }
    }
}
