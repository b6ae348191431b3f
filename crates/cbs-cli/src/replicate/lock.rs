//! One `replicate apply` of a policy at a time on this host: an hourly cron whose run
//! takes more than an hour waits for the last one instead of racing it. This is the
//! first guard only: runs on different hosts (or with different temporary
//! directories) do not see each other's lock, and the engine keeps them from copying
//! twice by looking at the regions (see the README, "Overlapping runs").

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::failure::Failure;
use crate::table::say;

/// Held for as long as the run lasts; the lock goes with the process, however it ends.
#[derive(Debug)]
pub struct ApplyLock {
    _file: File,
}

/// The lock file of `policy` for the account `key` names (profile, endpoint): in the
/// temporary directory, named after both.
fn path_of(policy: &Path, key: &str) -> PathBuf {
    let policy = std::fs::canonicalize(policy).unwrap_or_else(|_| policy.to_owned());
    // FNV-1a: a stable name, not a secret.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in policy
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .chain(key.as_bytes())
    {
        hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
    }
    std::env::temp_dir().join(format!("tccbs-apply-{hash:016x}.lock"))
}

/// Takes the lock, waiting (up to `patience`) while another apply of the policy holds
/// it. `None` when no lock file can be had (a temporary directory that cannot be
/// written): the run goes on, guarded by the regions alone.
pub async fn acquire(
    policy: &Path,
    key: &str,
    patience: Duration,
) -> Result<Option<ApplyLock>, Failure> {
    let path = path_of(policy, key);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .or_else(|_| File::open(&path));
    let mut file = match file {
        Ok(file) => file,
        Err(e) => {
            say!(
                "warning: no lock file ({}: {e}); overlapping runs on this host are kept apart by what the regions show alone",
                path.display()
            );
            return Ok(None);
        }
    };
    let started = tokio::time::Instant::now();
    let mut said = false;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => {
                say!(
                    "warning: cannot lock {}: {e}; overlapping runs on this host are kept apart by what the regions show alone",
                    path.display()
                );
                return Ok(None);
            }
        }
        if !said {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            say!(
                "waiting: another `tccbs replicate apply` of {} runs on this host ({}); this one starts when it ends",
                policy.display(),
                match holder.trim() {
                    "" => "pid unknown".to_owned(),
                    pid => format!("pid {pid}"),
                }
            );
            said = true;
        }
        if started.elapsed() >= patience {
            return Err(Failure::Other(format!(
                "gave up waiting for the other apply of {} after {}s (its lock: {})",
                policy.display(),
                patience.as_secs(),
                path.display()
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Who holds it, for whoever waits (best effort: the lock is what counts).
    let _ = file.set_len(0).and_then(|()| file.rewind());
    let _ = write!(file, "{}", std::process::id());
    Ok(Some(ApplyLock { _file: file }))
}
