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
    /// Per action: tokens left and when they were counted.
    buckets: Arc<Mutex<HashMap<String, (f64, Instant)>>>,
}

impl RateLimiter {
    pub(crate) fn new(config: RateLimitConfig) -> Self {
        RateLimiter {
            config: Arc::new(config),
            buckets: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Takes a token for a call of `action`, or says how long until one is available.
    pub(crate) fn try_take(&self, action: &str) -> Result<(), Duration> {
        let Some(rate) = self.config.rate_for(action) else {
            return Ok(());
        };
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        // Look up before inserting: the key is allocated only on an action's first call.
        let (tokens, counted) = match buckets.get_mut(action) {
            Some(bucket) => bucket,
            None => buckets
                .entry(action.to_owned())
                .or_insert((rate.burst, now)),
        };
        *tokens = (*tokens
            + now.saturating_duration_since(*counted).as_secs_f64() * rate.per_second)
            .min(rate.burst);
        *counted = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / rate.per_second))
        }
    }

    /// Waits until a call of `action` may go. Tokens are taken at the moment of sending,
    /// so a client that stalled (a descheduled process, a busy runtime) does not release
    /// a burst of calls that were scheduled earlier.
    pub(crate) async fn acquire(&self, action: &str) {
        while let Err(wait) = self.try_take(action) {
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
        assert!((0..10).all(|_| limiter.try_take("A").is_ok()));
        assert_eq!(limiter.try_take("A"), Err(Duration::from_millis(50)));
        tokio::time::advance(Duration::from_millis(50)).await;
        assert_eq!(limiter.try_take("A"), Ok(()));
        assert!(
            limiter.try_take("B").is_ok(),
            "unconfigured actions are free"
        );
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
        let sent_at_once = (0..30).filter(|_| limiter.try_take("A").is_ok()).count();
        assert_eq!(sent_at_once, 10);
    }
}
