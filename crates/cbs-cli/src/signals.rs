//! Stopping a command that makes billable resources: the first SIGINT or SIGTERM asks
//! it to stop and clean up; a second one exits at once (what is left is for the next
//! run to remove).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use crate::table::say;

/// The signal that stopped a command, if one did.
#[derive(Clone, Debug, Default)]
pub struct Caught(Arc<AtomicI32>);

impl Caught {
    /// The exit status a stopped command ends with (128 + the signal), if it was.
    pub fn exit_status(&self) -> Option<u8> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            signal => Some(128u8.saturating_add(signal as u8)),
        }
    }
}

/// A future that completes at the first SIGINT or SIGTERM (the handlers are in place
/// when this returns), saying `what` happens next; a second signal exits the process
/// with `then_left` printed.
pub fn stop_on_signal(
    what: &'static str,
    then_left: &'static str,
) -> std::io::Result<(impl Future<Output = ()> + Send + 'static, Caught)> {
    let caught = Caught::default();
    let mut signals = Signals::new()?;
    let seen = caught.clone();
    let stop = async move {
        let signal = signals.next().await;
        seen.0.store(signal, Ordering::SeqCst);
        say!(
            "stopping ({}): {what}; a second signal exits at once",
            name(signal)
        );
        tokio::spawn(async move {
            let again = signals.next().await;
            say!("stopped again ({}): {then_left}", name(again));
            std::process::exit(128 + again);
        });
    };
    Ok((stop, caught))
}

fn name(signal: i32) -> &'static str {
    if signal == 15 { "SIGTERM" } else { "SIGINT" }
}

/// SIGINT and SIGTERM, registered from the start.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// The next signal's number (2 or 15).
    async fn next(&mut self) -> i32 {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => 2,
                _ = self.terminate.recv() => 15,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            2
        }
    }
}
