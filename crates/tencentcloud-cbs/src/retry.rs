//! When to send a call again, and how long to wait first.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// How a client retries failed attempts.
///
/// The default ([`standard`](Self::standard)): 3 attempts in all, exponential backoff
/// from 200 ms with full jitter, capped at 20 s between attempts, a 60 s deadline for
/// the whole call, and a retry quota shared by the client (and its clones) that stops
/// retries when most calls fail.
///
/// What is retried: throttling (`RequestLimitExceeded…`) and clock rejections
/// (`AuthFailure.SignatureExpire`, after re-signing with the server's time) for every
/// action; failures to connect (the request was never sent) for every action;
/// transient service errors (`InternalError`, 5xx pages) and broken or timed-out
/// exchanges only for read-only actions, since a mutating request that may have
/// been executed must not be sent twice.
#[derive(Clone, Debug)]
pub struct RetryConfig {
    pub(crate) max_attempts: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) deadline: Option<Duration>,
    pub(crate) quota: Option<RetryQuota>,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self::standard()
    }
}

impl RetryConfig {
    /// The defaults described above.
    pub fn standard() -> Self {
        RetryConfig {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(20),
            deadline: Some(Duration::from_secs(60)),
            quota: Some(RetryQuota::default()),
        }
    }

    /// One attempt per call, no retries (the clock-skew correction still re-signs once).
    pub fn disabled() -> Self {
        RetryConfig {
            max_attempts: 1,
            ..Self::standard()
        }
    }

    /// Attempts per call, the first included (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The first backoff and the cap on any backoff.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// The most a whole call may take: no retry starts, and no backoff is waited, past
    /// it (the call fails with [`Error::Timeout`](crate::Error::Timeout)); an attempt
    /// already in flight is bounded by the transport's timeouts or the client's
    /// `attempt_timeout`. `None`: no limit beyond those.
    pub fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    /// The shared retry quota; `None` retries without one.
    pub fn with_quota(mut self, quota: Option<RetryQuota>) -> Self {
        self.quota = quota;
        self
    }

    /// The wait before attempt `attempt + 1` (attempt counts from 1): a random duration
    /// up to `initial × 2^(attempt-1)`, capped.
    pub(crate) fn backoff(&self, attempt: u32, random: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let ceiling = self
            .initial_backoff
            .saturating_mul(1u32 << exponent)
            .min(self.max_backoff);
        ceiling.mul_f64(random.clamp(0.0, 1.0))
    }
}

/// A budget of retries shared by every call of a client, so that when the service is
/// down, calls fail fast instead of multiplying the load.
///
/// Each retry costs tokens (5, or 10 after a timeout or broken connection); each call
/// that succeeds on its first attempt returns one, up to the capacity (500).
#[derive(Clone, Debug)]
pub struct RetryQuota {
    tokens: Arc<AtomicU32>,
    capacity: u32,
}

impl Default for RetryQuota {
    fn default() -> Self {
        Self::new(500)
    }
}

impl RetryQuota {
    /// A quota of `capacity` tokens.
    pub fn new(capacity: u32) -> Self {
        RetryQuota {
            tokens: Arc::new(AtomicU32::new(capacity)),
            capacity,
        }
    }

    /// Tokens left.
    pub fn available(&self) -> u32 {
        self.tokens.load(Ordering::Relaxed)
    }

    /// Takes `cost` tokens if there are enough.
    pub(crate) fn try_acquire(&self, cost: u32) -> bool {
        self.tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| t.checked_sub(cost))
            .is_ok()
    }

    /// Returns `amount` tokens, up to the capacity.
    pub(crate) fn release(&self, amount: u32) {
        // Full nearly all the time: then a read suffices, and the counter shared by every
        // call is not written.
        if self.tokens.load(Ordering::Relaxed) >= self.capacity {
            return;
        }
        let _ = self
            .tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some((t + amount).min(self.capacity))
            });
    }
}

/// A uniformly distributed number in `[0, 1)` for jitter and ids; not cryptographic.
/// The sequence starts from the clock, so processes do not repeat each other.
pub(crate) fn jitter() -> f64 {
    use std::sync::atomic::AtomicU64;
    static STATE: AtomicU64 = AtomicU64::new(0);
    if STATE.load(Ordering::Relaxed) == 0 {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x853C_49E6_748F_EA9B)
            | 1;
        let _ = STATE.compare_exchange(0, seed, Ordering::Relaxed, Ordering::Relaxed);
    }
    let mut z = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let config = RetryConfig::standard()
            .with_backoff(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(config.backoff(1, 1.0), Duration::from_millis(100));
        assert_eq!(config.backoff(2, 1.0), Duration::from_millis(200));
        assert_eq!(config.backoff(5, 1.0), Duration::from_secs(1));
        assert_eq!(config.backoff(40, 1.0), Duration::from_secs(1));
        assert_eq!(config.backoff(3, 0.0), Duration::ZERO);
    }

    #[test]
    fn quota_drains_and_refills() {
        let quota = RetryQuota::new(10);
        assert!(quota.try_acquire(5) && quota.try_acquire(5));
        assert!(!quota.try_acquire(5));
        quota.release(100);
        assert_eq!(quota.available(), 10);
    }

    #[test]
    fn jitter_is_in_range() {
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
