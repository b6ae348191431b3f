//! Trying credential sources in order.

use cbs_transport::BoxFuture;

use super::{
    CachingProvider, Credentials, CredentialsError, CredentialsErrorKind, CvmRoleProvider,
    EnvProvider, OidcProvider, ProfileProvider, ProvideCredentials, ProviderContext,
};

/// Asks providers in order and uses the first that has credentials.
///
/// It moves on only when a provider says "not configured here" ("not found"); a provider
/// that is configured but fails ends the search with its error, so a broken profile file
/// is reported rather than silently skipped. When no provider has credentials, the error
/// lists every source tried and why.
#[derive(Debug)]
pub struct ChainProvider {
    providers: Vec<(&'static str, Box<dyn ProvideCredentials>)>,
}

impl ChainProvider {
    /// An empty chain; add providers with [`push`](Self::push).
    pub fn new() -> Self {
        ChainProvider {
            providers: Vec::new(),
        }
    }

    /// Adds a provider at the end, named for error messages.
    pub fn push(mut self, name: &'static str, provider: impl ProvideCredentials) -> Self {
        self.providers.push((name, Box::new(provider)));
        self
    }

    /// The default chain: environment (read at every call), profile file (read once,
    /// and again after the service rejects a session token), CVM instance role and TKE
    /// OIDC (cached until 5 minutes before expiry). Building it reads settings only:
    /// the providers that fetch over HTTP use the calling client's transport, when they
    /// are reached.
    pub fn default_chain() -> Self {
        ChainProvider::new()
            .push("environment", EnvProvider)
            .push("profile", CachingProvider::new(ProfileProvider::from_env()))
            .push("cvm-role", CachingProvider::new(CvmRoleProvider::new()))
            .push("tke-oidc", CachingProvider::new(OidcProvider::from_env()))
    }
}

impl Default for ChainProvider {
    fn default() -> Self {
        Self::default_chain()
    }
}

impl ProvideCredentials for ChainProvider {
    fn provide_credentials<'a>(
        &'a self,
        context: &'a ProviderContext,
    ) -> BoxFuture<'a, Result<Credentials, CredentialsError>> {
        Box::pin(async move {
            let mut search = Search::default();
            for (name, provider) in &self.providers {
                let result = provider.provide_credentials(context).await;
                if let Some(found) = search.consider(name, result) {
                    return found;
                }
            }
            Err(search.nothing_found())
        })
    }

    fn invalidate(&self) {
        for (_, provider) in self.providers.iter() {
            provider.invalidate();
        }
    }
}

/// The sources tried so far and why each had nothing.
#[derive(Default)]
struct Search {
    tried: Vec<String>,
}

impl Search {
    /// The chain's answer if `result` ends the search; `None` to go on to the next
    /// provider.
    fn consider(
        &mut self,
        name: &str,
        result: Result<Credentials, CredentialsError>,
    ) -> Option<Result<Credentials, CredentialsError>> {
        match result {
            Err(e) if e.kind() == CredentialsErrorKind::NotFound => {
                self.tried.push(format!("{name}: {}", e.message()));
                None
            }
            ended => Some(ended),
        }
    }

    fn nothing_found(self) -> CredentialsError {
        CredentialsError::not_found(
            "default chain",
            format!(
                "no credentials found; tried {}",
                if self.tried.is_empty() {
                    "nothing".to_owned()
                } else {
                    self.tried.join("; ")
                }
            ),
        )
    }
}
