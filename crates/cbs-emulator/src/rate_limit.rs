//! The service's per-action request rate limit, per credential.

use std::collections::HashMap;
use tokio::time::Instant;

/// A token bucket per (secret id, action): `per_second` tokens, refilled continuously.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_second: u32,
    buckets: HashMap<(String, String), (f64, Instant)>,
}

impl RateLimiter {
    pub(crate) fn new(per_second: u32) -> Self {
        RateLimiter {
            per_second,
            buckets: HashMap::new(),
        }
    }

    /// Takes a token for this call; `false` when the bucket is empty.
    pub(crate) fn admit(&mut self, secret_id: &str, action: &str, now: Instant) -> bool {
        if self.per_second == 0 {
            return true;
        }
        let capacity = f64::from(self.per_second);
        let (tokens, last) = self
            .buckets
            .entry((secret_id.to_owned(), action.to_owned()))
            .or_insert((capacity, now));
        let refill = now.saturating_duration_since(*last).as_secs_f64() * capacity;
        *tokens = (*tokens + refill).min(capacity);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn twenty_per_second() {
        let mut limiter = RateLimiter::new(20);
        let start = Instant::now();
        let admitted = (0..25).filter(|_| limiter.admit("id", "A", start)).count();
        assert_eq!(admitted, 20);
        assert!(limiter.admit("id", "B", start), "buckets are per action");
        assert!(limiter.admit("other", "A", start), "and per credential");
        assert!(limiter.admit("id", "A", start + Duration::from_millis(60)));
        assert!(RateLimiter::new(0).admit("id", "A", start));
    }
}
