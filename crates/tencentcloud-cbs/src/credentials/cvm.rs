//! Credentials of the CAM role bound to a CVM instance, from the instance metadata
//! service.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use cbs_transport::{
    BoxFuture, HyperTransport, ProxyConfig, SharedTransport, Transport, TransportErrorKind,
};
use serde::Deserialize;

use super::{Credentials, CredentialsError, ProvideCredentials};

const SOURCE: &str = "cvm-role";
/// The metadata service every CVM instance can reach.
pub const DEFAULT_METADATA_ENDPOINT: &str = "http://metadata.tencentyun.com";
const CREDENTIALS_PATH: &str = "/latest/meta-data/cam/security-credentials/";

/// Fetches the instance role's temporary credentials from the metadata service, with a
/// 1 s connect and 2 s total timeout per request. Wrap it in a
/// [`CachingProvider`](super::CachingProvider) (the default chain does).
///
/// Not on a CVM instance (the metadata host cannot be reached) or no role bound (404):
/// "not found", so a chain moves on. The endpoint comes from
/// `TENCENTCLOUD_METADATA_ENDPOINT` when set, so tests and proxies can point it elsewhere.
#[derive(Clone, Debug)]
pub struct CvmRoleProvider {
    endpoint: String,
    role: Option<String>,
    transport: SharedTransport,
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

impl CvmRoleProvider {
    /// A provider for the metadata endpoint the environment names, or the default one.
    pub fn new() -> Result<Self, CredentialsError> {
        let endpoint = std::env::var("TENCENTCLOUD_METADATA_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| DEFAULT_METADATA_ENDPOINT.to_owned());
        Self::with_endpoint(endpoint)
    }

    /// A provider for the metadata service at `endpoint` (`http://host[:port]`).
    pub fn with_endpoint(endpoint: impl Into<String>) -> Result<Self, CredentialsError> {
        let transport = HyperTransport::builder()
            .allow_http(true)
            .proxy(ProxyConfig::none())
            .connect_timeout(Duration::from_secs(1))
            .request_timeout(Duration::from_secs(2))
            .max_response_bytes(64 * 1024)
            .build()
            .map_err(|e| CredentialsError::provider(SOURCE, "cannot set up HTTP", e))?;
        Ok(CvmRoleProvider {
            endpoint: endpoint.into().trim_end_matches('/').to_owned(),
            role: None,
            transport: SharedTransport::new(transport),
        })
    }

    /// Uses this role instead of asking the metadata service which one is bound.
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
        self
    }

    /// Sends the metadata requests with `transport`.
    pub fn transport(mut self, transport: impl Transport) -> Self {
        self.transport = SharedTransport::new(transport);
        self
    }

    async fn get(&self, path: &str) -> Result<Bytes, CredentialsError> {
        let url = format!("{}{path}", self.endpoint);
        let request = http::Request::get(&url).body(Bytes::new()).map_err(|e| {
            CredentialsError::invalid(SOURCE, format!("bad metadata URL {url}: {e}"))
        })?;
        let response = self
            .transport
            .send(request)
            .await
            .map_err(|e| match e.kind() {
                TransportErrorKind::Connect => CredentialsError::not_found(
                    SOURCE,
                    "the instance metadata service is not reachable (not a CVM instance)",
                ),
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

    async fn fetch(&self) -> Result<Credentials, CredentialsError> {
        let role = match &self.role {
            Some(role) => role.clone(),
            None => {
                let body = self.get(CREDENTIALS_PATH).await?;
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
        let body = self.get(&format!("{CREDENTIALS_PATH}{role}")).await?;
        let parsed: RoleCredentials = serde_json::from_slice(&body).map_err(|e| {
            CredentialsError::invalid(
                SOURCE,
                format!("the role credentials are not valid JSON: {e}"),
            )
        })?;
        if parsed.code.as_deref().is_some_and(|c| c != "Success") {
            return Err(CredentialsError::invalid(
                SOURCE,
                "the metadata service did not return credentials",
            ));
        }
        let expires = UNIX_EPOCH + Duration::from_secs(parsed.expired_time);
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
    fn provide_credentials(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        Box::pin(self.fetch())
    }
}
