//! One attempt's HTTP request: where it goes, its headers, its signature.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{HeaderName, HeaderValue};
use tc3_sign::{SignableRequest, SigningKey, UtcDate};

use crate::credentials::Credentials;
use crate::endpoint::Endpoint;
use crate::error::Error;

pub(crate) const X_TC_ACTION: HeaderName = HeaderName::from_static("x-tc-action");
pub(crate) const X_TC_VERSION: HeaderName = HeaderName::from_static("x-tc-version");
pub(crate) const X_TC_TIMESTAMP: HeaderName = HeaderName::from_static("x-tc-timestamp");
pub(crate) const X_TC_REGION: HeaderName = HeaderName::from_static("x-tc-region");
pub(crate) const X_TC_LANGUAGE: HeaderName = HeaderName::from_static("x-tc-language");
pub(crate) const X_TC_TOKEN: HeaderName = HeaderName::from_static("x-tc-token");
pub(crate) const X_TC_TRACE_ID: HeaderName = HeaderName::from_static("x-tc-traceid");
pub(crate) const X_TC_REQUEST_CLIENT: HeaderName = HeaderName::from_static("x-tc-requestclient");

/// What every request of a client shares.
pub(crate) struct Settings {
    pub endpoint: Endpoint,
    /// `X-TC-RequestClient`: the SDK name and version, and the caller's tag.
    pub request_client: HeaderValue,
    /// `X-TC-Language`, when set.
    pub language: Option<HeaderValue>,
    /// The day's signing key.
    pub signing_keys: SigningKeys,
}

/// What one call sends to, and the headers that say what it is.
pub(crate) struct Target<'a> {
    pub service: &'a str,
    pub action: &'a str,
    pub region: Option<&'a str>,
    /// `X-TC-Action`, `X-TC-Version` and `X-TC-TraceId`, ready to send.
    pub action_header: HeaderValue,
    pub version_header: HeaderValue,
    pub trace_id: HeaderValue,
}

/// The last signing key derived, for the credentials it belongs to. A key serves a whole
/// UTC day and costs three HMACs to derive, more than signing itself.
#[derive(Default)]
pub(crate) struct SigningKeys {
    last: Mutex<Option<(Credentials, Arc<SigningKey>)>>,
}

impl SigningKeys {
    /// The key for `credentials`, `service` and the date of `timestamp`.
    fn key(
        &self,
        credentials: &Credentials,
        service: &str,
        timestamp: u64,
    ) -> Result<Arc<SigningKey>, tc3_sign::SignError> {
        let date = UtcDate::from_unix(timestamp)?;
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((owner, key)) = last.as_ref() {
            // Compare the keys themselves: a provider may hand out equal credentials as
            // new values at every call.
            if owner.keys().secret_key() == credentials.keys().secret_key()
                && key.date() == date
                && key.service() == service
            {
                return Ok(key.clone());
            }
        }
        let key = Arc::new(SigningKey::derive(
            credentials.keys().secret_key(),
            date,
            service,
        ));
        *last = Some((credentials.clone(), key.clone()));
        Ok(key)
    }
}

/// The signed request for one attempt to `target` at `timestamp` (Unix seconds).
pub(crate) fn build(
    settings: &Settings,
    target: &Target<'_>,
    body: &Bytes,
    credentials: &Credentials,
    timestamp: u64,
) -> Result<cbs_transport::HttpRequest, Error> {
    let unsendable = |what: &str| {
        Error::invalid_input(
            target.action,
            None,
            format!("{what} cannot be sent in a header"),
        )
    };
    let unsignable = |e: tc3_sign::SignError| {
        Error::invalid_input(target.action, None, format!("cannot be signed: {e}"))
    };
    let (scheme, host) = settings.endpoint.locate(target.service, target.region);
    // One buffer for the host serves the URI, the `Host` header and the signature.
    let host = Bytes::from(host.into_owned());
    let host_header =
        HeaderValue::from_maybe_shared(host.clone()).map_err(|_| unsendable("the endpoint"))?;
    let authority =
        http::uri::Authority::from_maybe_shared(host).map_err(|_| unsendable("the endpoint"))?;
    let uri = http::Uri::builder()
        .scheme(scheme)
        .authority(authority)
        .path_and_query(http::uri::PathAndQuery::from_static("/"))
        .build()
        .map_err(|_| unsendable("the endpoint"))?;
    let key = settings
        .signing_keys
        .key(credentials, target.service, timestamp)
        .map_err(unsignable)?;
    let host = uri.authority().map_or("", |a| a.as_str());
    let signable = SignableRequest::post_json(host, body);
    let authorization = tc3_sign::sign_with_key(&signable, credentials.keys(), &key, timestamp)
        .map_err(unsignable)?
        .into_authorization();
    let mut authorization =
        HeaderValue::try_from(authorization).map_err(|_| unsendable("the authorization"))?;
    authorization.set_sensitive(true);

    let mut request = http::Request::new(body.clone());
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = uri;
    // Room for every header up front: a map that grows insert by insert reallocates.
    *request.headers_mut() = http::HeaderMap::with_capacity(12);
    let headers = request.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(HOST, host_header);
    headers.insert(X_TC_ACTION, target.action_header.clone());
    headers.insert(X_TC_VERSION, target.version_header.clone());
    headers.insert(X_TC_TIMESTAMP, HeaderValue::from(timestamp));
    if let Some(region) = target.region {
        headers.insert(
            X_TC_REGION,
            HeaderValue::from_str(region).map_err(|_| unsendable("the region"))?,
        );
    }
    headers.insert(X_TC_REQUEST_CLIENT, settings.request_client.clone());
    headers.insert(X_TC_TRACE_ID, target.trace_id.clone());
    if let Some(language) = &settings.language {
        headers.insert(X_TC_LANGUAGE, language.clone());
    }
    if let Some(token) = credentials.token() {
        let mut token =
            HeaderValue::from_str(token).map_err(|_| unsendable("the session token"))?;
        token.set_sensitive(true);
        headers.insert(X_TC_TOKEN, token);
    }
    headers.insert(AUTHORIZATION, authorization);
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_follows_the_date_the_secret_and_the_service() {
        let keys = SigningKeys::default();
        let first = Credentials::new("AKID", "key");
        let t = 1_700_000_000;
        let a = keys.key(&first, "cbs", t).unwrap();
        // Equal credentials made afresh share the key.
        let again = keys
            .key(&Credentials::new("AKID", "key"), "cbs", t + 1)
            .unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        let next_day = keys.key(&first, "cbs", t + 86_400).unwrap();
        assert!(!Arc::ptr_eq(&a, &next_day));
        let rotated = keys
            .key(&Credentials::new("AKID", "other"), "cbs", t + 86_400)
            .unwrap();
        assert_eq!(
            rotated.signature_hex("text"),
            SigningKey::derive("other", UtcDate::from_unix(t + 86_400).unwrap(), "cbs")
                .signature_hex("text")
        );
        let sts = keys.key(&first, "sts", t).unwrap();
        assert_eq!(sts.service(), "sts");
        assert!(keys.key(&first, "cbs", u64::MAX).is_err());
    }
}
