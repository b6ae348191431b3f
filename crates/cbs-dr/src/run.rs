//! The run every phase works within: the client, the moment by which everything must
//! be done, how often to poll, the clock ages are measured with, and who hears what
//! happens.
//!
//! A batch run is patient: throttling (other clients of the account sharing its
//! limits) is waited out with growing pauses until the run's deadline, instead of
//! failing after the client's few quick tries; anything else gets the client's usual
//! tries. That patience is the client's own retry loop with a config of the run's
//! ([`Run::patience`], passed with each call): there is no second loop here.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use tencentcloud_cbs::{Client, Clock, RetryConfig};
use tokio::time::Instant;

use crate::report::{PlanTotals, ReportItem};

/// How long a run may take unless told otherwise: generous, so that copies of large
/// disks and long spells of throttling are waited out.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(6 * 3600);

/// The first pause after a failed try; the pauses double up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_secs(1);
/// The longest pause between two tries of one call.
const MAX_PAUSE: Duration = Duration::from_secs(30);
/// Tries of a call that fails in a way a repeat can mend (a transient error on a read,
/// a refused connection), throttling apart: a region that keeps failing fails its own
/// items soon, and the next round or run tries again.
const TRIES: u32 = 3;
/// Tries of a throttled call at the most, whatever the deadline (a bound in count as
/// well as in time).
const MAX_THROTTLED_TRIES: u32 = 1_000;

/// What a run reports as it goes, for progress displays and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplicationEvent {
    /// The plan the run starts from.
    Planned {
        /// Its counts.
        totals: PlanTotals,
    },
    /// A copy call is being sent.
    CopyStarted {
        /// The source snapshot.
        source_snapshot_id: String,
        /// The destinations it carries.
        destinations: Vec<String>,
    },
    /// Where one destination stands.
    Progress {
        /// The destination.
        destination: String,
        /// Replicas `NORMAL`.
        done: usize,
        /// Items given up on.
        failed: usize,
        /// Copies in flight.
        in_flight: usize,
        /// Items in all.
        total: usize,
    },
    /// An item is final (so far: sharing and pruning).
    Finished(ReportItem),
    /// Where a restore stands, after each look at its disks.
    RestoreProgress {
        /// Disks usable.
        usable: usize,
        /// Disks made and not usable yet.
        waiting: usize,
        /// Disks in all.
        total: usize,
    },
}

/// Who hears a run's events.
pub(crate) type EventFn = Arc<dyn Fn(&ReplicationEvent) + Send + Sync>;

/// One run: cheap to clone into the tasks it spawns.
#[derive(Clone)]
pub(crate) struct Run {
    pub client: Client,
    pub deadline: Instant,
    /// The first and the longest wait between two polls.
    pub poll: (Duration, Duration),
    events: Option<EventFn>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run")
            .field("deadline", &self.deadline)
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}

impl Run {
    /// A run of `client` that must be done within `budget` from now.
    pub(crate) fn new(
        client: &Client,
        budget: Duration,
        poll: (Duration, Duration),
        events: Option<EventFn>,
        clock: Arc<dyn Clock>,
    ) -> Run {
        let now = Instant::now();
        Run {
            client: client.clone(),
            deadline: now
                .checked_add(budget)
                .unwrap_or(now + DEFAULT_DEADLINE * 1_000),
            poll,
            events,
            clock,
        }
    }

    /// The same run with at least `budget` left from now: for cleaning up, which is
    /// worth some time past the deadline.
    pub(crate) fn extended(&self, budget: Duration) -> Run {
        let now = Instant::now();
        let at_least = now.checked_add(budget).unwrap_or(self.deadline);
        Run {
            deadline: self.deadline.max(at_least),
            ..self.clone()
        }
    }

    /// The same run with exactly `budget` left from now, whatever its deadline: for
    /// cleaning up after being told to stop, in the time a service manager allows.
    pub(crate) fn within(&self, budget: Duration) -> Run {
        let now = Instant::now();
        Run {
            deadline: now.checked_add(budget).unwrap_or(self.deadline),
            ..self.clone()
        }
    }

    /// Whether the deadline has passed.
    pub(crate) fn is_over(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// What is left until the deadline.
    pub(crate) fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// How a call made now on the run's behalf retries: throttling waited out until the
    /// deadline, anything else [`TRIES`] times, no retry quota (the deadline and the
    /// counts bound it). Only what the client's one rule allows is sent again, so a
    /// mutating call that may have run is never repeated.
    pub(crate) fn patience(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(TRIES)
            .with_max_throttled_attempts(Some(MAX_THROTTLED_TRIES))
            .with_backoff(FIRST_PAUSE, MAX_PAUSE)
            .with_deadline(Some(self.left()))
            .with_quota(None)
    }

    /// The clock's time in Unix seconds.
    pub(crate) fn now_unix(&self) -> i64 {
        self.clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }

    /// Tells the listener, if there is one.
    pub(crate) fn emit(&self, event: ReplicationEvent) {
        if let Some(f) = &self.events {
            f(&event);
        }
    }

    /// Whether anyone listens (progress is not worked out for no one).
    pub(crate) fn is_heard(&self) -> bool {
        self.events.is_some()
    }
}
