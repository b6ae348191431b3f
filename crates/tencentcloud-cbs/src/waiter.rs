//! Waiting for a snapshot to become usable.

use std::fmt;
use std::time::Duration;

use cbs_model::{Snapshot, SnapshotState};
use tokio::time::Instant;

use crate::{Client, Error};

/// One observation of a snapshot while waiting.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotProgress {
    /// The region polled.
    pub region: String,
    /// The snapshot.
    pub snapshot_id: String,
    /// Its state; `None` until the snapshot is visible.
    pub state: Option<SnapshotState>,
    /// Its progress in percent (`Percent`).
    pub percent: u64,
    /// Time since the wait began.
    pub elapsed: Duration,
    /// Polls so far, this one included.
    pub polls: u32,
}

/// Why a wait ended without a `NORMAL` snapshot.
#[derive(Debug)]
#[non_exhaustive]
pub enum WaiterError {
    /// The snapshot was not `NORMAL` within the maximum wait.
    ExceededMaxWait {
        /// How long was waited.
        elapsed: Duration,
        /// How many polls were made.
        polls: u32,
        /// The last progress seen.
        last: Option<SnapshotProgress>,
    },
    /// The snapshot reached a state it cannot come back from (`TORECYCLE`).
    FailureState(Box<Snapshot>),
    /// The snapshot is gone: it was seen and then no longer found, or never appeared.
    Vanished {
        /// The region polled.
        region: String,
        /// The snapshot.
        snapshot_id: String,
    },
    /// Polling failed.
    Operation(Error),
}

impl fmt::Display for WaiterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaiterError::ExceededMaxWait {
                elapsed,
                polls,
                last,
            } => {
                write!(
                    f,
                    "the snapshot was not NORMAL after {elapsed:?} ({polls} polls"
                )?;
                if let Some((state, last)) =
                    last.as_ref().and_then(|l| Some((l.state.as_ref()?, l)))
                {
                    write!(f, "; last seen {state} at {}%", last.percent)?;
                }
                f.write_str(")")
            }
            WaiterError::FailureState(s) => write!(
                f,
                "the snapshot {} entered state {}",
                s.snapshot_id.as_deref().unwrap_or("?"),
                s.snapshot_state.as_ref().map(|s| s.as_str()).unwrap_or("?")
            ),
            WaiterError::Vanished {
                region,
                snapshot_id,
            } => {
                write!(
                    f,
                    "the snapshot {snapshot_id} is no longer found in {region}"
                )
            }
            WaiterError::Operation(_) => f.write_str("polling the snapshot failed"),
        }
    }
}

impl std::error::Error for WaiterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WaiterError::Operation(e) => Some(e),
            _ => None,
        }
    }
}

type ProgressFn<'a> = Box<dyn FnMut(&SnapshotProgress) + Send + 'a>;

/// Polls `DescribeSnapshots` until a snapshot is `NORMAL`. Start one with
/// [`Client::wait_until_snapshot_normal`].
///
/// Defaults: wait at most 30 minutes; poll at once, then after 2 s, growing by half each
/// time up to 30 s. A snapshot not visible yet is polled for up to 3 more times before
/// it counts as vanished (a fresh copy can take a moment to appear).
///
/// ```no_run
/// # async fn run(client: tencentcloud_cbs::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// let snapshot = client
///     .wait_until_snapshot_normal("ap-beijing", "snap-d012rm6t")
///     .max_wait(Duration::from_secs(3600))
///     .on_progress(|p| println!("{}: {}%", p.snapshot_id, p.percent))
///     .wait()
///     .await?;
/// # let _ = snapshot;
/// # Ok(())
/// # }
/// ```
pub struct SnapshotWaiter<'a> {
    client: Client,
    region: String,
    snapshot_id: String,
    max_wait: Duration,
    min_interval: Duration,
    max_interval: Duration,
    on_progress: Option<ProgressFn<'a>>,
}

impl fmt::Debug for SnapshotWaiter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapshotWaiter")
            .field("region", &self.region)
            .field("snapshot_id", &self.snapshot_id)
            .field("max_wait", &self.max_wait)
            .field("min_interval", &self.min_interval)
            .field("max_interval", &self.max_interval)
            .finish()
    }
}

/// Polls of a snapshot that is not found yet before it counts as vanished.
const NOT_YET_VISIBLE_POLLS: u32 = 3;

impl Client {
    /// Waits until the snapshot `snapshot_id` in `region` is `NORMAL`.
    pub fn wait_until_snapshot_normal(
        &self,
        region: impl Into<String>,
        snapshot_id: impl Into<String>,
    ) -> SnapshotWaiter<'static> {
        SnapshotWaiter {
            client: self.clone(),
            region: region.into(),
            snapshot_id: snapshot_id.into(),
            max_wait: Duration::from_secs(30 * 60),
            min_interval: Duration::from_secs(2),
            max_interval: Duration::from_secs(30),
            on_progress: None,
        }
    }
}

impl<'a> SnapshotWaiter<'a> {
    /// The longest to wait.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// The first interval between polls, and the largest it grows to.
    pub fn poll_interval(mut self, min: Duration, max: Duration) -> Self {
        self.min_interval = min;
        self.max_interval = max.max(min);
        self
    }

    /// Called after every poll with what it saw.
    pub fn on_progress<'b>(
        self,
        callback: impl FnMut(&SnapshotProgress) + Send + 'b,
    ) -> SnapshotWaiter<'b>
    where
        'a: 'b,
    {
        SnapshotWaiter {
            client: self.client,
            region: self.region,
            snapshot_id: self.snapshot_id,
            max_wait: self.max_wait,
            min_interval: self.min_interval,
            max_interval: self.max_interval,
            on_progress: Some(Box::new(callback)),
        }
    }

    /// Polls until the snapshot is `NORMAL`, and returns it.
    pub async fn wait(mut self) -> Result<Snapshot, WaiterError> {
        let started = Instant::now();
        let mut interval = self.min_interval;
        let mut polls = 0u32;
        let mut seen = false;
        let mut unseen_polls = 0u32;
        loop {
            polls += 1;
            let page = self
                .client
                .describe_snapshots()
                .region(self.region.clone())
                .snapshot_ids([self.snapshot_id.clone()])
                .send()
                .await
                .map_err(WaiterError::Operation)?;
            let snapshot = page
                .snapshot_set()
                .iter()
                .find(|s| s.snapshot_id.as_deref() == Some(self.snapshot_id.as_str()))
                .cloned();
            let progress = SnapshotProgress {
                region: self.region.clone(),
                snapshot_id: self.snapshot_id.clone(),
                state: snapshot.as_ref().and_then(|s| s.snapshot_state.clone()),
                percent: snapshot.as_ref().and_then(|s| s.percent).unwrap_or(0),
                elapsed: started.elapsed(),
                polls,
            };
            if let Some(callback) = self.on_progress.as_mut() {
                callback(&progress);
            }
            match snapshot {
                Some(snapshot) => {
                    seen = true;
                    match &snapshot.snapshot_state {
                        Some(SnapshotState::Normal) => return Ok(snapshot),
                        Some(SnapshotState::ToRecycle) => {
                            return Err(WaiterError::FailureState(Box::new(snapshot)));
                        }
                        _ => {}
                    }
                }
                None => {
                    unseen_polls += 1;
                    if seen || unseen_polls > NOT_YET_VISIBLE_POLLS {
                        return Err(WaiterError::Vanished {
                            region: self.region.clone(),
                            snapshot_id: self.snapshot_id.clone(),
                        });
                    }
                }
            }
            let elapsed = started.elapsed();
            if elapsed >= self.max_wait {
                return Err(WaiterError::ExceededMaxWait {
                    elapsed,
                    polls,
                    last: Some(progress),
                });
            }
            // Sleep no further than the deadline, so the last poll happens at it.
            tokio::time::sleep(interval.min(self.max_wait - elapsed)).await;
            interval = interval.mul_f64(1.5).min(self.max_interval);
        }
    }
}
