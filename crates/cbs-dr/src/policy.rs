//! What to replicate: rules naming source disks, destinations and retention, checked
//! before anything is called.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

/// Which snapshots of a disk a rule replicates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Selection {
    /// The newest `NORMAL` snapshot of each disk.
    #[default]
    Latest,
    /// Every `NORMAL` snapshot (within `max_snapshot_age`), newest first, as many as
    /// `keep` retains.
    All,
}

/// One rule: the disks of a source region to keep replicated into destination regions.
///
/// ```
/// use std::time::Duration;
/// use cbs_dr::{Policy, Rule};
///
/// let policy = Policy::new(vec![
///     Rule::new("prod", "ap-guangzhou", ["ap-beijing", "ap-shanghai"])
///         .disk_ids(["disk-aaaa1111"])
///         .disk_name_pattern("prod-*")
///         .keep(3)
///         .max_replica_age(Duration::from_secs(30 * 86_400)),
/// ])?;
/// assert_eq!(policy.rules().len(), 1);
/// # Ok::<(), cbs_dr::PolicyError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rule {
    /// The rule's name, unique in its policy.
    pub name: String,
    /// Where the disks and their snapshots are.
    pub source_region: String,
    /// Disks by id.
    pub disk_ids: Vec<String>,
    /// Disks by name: `*` matches any run of characters, `?` any one.
    pub disk_name_pattern: Option<String>,
    /// Which snapshots of each disk.
    pub snapshots: Selection,
    /// Only snapshots younger than this.
    pub max_snapshot_age: Option<Duration>,
    /// Where to keep replicas.
    pub destinations: Vec<String>,
    /// Replicas to keep per disk per destination.
    pub keep: u32,
    /// Replicas whose data is older than this are pruned (the newest good one never).
    pub max_replica_age: Option<Duration>,
    /// Whether this rule's surplus replicas are deleted when applying, without being
    /// asked on the command line.
    pub prune: bool,
    /// Accounts (UINs) every kept replica is shared with once it is `NORMAL`, such as a
    /// recovery account that can restore without this account's credentials. At most
    /// [`MAX_SHARE_ACCOUNTS`]; only data-disk snapshots can be shared.
    pub share_with: Vec<String>,
}

/// The longest rule name, in characters.
pub const MAX_RULE_NAME_CHARS: usize = 64;

/// The longest disk name the service keeps, in bytes (`CreateDisks`' `DiskName`).
const MAX_DISK_NAME_BYTES: usize = 60;

/// `text` as an error message shows it: quoted, control characters escaped, and cut
/// after 40 characters.
fn shown(text: &str) -> String {
    let mut out = String::from("`");
    for (i, c) in text.chars().enumerate() {
        if i == 40 {
            out.push('…');
            break;
        }
        out.extend(c.escape_debug());
    }
    out.push('`');
    out
}

/// `disk-` and letters or digits.
fn is_disk_id(id: &str) -> bool {
    id.strip_prefix("disk-")
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Why a `disk_name` pattern can match no disk, if it cannot.
fn unmatchable(pattern: &str) -> Option<String> {
    if pattern.trim().is_empty() {
        return Some("an empty pattern matches no disk (use `*` for every disk)".into());
    }
    // Each `?` stands for at least one byte, each other character for itself.
    let least: usize = pattern
        .chars()
        .map(|c| match c {
            '*' => 0,
            '?' => 1,
            c => c.len_utf8(),
        })
        .sum();
    (least > MAX_DISK_NAME_BYTES).then(|| {
        format!("matches only names of {least} bytes or more; a disk name has at most {MAX_DISK_NAME_BYTES}")
    })
}

/// The most accounts a snapshot can be shared with (the service's limit, stated with
/// `ModifySnapshotsSharePermission`).
pub const MAX_SHARE_ACCOUNTS: usize = 50;

impl Rule {
    /// A rule replicating the newest snapshot of disks yet to be named (with
    /// [`disk_ids`](Self::disk_ids) or [`disk_name_pattern`](Self::disk_name_pattern))
    /// into `destinations`, keeping one replica each.
    pub fn new(
        name: impl Into<String>,
        source_region: impl Into<String>,
        destinations: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Rule {
            name: name.into(),
            source_region: source_region.into(),
            disk_ids: Vec::new(),
            disk_name_pattern: None,
            snapshots: Selection::Latest,
            max_snapshot_age: None,
            destinations: destinations.into_iter().map(Into::into).collect(),
            keep: 1,
            max_replica_age: None,
            prune: false,
            share_with: Vec::new(),
        }
    }

    /// Shares every kept replica with these accounts (UINs, digits only) once it is
    /// `NORMAL`; pruning a replica ends its shares first.
    pub fn share_with(mut self, accounts: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.share_with.extend(accounts.into_iter().map(Into::into));
        self
    }

    /// Adds disks by id.
    pub fn disk_ids(mut self, ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.disk_ids.extend(ids.into_iter().map(Into::into));
        self
    }

    /// Adds the disks whose names match `pattern` (`*`, `?` wildcards).
    pub fn disk_name_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.disk_name_pattern = Some(pattern.into());
        self
    }

    /// Which snapshots of each disk.
    pub fn snapshots(mut self, selection: Selection) -> Self {
        self.snapshots = selection;
        self
    }

    /// Only snapshots younger than `age`.
    pub fn max_snapshot_age(mut self, age: Duration) -> Self {
        self.max_snapshot_age = Some(age);
        self
    }

    /// Replicas to keep per disk per destination (at least 1).
    pub fn keep(mut self, keep: u32) -> Self {
        self.keep = keep;
        self
    }

    /// Prunes replicas whose data is older than `age`.
    pub fn max_replica_age(mut self, age: Duration) -> Self {
        self.max_replica_age = Some(age);
        self
    }

    /// Prunes this rule's surplus replicas whenever it is applied.
    pub fn prune(mut self, prune: bool) -> Self {
        self.prune = prune;
        self
    }

    /// Whether a disk is one this rule selects.
    pub fn selects_disk(&self, disk_id: &str, disk_name: Option<&str>) -> bool {
        self.disk_ids.iter().any(|d| d == disk_id)
            || self
                .disk_name_pattern
                .as_deref()
                .zip(disk_name)
                .is_some_and(|(pattern, name)| glob_match(pattern, name))
    }

    /// What is wrong with the rule, as `(field, message)`.
    pub(crate) fn problem(&self) -> Option<(&'static str, String)> {
        if self.name.trim().is_empty() {
            return Some(("name", "a rule needs a name".into()));
        }
        let name_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if self.name.chars().count() > MAX_RULE_NAME_CHARS || !self.name.chars().all(name_ok) {
            return Some((
                "name",
                format!(
                    "{} is not a rule name: 1 to {MAX_RULE_NAME_CHARS} letters, digits, `.`, `_` or `-` (names go into reports, metric labels and tags)",
                    shown(&self.name)
                ),
            ));
        }
        if !tencentcloud_cbs::model::is_region(&self.source_region) {
            return Some((
                "source_region",
                format!("`{}` is not a CBS region", self.source_region),
            ));
        }
        if self.disk_ids.is_empty() && self.disk_name_pattern.is_none() {
            return Some((
                "disk_ids",
                "name the disks with `disk_ids`, `disk_name`, or both".into(),
            ));
        }
        if let Some(id) = self.disk_ids.iter().find(|id| !is_disk_id(id)) {
            return Some((
                "disk_ids",
                format!("{} is not a disk id (disk-…)", shown(id)),
            ));
        }
        if let Some(pattern) = &self.disk_name_pattern
            && let Some(why) = unmatchable(pattern)
        {
            return Some(("disk_name", format!("{}: {why}", shown(pattern))));
        }
        if self.destinations.is_empty() {
            return Some((
                "destinations",
                "name at least one destination region".into(),
            ));
        }
        for (i, region) in self.destinations.iter().enumerate() {
            if !tencentcloud_cbs::model::is_region(region) {
                return Some(("destinations", format!("`{region}` is not a CBS region")));
            }
            if *region == self.source_region {
                return Some(("destinations", format!("`{region}` is the source region")));
            }
            if self.destinations[..i].contains(region) {
                return Some(("destinations", format!("`{region}` is named twice")));
            }
        }
        if self.keep == 0 {
            return Some(("keep", "keep at least one replica".into()));
        }
        for (i, account) in self.share_with.iter().enumerate() {
            if account.is_empty() || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Some((
                    "share_with",
                    format!("`{account}` is not an account id (a UIN: digits only)"),
                ));
            }
            if self.share_with[..i].contains(account) {
                return Some(("share_with", format!("`{account}` is named twice")));
            }
        }
        if self.share_with.len() > MAX_SHARE_ACCOUNTS {
            return Some((
                "share_with",
                format!(
                    "{} accounts; a snapshot can be shared with at most {MAX_SHARE_ACCOUNTS}",
                    self.share_with.len()
                ),
            ));
        }
        None
    }
}

/// A replication policy: one or more rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    rules: Vec<Rule>,
    max_in_flight_per_region: Option<u32>,
    standby: BTreeMap<String, String>,
    restore_order: Vec<Wave>,
}

/// One group of a restore's order: the disks of these source instances are restored
/// (and attached) together, after the groups before it.
///
/// ```
/// use cbs_dr::Wave;
/// let databases = Wave::new("databases", ["ins-db000001", "ins-db000002"]);
/// let web = Wave::new("web", ["ins-web00001"]).optional(true);
/// assert!(!databases.is_optional() && web.is_optional());
/// ```
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Wave {
    /// Its name, as reports show it.
    pub name: String,
    /// The source instances whose disks it restores.
    pub instances: Vec<String>,
    /// Whether the groups after it go on when it fails.
    pub optional: bool,
}

impl Wave {
    /// A group named `name` of the disks of `instances` (source instance ids).
    pub fn new(
        name: impl Into<String>,
        instances: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Wave {
            name: name.into(),
            instances: instances.into_iter().map(Into::into).collect(),
            optional: false,
        }
    }

    /// Marks it optional: when it fails, the next groups still run.
    pub fn optional(mut self, optional: bool) -> Self {
        self.optional = optional;
        self
    }

    /// Whether the next groups run when it fails.
    pub fn is_optional(&self) -> bool {
        self.optional
    }
}

impl Policy {
    /// A policy of `rules`, checked: names unique, regions known, destinations neither
    /// empty, repeated nor the source, disks named, `keep` at least 1.
    pub fn new(rules: Vec<Rule>) -> Result<Policy, PolicyError> {
        let policy = Policy {
            rules,
            max_in_flight_per_region: None,
            standby: BTreeMap::new(),
            restore_order: Vec::new(),
        };
        policy.check(|_, _| None)?;
        Ok(policy)
    }

    /// A policy of `rules` not yet checked; the caller checks it.
    #[cfg(feature = "policy-file")]
    pub(crate) fn new_unchecked(rules: Vec<Rule>) -> Policy {
        Policy {
            rules,
            max_in_flight_per_region: None,
            standby: BTreeMap::new(),
            restore_order: Vec::new(),
        }
    }

    /// Checks every rule; `line` finds the line of a rule's field, for file errors.
    pub(crate) fn check(
        &self,
        line: impl Fn(usize, &str) -> Option<usize>,
    ) -> Result<(), PolicyError> {
        if self.rules.is_empty() {
            return Err(PolicyError::new(None, "the policy has no rules"));
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if let Some((field, message)) = rule.problem() {
                return Err(PolicyError::new(
                    line(i, field),
                    format!("rule {}: {field}: {message}", shown(&rule.name)),
                ));
            }
            if self.rules[..i].iter().any(|r| r.name == rule.name) {
                return Err(PolicyError::new(
                    line(i, "name"),
                    format!("two rules are named {}", shown(&rule.name)),
                ));
            }
        }
        let mut grouped = BTreeSet::new();
        for wave in &self.restore_order {
            if wave.name.is_empty() || wave.instances.is_empty() {
                return Err(PolicyError::new(
                    None,
                    "a restore_order group needs a name and at least one instance",
                ));
            }
            for instance in &wave.instances {
                if !grouped.insert(instance.as_str()) {
                    return Err(PolicyError::new(
                        None,
                        format!(
                            "restore_order: the instance {} is in two groups",
                            shown(instance)
                        ),
                    ));
                }
            }
        }
        if self.max_in_flight_per_region == Some(0) {
            return Err(PolicyError::new(
                None,
                "max_in_flight_per_region must be at least 1",
            ));
        }
        Ok(())
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// How many copies may be in flight to one destination at a time, if the policy
    /// caps it; `None` (the default): as many as the rate limit lets start, slowed per
    /// destination only when the service says it is busy or full.
    pub fn max_in_flight_per_region(&self) -> Option<u32> {
        self.max_in_flight_per_region
    }

    /// Caps the copies in flight to one destination at a time (at least 1): a choice
    /// of yours, for instance to spread a destination's load; the service's own limit
    /// is on calls per second, which the client's rate limit keeps to.
    pub fn with_max_in_flight_per_region(mut self, max: u32) -> Self {
        self.max_in_flight_per_region = Some(max.max(1));
        self
    }

    /// Attach, on the recovery day, the disks of the source instance `source` to the
    /// standby instance `standby` (an instance in the region restored into).
    pub fn with_standby(mut self, source: impl Into<String>, standby: impl Into<String>) -> Self {
        self.standby.insert(source.into(), standby.into());
        self
    }

    /// Source instance → standby instance, for restores (empty unless set).
    pub fn standby(&self) -> &BTreeMap<String, String> {
        &self.standby
    }

    /// The groups a restore runs one after another (see [`Wave`]); disks of instances
    /// in none of them come last.
    pub fn with_restore_order(mut self, waves: Vec<Wave>) -> Self {
        self.restore_order = waves;
        self
    }

    /// The restore order (empty unless set: every disk at once).
    pub fn restore_order(&self) -> &[Wave] {
        &self.restore_order
    }

    /// Every destination region of the policy, sorted, once each.
    pub fn destinations(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .rules
            .iter()
            .flat_map(|r| r.destinations.iter().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

/// Why a policy cannot be used; nothing was called.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    line: Option<usize>,
    message: String,
}

impl PolicyError {
    pub(crate) fn new(line: Option<usize>, message: impl Into<String>) -> Self {
        PolicyError {
            line,
            message: message.into(),
        }
    }

    /// The line of the policy file at fault (1-based), when known.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for PolicyError {}

/// `*` matches any run of characters (none included), `?` exactly one.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // The classic two-pointer match with backtracking to the last `*`: linear in
    // practice, no recursion.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((star_p, star_t)) = star {
            pi = star_p + 1;
            ti = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("prod-*", "prod-db-1"));
        assert!(glob_match("prod-*", "prod-"));
        assert!(!glob_match("prod-*", "staging-db"));
        assert!(glob_match("*-db-?", "prod-db-1"));
        assert!(!glob_match("*-db-?", "prod-db-12"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "a-x-b-y-c"));
        assert!(!glob_match("a*b*c", "a-x-c-y-b"));
    }

    #[test]
    fn refusals_name_the_field() {
        let rule = || Rule::new("prod", "ap-guangzhou", ["ap-beijing"]).disk_ids(["disk-1"]);
        assert!(Policy::new(vec![rule()]).is_ok());
        let cases = [
            (rule().keep(0), "keep"),
            (
                Rule::new("prod", "ap-guangzhou", Vec::<String>::new()).disk_ids(["disk-1"]),
                "destinations",
            ),
            (
                Rule::new("prod", "ap-guangzhou", ["ap-nowhere"]).disk_ids(["disk-1"]),
                "destinations",
            ),
            (
                Rule::new("prod", "ap-guangzhou", ["ap-guangzhou"]).disk_ids(["disk-1"]),
                "destinations",
            ),
            (
                Rule::new("prod", "ap-guangzhou", ["ap-beijing", "ap-beijing"])
                    .disk_ids(["disk-1"]),
                "destinations",
            ),
            (
                Rule::new("prod", "mars-1", ["ap-beijing"]).disk_ids(["disk-1"]),
                "source_region",
            ),
            (
                Rule::new("prod", "ap-guangzhou", ["ap-beijing"]),
                "disk_ids",
            ),
            (
                Rule::new("prod", "ap-guangzhou", ["ap-beijing"]).disk_ids(["snap-1"]),
                "disk_ids",
            ),
            (rule().share_with(["10000000a1"]), "share_with"),
            (rule().disk_name_pattern(""), "disk_name"),
            (rule().disk_name_pattern("  "), "disk_name"),
            (rule().disk_name_pattern("x".repeat(61)), "disk_name"),
            (rule().disk_name_pattern("?".repeat(61)), "disk_name"),
            (
                Rule::new("prod", "ap-guangzhou", ["ap-beijing"]).disk_ids(["disk-"]),
                "disk_ids",
            ),
            (
                Rule::new("r".repeat(65), "ap-guangzhou", ["ap-beijing"]).disk_ids(["disk-1"]),
                "name",
            ),
            (
                Rule::new("a\u{1b}[31m", "ap-guangzhou", ["ap-beijing"]).disk_ids(["disk-1"]),
                "name",
            ),
            (
                Rule::new("new\nline", "ap-guangzhou", ["ap-beijing"]).disk_ids(["disk-1"]),
                "name",
            ),
            (
                Rule::new("bidi\u{202e}", "ap-guangzhou", ["ap-beijing"]).disk_ids(["disk-1"]),
                "name",
            ),
            (rule().share_with([""]), "share_with"),
            (rule().share_with(["100", "100"]), "share_with"),
            (
                rule().share_with((0..51).map(|i| format!("{}", 100_000 + i))),
                "share_with",
            ),
        ];
        assert!(
            Policy::new(vec![
                rule().share_with((0..50).map(|i| format!("{}", 100_000 + i)))
            ])
            .is_ok()
        );
        assert!(
            Policy::new(vec![
                rule().disk_name_pattern(format!("{}*", "x".repeat(60)))
            ])
            .is_ok()
        );
        let long = Policy::new(vec![
            Rule::new("r".repeat(100_000), "ap-guangzhou", ["ap-beijing"]).disk_ids(["disk-1"]),
        ])
        .unwrap_err();
        assert!(long.message().len() < 300, "{}", long.message().len());
        let escaped = Policy::new(vec![
            Rule::new("a\u{1b}b", "ap-guangzhou", ["ap-beijing"]).disk_ids(["disk-1"]),
        ])
        .unwrap_err();
        assert!(!escaped.message().contains('\u{1b}'), "{escaped}");
        for (rule, field) in cases {
            let error = Policy::new(vec![rule]).unwrap_err();
            assert!(error.message().contains(field), "{error}");
        }
        let twice = Policy::new(vec![rule(), rule()]).unwrap_err();
        assert!(twice.message().contains("two rules"), "{twice}");
        assert!(Policy::new(vec![]).is_err());
    }
}
