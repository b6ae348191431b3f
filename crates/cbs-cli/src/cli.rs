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

#[derive(Debug, Args)]
pub struct Global {
    /// Region to call (default: $TENCENTCLOUD_REGION; ap-guangzhou with --local).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,

    /// Credentials profile from the credentials file (default: $TENCENTCLOUD_PROFILE or "default").
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Base URL to send requests to instead of the public endpoint.
    #[arg(long, global = true, value_name = "URL", conflicts_with = "local")]
    pub endpoint: Option<String>,

    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,

    /// Language of the service's error messages.
    #[arg(long, global = true, value_enum)]
    pub language: Option<LanguageArg>,

    /// Start an emulator on 127.0.0.1 with demo data and use it (no account needed).
    #[arg(long, global = true)]
    pub local: bool,

    /// How long a copy takes in the --local emulator.
    #[arg(long, global = true, hide = true, value_parser = parse_duration, default_value = "6s")]
    pub local_copy_duration: Duration,

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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LanguageArg {
    #[value(name = "zh-CN")]
    ZhCn,
    #[value(name = "en-US")]
    EnUs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Snapshots: copy across regions, list, wait.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Call any CBS action with a JSON body; prints the JSON response.
    Call(CallArgs),
    /// List every CBS action.
    Actions,
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
    /// The action, e.g. DescribeSnapshots (see `tccbs actions`).
    pub action: String,
    /// The request body as JSON.
    #[arg(long, conflicts_with = "json_file", value_name = "JSON")]
    pub json: Option<String>,
    /// A file holding the request body as JSON ("-" for standard input).
    #[arg(long, value_name = "FILE")]
    pub json_file: Option<PathBuf>,
}

/// `90`, `90s`, `30m`, `2h`, `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => {
                return Err(format!(
                    "`{text}` is not a duration (use e.g. 90s, 30m, 2h)"
                ));
            }
        };
        let value: u64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a duration (use e.g. 90s, 30m, 2h)"))?;
        total = total.saturating_add(value.saturating_mul(unit));
        number.clear();
    }
    if !number.is_empty() || total == 0 && !text.starts_with('0') {
        return Err(format!(
            "`{text}` is not a duration (use e.g. 90s, 30m, 2h)"
        ));
    }
    Ok(Duration::from_secs(total))
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
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("5m3").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
