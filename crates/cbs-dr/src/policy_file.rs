//! Policies in TOML files, with errors that name the line.
//!
//! ```toml
//! max_in_flight_per_region = 20      # optional; no cap unless set
//!
//! [[rule]]
//! name = "prod"
//! source_region = "ap-guangzhou"
//! disk_ids = ["disk-aaaa1111", "disk-bbbb2222"]
//! disk_name = "prod-*"               # and/or: disks whose names match
//! snapshots = "latest"               # or "all"
//! max_snapshot_age = "7d"            # optional
//! destinations = ["ap-beijing", "ap-shanghai"]
//! keep = 3                           # replicas per disk per destination
//! max_replica_age = "30d"            # optional
//! prune = false                      # optional: prune on every apply
//! share_with = ["100001122000"]      # optional: accounts each kept replica is shared with
//!
//! [standby]                          # optional: for `replicate restore`, attach the disks
//! "ins-src00001" = "ins-dr000001"    # of a source instance to a standby instance
//!
//! [[restore_order]]                  # optional: restore groups one after another
//! name = "databases"
//! instances = ["ins-src00001"]
//! optional = false                   # a failed group stops the next ones unless optional
//! ```

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::policy::{Policy, PolicyError, Rule, Selection, Wave};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    #[serde(default)]
    max_in_flight_per_region: Option<Spanned<u32>>,
    #[serde(default)]
    rule: Vec<Spanned<RuleShape>>,
    #[serde(default)]
    standby: BTreeMap<String, String>,
    #[serde(default)]
    restore_order: Vec<WaveShape>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaveShape {
    name: String,
    instances: Vec<String>,
    #[serde(default)]
    optional: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderShape {
    #[serde(default)]
    restore_order: Vec<WaveShape>,
}

impl WaveShape {
    fn wave(self) -> Wave {
        Wave::new(self.name, self.instances).optional(self.optional)
    }
}

/// A TOML text read as `T`, errors naming the line.
fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, PolicyError> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map(|span| line_of(text, span.start));
        PolicyError::new(line, e.message().trim_end().to_owned())
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleShape {
    name: Spanned<String>,
    source_region: Spanned<String>,
    #[serde(default)]
    disk_ids: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    disk_name: Option<Spanned<String>>,
    #[serde(default)]
    snapshots: Option<Spanned<String>>,
    #[serde(default)]
    max_snapshot_age: Option<Spanned<String>>,
    destinations: Spanned<Vec<String>>,
    #[serde(default)]
    keep: Option<Spanned<u32>>,
    #[serde(default)]
    max_replica_age: Option<Spanned<String>>,
    #[serde(default)]
    prune: Option<bool>,
    #[serde(default)]
    share_with: Option<Spanned<Vec<String>>>,
}

/// Where a rule's fields are in the file.
type FieldSpans = HashMap<&'static str, Range<usize>>;

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn duration(text: &str, value: &Spanned<String>, field: &str) -> Result<Duration, PolicyError> {
    humantime::parse_duration(value.get_ref()).map_err(|e| {
        PolicyError::new(
            Some(line_of(text, value.span().start)),
            format!(
                "{field}: `{}` is not a duration ({e}; write e.g. 90m, 24h, 7d)",
                value.get_ref()
            ),
        )
    })
}

#[cfg_attr(docsrs, doc(cfg(feature = "policy-file")))]
impl Policy {
    /// Reads a policy from TOML (see the [module](super) docs for the format). Unknown
    /// keys, bad durations, unknown regions, empty destinations and the like are errors
    /// naming the line.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        let shape: FileShape = parse(text)?;
        let mut rules = Vec::new();
        // Where each rule's fields are, for errors found after parsing.
        let mut spans: Vec<(Range<usize>, FieldSpans)> = Vec::new();
        for spanned in &shape.rule {
            let shape = spanned.get_ref();
            let mut fields = HashMap::new();
            fields.insert("name", shape.name.span());
            fields.insert("source_region", shape.source_region.span());
            fields.insert("destinations", shape.destinations.span());
            let mut rule = Rule::new(
                shape.name.get_ref().clone(),
                shape.source_region.get_ref().clone(),
                shape.destinations.get_ref().clone(),
            );
            if let Some(ids) = &shape.disk_ids {
                fields.insert("disk_ids", ids.span());
                rule = rule.disk_ids(ids.get_ref().iter().cloned());
            }
            if let Some(pattern) = &shape.disk_name {
                fields.insert("disk_name", pattern.span());
                rule = rule.disk_name_pattern(pattern.get_ref().clone());
            }
            if let Some(selection) = &shape.snapshots {
                rule = rule.snapshots(match selection.get_ref().as_str() {
                    "latest" => Selection::Latest,
                    "all" => Selection::All,
                    other => {
                        return Err(PolicyError::new(
                            Some(line_of(text, selection.span().start)),
                            format!("snapshots: `{other}` is neither \"latest\" nor \"all\""),
                        ));
                    }
                });
            }
            if let Some(age) = &shape.max_snapshot_age {
                rule = rule.max_snapshot_age(duration(text, age, "max_snapshot_age")?);
            }
            if let Some(keep) = &shape.keep {
                fields.insert("keep", keep.span());
                rule = rule.keep(*keep.get_ref());
            }
            if let Some(age) = &shape.max_replica_age {
                rule = rule.max_replica_age(duration(text, age, "max_replica_age")?);
            }
            if let Some(prune) = shape.prune {
                rule = rule.prune(prune);
            }
            if let Some(accounts) = &shape.share_with {
                fields.insert("share_with", accounts.span());
                rule = rule.share_with(accounts.get_ref().iter().cloned());
            }
            rules.push(rule);
            spans.push((spanned.span(), fields));
        }
        let mut policy = Policy::new_unchecked(rules);
        if let Some(max) = &shape.max_in_flight_per_region {
            if *max.get_ref() == 0 {
                return Err(PolicyError::new(
                    Some(line_of(text, max.span().start)),
                    "max_in_flight_per_region must be at least 1",
                ));
            }
            policy = policy.with_max_in_flight_per_region(*max.get_ref());
        }
        for (source, standby) in shape.standby {
            policy = policy.with_standby(source, standby);
        }
        policy = policy.with_restore_order(
            shape
                .restore_order
                .into_iter()
                .map(WaveShape::wave)
                .collect(),
        );
        policy.check(|rule, field| {
            let (whole, fields) = spans.get(rule)?;
            let span = fields.get(field).unwrap_or(whole);
            Some(line_of(text, span.start))
        })?;
        Ok(policy)
    }
}

/// A standby table on its own (`tccbs replicate restore --attach FILE`): lines of
/// `"source instance" = "standby instance"`.
///
/// ```
/// let table = cbs_dr::standby_from_toml("\"ins-src00001\" = \"ins-dr000001\"\n").unwrap();
/// assert_eq!(table["ins-src00001"], "ins-dr000001");
/// ```
pub fn standby_from_toml(text: &str) -> Result<BTreeMap<String, String>, PolicyError> {
    parse(text)
}

/// A restore order on its own (`tccbs replicate restore --order FILE`): the
/// `[[restore_order]]` groups a policy may hold, in the same form.
///
/// ```
/// let text = "[[restore_order]]\nname = \"db\"\ninstances = [\"ins-db000001\"]\n";
/// let waves = cbs_dr::restore_order_from_toml(text).unwrap();
/// assert_eq!(waves[0].name, "db");
/// ```
pub fn restore_order_from_toml(text: &str) -> Result<Vec<Wave>, PolicyError> {
    let shape: OrderShape = parse(text)?;
    let waves: Vec<Wave> = shape
        .restore_order
        .into_iter()
        .map(WaveShape::wave)
        .collect();
    // The policy's own checks of groups, on a policy of no consequence.
    let rule = Rule::new("order", "ap-guangzhou", ["ap-beijing"]).disk_ids(["disk-00000000"]);
    Policy::new_unchecked(vec![rule])
        .with_restore_order(waves.clone())
        .check(|_, _| None)?;
    Ok(waves)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
max_in_flight_per_region = 5

[[rule]]
name = "prod"
source_region = "ap-guangzhou"
disk_ids = ["disk-aaaa1111", "disk-bbbb2222"]
disk_name = "prod-*"
snapshots = "latest"
max_snapshot_age = "7d"
destinations = ["ap-beijing", "ap-shanghai"]
keep = 3
max_replica_age = "30d"

[[rule]]
name = "archive"
source_region = "ap-shanghai"
disk_ids = ["disk-cccc3333"]
snapshots = "all"
destinations = ["ap-singapore"]
prune = true
share_with = ["100001122000"]
"#;

    #[test]
    fn reads_the_documented_format() {
        let policy = Policy::from_toml(GOOD).unwrap();
        assert_eq!(policy.max_in_flight_per_region(), Some(5));
        let prod = &policy.rules()[0];
        assert_eq!(prod.disk_ids, ["disk-aaaa1111", "disk-bbbb2222"]);
        assert_eq!(prod.disk_name_pattern.as_deref(), Some("prod-*"));
        assert_eq!(prod.max_snapshot_age, Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(prod.max_replica_age, Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(prod.keep, 3);
        assert!(!prod.prune);
        let archive = &policy.rules()[1];
        assert_eq!(archive.snapshots, Selection::All);
        assert_eq!(archive.keep, 1);
        assert!(archive.prune);
        assert_eq!(archive.share_with, ["100001122000"]);
        assert!(prod.share_with.is_empty());
        assert_eq!(
            policy.destinations(),
            ["ap-beijing", "ap-shanghai", "ap-singapore"]
        );
    }

    #[test]
    fn standby_and_restore_order_sit_in_the_policy_or_their_own_files() {
        let text = format!(
            "{GOOD}\n[standby]\n\"ins-src00001\" = \"ins-dr000001\"\n\n[[restore_order]]\nname = \"db\"\ninstances = [\"ins-src00001\"]\n\n[[restore_order]]\nname = \"web\"\ninstances = [\"ins-src00002\"]\noptional = true\n"
        );
        let policy = Policy::from_toml(&text).unwrap();
        assert_eq!(policy.standby()["ins-src00001"], "ins-dr000001");
        let names: Vec<(&str, bool)> = policy
            .restore_order()
            .iter()
            .map(|w| (w.name.as_str(), w.optional))
            .collect();
        assert_eq!(names, [("db", false), ("web", true)]);
        // An instance in two groups, a group of none, a standby that is not text.
        let twice = "[[restore_order]]\nname = \"a\"\ninstances = [\"ins-1\"]\n[[restore_order]]\nname = \"b\"\ninstances = [\"ins-1\"]\n";
        assert!(
            restore_order_from_toml(twice)
                .unwrap_err()
                .message()
                .contains("two groups")
        );
        let empty = "[[restore_order]]\nname = \"a\"\ninstances = []\n";
        assert!(restore_order_from_toml(empty).is_err());
        let bad = standby_from_toml("\"ins-1\" = 3\n").unwrap_err();
        assert_eq!(bad.line(), Some(1));
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("keep = 3", "kept = 3", 12, "unknown field `kept`"),
            (
                "max_snapshot_age = \"7d\"",
                "max_snapshot_age = \"a week\"",
                10,
                "not a duration",
            ),
            (
                "[\"ap-beijing\", \"ap-shanghai\"]",
                "[\"ap-beijing\", \"ap-nowhere\"]",
                11,
                "not a CBS region",
            ),
            (
                "[\"ap-beijing\", \"ap-shanghai\"]",
                "[]",
                11,
                "at least one destination",
            ),
            ("keep = 3", "keep = 0", 12, "keep at least one"),
            ("keep = 3", "keep = -1", 12, ""),
            (
                "snapshots = \"latest\"",
                "snapshots = \"newest\"",
                9,
                "neither",
            ),
            ("name = \"archive\"", "name = \"prod\"", 16, "two rules"),
            (
                "source_region = \"ap-shanghai\"",
                "source_region = \"eu-nowhere\"",
                17,
                "not a CBS region",
            ),
            (
                "max_in_flight_per_region = 5",
                "max_in_flight_per_region = 0",
                2,
                "at least 1",
            ),
            (
                "share_with = [\"100001122000\"]",
                "share_with = [\"100001122000\", \"dr-account\"]",
                22,
                "not an account id",
            ),
            (
                "share_with = [\"100001122000\"]",
                "share_with = \"100001122000\"",
                22,
                "",
            ),
            (
                "[[rule]]\nname = \"archive\"",
                "[[rule]]\nname = \"archive\"\nname = \"again\"",
                17,
                "duplicate",
            ),
        ];
        for (from, to, line, text) in cases {
            assert!(GOOD.contains(from), "{from}");
            let bad = GOOD.replacen(from, to, 1);
            let error = Policy::from_toml(&bad).unwrap_err();
            assert_eq!(error.line(), Some(line), "{to}: {error}");
            assert!(error.message().contains(text), "{to}: {error}");
        }
        assert!(
            Policy::from_toml("")
                .unwrap_err()
                .message()
                .contains("no rules")
        );
    }
}
