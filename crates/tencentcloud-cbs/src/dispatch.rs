//! One call: validate, wait for the rate limiter, then attempts — sign, send, read —
//! until one succeeds or the retry policy says stop.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cbs_model::{Action, ErrorCode, RetryClass};
use cbs_transport::Transport;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use tc3_sign::{SignableRequest, SigningKey, UtcDate};
use tokio::time::Instant;
use tracing::Instrument;

use crate::client::Client;
use crate::credentials::Credentials;
use crate::error::{ApiError, CallContext, DecodeFailure, Error, TimeoutError, TransportFailure};
use crate::retry::jitter;

const X_TC_ACTION: HeaderName = HeaderName::from_static("x-tc-action");
const X_TC_VERSION: HeaderName = HeaderName::from_static("x-tc-version");
const X_TC_TIMESTAMP: HeaderName = HeaderName::from_static("x-tc-timestamp");
const X_TC_REGION: HeaderName = HeaderName::from_static("x-tc-region");
const X_TC_LANGUAGE: HeaderName = HeaderName::from_static("x-tc-language");
const X_TC_TOKEN: HeaderName = HeaderName::from_static("x-tc-token");
const X_TC_TRACE_ID: HeaderName = HeaderName::from_static("x-tc-traceid");
const X_TC_REQUEST_CLIENT: HeaderName = HeaderName::from_static("x-tc-requestclient");

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
    pub version: &'a str,
    pub action: &'a str,
    pub read_only: bool,
    pub region: Option<String>,
    pub trace_id: String,
}

impl CallSpec<'_> {
    fn context(&self, attempts: u32) -> CallContext {
        CallContext {
            action: self.action.to_owned(),
            region: self.region.clone(),
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
        let spec = CallSpec {
            service: cbs_model::SERVICE,
            version: cbs_model::VERSION,
            action: A::NAME,
            read_only: A::READ_ONLY,
            region: options.region.or_else(|| self.inner.region.clone()),
            trace_id: options.trace_id.unwrap_or_else(new_trace_id),
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
        let spec = CallSpec {
            service,
            version,
            action,
            read_only: ["Describe", "Inquir", "Get"]
                .iter()
                .any(|p| action.starts_with(p)),
            region: region
                .map(str::to_owned)
                .or_else(|| self.inner.region.clone()),
            trace_id: new_trace_id(),
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
            region = spec.region.as_deref().unwrap_or(""),
            trace_id = spec.trace_id.as_str(),
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
        if inner.limiter.try_take(&limiter_key).is_err() {
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
            let latency_ms = started.elapsed().as_millis() as u64;
            let (error, server_date) = match outcome {
                Ok(value) => {
                    tracing::debug!(attempt, latency_ms, "call succeeded");
                    if let (false, Some(quota)) = (retried, &retry.quota) {
                        quota.release(1);
                    }
                    return Ok(value);
                }
                Err(failure) => failure,
            };
            let error = with_attempts(error, attempt);
            tracing::debug!(attempt, latency_ms, request_id = error.request_id().unwrap_or(""), error = %error, "attempt failed");

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
        let credentials = inner
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| (Error::Credentials(Box::new(e)), None))?;
        let timestamp = inner.clock.unix_now();
        let (scheme, host) = inner.endpoint.locate(spec.service, spec.region.as_deref());
        let request = self
            .build_request(spec, body, &credentials, timestamp, scheme, &host)
            .map_err(|e| (e, None))?;
        let response = inner.transport.send(request).await.map_err(|source| {
            let failure = TransportFailure {
                source,
                context: spec.context(1),
            };
            (Error::Transport(Box::new(failure)), None)
        })?;
        let status = response.status().as_u16();
        let date = response
            .headers()
            .get(http::header::DATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.body();
        // The body decides, whatever the Content-Type says (`; charset=utf-8` included).
        match cbs_model::parse_response::<T>(body) {
            Ok(Ok(value)) if status == 200 => Ok(value),
            Ok(Err(api)) => {
                let error = ApiError {
                    code: api.code().clone(),
                    message: api.message().to_owned(),
                    request_id: api.request_id().to_owned(),
                    context: spec.context(1),
                };
                Err((Error::Api(Box::new(error)), date))
            }
            Ok(Ok(_)) => Err((
                decode_failure(spec, status, body, "an output with a non-200 status".into()),
                date,
            )),
            Err(decode) => Err((
                decode_failure(spec, status, body, decode.detail().to_owned()),
                date,
            )),
        }
    }

    fn build_request(
        &self,
        spec: &CallSpec<'_>,
        body: &Bytes,
        credentials: &Credentials,
        timestamp: u64,
        scheme: &str,
        host: &str,
    ) -> Result<cbs_transport::HttpRequest, Error> {
        let inner = &self.inner;
        let signable = SignableRequest::post_json(host, body);
        let authorization = self.sign(&signable, spec.service, credentials, timestamp)?;
        let invalid = |what: &str| {
            Error::invalid_input(
                spec.action,
                None,
                format!("{what} cannot be sent in a header"),
            )
        };
        let value = |v: &str, what: &str| HeaderValue::from_str(v).map_err(|_| invalid(what));

        let mut request = http::Request::new(body.clone());
        *request.method_mut() = http::Method::POST;
        let (uri, host_value) = self
            .uri(scheme, host)
            .map_err(|_| invalid("the endpoint"))?;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.reserve(12);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(HOST, host_value);
        headers.insert(
            X_TC_ACTION,
            static_or_copied(spec.action).map_err(|_| invalid("the action"))?,
        );
        headers.insert(
            X_TC_VERSION,
            static_or_copied(spec.version).map_err(|_| invalid("the version"))?,
        );
        headers.insert(X_TC_TIMESTAMP, HeaderValue::from(timestamp));
        headers.insert(X_TC_REQUEST_CLIENT, inner.request_client_header.clone());
        headers.insert(
            X_TC_TRACE_ID,
            HeaderValue::try_from(spec.trace_id.clone()).map_err(|_| invalid("the trace id"))?,
        );
        let mut authorization =
            HeaderValue::try_from(authorization).map_err(|_| invalid("the authorization"))?;
        authorization.set_sensitive(true);
        headers.insert(AUTHORIZATION, authorization);
        if let Some(region) = &spec.region {
            headers.insert(X_TC_REGION, value(region, "the region")?);
        }
        if let Some(language) = inner.language {
            headers.insert(X_TC_LANGUAGE, HeaderValue::from_static(language.as_str()));
        }
        if let Some(token) = credentials.token() {
            let mut token = value(token, "the session token")?;
            token.set_sensitive(true);
            headers.insert(X_TC_TOKEN, token);
        }
        Ok(request)
    }

    /// The URI for `scheme://host/` and the `Host` header value, kept from the previous
    /// call when the host is the same.
    fn uri(&self, scheme: &str, host: &str) -> Result<(http::Uri, HeaderValue), http::Error> {
        let mut cache = self
            .inner
            .uri_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some((_, uri, value)) = cache
            .as_ref()
            .filter(|(h, u, _)| h == host && u.scheme_str() == Some(scheme))
        {
            return Ok((uri.clone(), value.clone()));
        }
        let uri: http::Uri = format!("{scheme}://{host}/").parse()?;
        let value = HeaderValue::from_str(host)?;
        *cache = Some((host.to_owned(), uri.clone(), value.clone()));
        Ok((uri, value))
    }

    /// The `Authorization` value, reusing the signing key while credentials, service
    /// and UTC date stay the same.
    fn sign(
        &self,
        signable: &SignableRequest<'_>,
        service: &str,
        credentials: &Credentials,
        timestamp: u64,
    ) -> Result<String, Error> {
        let bad = |e: tc3_sign::SignError| Error::invalid_input("sign", None, e.to_string());
        let date = UtcDate::from_unix(timestamp).map_err(bad)?;
        // Hold the lock only to fetch (or replace) the shared key, not while signing, so
        // concurrent calls do not queue behind each other.
        let key = {
            let mut cache = self
                .inner
                .key_cache
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            match &*cache {
                Some((owner, key))
                    if owner.same_as(credentials)
                        && key.date() == date
                        && key.service() == service =>
                {
                    key.clone()
                }
                _ => {
                    let key = Arc::new(SigningKey::derive(
                        credentials.keys().secret_key(),
                        date,
                        service,
                    ));
                    *cache = Some((credentials.clone(), key.clone()));
                    key
                }
            }
        };
        let signed =
            tc3_sign::sign_with_key(signable, credentials.keys(), &key, timestamp).map_err(bad)?;
        Ok(signed.authorization().to_owned())
    }
}

/// A header value for a name known at compile time (typed actions, versions), without
/// copying; any other text is validated and copied.
fn static_or_copied(text: &str) -> Result<HeaderValue, http::header::InvalidHeaderValue> {
    if text == cbs_model::VERSION {
        return Ok(HeaderValue::from_static(cbs_model::VERSION));
    }
    match cbs_model::action_info(text) {
        Some(info) => Ok(HeaderValue::from_static(info.name)),
        None => HeaderValue::from_str(text),
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

/// A fresh trace id in UUID form (version 4 layout, random bits from the jitter source).
fn new_trace_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bits = (random_u64() as u128) << 64 | random_u64() as u128;
    let mut out = [0u8; 36];
    let mut nibble = 0;
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = match i {
            8 | 13 | 18 | 23 => b'-',
            14 => b'4',
            19 => HEX[8 | ((bits >> 2) & 0x3) as usize],
            _ => {
                nibble += 1;
                HEX[((bits >> (4 * (nibble % 32))) & 0xf) as usize]
            }
        };
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn random_u64() -> u64 {
    (jitter() * (1u64 << 53) as f64) as u64 ^ ((jitter() * (1u64 << 53) as f64) as u64) << 11
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_look_like_uuids_and_differ() {
        let ids: Vec<String> = (0..100).map(|_| new_trace_id()).collect();
        for id in &ids {
            assert_eq!(id.len(), 36);
            let b = id.as_bytes();
            assert!([8, 13, 18, 23].iter().all(|&i| b[i] == b'-'));
            assert_eq!(b[14], b'4');
            assert!(b"89ab".contains(&b[19]));
            assert!(id.bytes().all(|c| c == b'-' || c.is_ascii_hexdigit()));
        }
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
    }
}
