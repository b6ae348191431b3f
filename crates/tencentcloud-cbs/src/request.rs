//! One attempt's HTTP request: where it goes, its headers, its signature.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{HeaderName, HeaderValue};
use tc3_sign::{Payload, PreparedRequest, SignableRequest, SigningKey, UtcDate};

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

/// How requests are signed.
///
/// TC3-HMAC-SHA256 (the default) signs headers and a JSON body. The legacy v1 methods
/// sign a form body that carries everything as parameters; the service still accepts
/// them, and some older APIs and gateways want them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureMethod {
    /// `TC3-HMAC-SHA256`.
    #[default]
    Tc3HmacSha256,
    /// Legacy v1 `HmacSHA1`.
    HmacSha1,
    /// Legacy v1 `HmacSHA256`.
    HmacSha256,
}

/// What every request of a client shares.
pub(crate) struct Settings {
    pub endpoint: Endpoint,
    pub signature: SignatureMethod,
    /// `X-TC-RequestClient`: the SDK name and version, and the caller's tag.
    pub request_client: HeaderValue,
    /// `X-TC-Language`, when set.
    pub language: Option<HeaderValue>,
    /// The day's signing key.
    pub signing_keys: SigningKeys,
    /// Where CBS calls go, made once when the endpoint does not depend on the region.
    pub cbs_destination: Option<CbsDestination>,
}

/// A client's one destination for CBS calls, and the part of their signature that does
/// not depend on the body.
pub(crate) struct CbsDestination {
    destination: Destination,
    signing: PreparedRequest,
}

/// A request's URI and `Host` header, which share one buffer.
#[derive(Clone)]
pub(crate) struct Destination {
    uri: http::Uri,
    host: HeaderValue,
}

impl Destination {
    /// Where calls to `service` in `region` go; `None` when the endpoint cannot make a
    /// URI.
    pub(crate) fn new(endpoint: &Endpoint, service: &str, region: Option<&str>) -> Option<Self> {
        let (scheme, host) = endpoint.locate(service, region);
        let host = Bytes::from(host.into_owned());
        let header = HeaderValue::from_maybe_shared(host.clone()).ok()?;
        let authority = http::uri::Authority::from_maybe_shared(host).ok()?;
        let uri = http::Uri::builder()
            .scheme(scheme)
            .authority(authority)
            .path_and_query(http::uri::PathAndQuery::from_static("/"))
            .build()
            .ok()?;
        Some(Destination { uri, host: header })
    }

    /// For a client's CBS calls, made once when every region goes to the same place.
    /// Making the URI once, and preparing the signature's fixed part once, take that
    /// work out of every call (the `client` bench measures an in-memory call, and
    /// tc3-sign's `sign` bench a prepared signature against a plain one).
    pub(crate) fn for_cbs(endpoint: &Endpoint) -> Option<CbsDestination> {
        if endpoint.varies_by_region() {
            return None;
        }
        let destination = Destination::new(endpoint, cbs_model::SERVICE, None)?;
        let signing =
            PreparedRequest::new(&SignableRequest::post_json(host_of(&destination.uri), b""))
                .ok()?;
        Some(CbsDestination {
            destination,
            signing,
        })
    }
}

/// The host a URI names, as the signature covers it.
fn host_of(uri: &http::Uri) -> &str {
    uri.authority().map_or("", |a| a.as_str())
}

/// What one call sends to, and the headers that say what it is.
pub(crate) struct Target<'a> {
    pub service: &'a str,
    pub action: &'a str,
    pub region: Option<&'a str>,
    pub version: &'a str,
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
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((owner, key)) = last.as_ref() {
            // Compare the keys themselves: a provider may hand out equal credentials as
            // new values at every call.
            if owner.keys().secret_key() == credentials.keys().secret_key()
                && key.date().contains(timestamp)
                && key.service() == service
            {
                return Ok(key.clone());
            }
        }
        let key = Arc::new(SigningKey::derive(
            credentials.keys().secret_key(),
            UtcDate::from_unix(timestamp)?,
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
    let (destination, prepared) = match &settings.cbs_destination {
        Some(cbs) if target.service == cbs_model::SERVICE => {
            (cbs.destination.clone(), Some(&cbs.signing))
        }
        _ => (
            Destination::new(&settings.endpoint, target.service, target.region)
                .ok_or_else(|| unsendable("the endpoint"))?,
            None,
        ),
    };
    let Destination {
        uri,
        host: host_header,
    } = destination;
    let algorithm = match settings.signature {
        SignatureMethod::Tc3HmacSha256 => None,
        SignatureMethod::HmacSha1 => Some(tc3_sign::v1::Algorithm::HmacSha1),
        SignatureMethod::HmacSha256 => Some(tc3_sign::v1::Algorithm::HmacSha256),
    };
    if let Some(algorithm) = algorithm {
        return build_v1(
            settings,
            target,
            body,
            credentials,
            timestamp,
            algorithm,
            uri,
            host_header,
        );
    }
    let key = settings
        .signing_keys
        .key(credentials, target.service, timestamp)
        .map_err(unsignable)?;
    let keys = credentials.keys();
    let signed = match prepared {
        Some(prepared) => prepared.sign(Payload::Bytes(body), keys, &key, timestamp),
        None => {
            let signable = SignableRequest::post_json(host_of(&uri), body);
            tc3_sign::sign_with_key(&signable, keys, &key, timestamp)
        }
    };
    let authorization = signed.map_err(unsignable)?.into_authorization();
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

/// A legacy v1 request: the body's members flattened, and the common parameters, in a
/// signed form body; no `X-TC-*` headers.
#[allow(clippy::too_many_arguments)]
fn build_v1(
    settings: &Settings,
    target: &Target<'_>,
    body: &Bytes,
    credentials: &Credentials,
    timestamp: u64,
    algorithm: tc3_sign::v1::Algorithm,
    uri: http::Uri,
    host_header: HeaderValue,
) -> Result<cbs_transport::HttpRequest, Error> {
    let invalid = |what: String| Error::invalid_input(target.action, None, what);
    let members: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("cannot be sent as a form: {e}")))?;
    let mut params = cbs_model::json_to_form(&members);
    let timestamp = timestamp.to_string();
    // A positive nonce, as the SDKs send.
    let nonce = (crate::random::next_u64() % 1_000_000_000 + 1).to_string();
    let mut common = vec![
        ("Action", target.action),
        ("Version", target.version),
        ("Timestamp", timestamp.as_str()),
        ("Nonce", nonce.as_str()),
        ("SecretId", credentials.secret_id()),
        ("SignatureMethod", algorithm.as_str()),
    ];
    if let Some(region) = target.region {
        common.push(("Region", region));
    }
    if let Some(token) = credentials.token() {
        common.push(("Token", token));
    }
    if let Some(language) = settings.language.as_ref().and_then(|l| l.to_str().ok()) {
        common.push(("Language", language));
    }
    if let Ok(client) = settings.request_client.to_str() {
        common.push(("RequestClient", client));
    }
    for (name, _) in &common {
        if params.iter().any(|(n, _)| n == name) {
            return Err(invalid(format!(
                "has a member `{name}`, which v1 signing uses for itself"
            )));
        }
    }
    params.extend(
        common
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned())),
    );
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let signature = tc3_sign::v1::Request::new("POST", host_of(&uri), &pairs)
        .sign(credentials.secret_key(), algorithm)
        .map_err(|e| invalid(format!("cannot be signed: {e}")))?;
    let form = tc3_sign::v1::form_body(&pairs, &signature);
    let mut request = http::Request::new(Bytes::from(form));
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.insert(HOST, host_header);
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
