//! `AssumeRole`: a CAM role's temporary credentials, asked of STS with source
//! credentials by a client of its own on the asking client's transport.

use std::sync::Arc;

use cbs_transport::BoxFuture;
use serde_json::json;

use crate::Client;
use crate::credentials::sts::{STS_ENDPOINT, STS_VERSION, check_duration, read_output};
use crate::credentials::{Credentials, CredentialsError, ProvideCredentials, ProviderContext};

const ASSUME_ROLE: &str = "assume-role";

/// Assumes a CAM role with `AssumeRole`, signing with source credentials, and returns
/// the role's temporary credentials. Wrap it in a
/// [`CachingProvider`](super::CachingProvider) to reuse them until they near expiry.
///
/// The STS calls go out on the transport of the client that asks.
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
    source: Arc<dyn ProvideCredentials>,
    role_arn: String,
    session_name: String,
    region: String,
    duration_secs: u64,
    endpoint: String,
}

/// Settings for an [`AssumeRoleProvider`].
#[derive(Debug)]
pub struct AssumeRoleBuilder {
    source: Arc<dyn ProvideCredentials>,
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
            source: Arc::new(source),
            role_arn: role_arn.into(),
            session_name: session_name.into(),
            region: "ap-guangzhou".to_owned(),
            duration_secs: 7200,
            endpoint: None,
        }
    }

    /// A client for STS on the asking client's transport, signing with the source
    /// credentials.
    fn sts_client(&self, context: &ProviderContext) -> Result<Client, CredentialsError> {
        Client::builder()
            .region(self.region.clone())
            .endpoint(self.endpoint.clone())
            .credentials_provider(self.source.clone())
            .rate_limit(crate::RateLimitConfig::none())
            .shared_transport(context.transport().clone())
            .build()
            .map_err(|e| CredentialsError::provider(ASSUME_ROLE, "cannot build the STS client", e))
    }

    async fn fetch(&self, context: &ProviderContext) -> Result<Credentials, CredentialsError> {
        let body = json!({
            "RoleArn": self.role_arn,
            "RoleSessionName": self.session_name,
            "DurationSeconds": self.duration_secs,
        });
        let output = self
            .sts_client(context)?
            .call_json_sensitive("sts", STS_VERSION, "AssumeRole", body)
            .await
            .map_err(|e| CredentialsError::provider(ASSUME_ROLE, "AssumeRole failed", e))?;
        read_output(ASSUME_ROLE, "AssumeRole", serde_json::from_value(output))
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
        let endpoint = self.endpoint.unwrap_or_else(|| STS_ENDPOINT.to_owned());
        crate::endpoint::parse(&endpoint, false).map_err(|e| {
            CredentialsError::invalid(ASSUME_ROLE, format!("the STS endpoint is unusable: {e}"))
        })?;
        Ok(AssumeRoleProvider {
            source: self.source,
            role_arn: self.role_arn,
            session_name: self.session_name,
            region: self.region,
            duration_secs,
            endpoint,
        })
    }
}

impl ProvideCredentials for AssumeRoleProvider {
    fn provide_credentials<'a>(
        &'a self,
        context: &'a ProviderContext,
    ) -> BoxFuture<'a, Result<Credentials, CredentialsError>> {
        Box::pin(self.fetch(context))
    }
}
