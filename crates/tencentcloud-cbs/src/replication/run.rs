//! Calls made on a run's behalf. A batch run is patient: throttling (other clients of
//! the account sharing its limits) is waited out with growing pauses until the run's
//! deadline, instead of failing after the client's few quick retries. Other failures
//! the client may retry get a couple more tries; anything else is final at once, so a
//! region that refuses (a CAM policy, an outage) fails fast and alone.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::{Client, Error};

/// The first pause after a throttled call; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_secs(1);
/// The longest pause between two tries of one call.
const MAX_PAUSE: Duration = Duration::from_secs(30);
/// Extra tries of a retryable failure that is not throttling (a transient service
/// error on a read, a refused connection), on top of the client's own.
const OTHER_RETRIES: u32 = 2;
/// Tries of one call at the most, whatever the deadline (a bound in count as well as
/// in time).
const MAX_TRIES: u32 = 1_000;

/// One run: the client and the moment by which everything must be done.
#[derive(Clone, Debug)]
pub(crate) struct Run {
    pub client: Client,
    pub deadline: Instant,
}

impl Run {
    pub(crate) fn new(client: &Client, budget: Duration) -> Run {
        let now = Instant::now();
        Run {
            client: client.clone(),
            deadline: now
                .checked_add(budget)
                .unwrap_or(now + MAX_PAUSE * 1_000_000),
        }
    }

    /// A run whose client has credentials: fetched once up front, so a missing profile
    /// or an unreachable credential source fails the whole run at once with its own
    /// error, instead of every region failing with it.
    pub(crate) async fn start(client: &Client, budget: Duration) -> Result<Run, Error> {
        client.ensure_credentials().await?;
        Ok(Run::new(client, budget))
    }

    /// Whether the deadline has passed.
    pub(crate) fn is_over(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// What is left until the deadline.
    pub(crate) fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Sends with `send` until it succeeds, fails in a way waiting cannot mend, or the
    /// next pause would end past the deadline. Only what [`Error::is_retryable`] allows
    /// is sent again, so a mutating call that may have run is never repeated.
    pub(crate) async fn call<T, F, Fut>(&self, mut send: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let (mut tries, mut others) = (0u32, 0u32);
        loop {
            let error = match send().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            tries += 1;
            let again = if error.is_throttled() {
                true
            } else if error.is_retryable() && others < OTHER_RETRIES {
                others += 1;
                true
            } else {
                false
            };
            if !again || tries >= MAX_TRIES {
                return Err(error);
            }
            let pause = pause(tries);
            if pause >= self.left() {
                return Err(error);
            }
            tracing::debug!(error = %error, pause_ms = pause.as_millis() as u64, "waiting before trying again");
            tokio::time::sleep(pause).await;
        }
    }
}

/// The pause before try `tries + 1`: random up to `FIRST_PAUSE × 2^(tries-1)`, capped,
/// but never under half of that ceiling, so a long run of throttling is not hammered.
fn pause(tries: u32) -> Duration {
    let ceiling = FIRST_PAUSE
        .saturating_mul(1u32 << tries.saturating_sub(1).min(16))
        .min(MAX_PAUSE);
    ceiling.mul_f64(0.5 + crate::random::unit() / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_and_are_capped() {
        for tries in 1..40 {
            let p = pause(tries);
            assert!(p <= MAX_PAUSE, "{tries}: {p:?}");
            assert!(p >= FIRST_PAUSE / 2, "{tries}: {p:?}");
        }
        assert!(pause(1) <= FIRST_PAUSE);
        assert!(pause(10) >= MAX_PAUSE / 2);
    }
}
