//! Caching temporary credentials until shortly before they expire.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use cbs_transport::BoxFuture;
use tokio::sync::Mutex;

use super::{Credentials, CredentialsError, ProvideCredentials, ProviderContext};
use crate::clock::{Clock, SystemClock};

/// Keeps the credentials another provider returns, and asks it again only when they are
/// about to expire (5 minutes or less left, by default), when the service rejected
/// their token, or never for credentials without an expiry.
///
/// Concurrent callers wait for one fetch instead of each starting their own. A failed
/// refresh is an error: stale credentials are never handed out.
pub struct CachingProvider<P> {
    inner: P,
    min_ttl: Duration,
    clock: Arc<dyn Clock>,
    cached: Mutex<Option<Credentials>>,
    invalidated: AtomicBool,
}

impl<P: fmt::Debug> fmt::Debug for CachingProvider<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachingProvider")
            .field("inner", &self.inner)
            .field("min_ttl", &self.min_ttl)
            .finish_non_exhaustive()
    }
}

impl<P: ProvideCredentials> CachingProvider<P> {
    /// Caches what `inner` provides.
    pub fn new(inner: P) -> Self {
        CachingProvider {
            inner,
            min_ttl: Duration::from_secs(300),
            clock: Arc::new(SystemClock),
            cached: Mutex::new(None),
            invalidated: AtomicBool::new(false),
        }
    }

    /// Refreshes when this much time or less is left (5 minutes by default).
    pub fn min_ttl(mut self, min_ttl: Duration) -> Self {
        self.min_ttl = min_ttl;
        self
    }

    /// Judges expiry by this clock.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// When the cached credentials expire, if any are cached and have an expiry.
    pub async fn expires_at(&self) -> Option<SystemTime> {
        self.cached
            .lock()
            .await
            .as_ref()
            .and_then(Credentials::expires_at)
    }

    fn fresh(&self, credentials: &Credentials) -> bool {
        match credentials.expires_at() {
            None => true,
            Some(expiry) => expiry
                .duration_since(self.clock.now())
                .is_ok_and(|left| left > self.min_ttl),
        }
    }
}

impl<P: ProvideCredentials> ProvideCredentials for CachingProvider<P> {
    fn provide_credentials<'a>(
        &'a self,
        context: &'a ProviderContext,
    ) -> BoxFuture<'a, Result<Credentials, CredentialsError>> {
        Box::pin(async move {
            // One lock for the check and the fetch: callers arriving during a refresh wait
            // for it and then find fresh credentials.
            let mut cached = self.cached.lock().await;
            if self.invalidated.swap(false, Ordering::AcqRel) {
                *cached = None;
            }
            if let Some(credentials) = cached.as_ref().filter(|c| self.fresh(c)) {
                return Ok(credentials.clone());
            }
            *cached = None;
            let credentials = self.inner.provide_credentials(context).await?;
            *cached = Some(credentials.clone());
            Ok(credentials)
        })
    }

    fn invalidate(&self) {
        self.invalidated.store(true, Ordering::Release);
        self.inner.invalidate();
    }
}
