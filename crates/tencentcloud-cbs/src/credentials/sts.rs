//! Temporary credentials from STS: `AssumeRole` (signed with source credentials) and
//! `AssumeRoleWithWebIdentity` (TKE OIDC, unsigned).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use cbs_transport::{BoxFuture, HyperTransport, SharedTransport, Transport};
use serde::Deserialize;
use serde_json::json;

use super::{Credentials, CredentialsError, ProvideCredentials};
use crate::Client;

/// The STS API version these providers call.
pub const STS_VERSION: &str = "2018-08-13";
/// The longest session STS grants, in seconds.
pub const MAX_DURATION_SECS: u64 = 43_200;

#[derive(Deserialize)]
struct StsOutput {
    #[serde(rename = "Credentials")]
    credentials: StsCredentials,
    #[serde(rename = "ExpiredTime")]
    expired_time: u64,
}

#[derive(Deserialize)]
struct StsCredentials {
    #[serde(rename = "Token")]
    token: String,
    #[serde(rename = "TmpSecretId")]
    secret_id: String,
    #[serde(rename = "TmpSecretKey")]
    secret_key: String,
}

impl StsOutput {
    fn into_credentials(self, source: &'static str) -> Credentials {
        Credentials::new(self.credentials.secret_id, self.credentials.secret_key)
            .with_token(
                self.credentials.token,
                Some(UNIX_EPOCH + Duration::from_secs(self.expired_time)),
            )
            .with_source(source)
    }
}

fn check_duration(source: &'static str, secs: u64) -> Result<u64, CredentialsError> {
    if (1..=MAX_DURATION_SECS).contains(&secs) {
        Ok(secs)
    } else {
        Err(CredentialsError::invalid(
            source,
            format!("the session duration must be 1..={MAX_DURATION_SECS} seconds, not {secs}"),
        ))
    }
}

const ASSUME_ROLE: &str = "assume-role";

/// Assumes a CAM role with `AssumeRole`, signing with source credentials, and returns
/// the role's temporary credentials. Wrap it in a
/// [`CachingProvider`](super::CachingProvider) to reuse them until they near expiry.
///
/// ```no_run
/// use tencentcloud_cbs::{AssumeRoleProvider, CachingProvider, Client, Credentials};
/// let role = AssumeRoleProvider::builder(
///     Credentials::new("AKID…", "…"),
///     "qcs::cam::uin/100000000001:roleName/dr-operator",
///     "snapshot-replication",
/// )
/// .region("ap-guangzhou")
/// .duration_secs(3600)
/// .build()?;
/// let client = Client::builder().credentials_provider(CachingProvider::new(role)).build();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AssumeRoleProvider {
    client: Client,
    role_arn: String,
    session_name: String,
    duration_secs: u64,
}

/// Settings for an [`AssumeRoleProvider`].
#[derive(Debug)]
pub struct AssumeRoleBuilder {
    source: std::sync::Arc<dyn ProvideCredentials>,
    role_arn: String,
    session_name: String,
    region: String,
    duration_secs: u64,
    endpoint: Option<String>,
}

impl AssumeRoleProvider {
    /// Assumes `role_arn` as `session_name`, signing with `source`.
    pub fn builder(
        source: impl ProvideCredentials,
        role_arn: impl Into<String>,
        session_name: impl Into<String>,
    ) -> AssumeRoleBuilder {
        AssumeRoleBuilder {
            source: std::sync::Arc::new(source),
            role_arn: role_arn.into(),
            session_name: session_name.into(),
            region: "ap-guangzhou".to_owned(),
            duration_secs: 7200,
            endpoint: None,
        }
    }

    async fn fetch(&self) -> Result<Credentials, CredentialsError> {
        let body = json!({
            "RoleArn": self.role_arn,
            "RoleSessionName": self.session_name,
            "DurationSeconds": self.duration_secs,
        });
        let output = self
            .client
            .call_json("sts", STS_VERSION, "AssumeRole", None, body)
            .await
            .map_err(|e| CredentialsError::provider(ASSUME_ROLE, "AssumeRole failed", e))?;
        let parsed: StsOutput = serde_json::from_value(output).map_err(|e| {
            CredentialsError::invalid(
                ASSUME_ROLE,
                format!("the AssumeRole answer has no credentials: {e}"),
            )
        })?;
        Ok(parsed.into_credentials(ASSUME_ROLE))
    }
}

impl AssumeRoleBuilder {
    /// The STS region (default `ap-guangzhou`).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// How long the credentials last, up to 43200 s (default 7200).
    pub fn duration_secs(mut self, secs: u64) -> Self {
        self.duration_secs = secs;
        self
    }

    /// Calls STS at this base URL instead of `https://sts.tencentcloudapi.com`.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Builds the provider.
    pub fn build(self) -> Result<AssumeRoleProvider, CredentialsError> {
        let duration_secs = check_duration(ASSUME_ROLE, self.duration_secs)?;
        if self.role_arn.is_empty() || self.session_name.is_empty() {
            return Err(CredentialsError::invalid(
                ASSUME_ROLE,
                "the role ARN and session name must not be empty",
            ));
        }
        let mut builder = Client::builder()
            .region(self.region)
            .credentials_provider(self.source)
            .rate_limit(crate::RateLimitConfig::none());
        if let Some(endpoint) = self.endpoint {
            builder = builder.endpoint(endpoint);
        }
        let client = builder.build().map_err(|e| {
            CredentialsError::provider(ASSUME_ROLE, "cannot build the STS client", e)
        })?;
        Ok(AssumeRoleProvider {
            client,
            role_arn: self.role_arn,
            session_name: self.session_name,
            duration_secs,
        })
    }
}

impl ProvideCredentials for AssumeRoleProvider {
    fn provide_credentials(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        Box::pin(self.fetch())
    }
}

const OIDC: &str = "tke-oidc";

/// TKE workload identity: exchanges the pod's OIDC token (re-read from
/// `TKE_WEB_IDENTITY_TOKEN_FILE` at every refresh) for role credentials with
/// `AssumeRoleWithWebIdentity`, which is sent unsigned. Configured by `TKE_REGION`,
/// `TKE_PROVIDER_ID`, `TKE_WEB_IDENTITY_TOKEN_FILE` and `TKE_ROLE_ARN`; without them,
/// "not found".
#[derive(Debug)]
pub struct OidcProvider {
    config: Option<OidcConfig>,
    endpoint: String,
    session_name: String,
    duration_secs: u64,
    transport: Result<SharedTransport, String>,
}

#[derive(Clone, Debug)]
struct OidcConfig {
    region: String,
    provider_id: String,
    token_file: PathBuf,
    role_arn: String,
}

impl OidcProvider {
    /// Configured from the `TKE_*` environment variables.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Configured from variables given by `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let config = match (
            get("TKE_REGION"),
            get("TKE_PROVIDER_ID"),
            get("TKE_WEB_IDENTITY_TOKEN_FILE"),
            get("TKE_ROLE_ARN"),
        ) {
            (Some(region), Some(provider_id), Some(file), Some(role_arn)) => Some(OidcConfig {
                region,
                provider_id,
                token_file: PathBuf::from(file),
                role_arn,
            }),
            _ => None,
        };
        OidcProvider {
            config,
            endpoint: "https://sts.tencentcloudapi.com".to_owned(),
            session_name: format!("tencentcloud-cbs-rs-{}", std::process::id()),
            duration_secs: 7200,
            transport: HyperTransport::builder()
                .connect_timeout(Duration::from_secs(5))
                .request_timeout(Duration::from_secs(10))
                .build()
                .map(SharedTransport::new)
                .map_err(|e| e.to_string()),
        }
    }

    /// Calls STS at this base URL (plain `http` allowed, for tests on loopback).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        let url = url.into();
        if url.starts_with("http://") {
            self.transport = HyperTransport::builder()
                .allow_http(true)
                .proxy(cbs_transport::ProxyConfig::none())
                .build()
                .map(SharedTransport::new)
                .map_err(|e| e.to_string());
        }
        self.endpoint = url.trim_end_matches('/').to_owned();
        self
    }

    /// How long the credentials last, up to 43200 s (default 7200).
    pub fn duration_secs(mut self, secs: u64) -> Self {
        self.duration_secs = secs;
        self
    }

    async fn fetch(&self) -> Result<Credentials, CredentialsError> {
        let config = self.config.as_ref().ok_or_else(|| {
            CredentialsError::not_found(OIDC, "TKE_REGION, TKE_PROVIDER_ID, TKE_WEB_IDENTITY_TOKEN_FILE and TKE_ROLE_ARN are not all set")
        })?;
        let duration_secs = check_duration(OIDC, self.duration_secs)?;
        let transport = self
            .transport
            .as_ref()
            .map_err(|e| CredentialsError::invalid(OIDC, format!("cannot set up HTTP: {e}")))?;
        let token = std::fs::read_to_string(&config.token_file).map_err(|e| {
            CredentialsError::invalid(
                OIDC,
                format!(
                    "cannot read the web identity token file {}: {e}",
                    config.token_file.display()
                ),
            )
        })?;
        let body = json!({
            "ProviderId": config.provider_id,
            "WebIdentityToken": token.trim(),
            "RoleArn": config.role_arn,
            "RoleSessionName": self.session_name,
            "DurationSeconds": duration_secs,
        });
        let uri: http::Uri = format!("{}/", self.endpoint)
            .parse()
            .map_err(|e| CredentialsError::invalid(OIDC, format!("bad STS endpoint: {e}")))?;
        let host = uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let request = http::Request::post(uri)
            .header("content-type", "application/json")
            .header("host", host)
            .header("x-tc-action", "AssumeRoleWithWebIdentity")
            .header("x-tc-version", STS_VERSION)
            .header("x-tc-region", &config.region)
            .header("x-tc-timestamp", now)
            // This action is authenticated by the token in the body, not a signature.
            .header("authorization", "SKIP")
            .body(Bytes::from(body.to_string()))
            .map_err(|e| {
                CredentialsError::invalid(OIDC, format!("cannot build the request: {e}"))
            })?;
        let response = transport
            .send(request)
            .await
            .map_err(|e| CredentialsError::provider(OIDC, "AssumeRoleWithWebIdentity failed", e))?;
        match cbs_model::parse_response::<StsOutput>(response.body()) {
            Ok(Ok(output)) => Ok(output.into_credentials(OIDC)),
            Ok(Err(api)) => Err(CredentialsError::provider(
                OIDC,
                "AssumeRoleWithWebIdentity was refused",
                api,
            )),
            Err(decode) => Err(CredentialsError::provider(
                OIDC,
                "the AssumeRoleWithWebIdentity answer is unreadable",
                decode,
            )),
        }
    }
}

impl ProvideCredentials for OidcProvider {
    fn provide_credentials(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        Box::pin(self.fetch())
    }
}
