//! How the reports serialize (feature `serde`), where a derive cannot say it: the
//! counts a report computes (`succeeded`, `ok`, `shortfall`), a plan item's action
//! spread into flat fields, durations in seconds. `tccbs --output json` prints exactly
//! this.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::plan::{DestinationPlan, Plan, PlanAction, PlanItem};
use crate::report::{Report, RpoReport};

/// A duration as whole seconds (`None` as null).
pub(crate) fn whole_seconds<S: Serializer>(
    value: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    value.map(|d| d.as_secs()).serialize(serializer)
}

/// A duration as seconds with a fraction (`None` as null).
pub(crate) fn fractional_seconds<S: Serializer>(
    value: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    value.map(|d| d.as_secs_f64()).serialize(serializer)
}

/// Tags as a JSON object, key to value.
pub(crate) fn tag_map<S: Serializer>(
    tags: &[(String, String)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let map: BTreeMap<&str, &str> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    map.serialize(serializer)
}

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(5))?;
        map.serialize_entry("converged", &self.converged)?;
        map.serialize_entry("succeeded", &self.succeeded())?;
        map.serialize_entry("failed", &self.failed())?;
        map.serialize_entry("items", &self.items)?;
        map.serialize_entry("recovery_points", &self.recovery_points)?;
        map.end()
    }
}

impl Serialize for RpoReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("ok", &self.is_ok())?;
        map.serialize_entry("max_age_secs", &self.max_age.as_secs())?;
        map.serialize_entry("items", &self.items)?;
        map.end()
    }
}

impl Serialize for Plan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("items", self.items())?;
        map.serialize_entry("destinations", self.destinations())?;
        map.serialize_entry("totals", &self.totals())?;
        map.end()
    }
}

/// A plan item: its action's name in `action`, and the action's details (replica,
/// accounts, reason, percent, error) as fields beside the item's own.
impl Serialize for PlanItem {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("action", self.action.as_str())?;
        map.serialize_entry("rule", &self.rule)?;
        map.serialize_entry("disk_id", &self.disk_id)?;
        map.serialize_entry("source_region", &self.source_region)?;
        map.serialize_entry("source_snapshot_id", &self.source_snapshot_id)?;
        map.serialize_entry("source_created_unix", &self.source_created_unix)?;
        map.serialize_entry("destination", &self.destination)?;
        map.serialize_entry("replica_id", &self.action.replica_id())?;
        map.serialize_entry("replica_name", &self.replica_name().map(|n| n.to_string()))?;
        map.serialize_entry("size_gb", &self.size_gb)?;
        match &self.action {
            PlanAction::Share { account, .. } | PlanAction::Shared { account, .. } => {
                map.serialize_entry("accounts", &[account])?;
            }
            PlanAction::Unshare { accounts, .. } => map.serialize_entry("accounts", accounts)?,
            PlanAction::Prune { reason, .. } => map.serialize_entry("reason", reason)?,
            PlanAction::Adopt { percent, .. } => map.serialize_entry("percent", percent)?,
            PlanAction::Tag {
                missing,
                lacks_inventory,
                problems,
                ..
            } => {
                map.serialize_entry("tags_to_add", missing)?;
                map.serialize_entry("lacks_inventory", lacks_inventory)?;
                map.serialize_entry("problems", problems)?;
            }
            PlanAction::Unavailable { region, failure } => {
                map.serialize_entry("unavailable_region", region)?;
                map.serialize_entry("error", failure)?;
            }
            PlanAction::Copy
            | PlanAction::UpToDate { .. }
            | PlanAction::NoSnapshot
            | PlanAction::NoSuchDisk
            | PlanAction::NoDisks
            | PlanAction::NotShareable => {}
        }
        map.end()
    }
}

impl Serialize for DestinationPlan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(10))?;
        map.serialize_entry("region", &self.region)?;
        map.serialize_entry("copies", &self.copies)?;
        map.serialize_entry("transfer_gb", &self.transfer_gb)?;
        map.serialize_entry("held_snapshots", &self.held_snapshots)?;
        map.serialize_entry("snapshot_quota", &self.snapshot_quota)?;
        map.serialize_entry("quota_source", &self.quota_source)?;
        map.serialize_entry("room", &self.room())?;
        map.serialize_entry("shortfall", &self.shortfall())?;
        map.serialize_entry("replica_gb_after", &self.replica_gb_after)?;
        map.serialize_entry("tags_to_add", &self.tags_to_add)?;
        map.serialize_entry("untagged", &self.untagged)?;
        map.serialize_entry("error", &self.unavailable)?;
        map.end()
    }
}
