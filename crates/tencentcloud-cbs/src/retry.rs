//! When to send a call again, and how long to wait first.
//!
//! [`classify`] is the one rule: what a failed attempt means for its request (may it have
//! run? would a repeat be safe and could it help?). The call loop asks it before every
//! retry, and [`Error::is_retryable`](crate::Error::is_retryable) and
//! [`Error::may_have_executed`](crate::Error::may_have_executed) answer with it, so the
//! three cannot disagree. The loop adds only budgets: attempts, the retry quota, the
//! deadline, and one clock correction and one credentials refresh per call.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cbs_model::{ErrorCode, RetryClass, Safety};
use cbs_transport::TransportErrorKind;

use crate::Error;

/// How a client retries failed attempts.
///
/// The default ([`standard`](Self::standard)): 3 attempts in all, exponential backoff
/// from 200 ms with full jitter, capped at 20 s between attempts, a 60 s deadline for
/// the whole call, and a retry quota shared by the client (and its clones) that stops
/// retries when most calls fail.
///
/// What is retried: throttling (`RequestLimitExceeded…`) and failures to connect (the
/// request was never sent), for every action; clock rejections
/// (`AuthFailure.SignatureExpire`), once, after re-signing with the service's time;
/// rejected session tokens, once, after asking the credentials provider again; and
/// transient service errors (`InternalError`, 5xx pages) and broken or timed-out
/// exchanges only for read-only and idempotent actions, since a mutating request that may
/// have been executed must not be sent twice.
#[derive(Clone, Debug)]
pub struct RetryConfig {
    pub(crate) max_attempts: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) deadline: Option<Duration>,
    pub(crate) quota: Option<RetryQuota>,
    pub(crate) max_throttled_attempts: Option<u32>,
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
            max_throttled_attempts: None,
        }
    }

    /// One attempt per call, no retries (the clock correction and the credentials
    /// refresh still happen once each).
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
    /// it (the call fails with [`Error::Timeout`]); an attempt already in flight is
    /// bounded by the transport's timeouts or the client's `attempt_timeout`. `None`: no
    /// limit beyond those.
    pub fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    /// The shared retry quota; `None` retries without one.
    pub fn with_quota(mut self, quota: Option<RetryQuota>) -> Self {
        self.quota = quota;
        self
    }

    /// Counts throttled attempts (`RequestLimitExceeded…`: the service slowing its
    /// callers down, often for other clients of the same account) apart from other
    /// failures: up to `attempts` of them, with waits that take nothing from the retry
    /// quota; only the [deadline](Self::with_deadline) ends them sooner. For batch work
    /// that should wait throttling out rather than fail after a few quick tries. `None`
    /// (the default): throttling counts like any other retryable failure.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tencentcloud_cbs::RetryConfig;
    ///
    /// // Patient with throttling for up to an hour, three tries for anything else.
    /// let patient = RetryConfig::standard()
    ///     .with_max_throttled_attempts(Some(1_000))
    ///     .with_backoff(Duration::from_secs(1), Duration::from_secs(30))
    ///     .with_deadline(Some(Duration::from_secs(3600)));
    /// # let _ = patient;
    /// ```
    pub fn with_max_throttled_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_throttled_attempts = attempts.map(|n| n.max(1));
        self
    }

    /// The wait before retry number `retry` (counting from 1): a random duration up to
    /// `initial × 2^(retry-1)`, capped.
    pub(crate) fn backoff(&self, retry: u32, random: f64) -> Duration {
        let exponent = retry.saturating_sub(1).min(30);
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
        let _ = self
            .tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                (t < self.capacity).then(|| (t + amount).min(self.capacity))
            });
    }
}

/// What sending a failed request again needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Nothing helps, or a repeat could run the action twice.
    No,
    /// A wait first; costs `cost` quota tokens.
    Backoff { cost: u32 },
    /// Re-signing with the service's clock, learned from the answer's `Date`.
    CorrectClock,
    /// Fresh credentials from the provider.
    RefreshCredentials,
}

/// What a failed attempt means for its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub retry: Retry,
    /// Whether the request (this attempt or an earlier one) may have changed something.
    pub may_have_run: bool,
}

impl Error {
    /// Whether sending the same request again is safe and could succeed: the failure is
    /// of a kind that passes (throttling, a clock or token to refresh, a transient fault)
    /// and a repeat cannot run the action twice. The client applies the same rule before
    /// each retry, so a `true` here means its retries ran out.
    pub fn is_retryable(&self) -> bool {
        classify(self).retry != Retry::No
    }

    /// Whether the request may have been executed although the call failed, so that
    /// sending it again could repeat it. Always `false` for read-only actions; for an
    /// idempotent one, resend with the same
    /// [`client_token`](crate::CallContext::client_token).
    pub fn may_have_executed(&self) -> bool {
        classify(self).may_have_run
    }

    /// Whether the service refused the call to slow its caller down
    /// (`RequestLimitExceeded…`, the retry class the model gives the code): nothing ran,
    /// and the same call can succeed once the caller waits. A call that timed out after
    /// throttled attempts counts as throttled.
    pub fn is_throttled(&self) -> bool {
        match self {
            Error::Api(e) => e.code().retry_class() == RetryClass::Throttled,
            Error::Timeout(e) => e.last.as_ref().is_some_and(|last| last.is_throttled()),
            _ => false,
        }
    }
}

/// Quota cost of a retry after an answer that says what happened.
const COST: u32 = 5;
/// Quota cost of a retry after no answer (a timeout, a broken connection).
const COST_NO_ANSWER: u32 = 10;

/// The rule: what `error` means for its request, given how safe its action is to repeat.
///
/// - Rejected before anything ran (throttling, clock, token): retry any action.
/// - Not sent (no connection): retry any action; but TLS and invalid requests fail the
///   same way again.
/// - May have run (a transient service error, a broken or timed-out exchange, any
///   answer that could not be read): retry only actions that may repeat.
pub(crate) fn classify(error: &Error) -> Verdict {
    let Some(context) = error.context() else {
        return Verdict {
            retry: Retry::No,
            may_have_run: false,
        };
    };
    let repeatable = context.safety.may_repeat();
    let if_repeatable = |cost| {
        if repeatable {
            Retry::Backoff { cost }
        } else {
            Retry::No
        }
    };
    let (retry, ran) = match error {
        Error::Api(e) if *e.code() == ErrorCode::AuthFailureTokenFailure => {
            (Retry::RefreshCredentials, false)
        }
        Error::Api(e) => match e.code().retry_class() {
            RetryClass::Throttled => (Retry::Backoff { cost: COST }, false),
            RetryClass::Clock => (Retry::CorrectClock, false),
            RetryClass::Transient => (if_repeatable(COST), true),
            _ => (Retry::No, false),
        },
        Error::Transport(e) => match e.kind() {
            TransportErrorKind::Connect => (Retry::Backoff { cost: COST }, false),
            kind if !kind.may_have_been_sent() => (Retry::No, false),
            TransportErrorKind::ResponseTooLarge => (Retry::No, true),
            TransportErrorKind::InvalidResponse => (if_repeatable(COST), true),
            _ => (if_repeatable(COST_NO_ANSWER), true),
        },
        // An answer arrived, however broken: the request may have run.
        Error::Decode(e) if e.status >= 500 => (if_repeatable(COST), true),
        Error::Decode(_) => (Retry::No, true),
        Error::Timeout(e) => match &e.last {
            Some(last) => (classify(last).retry, classify(last).may_have_run),
            None => (if_repeatable(COST_NO_ANSWER), true),
        },
        Error::Credentials(_) | Error::InvalidInput(_) => (Retry::No, false),
    };
    Verdict {
        retry,
        may_have_run: context.safety != Safety::ReadOnly
            && (ran || context.earlier_attempt_may_have_run),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiFailure, CallContext, DecodeFailure, TransportFailure};
    use cbs_model::ApiError;
    use cbs_transport::TransportError;

    fn context(safety: Safety) -> CallContext {
        CallContext {
            action: "A".into(),
            region: None,
            safety,
            attempts: 1,
            earlier_attempt_may_have_run: false,
            client_token: None,
        }
    }

    fn api(code: &str, safety: Safety) -> Error {
        Error::Api(Box::new(ApiFailure {
            error: ApiError::new(ErrorCode::parse(code), "", ""),
            context: context(safety),
        }))
    }

    fn transport(kind: TransportErrorKind, safety: Safety) -> Error {
        Error::Transport(Box::new(TransportFailure {
            source: TransportError::from_kind(kind),
            context: context(safety),
        }))
    }

    fn decode(status: u16, safety: Safety) -> Error {
        Error::Decode(Box::new(DecodeFailure {
            status,
            request_id: None,
            excerpt: None,
            detail: String::new(),
            context: context(safety),
        }))
    }

    const SAFETIES: [Safety; 3] = [Safety::ReadOnly, Safety::Idempotent, Safety::Mutating];
    const B5: Retry = Retry::Backoff { cost: 5 };
    const B10: Retry = Retry::Backoff { cost: 10 };

    /// (retry, may have run) for each of read-only, idempotent and mutating.
    type Row = [(Retry, bool); 3];

    fn check(error_for: impl Fn(Safety) -> Error, expected: Row, what: &str) {
        for (safety, (retry, ran)) in SAFETIES.into_iter().zip(expected) {
            let error = error_for(safety);
            let verdict = classify(&error);
            assert_eq!(
                (verdict.retry, verdict.may_have_run),
                (retry, ran),
                "{what} / {safety}"
            );
            // The public answers are the same rule.
            assert_eq!(
                error.is_retryable(),
                retry != Retry::No,
                "{what} / {safety}"
            );
            assert_eq!(error.may_have_executed(), ran, "{what} / {safety}");
        }
    }

    #[test]
    fn every_retry_class_by_safety() {
        use Retry::*;
        let table: [(&str, Row); 6] = [
            // Throttled: rejected before running.
            (
                "RequestLimitExceeded",
                [(B5, false), (B5, false), (B5, false)],
            ),
            // Clock.
            (
                "AuthFailure.SignatureExpire",
                [
                    (CorrectClock, false),
                    (CorrectClock, false),
                    (CorrectClock, false),
                ],
            ),
            // The token: refresh and retry.
            (
                "AuthFailure.TokenFailure",
                [
                    (RefreshCredentials, false),
                    (RefreshCredentials, false),
                    (RefreshCredentials, false),
                ],
            ),
            // Transient: may have run.
            ("InternalError", [(B5, false), (B5, true), (No, true)]),
            // A new transient code takes its category's class.
            (
                "InternalError.Brand.New",
                [(B5, false), (B5, true), (No, true)],
            ),
            // Client errors: nothing helps.
            (
                "InvalidSnapshotId.NotFound",
                [(No, false), (No, false), (No, false)],
            ),
        ];
        for (code, row) in table {
            check(|s| api(code, s), row, code);
        }
    }

    #[test]
    fn every_transport_error_kind_by_safety() {
        use Retry::*;
        use TransportErrorKind as K;
        let table: [(K, Row); 8] = [
            (K::Connect, [(B5, false), (B5, false), (B5, false)]),
            (K::Tls, [(No, false), (No, false), (No, false)]),
            (K::InvalidRequest, [(No, false), (No, false), (No, false)]),
            (K::Timeout, [(B10, false), (B10, true), (No, true)]),
            (K::Interrupted, [(B10, false), (B10, true), (No, true)]),
            (K::Other, [(B10, false), (B10, true), (No, true)]),
            (K::InvalidResponse, [(B5, false), (B5, true), (No, true)]),
            (K::ResponseTooLarge, [(No, false), (No, true), (No, true)]),
        ];
        for (kind, row) in table {
            check(|s| transport(kind, s), row, &format!("{kind:?}"));
        }
    }

    #[test]
    fn any_answer_means_a_mutating_call_may_have_run() {
        use Retry::*;
        check(
            |s| decode(502, s),
            [(B5, false), (B5, true), (No, true)],
            "502",
        );
        check(
            |s| decode(200, s),
            [(No, false), (No, true), (No, true)],
            "unreadable 200",
        );
    }

    #[test]
    fn an_earlier_attempt_that_may_have_run_stays_on_the_record() {
        let mut error = api("RequestLimitExceeded", Safety::Idempotent);
        assert!(!error.may_have_executed());
        error.context_mut().unwrap().earlier_attempt_may_have_run = true;
        assert!(error.may_have_executed() && error.is_retryable());
    }

    #[test]
    fn errors_before_a_call_are_final() {
        let error = Error::invalid_input("A", None, "bad");
        assert_eq!(
            classify(&error),
            Verdict {
                retry: Retry::No,
                may_have_run: false
            }
        );
    }

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
}
