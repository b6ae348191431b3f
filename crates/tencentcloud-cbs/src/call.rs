//! One call, top to bottom: validate → serialize → for each attempt {rate limit →
//! credentials → sign → send → decode} → the answer or an error.
//!
//! The request is built and signed in `request.rs`; whether a failed attempt is sent
//! again is `retry::classify`'s decision.

use std::borrow::Cow;
use std::time::Duration;

use bytes::Bytes;
use cbs_model::{Action, Safety};
use cbs_transport::{Transport, TransportError, TransportErrorKind};
use http::HeaderValue;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::Instrument;

use crate::client::Client;
use crate::error::{ApiFailure, CallContext, DecodeFailure, Error, TimeoutError, TransportFailure};
use crate::random;
use crate::request::{self, Target};
use crate::retry::{self, Retry, RetryConfig};

/// Per-call settings that override the client's.
///
/// ```
/// use tencentcloud_cbs::CallOptions;
/// let options = CallOptions::new().region("ap-beijing").trace_id("run-42");
/// assert_eq!(options.get_region(), Some("ap-beijing"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct CallOptions {
    region: Option<String>,
    trace_id: Option<String>,
    retry: Option<RetryConfig>,
}

impl CallOptions {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends this call to `region`.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Uses `trace_id` as the call's `X-TC-TraceId` (a fresh one is made otherwise).
    pub fn trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.trace_id = Some(trace_id.into());
        self
    }

    /// Retries this call by `config` instead of the client's
    /// [`RetryConfig`]: a batch run's patience, say, or one call that must fail fast.
    /// A config without a quota retries without one; the client's rate limit, clock
    /// correction and credentials refresh apply as for every call.
    pub fn retry_config(mut self, config: RetryConfig) -> Self {
        self.retry = Some(config);
        self
    }

    /// The retry config set, if any.
    pub fn get_retry_config(&self) -> Option<&RetryConfig> {
        self.retry.as_ref()
    }

    /// The region set, if any.
    pub fn get_region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// The trace id set, if any.
    pub fn get_trace_id(&self) -> Option<&str> {
        self.trace_id.as_deref()
    }
}

/// What is being called, and how carefully.
struct CallSpec<'a> {
    target: Target<'a>,
    safety: Safety,
    /// The `ClientToken` every attempt carries, for idempotent actions.
    client_token: Option<String>,
    /// The answer may carry secrets (credential services): errors keep nothing of it.
    sensitive: bool,
    /// How this call retries, when not as the client does.
    retry: Option<RetryConfig>,
}

impl CallSpec<'_> {
    fn context(&self) -> CallContext {
        CallContext {
            action: self.target.action.to_owned(),
            region: self.target.region.map(str::to_owned),
            safety: self.safety,
            attempts: 1,
            earlier_attempt_may_have_run: false,
            client_token: self.client_token.clone(),
        }
    }

    /// The rate limiter's name for the action: CBS actions by name, others qualified.
    fn limit_key(&self) -> Cow<'_, str> {
        let Target {
            service, action, ..
        } = self.target;
        if service == cbs_model::SERVICE {
            Cow::Borrowed(action)
        } else {
            Cow::Owned(format!("{service}.{action}"))
        }
    }
}

/// `X-TC-TraceId`: the caller's trace id, or a fresh UUID.
fn trace_header(action: &str, trace_id: Option<String>) -> Result<HeaderValue, Error> {
    let header = match trace_id {
        Some(trace_id) => HeaderValue::try_from(trace_id),
        // Owned by a shared buffer, so that each attempt's copy of the header costs no
        // allocation (a `String`'s buffer is copied at the first clone); the `client`
        // bench measures the whole in-memory call.
        None => HeaderValue::from_maybe_shared(Bytes::from_owner(random::uuid_text())),
    };
    header
        .map_err(|_| Error::invalid_input(action, None, "the trace id cannot be sent in a header"))
}

impl Client {
    /// Sends a request of any action and returns its output.
    ///
    /// ```no_run
    /// # async fn run(client: tencentcloud_cbs::Client) -> Result<(), tencentcloud_cbs::Error> {
    /// use tencentcloud_cbs::model::DescribeSnapshotsRequest;
    /// let request = DescribeSnapshotsRequest::builder().limit(10).build().unwrap();
    /// let page = client.send(request).await?;
    /// println!("{} snapshots", page.total_count.unwrap_or(0));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send<A: Action>(&self, request: A) -> Result<A::Output, Error> {
        self.send_with(request, CallOptions::default()).await
    }

    /// Sends a request with per-call options.
    ///
    /// An [idempotent](Safety::Idempotent) request whose `ClientToken` is empty gets a
    /// fresh one, which every attempt of the call carries.
    pub async fn send_with<A: Action>(
        &self,
        mut request: A,
        options: CallOptions,
    ) -> Result<A::Output, Error> {
        request
            .validate()
            .map_err(|e| Error::from_validation(A::NAME, e))?;
        // Filled once here, so every attempt carries the same token; the caller's wins.
        let client_token = request.client_token_mut().map(|slot| {
            let token = slot
                .take()
                .filter(|token| !token.is_empty())
                .unwrap_or_else(random::uuid);
            *slot = Some(token.clone());
            token
        });
        let body = serde_json::to_vec(&request).map_err(|e| {
            Error::invalid_input(A::NAME, None, format!("cannot be serialized: {e}"))
        })?;
        let spec = CallSpec {
            target: Target {
                service: cbs_model::SERVICE,
                action: A::NAME,
                version: cbs_model::VERSION,
                region: options.region.as_deref().or(self.inner.region.as_deref()),
                action_header: const { HeaderValue::from_static(A::NAME) },
                version_header: const { HeaderValue::from_static(cbs_model::VERSION) },
                trace_id: trace_header(A::NAME, options.trace_id)?,
            },
            safety: A::SAFETY,
            client_token,
            sensitive: false,
            retry: options.retry,
        };
        self.execute::<A::Output>(&spec, Bytes::from(body)).await
    }

    /// Calls any Tencent Cloud API 3.0 action with a JSON body and returns the
    /// `Response` object, sharing this client's credentials, signing, retries, rate
    /// limits and transport.
    ///
    /// A CBS action is as safe to repeat as the model says (an idempotent one gets a
    /// `ClientToken` when the body has none); another service's action counts as
    /// read-only when its name starts with `Describe`, `Inquir` or `Get`, and as
    /// mutating otherwise.
    ///
    /// ```no_run
    /// # async fn run(client: tencentcloud_cbs::Client) -> Result<(), tencentcloud_cbs::Error> {
    /// let zones = client
    ///     .call_json("cvm", "2017-03-12", "DescribeZones", Some("ap-guangzhou"), serde_json::json!({}))
    ///     .await?;
    /// println!("{}", zones["TotalCount"]);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn call_json(
        &self,
        service: &str,
        version: &str,
        action: &str,
        region: Option<&str>,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, Error> {
        self.call_json_as(service, version, action, region, body, false)
            .await
    }

    /// A typed call of another service's action (the Tag service, say): `request`
    /// serialized as the body, the answer's `Response` read as `O`; no region (the
    /// services this serves are global); the client's credentials, signing, retries
    /// (by `safety`), rate limits and transport.
    pub(crate) async fn send_service<I: serde::Serialize, O: DeserializeOwned>(
        &self,
        service: &'static str,
        version: &'static str,
        action: &'static str,
        safety: Safety,
        request: &I,
        options: CallOptions,
    ) -> Result<O, Error> {
        let body = serde_json::to_vec(request).map_err(|e| {
            Error::invalid_input(action, None, format!("cannot be serialized: {e}"))
        })?;
        let spec = CallSpec {
            target: Target {
                service,
                action,
                version,
                region: None,
                action_header: HeaderValue::from_static(action),
                version_header: HeaderValue::from_static(version),
                trace_id: trace_header(action, options.trace_id)?,
            },
            safety,
            client_token: None,
            sensitive: false,
            retry: options.retry,
        };
        self.execute::<O>(&spec, Bytes::from(body)).await
    }

    /// [`call_json`](Self::call_json) for a credential service: nothing of the answer
    /// reaches an error or a log.
    pub(crate) async fn call_json_sensitive(
        &self,
        service: &str,
        version: &str,
        action: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, Error> {
        self.call_json_as(service, version, action, None, body, true)
            .await
    }

    async fn call_json_as(
        &self,
        service: &str,
        version: &str,
        action: &str,
        region: Option<&str>,
        mut body: serde_json::Value,
        sensitive: bool,
    ) -> Result<serde_json::Value, Error> {
        let valid_name = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        };
        if !valid_name(service) || !valid_name(action) || !valid_name(version) {
            return Err(Error::invalid_input(
                action,
                None,
                "service, version and action must be plain names",
            ));
        }
        let Some(members) = body.as_object_mut() else {
            return Err(Error::invalid_input(
                action,
                None,
                "the body must be a JSON object",
            ));
        };
        let modelled = (service == cbs_model::SERVICE && version == cbs_model::VERSION)
            .then(|| cbs_model::action_info(action))
            .flatten();
        let safety = match modelled {
            Some(info) => info.safety,
            None if ["Describe", "Inquir", "Get"]
                .iter()
                .any(|p| action.starts_with(p)) =>
            {
                Safety::ReadOnly
            }
            None => Safety::Mutating,
        };
        let client_token = (safety == Safety::Idempotent).then(|| {
            let token = members
                .get("ClientToken")
                .and_then(|t| t.as_str())
                .filter(|t| !t.is_empty())
                .map_or_else(random::uuid, str::to_owned);
            members.insert("ClientToken".into(), token.clone().into());
            token
        });
        let header = |text: &str| {
            HeaderValue::from_str(text)
                .map_err(|_| Error::invalid_input(action, None, "cannot be sent in a header"))
        };
        let spec = CallSpec {
            target: Target {
                service,
                action,
                version,
                region: region.or(self.inner.region.as_deref()),
                action_header: header(action)?,
                version_header: header(version)?,
                trace_id: trace_header(action, None)?,
            },
            safety,
            client_token,
            sensitive,
            retry: None,
        };
        let body = serde_json::to_vec(&body).map_err(|e| {
            Error::invalid_input(action, None, format!("cannot be serialized: {e}"))
        })?;
        self.execute::<serde_json::Value>(&spec, Bytes::from(body))
            .await
    }

    async fn execute<T: DeserializeOwned>(
        &self,
        spec: &CallSpec<'_>,
        body: Bytes,
    ) -> Result<T, Error> {
        let target = &spec.target;
        let span = tracing::debug_span!(
            "cbs_call",
            action = target.action,
            region = target.region.unwrap_or(""),
            trace_id = target.trace_id.to_str().unwrap_or(""),
        );
        self.attempts(spec, body).instrument(span).await
    }

    /// Attempts until one succeeds or the failure, the budgets or the deadline say stop.
    async fn attempts<T: DeserializeOwned>(
        &self,
        spec: &CallSpec<'_>,
        body: Bytes,
    ) -> Result<T, Error> {
        let inner = &*self.inner;
        let config = spec.retry.as_ref().unwrap_or(&inner.retry);
        let started = Instant::now();
        let deadline = config.deadline.map(|d| started + d);
        let limit_key = spec.limit_key();
        let mut attempt = 0u32;
        let mut backoffs = 0u32;
        let mut throttled = 0u32;
        let mut clock_corrected = false;
        let mut credentials_refreshed = false;
        let mut may_have_run = false;
        loop {
            attempt += 1;
            // One rate-limit token per attempt, so retries are paced like first tries.
            inner.limiter.acquire(&limit_key).await;
            let (mut error, server_date) = match self.attempt::<T>(spec, &body).await {
                Ok(value) => {
                    tracing::debug!(
                        attempt,
                        latency_ms = started.elapsed().as_millis() as u64,
                        "call succeeded"
                    );
                    if let (1, Some(quota)) = (attempt, &config.quota) {
                        quota.release(1);
                    }
                    return Ok(value);
                }
                Err(failure) => failure,
            };
            if let Some(context) = error.context_mut() {
                context.attempts = attempt;
                context.earlier_attempt_may_have_run = may_have_run;
            }
            let verdict = retry::classify(&error);
            may_have_run |= verdict.may_have_run;
            tracing::debug!(
                attempt,
                latency_ms = started.elapsed().as_millis() as u64,
                request_id = error.request_id().unwrap_or(""),
                error = %error,
                "attempt failed"
            );
            let wait = match verdict.retry {
                Retry::No => None,
                Retry::CorrectClock if !clock_corrected => {
                    clock_corrected = true;
                    inner
                        .clock
                        .learn_from_date(server_date.as_deref())
                        .then_some(Duration::ZERO)
                }
                Retry::RefreshCredentials if !credentials_refreshed => {
                    credentials_refreshed = true;
                    inner.credentials.invalidate();
                    Some(Duration::ZERO)
                }
                Retry::CorrectClock | Retry::RefreshCredentials => None,
                // Throttling counted apart, when the config says so: no quota taken.
                Retry::Backoff { .. }
                    if error.is_throttled() && config.max_throttled_attempts.is_some() =>
                {
                    throttled += 1;
                    (throttled < config.max_throttled_attempts.unwrap_or(0))
                        .then(|| config.backoff(throttled, random::unit()))
                }
                Retry::Backoff { cost } => {
                    backoffs += 1;
                    if backoffs >= config.max_attempts {
                        None
                    } else if config
                        .quota
                        .as_ref()
                        .is_some_and(|quota| !quota.try_acquire(cost))
                    {
                        tracing::debug!("retry quota exhausted; not retrying");
                        None
                    } else {
                        Some(config.backoff(backoffs, random::unit()))
                    }
                }
            };
            let Some(wait) = wait else {
                return Err(error);
            };
            if deadline.is_some_and(|deadline| Instant::now() + wait >= deadline) {
                let context = error.context().cloned().unwrap_or_else(|| spec.context());
                return Err(Error::Timeout(Box::new(TimeoutError {
                    limit: config.deadline.unwrap_or_default(),
                    last: Some(error),
                    context,
                })));
            }
            tracing::info!(attempt, backoff_ms = wait.as_millis() as u64, reason = %error, "retrying");
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// Fetches the credentials now (from the provider's cache when it has them), so
    /// that work which should not start without them fails at once with the
    /// credentials' own error (a missing profile, an unreachable instance role) instead
    /// of on every call it makes.
    ///
    /// ```no_run
    /// # async fn run(client: tencentcloud_cbs::Client) -> Result<(), tencentcloud_cbs::Error> {
    /// client.ensure_credentials().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn ensure_credentials(&self) -> Result<(), Error> {
        self.credentials().await.map(drop)
    }

    /// The credentials to sign with now.
    async fn credentials(&self) -> Result<crate::Credentials, Error> {
        let inner = &*self.inner;
        inner
            .credentials
            .provide_credentials(&inner.provider_context)
            .await
            .map_err(|e| Error::Credentials(Box::new(e)))
    }

    /// One attempt. On failure, also returns the response's `Date` header, which a clock
    /// correction needs.
    async fn attempt<T: DeserializeOwned>(
        &self,
        spec: &CallSpec<'_>,
        body: &Bytes,
    ) -> Result<T, (Error, Option<String>)> {
        let inner = &*self.inner;
        let credentials = self.credentials().await.map_err(|e| (e, None))?;
        let timestamp = inner.clock.unix_now();
        let request = request::build(&inner.request, &spec.target, body, &credentials, timestamp)
            .map_err(|e| (e, None))?;
        let sent = inner.transport().send(request);
        let answer = match inner.attempt_timeout {
            Some(limit) => tokio::time::timeout(limit, sent).await.unwrap_or_else(|_| {
                Err(TransportError::new(
                    TransportErrorKind::Timeout,
                    format!("no answer within the attempt timeout of {limit:?}"),
                ))
            }),
            None => sent.await,
        };
        let response = answer.map_err(|source| {
            let failure = TransportFailure {
                source,
                context: spec.context(),
            };
            (Error::Transport(Box::new(failure)), None)
        })?;
        decode(spec, &response).map_err(|error| {
            // A clock correction needs the service's time.
            let date = response
                .headers()
                .get(http::header::DATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (error, date)
        })
    }
}

/// The output of a response, or the error it stands for.
fn decode<T: DeserializeOwned>(
    spec: &CallSpec<'_>,
    response: &cbs_transport::HttpResponse,
) -> Result<T, Error> {
    let status = response.status().as_u16();
    let body = response.body();
    // The body decides, whatever the Content-Type says (`; charset=utf-8` included).
    let detail = match cbs_model::parse_response::<T>(body) {
        Ok(Ok(value)) if status == 200 => return Ok(value),
        Ok(Err(api)) => {
            return Err(Error::Api(Box::new(ApiFailure {
                error: api,
                context: spec.context(),
            })));
        }
        Ok(Ok(_)) => "an output with a non-200 status".to_owned(),
        // The parser's detail can quote the body; for secret answers say only what kind
        // of problem it is.
        Err(decode) if spec.sensitive => decode.kind().to_string(),
        Err(decode) => decode.detail().to_owned(),
    };
    let request_id = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["Response"]["RequestId"].as_str().map(str::to_owned));
    let excerpt = (!spec.sensitive).then(|| {
        let end = body.len().min(256);
        String::from_utf8_lossy(&body[..end]).into_owned()
    });
    Err(Error::Decode(Box::new(DecodeFailure {
        status,
        request_id,
        excerpt,
        detail,
        context: spec.context(),
    })))
}
