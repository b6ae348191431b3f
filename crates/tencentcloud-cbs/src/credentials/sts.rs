//! Temporary credentials from STS: reading its answers (shared with
//! [`AssumeRoleProvider`](crate::AssumeRoleProvider)), and `AssumeRoleWithWebIdentity`
//! (TKE OIDC, unsigned).
//!
//! STS answers carry secret keys and tokens, so nothing of an answer's body reaches an
//! error or a log: not in the client's own decode errors (its calls are marked
//! sensitive) and not in the errors here (see [`describe_json_error`]).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use cbs_transport::{BoxFuture, Transport};
use serde::Deserialize;
use serde_json::json;

use super::{
    Credentials, CredentialsError, ProvideCredentials, ProviderContext, describe_json_error,
};

/// The STS API version these providers call.
pub const STS_VERSION: &str = "2018-08-13";
/// The longest session STS grants, in seconds.
pub const MAX_DURATION_SECS: u64 = 43_200;
/// Where STS answers, unless told otherwise.
pub(crate) const STS_ENDPOINT: &str = "https://sts.tencentcloudapi.com";

#[derive(Deserialize)]
pub(crate) struct StsOutput {
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

/// Reads an STS output, saying what is wrong without quoting any of it.
pub(crate) fn read_output(
    source: &'static str,
    action: &str,
    parsed: Result<StsOutput, serde_json::Error>,
) -> Result<Credentials, CredentialsError> {
    let output = parsed.map_err(|e| {
        CredentialsError::invalid(
            source,
            format!(
                "the {action} answer is unreadable: {}",
                describe_json_error(&e)
            ),
        )
    })?;
    let expires = UNIX_EPOCH
        .checked_add(Duration::from_secs(output.expired_time))
        .ok_or_else(|| {
            CredentialsError::invalid(source, format!("the {action} expiry is out of range"))
        })?;
    Ok(
        Credentials::new(output.credentials.secret_id, output.credentials.secret_key)
            .with_token(output.credentials.token, Some(expires))
            .with_source(source),
    )
}

pub(crate) fn check_duration(source: &'static str, secs: u64) -> Result<u64, CredentialsError> {
    if (1..=MAX_DURATION_SECS).contains(&secs) {
        Ok(secs)
    } else {
        Err(CredentialsError::invalid(
            source,
            format!("the session duration must be 1..={MAX_DURATION_SECS} seconds, not {secs}"),
        ))
    }
}

const OIDC: &str = "tke-oidc";

/// TKE workload identity: exchanges the pod's OIDC token (re-read from
/// `TKE_WEB_IDENTITY_TOKEN_FILE` at every refresh) for role credentials with
/// `AssumeRoleWithWebIdentity`, which is sent unsigned, on the asking client's
/// transport. Configured by `TKE_REGION`, `TKE_PROVIDER_ID`,
/// `TKE_WEB_IDENTITY_TOKEN_FILE` and `TKE_ROLE_ARN`; without them, "not found".
#[derive(Debug)]
pub struct OidcProvider {
    config: Option<OidcConfig>,
    endpoint: String,
    session_name: String,
    duration_secs: u64,
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
            endpoint: STS_ENDPOINT.to_owned(),
            session_name: format!("tencentcloud-cbs-rs-{}", std::process::id()),
            duration_secs: 7200,
        }
    }

    /// Calls STS at this base URL (plain `http` only on loopback, for tests).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = url.into().trim_end_matches('/').to_owned();
        self
    }

    /// How long the credentials last, up to 43200 s (default 7200).
    pub fn duration_secs(mut self, secs: u64) -> Self {
        self.duration_secs = secs;
        self
    }

    async fn fetch(&self, context: &ProviderContext) -> Result<Credentials, CredentialsError> {
        let config = self.config.as_ref().ok_or_else(|| {
            CredentialsError::not_found(OIDC, "TKE_REGION, TKE_PROVIDER_ID, TKE_WEB_IDENTITY_TOKEN_FILE and TKE_ROLE_ARN are not all set")
        })?;
        let duration_secs = check_duration(OIDC, self.duration_secs)?;
        let endpoint = crate::endpoint::parse(&self.endpoint, false).map_err(|e| {
            CredentialsError::invalid(OIDC, format!("the STS endpoint is unusable: {e}"))
        })?;
        let (scheme, host) = endpoint.locate("sts", None);
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
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let request = http::Request::post(format!("{scheme}://{host}/"))
            .header("content-type", "application/json")
            .header("host", host.as_ref())
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
        let response =
            context.transport().send(request).await.map_err(|e| {
                CredentialsError::provider(OIDC, "AssumeRoleWithWebIdentity failed", e)
            })?;
        let parsed: Result<serde_json::Value, _> = serde_json::from_slice(response.body());
        let envelope = parsed.map_err(|e| {
            CredentialsError::invalid(
                OIDC,
                format!(
                    "the AssumeRoleWithWebIdentity answer (HTTP {}) is unreadable: {}",
                    response.status().as_u16(),
                    describe_json_error(&e)
                ),
            )
        })?;
        let mut answer = envelope
            .get("Response")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        if let Some(error) = answer.get("Error") {
            let code = error.get("Code").and_then(|c| c.as_str()).unwrap_or("");
            let message = error.get("Message").and_then(|c| c.as_str()).unwrap_or("");
            let request_id = answer
                .get("RequestId")
                .and_then(|c| c.as_str())
                .unwrap_or("");
            return Err(CredentialsError::provider(
                OIDC,
                "AssumeRoleWithWebIdentity was refused",
                cbs_model::ApiError::new(cbs_model::ErrorCode::parse(code), message, request_id),
            ));
        }
        read_output(
            OIDC,
            "AssumeRoleWithWebIdentity",
            serde_json::from_value(answer.take()),
        )
    }
}

impl ProvideCredentials for OidcProvider {
    fn provide_credentials<'a>(
        &'a self,
        context: &'a ProviderContext,
    ) -> BoxFuture<'a, Result<Credentials, CredentialsError>> {
        Box::pin(self.fetch(context))
    }
}
