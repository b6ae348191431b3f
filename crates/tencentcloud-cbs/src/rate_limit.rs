//! Client-side rate limiting: wait for a slot instead of being rejected.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Calls per second per action, enforced before sending, shared by every clone of a
/// client. The service allows 20 calls per second per action; a client that would
/// exceed it waits instead of collecting `RequestLimitExceeded`.
///
/// The default allows 20 calls per second per action with bursts of up to 10, leaving
/// room for the spread in network latency between client and service.
#[derive(Clone, Debug)]
pub struct RateLimitConfig {
    default: Option<Rate>,
    per_action: HashMap<String, Option<Rate>>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Rate {
    per_second: u32,
    burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            default: rate(20, 10),
            per_action: HashMap::new(),
        }
    }
}

impl RateLimitConfig {
    /// No client-side limit.
    pub fn none() -> Self {
        RateLimitConfig {
            default: None,
            per_action: HashMap::new(),
        }
    }

    /// Every action without its own setting: `per_second` calls, bursts of `burst`.
    pub fn default_rate(mut self, per_second: u32, burst: u32) -> Self {
        self.default = rate(per_second, burst);
        self
    }

    /// `action`: `per_second` calls, bursts of `burst` (0 per second: unlimited).
    pub fn per_action(mut self, action: impl Into<String>, per_second: u32, burst: u32) -> Self {
        self.per_action
            .insert(action.into(), rate(per_second, burst));
        self
    }

    fn rate_for(&self, action: &str) -> Option<Rate> {
        self.per_action.get(action).copied().unwrap_or(self.default)
    }
}

fn rate(per_second: u32, burst: u32) -> Option<Rate> {
    (per_second > 0).then(|| Rate {
        per_second,
        burst: burst.max(1),
    })
}

/// The buckets, one per action: those of the CBS actions made up front and found
/// without a lock, any other on its first call.
#[derive(Debug, Clone)]
pub(crate) struct RateLimiter {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    config: RateLimitConfig,
    /// Where time is counted from.
    epoch: Instant,
    /// One per entry of [`cbs_model::ACTIONS`], in the same order.
    actions: Vec<Bucket>,
    others: Mutex<HashMap<String, Arc<Bucket>>>,
}

/// One action's schedule, as the generic cell rate algorithm keeps it: a single
/// number, the time at which the bucket would be full again if no more calls came
/// (`tat`, nanoseconds after the epoch). It admits exactly what a token bucket of
/// `burst` tokens refilled at `per_second` admits, and a compare-and-swap updates it,
/// so concurrent callers never queue on a lock.
#[derive(Debug)]
struct Bucket {
    /// Nanoseconds between calls at the steady rate, and how far ahead of now the
    /// schedule may run (`burst - 1` intervals); `None`: unlimited.
    pace: Option<(u64, u64)>,
    tat: AtomicU64,
}

impl Bucket {
    fn new(rate: Option<Rate>) -> Self {
        let pace = rate.map(|rate| {
            let interval = 1_000_000_000 / u64::from(rate.per_second);
            (interval, interval * u64::from(rate.burst - 1))
        });
        Bucket {
            pace,
            tat: AtomicU64::new(0),
        }
    }

    fn take(&self, now: u64) -> Result<(), Duration> {
        let Some((interval, tolerance)) = self.pace else {
            return Ok(());
        };
        let mut tat = self.tat.load(Ordering::Acquire);
        loop {
            let start = tat.max(now);
            let ahead = start - now;
            if ahead > tolerance {
                return Err(Duration::from_nanos(ahead - tolerance));
            }
            match self.tat.compare_exchange_weak(
                tat,
                start + interval,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(current) => tat = current,
            }
        }
    }
}

impl RateLimiter {
    pub(crate) fn new(config: RateLimitConfig) -> Self {
        let actions = cbs_model::ACTIONS
            .iter()
            .map(|info| Bucket::new(config.rate_for(info.name)))
            .collect();
        RateLimiter {
            shared: Arc::new(Shared {
                config,
                epoch: Instant::now(),
                actions,
                others: Mutex::default(),
            }),
        }
    }

    /// Takes a token for a call of `action` at `now`, or says how long until one is
    /// available.
    pub(crate) fn try_take(&self, action: &str, now: Instant) -> Result<(), Duration> {
        let shared = &*self.shared;
        let now = u64::try_from(now.saturating_duration_since(shared.epoch).as_nanos())
            .unwrap_or(u64::MAX / 2);
        if let Some(index) = cbs_model::action_index(action) {
            return shared.actions[index].take(now);
        }
        let bucket = {
            let mut others = shared.others.lock().unwrap_or_else(|p| p.into_inner());
            // Look up before inserting: the key is allocated only on an action's first call.
            match others.get(action) {
                Some(bucket) => bucket.clone(),
                None => others
                    .entry(action.to_owned())
                    .or_insert_with(|| Arc::new(Bucket::new(shared.config.rate_for(action))))
                    .clone(),
            }
        };
        bucket.take(now)
    }

    /// Waits until a call of `action` may go. Tokens are taken at the moment of sending,
    /// so a client that stalled (a descheduled process, a busy runtime) does not release
    /// a burst of calls that were scheduled earlier.
    pub(crate) async fn acquire(&self, action: &str) {
        while let Err(wait) = self.try_take(action, Instant::now()) {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bursts_then_paces() {
        let limiter = RateLimiter::new(RateLimitConfig::none().per_action("A", 20, 10));
        assert!((0..10).all(|_| limiter.try_take("A", Instant::now()).is_ok()));
        assert_eq!(
            limiter.try_take("A", Instant::now()),
            Err(Duration::from_millis(50))
        );
        tokio::time::advance(Duration::from_millis(50)).await;
        assert_eq!(limiter.try_take("A", Instant::now()), Ok(()));
        assert!(
            limiter.try_take("B", Instant::now()).is_ok(),
            "unconfigured actions are free"
        );
    }

    #[test]
    fn concurrent_callers_share_one_burst() {
        let limiter = RateLimiter::new(RateLimitConfig::none().per_action(
            "CopySnapshotCrossRegions",
            20,
            10,
        ));
        let now = Instant::now();
        let admitted = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..100 {
                        if limiter.try_take("CopySnapshotCrossRegions", now).is_ok() {
                            admitted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert_eq!(admitted.load(Ordering::Relaxed), 10);
        assert_eq!(
            limiter.try_take("CopySnapshotCrossRegions", now + Duration::from_millis(50)),
            Ok(())
        );
        // Other actions, known or not, have their own (here: no) limit.
        assert!((0..100).all(|_| limiter.try_take("DescribeSnapshots", now).is_ok()));
        assert!((0..100).all(|_| limiter.try_take("cvm.DescribeZones", now).is_ok()));
    }

    #[test]
    fn per_action_settings_override_the_default_for_known_actions() {
        let limiter =
            RateLimiter::new(RateLimitConfig::default().per_action("DescribeSnapshots", 0, 0));
        let now = Instant::now();
        assert!((0..50).all(|_| limiter.try_take("DescribeSnapshots", now).is_ok()));
        let copies = (0..50)
            .filter(|_| limiter.try_take("CopySnapshotCrossRegions", now).is_ok())
            .count();
        assert_eq!(copies, 10, "the default: bursts of 10");
    }

    #[tokio::test(start_paused = true)]
    async fn twenty_per_second_over_time() {
        let limiter = RateLimiter::new(RateLimitConfig::default());
        let start = Instant::now();
        for _ in 0..100 {
            limiter.acquire("CopySnapshotCrossRegions").await;
        }
        // 100 calls at 20/s with a burst of 10: the last goes at 4.5 s.
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(4490) && elapsed <= Duration::from_millis(4600),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stall_does_not_release_a_burst() {
        let limiter = RateLimiter::new(RateLimitConfig::default());
        for _ in 0..10 {
            limiter.acquire("A").await;
        }
        // A long stall refills the bucket only up to the burst.
        tokio::time::advance(Duration::from_secs(5)).await;
        let sent_at_once = (0..30)
            .filter(|_| limiter.try_take("A", Instant::now()).is_ok())
            .count();
        assert_eq!(sent_at_once, 10);
    }
}
