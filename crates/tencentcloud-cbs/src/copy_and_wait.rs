//! Copy a snapshot to other regions and wait until every copy is usable.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use cbs_model::{ErrorCode, RegionCopy, Snapshot};
use tokio::task::JoinSet;

use crate::waiter::{SnapshotProgress, WaiterError};
use crate::{Client, Error};

/// How one destination region ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum RegionOutcome {
    /// The copy is `NORMAL` and ready to use.
    Ready {
        /// The destination region.
        region: String,
        /// The new snapshot.
        snapshot: Box<Snapshot>,
    },
    /// The region refused the copy.
    Refused {
        /// The destination region.
        region: String,
        /// Why.
        code: ErrorCode,
        /// The service's message.
        message: String,
    },
    /// The service's answer did not mention this region, so whether a copy started there
    /// is unknown: look in the region (or at the source's `CopyingToRegions`) before
    /// copying again.
    NotReported {
        /// The destination region.
        region: String,
    },
    /// The copy started but waiting for it failed.
    WaitFailed {
        /// The destination region.
        region: String,
        /// The new snapshot's id.
        snapshot_id: String,
        /// What went wrong.
        error: WaiterError,
    },
}

impl RegionOutcome {
    /// The destination region.
    pub fn region(&self) -> &str {
        match self {
            RegionOutcome::Ready { region, .. }
            | RegionOutcome::Refused { region, .. }
            | RegionOutcome::NotReported { region }
            | RegionOutcome::WaitFailed { region, .. } => region,
        }
    }

    /// Whether the copy is ready.
    pub fn is_ready(&self) -> bool {
        matches!(self, RegionOutcome::Ready { .. })
    }
}

type RegionProgressFn = Arc<dyn Fn(&SnapshotProgress) + Send + Sync>;

/// Copies a snapshot to several regions and waits for every copy that started; start
/// one with [`Client::copy_snapshot_and_wait`].
///
/// ```no_run
/// # async fn run(client: tencentcloud_cbs::Client) -> Result<(), tencentcloud_cbs::Error> {
/// use tencentcloud_cbs::RegionOutcome;
/// let outcomes = client
///     .copy_snapshot_and_wait("snap-ckgjwkqh")
///     .destination_regions(["ap-beijing", "ap-shanghai"])
///     .on_progress(|p| println!("{} {}%", p.region, p.percent))
///     .send()
///     .await?;
/// for outcome in &outcomes {
///     match outcome {
///         RegionOutcome::Ready { region, snapshot } => println!("{region}: {:?}", snapshot.snapshot_id),
///         other => println!("{}: failed: {other:?}", other.region()),
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct CopyAndWait {
    client: Client,
    snapshot_id: String,
    destinations: Vec<String>,
    snapshot_name: Option<String>,
    max_wait: Duration,
    poll_interval: (Duration, Duration),
    on_progress: Option<RegionProgressFn>,
}

impl fmt::Debug for CopyAndWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyAndWait")
            .field("snapshot_id", &self.snapshot_id)
            .field("destinations", &self.destinations)
            .field("max_wait", &self.max_wait)
            .finish()
    }
}

impl Client {
    /// Copies `snapshot_id` to other regions and waits for the copies.
    pub fn copy_snapshot_and_wait(&self, snapshot_id: impl Into<String>) -> CopyAndWait {
        CopyAndWait {
            client: self.clone(),
            snapshot_id: snapshot_id.into(),
            destinations: Vec::new(),
            snapshot_name: None,
            max_wait: Duration::from_secs(30 * 60),
            poll_interval: (Duration::from_secs(2), Duration::from_secs(30)),
            on_progress: None,
        }
    }
}

impl CopyAndWait {
    /// The regions to copy to.
    pub fn destination_regions(
        mut self,
        regions: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.destinations = regions.into_iter().map(Into::into).collect();
        self
    }

    /// The copies' name (the service's default otherwise).
    pub fn snapshot_name(mut self, name: impl Into<String>) -> Self {
        self.snapshot_name = Some(name.into());
        self
    }

    /// The longest to wait for each copy.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// The polling interval: first, and largest.
    pub fn poll_interval(mut self, min: Duration, max: Duration) -> Self {
        self.poll_interval = (min, max);
        self
    }

    /// Called after every poll of every region.
    pub fn on_progress(
        mut self,
        callback: impl Fn(&SnapshotProgress) + Send + Sync + 'static,
    ) -> Self {
        self.on_progress = Some(Arc::new(callback));
        self
    }

    /// Starts the copies (one call), then waits for all that started, concurrently.
    /// Returns one outcome per destination, in the order given; a destination the
    /// service's answer leaves out is [`RegionOutcome::NotReported`]. Fails as a whole
    /// only when the copy call itself fails, or before sending when the destinations
    /// are empty or repeat one another.
    pub async fn send(self) -> Result<Vec<RegionOutcome>, Error> {
        const ACTION: &str = "CopySnapshotCrossRegions";
        for (i, region) in self.destinations.iter().enumerate() {
            if self.destinations[..i].contains(region) {
                return Err(Error::invalid_input(
                    ACTION,
                    Some("DestinationRegions"),
                    format!("names `{region}` twice"),
                ));
            }
        }
        let response = self
            .client
            .copy_snapshot_cross_regions()
            .snapshot_id(self.snapshot_id.clone())
            .destination_regions(self.destinations.clone())
            .set_snapshot_name(self.snapshot_name.clone())
            .send()
            .await?;
        let mut copies = response.region_copies();
        // Outcomes in the order the destinations were given; the waits run side by side.
        let mut outcomes: Vec<Option<RegionOutcome>> = Vec::new();
        let mut waits = JoinSet::new();
        for (index, region) in self.destinations.iter().enumerate() {
            let answered = copies.iter().position(|c| c.region() == region);
            let outcome = match answered.map(|i| copies.swap_remove(i)) {
                Some(RegionCopy::Started {
                    region,
                    snapshot_id,
                }) => {
                    let wait = self.wait_for(region, snapshot_id);
                    waits.spawn(async move { (index, wait.await) });
                    None
                }
                Some(RegionCopy::Refused {
                    region,
                    code,
                    message,
                }) => Some(RegionOutcome::Refused {
                    region,
                    code,
                    message,
                }),
                Some(_) | None => Some(RegionOutcome::NotReported {
                    region: region.clone(),
                }),
            };
            outcomes.push(outcome);
        }
        while let Some(done) = waits.join_next().await {
            // A wait does not panic; if one did, its panic goes on here.
            let (index, outcome) =
                done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            outcomes[index] = Some(outcome);
        }
        Ok(outcomes.into_iter().flatten().collect())
    }

    fn wait_for(
        &self,
        region: String,
        snapshot_id: String,
    ) -> impl Future<Output = RegionOutcome> + Send + 'static {
        let mut waiter = self
            .client
            .wait_until_snapshot_normal(region.clone(), snapshot_id.clone())
            .max_wait(self.max_wait)
            .poll_interval(self.poll_interval.0, self.poll_interval.1);
        let progress = self.on_progress.clone();
        async move {
            if let Some(progress) = progress {
                waiter = waiter.on_progress(move |p| progress(p));
            }
            match waiter.wait().await {
                Ok(snapshot) => RegionOutcome::Ready {
                    region,
                    snapshot: Box::new(snapshot),
                },
                Err(error) => RegionOutcome::WaitFailed {
                    region,
                    snapshot_id,
                    error,
                },
            }
        }
    }
}
