//! Values a client sends again and again — the header map's shape, the URI, the `Host`
//! and `X-TC-Region` headers, the `X-TC-Timestamp` of the current second, the day's
//! signing key — kept from one call to the next, so that a call clones
//! reference-counted values instead of formatting, validating and allocating them
//! afresh. One lock guards the changing ones, so a call takes it once.

use std::sync::{Arc, Mutex};

use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue};
use tc3_sign::{SigningKey, UtcDate};

use crate::client::{Endpoint, Language};
use crate::credentials::Credentials;

pub(crate) const X_TC_ACTION: HeaderName = HeaderName::from_static("x-tc-action");
pub(crate) const X_TC_VERSION: HeaderName = HeaderName::from_static("x-tc-version");
pub(crate) const X_TC_TIMESTAMP: HeaderName = HeaderName::from_static("x-tc-timestamp");
pub(crate) const X_TC_REGION: HeaderName = HeaderName::from_static("x-tc-region");
pub(crate) const X_TC_LANGUAGE: HeaderName = HeaderName::from_static("x-tc-language");
pub(crate) const X_TC_TOKEN: HeaderName = HeaderName::from_static("x-tc-token");
pub(crate) const X_TC_TRACE_ID: HeaderName = HeaderName::from_static("x-tc-traceid");
pub(crate) const X_TC_REQUEST_CLIENT: HeaderName = HeaderName::from_static("x-tc-requestclient");

/// The header map of a call before its values are filled in: every name it will carry,
/// the client's fixed values (`Content-Type`, `X-TC-RequestClient`, `X-TC-Language`)
/// and empty placeholders for the rest, in four variants — with or without
/// `X-TC-Region` and `X-TC-Token`. A clone holds exactly its entries, and filling in
/// replaces values without growing it (a map grown by inserting one header at a time
/// ends up larger than the allocator's fast size classes).
pub(crate) struct HeaderTemplates([HeaderMap; 4]);

impl HeaderTemplates {
    pub fn new(request_client: &HeaderValue, language: Option<Language>) -> Self {
        let variant = |region: bool, token: bool| {
            let placeholder = || HeaderValue::from_static("");
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            for name in [HOST, X_TC_ACTION, X_TC_VERSION, X_TC_TIMESTAMP] {
                headers.insert(name, placeholder());
            }
            if region {
                headers.insert(X_TC_REGION, placeholder());
            }
            headers.insert(X_TC_REQUEST_CLIENT, request_client.clone());
            headers.insert(X_TC_TRACE_ID, placeholder());
            if let Some(language) = language {
                headers.insert(X_TC_LANGUAGE, HeaderValue::from_static(language.as_str()));
            }
            if token {
                headers.insert(X_TC_TOKEN, placeholder());
            }
            headers.insert(AUTHORIZATION, placeholder());
            headers
        };
        HeaderTemplates([
            variant(false, false),
            variant(false, true),
            variant(true, false),
            variant(true, true),
        ])
    }

    /// A fresh map with the names of a call with (or without) a region and a token.
    pub fn headers(&self, region: bool, token: bool) -> HeaderMap {
        self.0[usize::from(region) * 2 + usize::from(token)].clone()
    }
}

/// Where a call goes and the headers that say so.
#[derive(Clone)]
pub(crate) struct Route {
    pub uri: http::Uri,
    pub host: HeaderValue,
    pub region: Option<HeaderValue>,
}

impl Route {
    /// The host, as signed.
    pub fn host(&self) -> &str {
        // Built from a `&str` in `Route::new`, so always valid text.
        self.host.to_str().unwrap_or_default()
    }
}

/// Everything one attempt takes from the cache.
pub(crate) struct Prepared {
    pub route: Route,
    pub timestamp: HeaderValue,
    pub key: Arc<SigningKey>,
}

/// A value of a call that cannot be put in a header.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unsendable {
    Endpoint,
    Region,
    /// A timestamp outside the signer's range of dates.
    Timestamp(tc3_sign::SignError),
}

struct RouteEntry {
    service: String,
    region: Option<String>,
    route: Route,
}

#[derive(Default)]
struct Entries {
    /// The most recent route: most clients call one service in one region.
    route: Option<RouteEntry>,
    timestamp: Option<(u64, HeaderValue)>,
    /// The last derived signing key and the credentials it belongs to.
    key: Option<(Credentials, Arc<SigningKey>)>,
}

#[derive(Default)]
pub(crate) struct WireCache {
    entries: Mutex<Entries>,
}

impl WireCache {
    /// The route, timestamp header and signing key for a call of `service` in `region`
    /// signed with `credentials` at `timestamp` (Unix seconds).
    pub fn prepare(
        &self,
        endpoint: &Endpoint,
        service: &str,
        region: Option<&str>,
        credentials: &Credentials,
        timestamp: u64,
    ) -> Result<Prepared, Unsendable> {
        let date = UtcDate::from_unix(timestamp).map_err(Unsendable::Timestamp)?;
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let route = match &entries.route {
            Some(entry) if entry.service == service && entry.region.as_deref() == region => {
                entry.route.clone()
            }
            _ => {
                let route = Route::new(endpoint, service, region)?;
                entries.route = Some(RouteEntry {
                    service: service.to_owned(),
                    region: region.map(str::to_owned),
                    route: route.clone(),
                });
                route
            }
        };
        let timestamp = match &entries.timestamp {
            Some((second, value)) if *second == timestamp => value.clone(),
            _ => {
                let value = HeaderValue::from(timestamp);
                entries.timestamp = Some((timestamp, value.clone()));
                value
            }
        };
        let key = match &entries.key {
            Some((owner, key))
                if owner.same_as(credentials) && key.date() == date && key.service() == service =>
            {
                key.clone()
            }
            _ => {
                let key = Arc::new(SigningKey::derive(
                    credentials.keys().secret_key(),
                    date,
                    service,
                ));
                entries.key = Some((credentials.clone(), key.clone()));
                key
            }
        };
        Ok(Prepared {
            route,
            timestamp,
            key,
        })
    }
}

impl Route {
    fn new(endpoint: &Endpoint, service: &str, region: Option<&str>) -> Result<Self, Unsendable> {
        let (scheme, host) = endpoint.locate(service, region);
        let uri = format!("{scheme}://{host}/")
            .parse()
            .map_err(|_| Unsendable::Endpoint)?;
        let host = HeaderValue::from_str(&host).map_err(|_| Unsendable::Endpoint)?;
        let region = region
            .map(|r| HeaderValue::from_str(r).map_err(|_| Unsendable::Region))
            .transpose()?;
        Ok(Route { uri, host, region })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_carry_the_fixed_values_and_the_names_asked_for() {
        let templates =
            HeaderTemplates::new(&HeaderValue::from_static("sdk/1"), Some(Language::EnUs));
        for region in [false, true] {
            for token in [false, true] {
                let headers = templates.headers(region, token);
                assert_eq!(headers[CONTENT_TYPE], "application/json");
                assert_eq!(headers[X_TC_REQUEST_CLIENT], "sdk/1");
                assert_eq!(headers[X_TC_LANGUAGE], "en-US");
                assert_eq!(headers.contains_key(X_TC_REGION), region);
                assert_eq!(headers.contains_key(X_TC_TOKEN), token);
                assert_eq!(headers.len(), 9 + usize::from(region) + usize::from(token));
            }
        }
        let plain = HeaderTemplates::new(&HeaderValue::from_static("sdk/1"), None);
        assert!(!plain.headers(true, false).contains_key(X_TC_LANGUAGE));
    }

    fn endpoint() -> Endpoint {
        Endpoint::Public {
            root_domain: "tencentcloudapi.com".into(),
            regional: true,
        }
    }

    fn date(timestamp: u64) -> UtcDate {
        UtcDate::from_unix(timestamp).unwrap()
    }

    #[test]
    fn a_timestamp_the_signer_cannot_date_is_refused() {
        let cache = WireCache::default();
        let credentials = Credentials::new("AKID", "key");
        let refused = cache.prepare(&endpoint(), "cbs", None, &credentials, u64::MAX);
        assert!(matches!(refused, Err(Unsendable::Timestamp(_))));
    }

    #[test]
    fn a_route_follows_the_service_and_region_asked_for() {
        let cache = WireCache::default();
        let credentials = Credentials::new("AKID", "key");
        let t = 1_700_000_000;
        for (service, region, host) in [
            (
                "cbs",
                Some("ap-guangzhou"),
                "cbs.ap-guangzhou.tencentcloudapi.com",
            ),
            (
                "cbs",
                Some("ap-guangzhou"),
                "cbs.ap-guangzhou.tencentcloudapi.com",
            ),
            (
                "cbs",
                Some("ap-beijing"),
                "cbs.ap-beijing.tencentcloudapi.com",
            ),
            (
                "cvm",
                Some("ap-beijing"),
                "cvm.ap-beijing.tencentcloudapi.com",
            ),
            ("cvm", None, "cvm.tencentcloudapi.com"),
        ] {
            let prepared = cache
                .prepare(&endpoint(), service, region, &credentials, t)
                .unwrap();
            assert_eq!(prepared.route.host(), host);
            assert_eq!(prepared.route.uri.to_string(), format!("https://{host}/"));
            assert_eq!(
                prepared.route.region.as_ref().map(|v| v.to_str().unwrap()),
                region
            );
        }
    }

    #[test]
    fn the_timestamp_and_key_follow_the_clock_and_credentials() {
        let cache = WireCache::default();
        let first = Credentials::new("AKID", "key");
        let second = Credentials::new("AKID", "other key");
        let prepare = |credentials: &Credentials, t: u64| {
            cache
                .prepare(&endpoint(), "cbs", None, credentials, t)
                .unwrap()
        };
        let a = prepare(&first, 1_700_000_000);
        let b = prepare(&first, 1_700_000_000);
        assert_eq!(a.timestamp, "1700000000");
        assert!(Arc::ptr_eq(&a.key, &b.key), "same day, same credentials");
        let c = prepare(&first, 1_700_000_001);
        assert_eq!(c.timestamp, "1700000001");
        assert!(Arc::ptr_eq(&a.key, &c.key));
        let next_day = prepare(&first, 1_700_000_000 + 86_400);
        assert!(!Arc::ptr_eq(&a.key, &next_day.key));
        assert_eq!(next_day.key.date(), date(1_700_000_000 + 86_400));
        let rotated = prepare(&second, 1_700_000_000 + 86_400);
        assert!(!Arc::ptr_eq(&next_day.key, &rotated.key));
        assert_eq!(
            rotated.key.signature_hex("text"),
            SigningKey::derive("other key", date(1_700_086_400), "cbs").signature_hex("text")
        );
    }

    #[test]
    fn text_that_cannot_be_a_header_is_refused() {
        let cache = WireCache::default();
        let credentials = Credentials::new("AKID", "key");
        let t = 1_700_000_000;
        assert_eq!(
            cache
                .prepare(&endpoint(), "cbs", Some("ap\nx"), &credentials, t)
                .err(),
            Some(Unsendable::Endpoint)
        );
        let custom = Endpoint::Custom {
            scheme: "http".into(),
            host: "127.0.0.1:9".into(),
        };
        assert_eq!(
            cache
                .prepare(&custom, "cbs", Some("ap\nx"), &credentials, t)
                .err(),
            Some(Unsendable::Region)
        );
    }
}
