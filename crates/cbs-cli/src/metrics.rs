//! The replication commands' metrics in Prometheus text format, for alerting: printed
//! with `--output prometheus`, or written with `--metrics-file` for node_exporter's
//! textfile collector (atomically: a scrape never sees half a file).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cbs_dr::{LeftoverDisk, Outcome, Report, RestoreReport, RpoItem};

/// What one run of `apply` or `check` measured.
pub struct RunMetrics<'a> {
    /// `apply` or `check`.
    pub command: &'static str,
    /// Where each (disk, destination) stands.
    pub recovery_points: &'a [RpoItem],
    /// The run's items, for `apply`.
    pub report: Option<&'a Report>,
    /// Disks drills left in the destinations, for `check`.
    pub leftovers: &'a [LeftoverDisk],
    pub duration: Duration,
    pub exit_status: u8,
}

/// A metric's help and type lines, then its samples.
struct Family {
    name: &'static str,
    help: &'static str,
    kind: &'static str,
    samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

impl Family {
    fn new(name: &'static str, kind: &'static str, help: &'static str) -> Self {
        Family {
            name,
            help,
            kind,
            samples: Vec::new(),
        }
    }

    fn add(&mut self, labels: Vec<(&'static str, String)>, value: f64) {
        self.samples.push((labels, value));
    }

    fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind);
        for (labels, value) in &self.samples {
            out.push_str(self.name);
            if !labels.is_empty() {
                out.push('{');
                for (i, (key, value)) in labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{key}=\"{}\"", escape(value));
                }
                out.push('}');
            }
            let _ = writeln!(out, " {value}");
        }
    }
}

/// A label value as the text format wants it: backslash, double quote and line feed
/// escaped.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn pair(item: &RpoItem) -> Vec<(&'static str, String)> {
    vec![
        ("rule", item.rule.clone()),
        ("disk", item.disk_id.clone()),
        ("destination", item.destination.clone()),
    ]
}

/// The metrics of one run, as text.
pub fn render(run: &RunMetrics<'_>) -> String {
    let mut age = Family::new(
        "tccbs_replication_newest_replica_age_seconds",
        "gauge",
        "Age of the data in the newest NORMAL replica (since its source snapshot was taken).",
    );
    let mut missing = Family::new(
        "tccbs_replication_replica_missing",
        "gauge",
        "1 when the disk has no NORMAL replica in the destination, or the region could not be listed.",
    );
    let mut held = Family::new(
        "tccbs_replication_replicas",
        "gauge",
        "NORMAL replicas of the disk held in the destination.",
    );
    let mut unshared = Family::new(
        "tccbs_replication_replica_unshared",
        "gauge",
        "Accounts of the rule's share_with the newest replica is not shared with (0 when all are, or the rule shares with none).",
    );
    let mut untagged = Family::new(
        "tccbs_replication_replica_untagged",
        "gauge",
        "NORMAL replicas of the disk in the destination that lack tags they should carry (their lineage, inventory, the source's own).",
    );
    // Only `check` reads share permissions: apply's final look does not (its failed
    // shares count in copies_failed_total).
    let check = run.report.is_none();
    for item in run.recovery_points {
        if check && item.replica_id.is_some() && item.failure.is_none() {
            unshared.add(pair(item), item.unshared.len() as f64);
        }
        // Where they were counted: by the owner's check.
        if let Some(count) = item.untagged {
            untagged.add(pair(item), count as f64);
        }
        if let Some(data_age) = item.data_age {
            age.add(pair(item), data_age.as_secs() as f64);
        }
        let absent = item.replica_id.is_none() || item.failure.is_some();
        missing.add(pair(item), if absent { 1.0 } else { 0.0 });
        if item.failure.is_none() {
            held.add(pair(item), item.replicas as f64);
        }
    }
    let mut families = vec![age, missing, held, unshared, untagged];
    if let Some(report) = run.report {
        let mut started = Family::new(
            "tccbs_replication_copies_started_total",
            "counter",
            "Copies the last apply run sent, per rule and destination (counts from zero each run).",
        );
        let mut failed = Family::new(
            "tccbs_replication_copies_failed_total",
            "counter",
            "Items the last apply run could not bring about, per rule and destination.",
        );
        let mut adopted = Family::new(
            "tccbs_replication_copies_adopted_total",
            "counter",
            "Copies already in flight that the last apply run waited for instead of sending one.",
        );
        let mut counts: BTreeMap<(String, String), (usize, usize, usize)> = BTreeMap::new();
        for item in &report.items {
            let destination = item.destination.clone().unwrap_or_else(|| "*".to_owned());
            let entry = counts.entry((item.rule.clone(), destination)).or_default();
            entry.0 += usize::from(item.copy_started);
            entry.1 += usize::from(!item.outcome.is_success());
            entry.2 += usize::from(item.outcome == Outcome::Adopted);
        }
        for ((rule, destination), (s, f, a)) in counts {
            let labels = || vec![("rule", rule.clone()), ("destination", destination.clone())];
            started.add(labels(), s as f64);
            failed.add(labels(), f as f64);
            adopted.add(labels(), a as f64);
        }
        families.extend([started, failed, adopted]);
    }
    if run.report.is_none() {
        // Read by `check` only (it lists the destinations' disks).
        let mut disks = Family::new(
            "tccbs_drill_leftover_disks",
            "gauge",
            "Disks a drill made and did not remove (killed before it could), per destination: billed until removed.",
        );
        let mut gb = Family::new(
            "tccbs_drill_leftover_gb",
            "gauge",
            "Their size in GB, per destination.",
        );
        let mut per_region: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
        for item in run.recovery_points {
            per_region.entry(item.destination.as_str()).or_default();
        }
        for disk in run.leftovers {
            let entry = per_region.entry(disk.region.as_str()).or_default();
            entry.0 += 1;
            entry.1 += disk.size_gb;
        }
        for (region, (count, size)) in per_region {
            let labels = || vec![("destination", region.to_owned())];
            disks.add(labels(), count as f64);
            gb.add(labels(), size as f64);
        }
        families.extend([disks, gb]);
    }
    let command = || vec![("command", run.command.to_owned())];
    let mut duration = Family::new(
        "tccbs_replication_run_duration_seconds",
        "gauge",
        "How long the last run took.",
    );
    duration.add(command(), run.duration.as_secs_f64());
    let mut status = Family::new(
        "tccbs_replication_run_exit_status",
        "gauge",
        "Exit status of the last run (0 fine, 1 failed, 3 partly failed, 4 RPO missed).",
    );
    status.add(command(), f64::from(run.exit_status));
    let mut finished = Family::new(
        "tccbs_replication_run_finished_timestamp_seconds",
        "gauge",
        "When the last run finished (Unix seconds).",
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    finished.add(command(), now as f64);
    families.extend([duration, status, finished]);
    let mut out = String::new();
    for family in &families {
        family.render(&mut out);
    }
    out
}

/// What `replicate restore` measured: the recovery time, disks by result, and the
/// recovery point each disk was restored to.
pub fn render_restore(report: &RestoreReport, exit_status: u8) -> String {
    let run = || {
        vec![
            ("region", report.region.clone()),
            ("run", report.run.clone()),
        ]
    };
    let mut duration = Family::new(
        "tccbs_restore_duration_seconds",
        "gauge",
        "From the restore's start until its last disk was usable and attached (the recovery time).",
    );
    if let Some(rto) = report.rto {
        duration.add(run(), rto.as_secs_f64());
    }
    let mut disks = Family::new(
        "tccbs_restore_disks",
        "gauge",
        "Disks of the restore by result (created, adopted, needs_image, failed, ...).",
    );
    let mut by_result: BTreeMap<&str, usize> = BTreeMap::new();
    for item in &report.items {
        *by_result.entry(item.outcome.as_str()).or_default() += 1;
    }
    for (result, count) in by_result {
        let mut labels = run();
        labels.push(("result", result.to_owned()));
        disks.add(labels, count as f64);
    }
    let mut age = Family::new(
        "tccbs_restore_data_age_seconds",
        "gauge",
        "How old each restored disk's data was when the restore began (the recovery point achieved).",
    );
    for item in &report.items {
        if let Some(data_age) = item.data_age {
            let mut labels = run();
            labels.push(("rule", item.rule.clone()));
            labels.push(("disk", item.disk_id.clone()));
            age.add(labels, data_age.as_secs() as f64);
        }
    }
    let mut attached = Family::new(
        "tccbs_restore_attached_disks",
        "gauge",
        "Restored disks attached to their standby instance, of those given one.",
    );
    let to_attach = report.items.iter().filter(|i| i.standby.is_some()).count();
    if to_attach > 0 {
        let mut labels = run();
        labels.push(("state", "attached".to_owned()));
        let done = report.items.iter().filter(|i| i.attached).count();
        attached.add(labels, done as f64);
        let mut labels = run();
        labels.push(("state", "not_attached".to_owned()));
        attached.add(labels, (to_attach - done) as f64);
    }
    let mut waves = Family::new(
        "tccbs_restore_group_finished_seconds",
        "gauge",
        "From the restore's start until each group of its order was done.",
    );
    for wave in &report.waves {
        if let Some(finished) = wave.finished {
            let mut labels = run();
            labels.push(("group", wave.name.clone()));
            waves.add(labels, finished.as_secs_f64());
        }
    }
    let mut status = Family::new(
        "tccbs_restore_exit_status",
        "gauge",
        "Exit status of the restore (0 all restored, 1 none, 3 some failed).",
    );
    status.add(run(), f64::from(exit_status));
    let mut out = String::new();
    for family in [duration, disks, age, attached, waves, status] {
        family.render(&mut out);
    }
    out
}

/// Writes `text` to `path` atomically: a temporary file beside it, then a rename, so
/// a scrape never sees half a file. Only a regular file is replaced: a path that is a
/// directory, a device, a FIFO or a symbolic link is refused (a rename would put a
/// plain file in its place); the temporary file is made anew (never through a link
/// someone left at its name) and removed again when anything fails.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "it is {}, not a regular file; name a file (node_exporter reads *.prom files in its textfile directory)",
                    kind_of(&meta.file_type())
                ),
            ));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".tmp.{}", std::process::id()));
    let temporary = std::path::PathBuf::from(temporary);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)
        .and_then(|mut file| {
            let done = file
                .write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .and_then(|()| std::fs::rename(&temporary, path));
            if done.is_err() {
                let _ = std::fs::remove_file(&temporary);
            }
            done
        })
}

/// What a file type is, in words.
fn kind_of(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape("two\nlines"), "two\\nlines");
    }

    #[test]
    fn only_regular_files_are_replaced_and_nothing_is_left_behind() {
        let dir = std::env::temp_dir().join(format!("metrics-targets-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("tccbs.prom");
        write_atomically(&file, "a 1\n").unwrap();
        write_atomically(&file, "a 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "a 2\n");
        let directory = dir.join("sub");
        std::fs::create_dir(&directory).unwrap();
        let error = write_atomically(&directory, "a 1\n").unwrap_err();
        assert!(error.to_string().contains("a directory"), "{error}");
        #[cfg(unix)]
        {
            let link = dir.join("link.prom");
            std::os::unix::fs::symlink(&file, &link).unwrap();
            let error = write_atomically(&link, "a 3\n").unwrap_err();
            assert!(error.to_string().contains("symbolic link"), "{error}");
            assert!(
                std::fs::symlink_metadata(&link)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            let fifo = dir.join("fifo.prom");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            if made.is_ok_and(|s| s.success()) {
                let error = write_atomically(&fifo, "a 4\n").unwrap_err();
                assert!(error.to_string().contains("FIFO"), "{error}");
            }
            // A directory that cannot be written: the write fails, nothing is left.
            let locked = dir.join("locked");
            std::fs::create_dir(&locked).unwrap();
            let rename_fails = locked.join("missing-dir").join("x.prom");
            assert!(write_atomically(&rename_fails, "a 5\n").is_err());
        }
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "a 2\n");
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp."))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn families_have_help_and_type_lines() {
        let mut family = Family::new("x_seconds", "gauge", "An x.");
        family.add(vec![("rule", "p\"q".into())], 1.5);
        let mut out = String::new();
        family.render(&mut out);
        assert_eq!(
            out,
            "# HELP x_seconds An x.\n# TYPE x_seconds gauge\nx_seconds{rule=\"p\\\"q\"} 1.5\n"
        );
    }
}
