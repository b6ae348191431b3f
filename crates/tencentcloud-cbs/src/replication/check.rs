//! The recovery-point check: is the newest usable replica of every selected disk, in
//! every destination, young enough?

use std::time::Duration;

use super::Replication;
use super::observe;
use crate::Error;

/// One (disk, destination) of an RPO check.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RpoItem {
    /// The rule.
    pub rule: String,
    /// The source disk.
    pub disk_id: String,
    /// The destination region.
    pub destination: String,
    /// The newest `NORMAL` replica there, if any.
    pub replica_id: Option<String>,
    /// How old its data is (since the source snapshot was taken).
    pub data_age: Option<Duration>,
    /// Whether a replica exists and its data is within the limit.
    pub ok: bool,
}

/// The result of [`Replication::check`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RpoReport {
    /// Every (disk, destination), in policy order.
    pub items: Vec<RpoItem>,
    /// The limit checked against.
    pub max_age: Duration,
}

impl RpoReport {
    /// The (disk, destination) pairs without a young enough replica.
    pub fn offenders(&self) -> impl Iterator<Item = &RpoItem> {
        self.items.iter().filter(|i| !i.ok)
    }

    /// Whether every pair is within the limit.
    pub fn is_ok(&self) -> bool {
        self.offenders().next().is_none()
    }
}

impl Replication {
    /// Checks that every selected disk has, in every destination, a `NORMAL` replica
    /// whose data is at most `max_age` old. Read-only.
    pub async fn check(&self, max_age: Duration) -> Result<RpoReport, Error> {
        let observation = observe::observe(&self.client, &self.policy).await?;
        let now = self.now_unix();
        let mut items = Vec::new();
        for (rule, sources) in self.policy.rules().iter().zip(&observation.rules) {
            for disk_id in &sources.disks {
                for destination in &rule.destinations {
                    let newest = observation.newest_normal(rule, disk_id, destination);
                    let data_age = newest.map(|r| {
                        Duration::from_secs((now - r.name.source_created_unix).max(0) as u64)
                    });
                    items.push(RpoItem {
                        rule: rule.name.clone(),
                        disk_id: disk_id.clone(),
                        destination: destination.clone(),
                        replica_id: newest.map(|r| r.id.clone()),
                        data_age,
                        ok: data_age.is_some_and(|age| age <= max_age),
                    });
                }
            }
        }
        Ok(RpoReport { items, max_age })
    }
}
