//! The credentials the emulator accepts, and the account each belongs to.

use std::collections::HashMap;

use tc3_sign::Credentials;

/// One accepted credential.
#[derive(Debug)]
struct Entry {
    credentials: Credentials,
    /// For temporary credentials, when they stop working (Unix seconds).
    expires_unix: Option<u64>,
    /// The account (UIN) requests signed with it act as.
    account: String,
}

/// Secret ids with their credentials, expiry and account.
#[derive(Debug, Default)]
pub(crate) struct CredentialStore {
    entries: HashMap<String, Entry>,
}

impl CredentialStore {
    pub(crate) fn add(
        &mut self,
        credentials: Credentials,
        expires_unix: Option<u64>,
        account: impl Into<String>,
    ) {
        self.entries.insert(
            credentials.secret_id().to_owned(),
            Entry {
                credentials,
                expires_unix,
                account: account.into(),
            },
        );
    }

    pub(crate) fn get(&self, secret_id: &str) -> Option<&Credentials> {
        self.entries.get(secret_id).map(|e| &e.credentials)
    }

    /// The account `secret_id` belongs to.
    pub(crate) fn account(&self, secret_id: &str) -> Option<&str> {
        self.entries.get(secret_id).map(|e| e.account.as_str())
    }

    /// Whether temporary credentials for `secret_id` have expired at `now`.
    pub(crate) fn expired(&self, secret_id: &str, now: u64) -> bool {
        self.entries
            .get(secret_id)
            .and_then(|e| e.expires_unix)
            .is_some_and(|expiry| now >= expiry)
    }
}
