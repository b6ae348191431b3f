//! `tccbs`: Tencent Cloud Block Storage from the command line.
//!
//! Exit status: 0 when everything asked for succeeded; 1 when it failed; 2 for a usage
//! error; 3 when some items (regions of a copy, items of a replication run) succeeded
//! and others failed; 4 when `replicate check` finds the recovery point missed.

mod api;
mod cli;
mod commands;
mod configure;
mod context;
mod failure;
mod metrics;
mod progress;
mod replicate;
mod signals;
mod table;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, Output, ReplicateCommand, SnapshotCommand};
use crate::failure::Failure;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with status 0; usage errors to stderr with 2.
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    init_logging(cli.global.verbose);
    // One thread: a command waits on the network, and each extra worker costs memory
    // and start-up time (measured by tests/interop/speed.py).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(failure) => failure.report(),
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    // Before anything, also for the commands that build no client.
    context::check_combination(&cli.global)?;
    let has_metrics = matches!(
        cli.command,
        Command::Replicate(
            ReplicateCommand::Check(_) | ReplicateCommand::Apply(_) | ReplicateCommand::Restore(_)
        )
    );
    if cli.global.output == Some(Output::Prometheus) && !has_metrics {
        return Err(api::prometheus_refused());
    }
    // What needs no client.
    match cli.command {
        Command::Actions => return commands::actions(cli.global.output.unwrap_or(Output::Table)),
        Command::Completions { shell } => {
            api::completion::write(shell, &mut std::io::stdout());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(command)
                .render(&mut std::io::stdout())
                .map_err(|e| Failure::Other(format!("cannot write the manual page: {e}")))?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Configure(args) => return configure::run(&cli.global, args),
        Command::Cbs(args) => {
            let Some(name) = args.action.filter(|a| a != "--help" && a != "-h") else {
                print!("{}", api::help::actions());
                return Ok(ExitCode::SUCCESS);
            };
            let action = tencentcloud_cbs::model::action_info(&name).ok_or_else(|| {
                Failure::Usage(format!(
                    "`{name}` is not a CBS action; `tccbs cbs --help` lists them"
                ))
            })?;
            return api::run(action, &args.args, cli.global).await;
        }
        Command::Action(words) => {
            let name = words.first().cloned().unwrap_or_default();
            let action = api::action_by_kebab(&name).ok_or_else(|| {
                Failure::Usage(format!(
                    "unknown command `{name}`; `tccbs --help` lists the commands and `tccbs cbs --help` the actions"
                ))
            })?;
            return api::run(action, &words[1..], cli.global).await;
        }
        _ => {}
    }
    let explicit_region = cli.global.region.clone();
    let ctx = context::Context::build(&cli.global).await?;
    match cli.command {
        Command::Snapshot(SnapshotCommand::Copy(args)) => commands::snapshot_copy(&ctx, args).await,
        Command::Snapshot(SnapshotCommand::List(args)) => commands::snapshot_list(&ctx, args).await,
        Command::Snapshot(SnapshotCommand::Wait(args)) => commands::snapshot_wait(&ctx, args).await,
        Command::Replicate(ReplicateCommand::Plan(args)) => replicate::plan(&ctx, args).await,
        Command::Replicate(ReplicateCommand::Apply(args)) => replicate::apply(&ctx, args).await,
        Command::Replicate(ReplicateCommand::Check(args)) => replicate::check(&ctx, args).await,
        Command::Replicate(ReplicateCommand::Drill(args)) => {
            replicate::drill(&ctx, args, explicit_region).await
        }
        Command::Replicate(ReplicateCommand::Restore(args)) => {
            replicate::restore(&ctx, *args, explicit_region).await
        }
        Command::Call(args) => commands::call(&ctx, args).await,
        _ => unreachable!("handled above"),
    }
}

pub(crate) fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => return,
        1 => tracing::Level::INFO,
        2 => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .finish();
    let _ = tracing::subscriber::set_global_default(subscriber);
}
