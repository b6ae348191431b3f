//! The command line's shape.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Tencent Cloud Block Storage from the command line.
///
/// Credentials come from TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY (and
/// TENCENTCLOUD_TOKEN), else the profile file (~/.tencentcloud/credentials), else the
/// CVM instance role, else TKE OIDC; the region from --region or TENCENTCLOUD_REGION.
/// With --local,
/// everything runs against an emulator started on 127.0.0.1 with demo data: no account
/// needed.
#[derive(Debug, Parser)]
#[command(name = "tccbs", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Debug, Args)]
pub struct Global {
    /// Region to call (default: $TENCENTCLOUD_REGION; ap-guangzhou with --local).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,

    /// Credentials profile from the credentials file (default: $TENCENTCLOUD_PROFILE or "default").
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Base URL to send requests to instead of the public endpoint.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint: Option<String>,

    /// Which site's public endpoints to call: china (cbs.tencentcloudapi.com,
    /// tag.tencentcloudapi.com) or intl (cbs.intl.tencentcloudapi.com,
    /// tag.intl.tencentcloudapi.com) (default: $TENCENTCLOUD_SITE, else china).
    #[arg(long, global = true, value_enum)]
    pub site: Option<Site>,

    /// Also trust the certificates in FILE (PEM), for a private CA or an emulator over TLS.
    #[arg(long, global = true, value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,

    /// Limit on each request, in seconds (default 60). After a `cbs` action it is
    /// spelled `--timeout`, as tccli has it.
    #[arg(long, global = true, value_name = "SECONDS", value_parser = parse_timeout)]
    pub request_timeout: Option<Duration>,

    /// Send requests through this proxy (default: $HTTPS_PROXY, $ALL_PROXY, $NO_PROXY).
    #[arg(long, global = true, value_name = "URL")]
    pub https_proxy: Option<String>,

    /// Output format (tables by default; JSON for `cbs` actions, as tccli).
    #[arg(long, global = true, value_enum)]
    pub output: Option<Output>,

    /// Language of the service's error messages.
    #[arg(long, global = true, value_enum)]
    pub language: Option<LanguageArg>,

    /// Take credentials from the CVM instance role only (on a CVM instance).
    #[arg(long, global = true)]
    pub use_cvm_role: bool,

    /// Assume this role (STS AssumeRole) with the credentials found otherwise.
    #[arg(long, global = true, value_name = "ARN")]
    pub role_arn: Option<String>,

    /// The session name for --role-arn.
    #[arg(long, global = true, value_name = "NAME")]
    pub role_session_name: Option<String>,

    /// Start an emulator on 127.0.0.1 with demo data and use it (no account needed).
    #[arg(long, global = true)]
    pub local: bool,

    /// Keep the --local emulator's state in FILE, so runs build on each other (apply,
    /// then check, then drill) as they would against the service.
    #[arg(long, global = true, value_name = "FILE")]
    pub local_state: Option<PathBuf>,

    /// How long a copy takes in the --local emulator.
    #[arg(long, global = true, hide = true, value_parser = parse_duration, default_value = "6s")]
    pub local_copy_duration: Duration,

    /// How long a disk made from a snapshot takes to become usable in the --local
    /// emulator (per 100 GB).
    #[arg(long, global = true, hide = true, value_parser = parse_duration, default_value = "0s")]
    pub local_restore_duration: Duration,

    /// Faults for the --local emulator to inject (a JSON file, as `cbs-emulator --faults`).
    #[arg(long, global = true, hide = true, value_name = "FILE")]
    pub local_faults: Option<PathBuf>,

    /// Log what happens to stderr (-v: info, -vv: debug, -vvv: trace). Secrets are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Human-readable tables.
    Table,
    /// JSON.
    Json,
    /// Tab-separated text, tccli's layout (for `cbs` actions; tables elsewhere).
    Text,
    /// Prometheus text exposition (`replicate check` and `replicate apply` only).
    Prometheus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LanguageArg {
    #[value(name = "zh-CN")]
    ZhCn,
    #[value(name = "en-US")]
    EnUs,
}

/// A whole number of seconds above zero, as tccli's `--timeout` takes it.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    match text.parse::<u64>() {
        Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
        _ => Err(format!("`{text}` is not a number of seconds above 0")),
    }
}

/// `zh-CN` or `en-US`.
pub fn parse_language(text: &str) -> Result<LanguageArg, String> {
    match text {
        "zh-CN" => Ok(LanguageArg::ZhCn),
        "en-US" => Ok(LanguageArg::EnUs),
        other => Err(format!("--language: `{other}` is neither zh-CN nor en-US")),
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Snapshots: copy across regions, list, wait.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Disaster-recovery replication of a fleet of disks, from a policy file.
    #[command(subcommand)]
    Replicate(ReplicateCommand),
    /// Any CBS action as tccli takes it: `tccbs cbs DescribeSnapshots --Limit 5`
    /// (`tccbs cbs --help` lists them, grouped). Also as `tccbs describe-snapshots …`.
    #[command(disable_help_flag = true, disable_version_flag = true)]
    Cbs(CbsArgs),
    /// Call any CBS action with a JSON body; prints the JSON response.
    Call(CallArgs),
    /// List every CBS action.
    Actions,
    /// Write credentials to the profile file the SDKs read, interactively or with `set`.
    Configure(ConfigureArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `tccbs man > tccbs.1`.
    Man,
    /// An action in kebab-case: `tccbs describe-snapshots --limit 5`.
    #[command(external_subcommand)]
    Action(Vec<String>),
}

#[derive(Debug, Args)]
pub struct CbsArgs {
    /// The action (DescribeSnapshots, CopySnapshotCrossRegions, …); none lists them.
    #[arg(allow_hyphen_values = true)]
    pub action: Option<String>,
    /// The action's members and options (`tccbs cbs ACTION --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ConfigureArgs {
    #[command(subcommand)]
    pub command: Option<ConfigureCommand>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigureCommand {
    /// Set keys of a profile: `configure set secret_id AKID… secret_key -` (`-` reads
    /// the value from standard input, so no secret lands in your shell history).
    Set {
        /// KEY VALUE pairs: secret_id, secret_key, token, role_arn, role_session_name.
        #[arg(num_args = 1.., value_name = "KEY VALUE")]
        pairs: Vec<String>,
    },
    /// Show the profiles, secrets masked.
    List,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Copy a snapshot to other regions, optionally waiting until every copy is NORMAL.
    Copy(CopyArgs),
    /// List snapshots of a region (every page).
    List(ListArgs),
    /// Wait until a snapshot is NORMAL.
    Wait(WaitArgs),
}

#[derive(Debug, Subcommand)]
pub enum ReplicateCommand {
    /// Show what `apply` would do: copies to start, copies in flight, replicas up to
    /// date, replicas to prune, with sizes; per destination the GB to transfer, the
    /// snapshots held against the quota, and the GB held after retention. Only reads.
    Plan(PlanArgs),
    /// Carry the policy out, exactly once: copy what is missing, wait, prune if asked.
    /// Safe to run again at any moment (from cron, after a crash): it starts from what
    /// the regions report. Exit status 0 when everything converged, 1 on failure, 3
    /// when some items failed and others succeeded.
    Apply(ApplyArgs),
    /// The RPO check: exit status 4 when a selected disk's newest NORMAL replica in any
    /// destination is missing or older than --max-age. Only reads.
    Check(CheckArgs),
    /// The restore test: make a disk from the newest replica of each selected disk in
    /// --region, wait until it is usable, report, and delete it again unless --keep.
    Drill(DrillArgs),
    /// The recovery day: rebuild every selected disk in --region as a new disk from
    /// its replica (the newest, or the newest taken by --at), reading only that region;
    /// wait until each is usable and report the recovery time. Safe to run again with
    /// the same --run (nothing is made twice). --dry-run shows the plan; --cleanup RUN
    /// removes a run's disks. Exit status 0 all restored, 1 none, 3 some.
    Restore(Box<RestoreArgs>),
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The policy file (TOML; see examples/dr.toml).
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// The most the whole run may take: throttling is waited out until then, and
    /// copies still in flight are adopted by the next run.
    #[arg(long, alias = "max-wait", value_parser = parse_duration, default_value = "6h")]
    pub deadline: Duration,
    /// The destinations' snapshot quota, when you know it (the API does not report
    /// it): copies that would not fit are not started. Without it, plan estimates it.
    #[arg(long, value_name = "N")]
    pub snapshot_quota: Option<u64>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Preview `apply --prune`: replicas retention lets go show as `prune` (without
    /// it, as `would_prune`, unless their rule prunes anyway).
    #[arg(long)]
    pub prune: bool,
    /// Price of cross-region traffic per GB, to print what the copies cost.
    #[arg(long, value_name = "PRICE")]
    pub price_per_gb: Option<f64>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Delete replicas retention lets go (rules with `prune = true` always do).
    #[arg(long)]
    pub prune: bool,
    /// Copies in flight per destination region at most (overrides the policy; no cap
    /// by default: the rate limit paces the copy calls).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_in_flight: Option<u32>,
    /// Also write the run's metrics there, atomically, in Prometheus text format (for
    /// node_exporter's textfile collector).
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
    /// A copy is sent only on a look at its destination younger than this (2s while
    /// another run works on the same copies); keep it shorter than your copies take.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "15s")]
    pub look_again_after: Duration,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// The oldest the newest replica's data may be (e.g. 24h, 90m).
    #[arg(long, value_parser = parse_duration)]
    pub max_age: Duration,
    /// Check from the receiving side: with this profile's credentials (the recovery
    /// account the policy's `share_with` names), each newest replica must be visible
    /// to that account as shared. With --local, the emulator's recovery account.
    #[arg(long, value_name = "NAME")]
    pub as_profile: Option<String>,
    /// Also write the check's metrics there, atomically, in Prometheus text format.
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DrillArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Keep the restored disks instead of deleting them.
    #[arg(long)]
    pub keep: bool,
    /// Restore in the receiving account, with this profile's credentials only (the
    /// recovery account the policy's `share_with` names), from the replicas shared
    /// with it. With --local, the emulator's recovery account.
    #[arg(long, value_name = "NAME")]
    pub as_profile: Option<String>,
    #[command(flatten)]
    pub shape: RestoreShapeArgs,
}

/// How a restore (or a drill, which rehearses one) is shaped and reported.
#[derive(Debug, Args)]
pub struct RestoreShapeArgs {
    /// Attach the restored disks of each source instance to a standby instance of
    /// --region, in their source order: a TOML file of lines `"ins-source" =
    /// "ins-standby"` (instead of the policy's [standby] table). A drill detaches them
    /// again before it deletes them.
    #[arg(long, value_name = "FILE")]
    pub attach: Option<PathBuf>,
    /// Restore in groups, one after another: a TOML file of [[restore_order]] groups
    /// (name, instances, optional), instead of the policy's.
    #[arg(long, value_name = "FILE")]
    pub order: Option<PathBuf>,
    /// Also write the restore as a self-contained HTML page (recovery point and time
    /// to usable per disk, the timeline as a chart).
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Restore to the newest replica taken at or before this time: RFC 3339 with its
    /// offset (2026-12-07T12:30:00Z) or a duration ago (6h, 2d).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Show what would be restored (replica, data age, instance groups, type, size,
    /// zone, hourly price, what would be adopted); make nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The run's name (default restore-<UTC date>): the same name again finishes a run,
    /// another makes another set.
    #[arg(long, value_name = "NAME")]
    pub run: Option<String>,
    /// Only this rule (repeatable).
    #[arg(long = "rule", value_name = "NAME")]
    pub rules: Vec<String>,
    /// Only this source disk (repeatable).
    #[arg(long = "disk", value_name = "DISK_ID")]
    pub disks: Vec<String>,
    /// The type of disks whose replicas do not say theirs (made before replicas were
    /// tagged, or seen from a recovery account).
    #[arg(long, value_name = "TYPE")]
    pub disk_type: Option<String>,
    /// Disks of a source zone go to this zone of the region (repeatable), e.g.
    /// ap-guangzhou-3=ap-beijing-5.
    #[arg(long = "zone", value_name = "FROM=TO", value_parser = parse_zone_map)]
    pub zones: Vec<(String, String)>,
    /// How far apart the source times of one instance's disks may be and still count
    /// as one consistent set.
    #[arg(long, value_parser = parse_duration, default_value = "10m")]
    pub consistency_window: Duration,
    #[command(flatten)]
    pub shape: RestoreShapeArgs,
    /// Remove every disk the run NAME made in --region (detached first) and nothing else.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["dry_run", "at", "run", "attach", "order", "report"])]
    pub cleanup: Option<String>,
    /// Restore into the receiving account, with this profile's credentials only, from
    /// the replicas shared with it (give --disk-type). With --local, the emulator's
    /// recovery account.
    #[arg(long, value_name = "NAME")]
    pub as_profile: Option<String>,
    /// Also write the restore's metrics there, atomically, in Prometheus text format.
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
}

/// `FROM=TO`: two zone names.
fn parse_zone_map(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((from, to)) if !from.is_empty() && !to.is_empty() => {
            Ok((from.trim().to_owned(), to.trim().to_owned()))
        }
        _ => Err("expected FROM=TO, e.g. ap-guangzhou-3=ap-beijing-5".into()),
    }
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The snapshot to copy.
    pub snapshot_id: String,
    /// Destination region (repeat for several).
    #[arg(long = "to", value_name = "REGION", required = true)]
    pub to: Vec<String>,
    /// Name of the copies.
    #[arg(long)]
    pub name: Option<String>,
    /// Wait until every copy is NORMAL, showing progress.
    #[arg(long)]
    pub wait: bool,
    /// The longest to wait (e.g. 30m, 90s, 2h).
    #[arg(long, value_parser = parse_duration, default_value = "30m")]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only snapshots in this state (NORMAL, CREATING, COPYING_FROM_REMOTE, …).
    #[arg(long)]
    pub state: Option<String>,
    /// Only snapshots of this disk.
    #[arg(long)]
    pub disk: Option<String>,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The snapshot to wait for.
    pub snapshot_id: String,
    /// The longest to wait (e.g. 30m, 90s, 2h).
    #[arg(long, value_parser = parse_duration, default_value = "30m")]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The action, e.g. DescribeSnapshots (see `tccbs actions`), or with `--service tag`
    /// GetResources.
    pub action: String,
    /// The service: `cbs`, or `tag` for the Tag service (version 2018-08-13), signed
    /// and sent to that service's endpoint (with `--endpoint` or `--local`, to the
    /// same one).
    #[arg(long, value_enum, default_value_t = CallService::Cbs)]
    pub service: CallService,
    /// The request body as JSON.
    #[arg(long, conflicts_with = "json_file", value_name = "JSON")]
    pub json: Option<String>,
    /// A file holding the request body as JSON ("-" for standard input).
    #[arg(long, value_name = "FILE")]
    pub json_file: Option<PathBuf>,
}

/// A site's public endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Site {
    /// tencentcloudapi.com.
    China,
    /// intl.tencentcloudapi.com.
    Intl,
}

/// The services `tccbs call` reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CallService {
    /// Cloud Block Storage, 2017-03-12.
    Cbs,
    /// Tag, 2018-08-13.
    Tag,
}

/// `90` (seconds), `90s`, `30m`, `2h`, `1h30m`, `7d`: the policy file's durations
/// (humantime's), plus bare seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration ({e}; use e.g. 90s, 30m, 2h, 7d)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86_400)
        );
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("5m3").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn languages() {
        assert_eq!(parse_language("zh-CN").unwrap(), LanguageArg::ZhCn);
        assert!(parse_language("fr").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
