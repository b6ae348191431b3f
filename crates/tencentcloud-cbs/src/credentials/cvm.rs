//! Credentials of the CAM role bound to a CVM instance, from the instance metadata
//! service.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use cbs_transport::{BoxFuture, Transport, TransportErrorKind};
use serde::Deserialize;

use super::{Credentials, CredentialsError, ProvideCredentials, ProviderContext};

const SOURCE: &str = "cvm-role";
/// The metadata service every CVM instance can reach.
pub const DEFAULT_METADATA_ENDPOINT: &str = "http://metadata.tencentyun.com";
/// The metadata service's host, which the default transport never sends through a proxy.
#[cfg(feature = "hyper")]
pub(crate) const METADATA_HOST: &str = "metadata.tencentyun.com";
const CREDENTIALS_PATH: &str = "/latest/meta-data/cam/security-credentials/";
/// How long one metadata request may take: the service answers in milliseconds on an
/// instance, and anywhere else the chain should move on quickly.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// Fetches the instance role's temporary credentials from the metadata service, with the
/// calling client's transport and 2 s per request. Wrap it in a
/// [`CachingProvider`](super::CachingProvider) (the default chain does).
///
/// Not on a CVM instance (the metadata host cannot be reached or does not answer in
/// time) or no role bound (404): "not found", so a chain moves on. The endpoint comes
/// from `TENCENTCLOUD_METADATA_ENDPOINT` when set, so tests and proxies can point it
/// elsewhere.
#[derive(Clone, Debug)]
pub struct CvmRoleProvider {
    endpoint: String,
    role: Option<String>,
}

#[derive(Deserialize)]
struct RoleCredentials {
    #[serde(rename = "TmpSecretId")]
    secret_id: String,
    #[serde(rename = "TmpSecretKey")]
    secret_key: String,
    #[serde(rename = "Token")]
    token: String,
    #[serde(rename = "ExpiredTime")]
    expired_time: u64,
    #[serde(rename = "Code", default)]
    code: Option<String>,
}

impl Default for CvmRoleProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl CvmRoleProvider {
    /// A provider for the metadata endpoint the environment names, or the default one.
    pub fn new() -> Self {
        let endpoint = std::env::var("TENCENTCLOUD_METADATA_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| DEFAULT_METADATA_ENDPOINT.to_owned());
        Self::with_endpoint(endpoint)
    }

    /// A provider for the metadata service at `endpoint` (`http://host[:port]`).
    pub fn with_endpoint(endpoint: impl Into<String>) -> Self {
        CvmRoleProvider {
            endpoint: endpoint.into().trim_end_matches('/').to_owned(),
            role: None,
        }
    }

    /// Uses this role instead of asking the metadata service which one is bound.
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
        self
    }

    async fn get(&self, transport: &dyn Transport, path: &str) -> Result<Bytes, CredentialsError> {
        let url = format!("{}{path}", self.endpoint);
        let request = http::Request::get(&url).body(Bytes::new()).map_err(|e| {
            CredentialsError::invalid(SOURCE, format!("bad metadata URL {url}: {e}"))
        })?;
        let not_here = || {
            CredentialsError::not_found(
                SOURCE,
                "the instance metadata service is not reachable (not a CVM instance)",
            )
        };
        let response = tokio::time::timeout(REQUEST_TIMEOUT, transport.send(request))
            .await
            .map_err(|_| not_here())?
            .map_err(|e| match e.kind() {
                TransportErrorKind::Connect => not_here(),
                _ => CredentialsError::provider(SOURCE, "the instance metadata request failed", e),
            })?;
        match response.status().as_u16() {
            200 => Ok(response.into_body()),
            404 => Err(CredentialsError::not_found(
                SOURCE,
                "no CAM role is bound to this instance",
            )),
            status => Err(CredentialsError::invalid(
                SOURCE,
                format!("the metadata service answered HTTP {status}"),
            )),
        }
    }

    async fn fetch(&self, context: &ProviderContext) -> Result<Credentials, CredentialsError> {
        let transport = context.transport();
        let role = match &self.role {
            Some(role) => role.clone(),
            None => {
                let body = self.get(transport, CREDENTIALS_PATH).await?;
                let text = String::from_utf8_lossy(&body);
                let role = text
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .unwrap_or_default()
                    .to_owned();
                if role.is_empty() {
                    return Err(CredentialsError::not_found(
                        SOURCE,
                        "no CAM role is bound to this instance",
                    ));
                }
                role
            }
        };
        if !role
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.+=,@".contains(&b))
        {
            return Err(CredentialsError::invalid(
                SOURCE,
                "the metadata service named an invalid role",
            ));
        }
        let body = self
            .get(transport, &format!("{CREDENTIALS_PATH}{role}"))
            .await?;
        let parsed: RoleCredentials = serde_json::from_slice(&body).map_err(|e| {
            CredentialsError::invalid(
                SOURCE,
                format!(
                    "the role credentials are unreadable: {}",
                    super::describe_json_error(&e)
                ),
            )
        })?;
        if parsed.code.as_deref().is_some_and(|c| c != "Success") {
            return Err(CredentialsError::invalid(
                SOURCE,
                "the metadata service did not return credentials",
            ));
        }
        let expires = UNIX_EPOCH
            .checked_add(Duration::from_secs(parsed.expired_time))
            .ok_or_else(|| CredentialsError::invalid(SOURCE, "the expiry time is out of range"))?;
        if expires <= SystemTime::now() {
            return Err(CredentialsError::invalid(
                SOURCE,
                "the metadata service returned expired credentials",
            ));
        }
        Ok(Credentials::new(parsed.secret_id, parsed.secret_key)
            .with_token(parsed.token, Some(expires))
            .with_source(SOURCE))
    }
}

impl ProvideCredentials for CvmRoleProvider {
    fn provide_credentials<'a>(
        &'a self,
        context: &'a ProviderContext,
    ) -> BoxFuture<'a, Result<Credentials, CredentialsError>> {
        Box::pin(self.fetch(context))
    }
}
