//! Client-side rate limiting: wait for a slot instead of being rejected.

use std::collections::HashMap;
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
    per_second: f64,
    burst: f64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            default: Some(Rate {
                per_second: 20.0,
                burst: 10.0,
            }),
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
        per_second: f64::from(per_second),
        burst: f64::from(burst.max(1)),
    })
}

/// The buckets, one per action, created on first use.
#[derive(Debug, Clone)]
pub(crate) struct RateLimiter {
    config: Arc<RateLimitConfig>,
    /// Per action: the theoretical arrival time of the next call (GCRA).
    next: Arc<Mutex<HashMap<String, Instant>>>,
}

impl RateLimiter {
    pub(crate) fn new(config: RateLimitConfig) -> Self {
        RateLimiter {
            config: Arc::new(config),
            next: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Reserves a slot for a call of `action` and returns how long to wait for it.
    pub(crate) fn reserve(&self, action: &str) -> Duration {
        let Some(rate) = self.config.rate_for(action) else {
            return Duration::ZERO;
        };
        let interval = Duration::from_secs_f64(1.0 / rate.per_second);
        let tolerance = interval.mul_f64(rate.burst - 1.0);
        let now = Instant::now();
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        // Look up before inserting: the key is allocated only on an action's first call.
        let tat = match next.get_mut(action) {
            Some(tat) => tat,
            None => next.entry(action.to_owned()).or_insert(now),
        };
        let arrival = (*tat).max(now);
        let wait = arrival.saturating_duration_since(now + tolerance);
        *tat = arrival + interval;
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bursts_then_paces() {
        let limiter = RateLimiter::new(RateLimitConfig::none().per_action("A", 20, 10));
        let waits: Vec<Duration> = (0..12).map(|_| limiter.reserve("A")).collect();
        assert!(waits[..10].iter().all(|w| w.is_zero()), "{waits:?}");
        assert_eq!(waits[10], Duration::from_millis(50));
        assert_eq!(waits[11], Duration::from_millis(100));
        assert!(
            limiter.reserve("B").is_zero(),
            "unconfigured actions are free"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn twenty_per_second_over_time() {
        let limiter = RateLimiter::new(RateLimitConfig::default());
        let start = Instant::now();
        let mut last = Duration::ZERO;
        for _ in 0..100 {
            last = limiter.reserve("CopySnapshotCrossRegions");
        }
        // 100 calls at 20/s with a burst of 10: the last may go at 4.5 s.
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(last, Duration::from_millis(4500));
    }
}
