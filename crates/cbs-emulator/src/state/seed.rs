//! The demo data: a few disks and snapshots in several regions, instances to attach
//! disks to, and a small production fleet with snapshots of several ages, for rehearsing
//! disaster-recovery replication.

use super::World;

/// The demo's disks and snapshots with fixed ids: `(region, snapshot, disk name, snapshot
/// name)`.
const DEMO: &[(&str, &str, &str, &str)] = &[
    (
        "ap-guangzhou",
        "snap-demo0001",
        "web-data",
        "web-data nightly",
    ),
    (
        "ap-guangzhou",
        "snap-demo0002",
        "db-data",
        "db-data nightly",
    ),
    (
        "ap-shanghai",
        "snap-demo0003",
        "analytics",
        "analytics weekly",
    ),
    ("ap-beijing", "snap-demo0004", "archive", "archive monthly"),
    ("ap-singapore", "snap-demo0005", "edge", "edge cache"),
];

/// The fleet: disks in `ap-guangzhou` with snapshots taken this many hours ago.
/// The demo fleet: id, name, size, the ages of its snapshots (hours), the instance it
/// is attached to (the databases share one).
const FLEET: &[(&str, &str, u64, &[u64], &str)] = &[
    (
        "disk-prod0001",
        "prod-db-1",
        200,
        &[72, 48, 24, 2],
        "ins-guan0001",
    ),
    (
        "disk-prod0002",
        "prod-db-2",
        200,
        &[48, 24, 3],
        "ins-guan0001",
    ),
    ("disk-prod0003", "prod-web-1", 50, &[30, 6], "ins-guan0002"),
];

const HOUR_MS: u64 = 3_600_000;

impl World {
    /// Adds the demo data.
    pub(crate) fn seed_demo(&mut self) {
        for (n, (region, snapshot_id, disk_name, snapshot_name)) in DEMO.iter().enumerate() {
            let zone = super::default_zone(region);
            let generated = self.add_disk(region, &zone, disk_name, 100, "CLOUD_PREMIUM");
            // Fixed ids, like the snapshots', so demo commands can name them.
            let mut disk = self.disks.remove(&generated).expect("just added");
            disk.id = format!("disk-demo{:04}", n + 1);
            let disk = self.disks.entry(disk.id.clone()).or_insert(disk).clone();
            let id = self.add_snapshot_of(&disk, snapshot_name, 0);
            let mut snapshot = self.snapshots.remove(&id).expect("just added");
            snapshot.id = (*snapshot_id).to_owned();
            self.snapshots.insert(snapshot.id.clone(), snapshot);
        }
        // Two instances in the demo source and each demo destination, each with its
        // system disk (an instance's zone shows through its disks: the CBS API has no
        // instance call).
        for region in ["ap-guangzhou", "ap-shanghai", "ap-beijing"] {
            for n in 1..=2 {
                let zone = super::default_zone(region);
                let id = format!("ins-{}{n:04}", &region[3..7]);
                self.add_instance(region, &zone, &id);
                let system =
                    self.add_disk(region, &zone, &format!("{id}-system"), 50, "CLOUD_PREMIUM");
                let disk = self.disks.get_mut(&system).expect("just added");
                disk.usage = "SYSTEM_DISK".to_owned();
                disk.instance_id = Some(id);
            }
        }
        let now = self.now_ms;
        for (disk_id, name, size_gb, ages, instance) in FLEET {
            let generated = self.add_disk(
                "ap-guangzhou",
                "ap-guangzhou-1",
                name,
                *size_gb,
                "CLOUD_SSD",
            );
            let mut disk = self.disks.remove(&generated).expect("just added");
            disk.id = (*disk_id).to_owned();
            disk.created_ms = now.saturating_sub(30 * 24 * HOUR_MS);
            disk.instance_id = Some((*instance).to_owned());
            let disk = self.disks.entry(disk.id.clone()).or_insert(disk).clone();
            for age in *ages {
                let at = now.saturating_sub(age * HOUR_MS);
                let id = self.add_snapshot_of(
                    &disk,
                    &format!("snap_{}", crate::clock::compact_hour(at)),
                    0,
                );
                if let Some(snapshot) = self.snapshots.get_mut(&id) {
                    snapshot.created_ms = at;
                    snapshot.modified_ms = at;
                }
            }
        }
    }
}
