//! Shell completion scripts that know every action and its members.
//!
//! Actions are not clap subcommands (their arguments are read by [`super::parse`] from
//! the model's schema), so the command clap completes from is the parser's own shape
//! plus, built from the same schema, one subcommand per action: `cbs DescribeSnapshots`
//! with `--Limit`, …, and `describe-snapshots` with `--limit`, ….

use std::collections::BTreeSet;

use cbs_model::{ACTIONS, ActionInfo, MemberSchema};
use clap::{Arg, ArgAction, Command, CommandFactory};

use super::{ACTION_OPTIONS, members};
use crate::cli::Cli;

/// Writes the completion script for `shell` to `out`.
pub fn write(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    let mut command = command();
    clap_complete::generate(shell, &mut command, "tccbs", out);
}

/// The command line as completion sees it.
pub fn command() -> Command {
    let parser = Cli::command();
    // Names an action's own options must not take: the global ones reach every
    // subcommand already.
    let taken: BTreeSet<String> = parser
        .get_arguments()
        .filter_map(|a| a.get_long().map(str::to_owned))
        .chain(["help".to_owned()])
        .collect();
    let mut root = Command::new("tccbs")
        .version(env!("CARGO_PKG_VERSION"))
        .about(parser.get_about().cloned().unwrap_or_default())
        .args(parser.get_arguments().cloned());
    for sub in parser.get_subcommands() {
        root = root.subcommand(if sub.get_name() == "cbs" {
            // Without the parser's positional arguments, which would take the action's
            // place in zsh's completion.
            Command::new("cbs")
                .about(sub.get_about().cloned().unwrap_or_default())
                .subcommands(ACTIONS.iter().map(|a| action(a, a.name, false, &taken)))
        } else {
            sub.clone()
        });
    }
    root.subcommands(
        ACTIONS
            .iter()
            .map(|a| action(a, &members::kebab(a.name), true, &taken)),
    )
}

/// One action as a subcommand named `name`, its members as `--Member` or, in
/// kebab-case, `--member`.
fn action(action: &ActionInfo, name: &str, kebab: bool, taken: &BTreeSet<String>) -> Command {
    let request = members::schema(&format!("{}Request", action.name))
        .map(|schema| schema.members)
        .unwrap_or_default();
    let mut command = Command::new(name.to_owned()).about(format!(
        "{} ({})",
        action.name,
        action.safety.as_str()
    ));
    for member in request {
        let long = if kebab {
            members::kebab(member.name)
        } else {
            member.name.to_owned()
        };
        if !taken.contains(&long) {
            command = command.arg(member_arg(member, long, kebab));
        }
    }
    for option in ACTION_OPTIONS {
        let arg = Arg::new(option.name).long(option.name).help(option.help);
        command = command.arg(match option.value {
            Some(value) => arg.value_name(value),
            None => arg.action(ArgAction::SetTrue),
        });
    }
    command
}

fn member_arg(member: &MemberSchema, long: String, kebab: bool) -> Arg {
    let help = format!(
        "{}{}",
        members::type_name(member),
        if member.required { ", required" } else { "" }
    );
    let arg = Arg::new(long.clone())
        .long(long)
        .help(help)
        .value_name("VALUE");
    // In kebab-case a list member is repeated; in tccli's form it is one JSON value.
    if kebab && member.list {
        arg.action(ArgAction::Append)
    } else {
        arg
    }
}
