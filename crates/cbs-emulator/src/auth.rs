//! The credentials the emulator accepts.

use std::collections::HashMap;

use tc3_sign::Credentials;

/// Secret ids with their credentials and, for temporary ones, an expiry.
#[derive(Debug, Default)]
pub(crate) struct CredentialStore {
    entries: HashMap<String, (Credentials, Option<u64>)>,
}

impl CredentialStore {
    pub(crate) fn add(&mut self, credentials: Credentials, expires_unix: Option<u64>) {
        self.entries.insert(
            credentials.secret_id().to_owned(),
            (credentials, expires_unix),
        );
    }

    pub(crate) fn get(&self, secret_id: &str) -> Option<&Credentials> {
        self.entries.get(secret_id).map(|(c, _)| c)
    }

    /// Whether temporary credentials for `secret_id` have expired at `now`.
    pub(crate) fn expired(&self, secret_id: &str, now: u64) -> bool {
        self.entries
            .get(secret_id)
            .and_then(|(_, expiry)| *expiry)
            .is_some_and(|expiry| now >= expiry)
    }
}
