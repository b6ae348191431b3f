//! One call: validate, wait for the rate limiter, then attempts — sign, send, read —
//! until one succeeds or the retry policy says stop.

use std::time::Duration;

use bytes::Bytes;
use cbs_model::{Action, ErrorCode, RetryClass};
use cbs_transport::Transport;
use http::HeaderValue;
use http::header::{AUTHORIZATION, HOST};
use serde::de::DeserializeOwned;
use tc3_sign::SignableRequest;
use tokio::time::Instant;
use tracing::Instrument;

use crate::client::Client;
use crate::credentials::Credentials;
use crate::error::{ApiError, CallContext, DecodeFailure, Error, TimeoutError, TransportFailure};
use crate::retry::jitter;
use crate::trace_id;
use crate::wire_cache::{
    Unsendable, X_TC_ACTION, X_TC_REGION, X_TC_TIMESTAMP, X_TC_TOKEN, X_TC_TRACE_ID, X_TC_VERSION,
};

/// Per-call settings that override the client's.
#[derive(Clone, Debug, Default)]
pub struct CallOptions {
    /// The region for this call.
    pub region: Option<String>,
    /// The `X-TC-TraceId` for this call; a fresh one is generated otherwise.
    pub trace_id: Option<String>,
}

impl CallOptions {
    /// Sends this call to `region`.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Uses `trace_id` as the call's `X-TC-TraceId`.
    pub fn trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.trace_id = Some(trace_id.into());
        self
    }
}

/// What is being called.
pub(crate) struct CallSpec<'a> {
    pub service: &'a str,
    pub action: &'a str,
    pub read_only: bool,
    pub region: Option<&'a str>,
    /// `X-TC-Action`, `X-TC-Version` and `X-TC-TraceId`, ready to send.
    pub action_header: HeaderValue,
    pub version_header: HeaderValue,
    pub trace_id: HeaderValue,
}

impl CallSpec<'_> {
    fn context(&self, attempts: u32) -> CallContext {
        CallContext {
            action: self.action.to_owned(),
            region: self.region.map(str::to_owned),
            read_only: self.read_only,
            attempts,
        }
    }
}

/// What to do after a failed attempt.
enum Next {
    Stop,
    /// Wait (with backoff) and retry; costs `cost` quota tokens.
    Retry {
        cost: u32,
    },
    /// Retry at once, outside the attempt budget (clock correction, token refresh).
    RetryNow,
}

impl Client {
    /// Sends a request of any action and returns its output.
    ///
    /// ```no_run
    /// # async fn run(client: tencentcloud_cbs::Client) -> Result<(), tencentcloud_cbs::Error> {
    /// use tencentcloud_cbs::model::DescribeSnapshotsRequest;
    /// let page = client.send(DescribeSnapshotsRequest::new().limit(10)).await?;
    /// println!("{} snapshots", page.total_count.unwrap_or(0));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send<A: Action>(&self, request: A) -> Result<A::Output, Error> {
        self.send_with(request, CallOptions::default()).await
    }

    /// Sends a request with per-call options.
    pub async fn send_with<A: Action>(
        &self,
        request: A,
        options: CallOptions,
    ) -> Result<A::Output, Error> {
        request
            .validate()
            .map_err(|e| Error::invalid_input(A::NAME, Some(e.member()), e.reason()))?;
        let body = serde_json::to_vec(&request).map_err(|e| {
            Error::invalid_input(A::NAME, None, format!("cannot be serialized: {e}"))
        })?;
        let trace_id = match options.trace_id {
            Some(id) => HeaderValue::try_from(id).map_err(|_| {
                Error::invalid_input(A::NAME, None, "the trace id cannot be sent in a header")
            })?,
            None => trace_id::generate(),
        };
        let spec = CallSpec {
            service: cbs_model::SERVICE,
            action: A::NAME,
            read_only: A::READ_ONLY,
            region: options.region.as_deref().or(self.inner.region.as_deref()),
            action_header: const { HeaderValue::from_static(A::NAME) },
            version_header: const { HeaderValue::from_static(cbs_model::VERSION) },
            trace_id,
        };
        self.execute::<A::Output>(&spec, Bytes::from(body)).await
    }

    /// Calls any Tencent Cloud API 3.0 action with a JSON body and returns the
    /// `Response` object, sharing this client's credentials, signing, retries, rate
    /// limits and transport. Actions named `Describe*`, `Inquir*` or `Get*` count as
    /// read-only for retries.
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
        if !body.is_object() {
            return Err(Error::invalid_input(
                action,
                None,
                "the body must be a JSON object",
            ));
        }
        let header = |text: &str| {
            HeaderValue::from_str(text)
                .map_err(|_| Error::invalid_input(action, None, "cannot be sent in a header"))
        };
        let spec = CallSpec {
            service,
            action,
            read_only: ["Describe", "Inquir", "Get"]
                .iter()
                .any(|p| action.starts_with(p)),
            region: region.or(self.inner.region.as_deref()),
            action_header: header(action)?,
            version_header: header(version)?,
            trace_id: trace_id::generate(),
        };
        let body = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        self.execute::<serde_json::Value>(&spec, Bytes::from(body))
            .await
    }

    pub(crate) async fn execute<T: DeserializeOwned>(
        &self,
        spec: &CallSpec<'_>,
        body: Bytes,
    ) -> Result<T, Error> {
        let span = tracing::debug_span!(
            "cbs_call",
            action = spec.action,
            region = spec.region.unwrap_or(""),
            trace_id = spec.trace_id.to_str().unwrap_or(""),
        );
        self.execute_inner(spec, body).instrument(span).await
    }

    async fn execute_inner<T: DeserializeOwned>(
        &self,
        spec: &CallSpec<'_>,
        body: Bytes,
    ) -> Result<T, Error> {
        let inner = &self.inner;
        let retry = &inner.retry;
        let started = Instant::now();
        let deadline = retry.deadline.map(|d| started + d);
        let limiter_key: std::borrow::Cow<'_, str> = if spec.service == cbs_model::SERVICE {
            spec.action.into()
        } else {
            format!("{}.{}", spec.service, spec.action).into()
        };
        if inner.limiter.try_take(&limiter_key, started).is_err() {
            tracing::debug!("waiting for the client-side rate limit");
            inner.limiter.acquire(&limiter_key).await;
        }

        let mut attempt = 0u32;
        let mut budget_used = 0u32;
        let mut clock_retried = false;
        let mut token_retried = false;
        let mut retried = false;
        loop {
            attempt += 1;
            // The deadline stops further attempts; an attempt in flight is bounded by the
            // transport's own timeouts, or by `attempt_timeout` when one is set (a timer per
            // attempt is not free).
            let outcome = match inner.attempt_timeout {
                Some(limit) => tokio::time::timeout(limit, self.attempt::<T>(spec, &body))
                    .await
                    .unwrap_or_else(|_| {
                        Err((
                            Error::Timeout(Box::new(TimeoutError {
                                limit,
                                last: None,
                                context: spec.context(attempt),
                            })),
                            None,
                        ))
                    }),
                None => self.attempt::<T>(spec, &body).await,
            };
            let latency_ms = || started.elapsed().as_millis() as u64;
            let (error, server_date) = match outcome {
                Ok(value) => {
                    tracing::debug!(attempt, latency_ms = latency_ms(), "call succeeded");
                    if let (false, Some(quota)) = (retried, &retry.quota) {
                        quota.release(1);
                    }
                    return Ok(value);
                }
                Err(failure) => failure,
            };
            let error = with_attempts(error, attempt);
            tracing::debug!(attempt, latency_ms = latency_ms(), request_id = error.request_id().unwrap_or(""), error = %error, "attempt failed");

            let next = match &error {
                Error::Api(api) if api.code == ErrorCode::AuthFailureSignatureExpire => {
                    if !clock_retried && inner.clock.learn_from_date(server_date.as_deref()) {
                        clock_retried = true;
                        Next::RetryNow
                    } else {
                        Next::Stop
                    }
                }
                Error::Api(api) if api.code == ErrorCode::AuthFailureTokenFailure => {
                    if token_retried {
                        Next::Stop
                    } else {
                        token_retried = true;
                        inner.credentials.invalidate();
                        Next::RetryNow
                    }
                }
                Error::Api(api) => match api.code.retry_class() {
                    RetryClass::Throttled | RetryClass::Clock => Next::Retry { cost: 5 },
                    RetryClass::Transient if spec.read_only => Next::Retry { cost: 5 },
                    _ => Next::Stop,
                },
                Error::Transport(t) if t.source.is_retryable(spec.read_only) => Next::Retry {
                    cost: if t.may_have_been_sent() { 10 } else { 5 },
                },
                Error::Decode(d) if d.status >= 500 && spec.read_only => Next::Retry { cost: 5 },
                Error::Timeout(_)
                    if spec.read_only && deadline.is_none_or(|d| Instant::now() < d) =>
                {
                    Next::Retry { cost: 10 }
                }
                _ => Next::Stop,
            };
            let backoff = match next {
                Next::Stop => return Err(error),
                Next::RetryNow => Duration::ZERO,
                Next::Retry { cost } => {
                    budget_used += 1;
                    if budget_used >= retry.max_attempts {
                        return Err(error);
                    }
                    if retry
                        .quota
                        .as_ref()
                        .is_some_and(|quota| !quota.try_acquire(cost))
                    {
                        tracing::debug!("retry quota exhausted; not retrying");
                        return Err(error);
                    }
                    retry.backoff(budget_used, jitter())
                }
            };
            if deadline.is_some_and(|deadline| Instant::now() + backoff >= deadline) {
                return Err(Error::Timeout(Box::new(TimeoutError {
                    limit: retry.deadline.unwrap_or_default(),
                    last: Some(error),
                    context: spec.context(attempt),
                })));
            }
            tracing::info!(attempt, backoff_ms = backoff.as_millis() as u64, reason = %error, "retrying");
            retried = true;
            tokio::time::sleep(backoff).await;
        }
    }

    /// One attempt. On failure, also returns the response's `Date` header, which a clock
    /// correction needs.
    async fn attempt<T: DeserializeOwned>(
        &self,
        spec: &CallSpec<'_>,
        body: &Bytes,
    ) -> Result<T, (Error, Option<String>)> {
        let inner = &self.inner;
        let provided;
        let credentials = match &inner.fixed_credentials {
            Some(fixed) => fixed,
            None => {
                provided = match inner.credentials.provide_credentials_now() {
                    Some(ready) => ready,
                    None => inner.credentials.provide_credentials().await,
                }
                .map_err(|e| (Error::Credentials(Box::new(e)), None))?;
                &provided
            }
        };
        let timestamp = inner.clock.unix_now();
        let request = self
            .build_request(spec, body, credentials, timestamp)
            .map_err(|e| (e, None))?;
        let response = inner.transport.send(request).await.map_err(|source| {
            let failure = TransportFailure {
                source,
                context: spec.context(1),
            };
            (Error::Transport(Box::new(failure)), None)
        })?;
        let status = response.status().as_u16();
        let body = response.body();
        // The body decides, whatever the Content-Type says (`; charset=utf-8` included).
        let error = match cbs_model::parse_response::<T>(body) {
            Ok(Ok(value)) if status == 200 => return Ok(value),
            Ok(Err(api)) => Error::Api(Box::new(ApiError {
                code: api.code().clone(),
                message: api.message().to_owned(),
                request_id: api.request_id().to_owned(),
                context: spec.context(1),
            })),
            Ok(Ok(_)) => {
                decode_failure(spec, status, body, "an output with a non-200 status".into())
            }
            Err(decode) => decode_failure(spec, status, body, decode.detail().to_owned()),
        };
        // A clock correction needs the server's time.
        let date = response
            .headers()
            .get(http::header::DATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Err((error, date))
    }

    fn build_request(
        &self,
        spec: &CallSpec<'_>,
        body: &Bytes,
        credentials: &Credentials,
        timestamp: u64,
    ) -> Result<cbs_transport::HttpRequest, Error> {
        let inner = &self.inner;
        let invalid = |what: &str| {
            Error::invalid_input(
                spec.action,
                None,
                format!("{what} cannot be sent in a header"),
            )
        };
        let unsignable = |e: tc3_sign::SignError| Error::invalid_input("sign", None, e.to_string());
        let prepared = inner
            .wire_cache
            .prepare(
                &inner.endpoint,
                spec.service,
                spec.region,
                credentials,
                timestamp,
            )
            .map_err(|what| match what {
                Unsendable::Endpoint => invalid("the endpoint"),
                Unsendable::Region => invalid("the region"),
                Unsendable::Timestamp(e) => unsignable(e),
            })?;
        let signable = SignableRequest::post_json(prepared.route.host(), body);
        let authorization =
            tc3_sign::sign_with_key(&signable, credentials.keys(), &prepared.key, timestamp)
                .map_err(unsignable)?
                .into_authorization();
        let mut authorization =
            HeaderValue::try_from(authorization).map_err(|_| invalid("the authorization"))?;
        authorization.set_sensitive(true);

        let token = credentials.token();
        let mut headers = inner
            .header_templates
            .headers(prepared.route.region.is_some(), token.is_some());
        headers.insert(HOST, prepared.route.host);
        headers.insert(X_TC_ACTION, spec.action_header.clone());
        headers.insert(X_TC_VERSION, spec.version_header.clone());
        headers.insert(X_TC_TIMESTAMP, prepared.timestamp);
        headers.insert(X_TC_TRACE_ID, spec.trace_id.clone());
        headers.insert(AUTHORIZATION, authorization);
        if let Some(region) = prepared.route.region {
            headers.insert(X_TC_REGION, region);
        }
        if let Some(token) = token {
            let mut token =
                HeaderValue::from_str(token).map_err(|_| invalid("the session token"))?;
            token.set_sensitive(true);
            headers.insert(X_TC_TOKEN, token);
        }
        let mut request = http::Request::new(body.clone());
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = prepared.route.uri;
        *request.headers_mut() = headers;
        Ok(request)
    }
}

fn decode_failure(spec: &CallSpec<'_>, status: u16, body: &[u8], detail: String) -> Error {
    let request_id = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["Response"]["RequestId"].as_str().map(str::to_owned));
    let excerpt_end = body.len().min(256);
    Error::Decode(Box::new(DecodeFailure {
        status,
        request_id,
        excerpt: String::from_utf8_lossy(&body[..excerpt_end]).into_owned(),
        detail,
        context: spec.context(1),
    }))
}

fn with_attempts(mut error: Error, attempts: u32) -> Error {
    let context = match &mut error {
        Error::Api(e) => Some(&mut e.context),
        Error::Transport(e) => Some(&mut e.context),
        Error::Decode(e) => Some(&mut e.context),
        Error::Timeout(e) => Some(&mut e.context),
        _ => None,
    };
    if let Some(context) = context {
        context.attempts = attempts;
    }
    error
}
