//! The service's per-action request rate limit, per credential (or per account).

use std::collections::HashMap;
use tokio::time::Instant;

/// A token bucket per (secret id or account, action): `per_second` tokens, refilled
/// continuously.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_second: u32,
    per_account: bool,
    buckets: HashMap<(String, String), (f64, Instant)>,
}

impl RateLimiter {
    pub(crate) fn new(per_second: u32, per_account: bool) -> Self {
        RateLimiter {
            per_second,
            per_account,
            buckets: HashMap::new(),
        }
    }

    /// Takes a token for a call of `action` with `secret_id`, of `account`; `false`
    /// when the bucket is empty.
    pub(crate) fn admit(
        &mut self,
        secret_id: &str,
        account: &str,
        action: &str,
        now: Instant,
    ) -> bool {
        if self.per_second == 0 {
            return true;
        }
        let capacity = f64::from(self.per_second);
        let who = if self.per_account { account } else { secret_id };
        let (tokens, last) = self
            .buckets
            .entry((who.to_owned(), action.to_owned()))
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
        let mut limiter = RateLimiter::new(20, false);
        let start = Instant::now();
        let admitted = (0..25)
            .filter(|_| limiter.admit("id", "uin", "A", start))
            .count();
        assert_eq!(admitted, 20);
        assert!(
            limiter.admit("id", "uin", "B", start),
            "buckets are per action"
        );
        assert!(
            limiter.admit("other", "uin", "A", start),
            "and per credential"
        );
        assert!(limiter.admit("id", "uin", "A", start + Duration::from_millis(60)));
        assert!(RateLimiter::new(0, false).admit("id", "uin", "A", start));
    }

    #[tokio::test(start_paused = true)]
    async fn per_account_the_credentials_of_an_account_share_a_budget() {
        let mut limiter = RateLimiter::new(20, true);
        let start = Instant::now();
        let admitted = (0..25)
            .filter(|i| limiter.admit(if i % 2 == 0 { "a" } else { "b" }, "uin", "A", start))
            .count();
        assert_eq!(admitted, 20);
        assert!(
            limiter.admit("c", "other-uin", "A", start),
            "accounts apart"
        );
    }
}
