//! Credentials from an INI file: `[default]` or a named profile with `secret_id`,
//! `secret_key` and an optional `token`.

use std::path::{Path, PathBuf};

use cbs_transport::BoxFuture;

use super::{Credentials, CredentialsError, ProvideCredentials};

const SOURCE: &str = "profile";

/// Reads credentials from a profile file at every call.
///
/// The file is `$TENCENTCLOUD_CREDENTIALS_FILE` when set, else
/// `~/.tencentcloud/credentials`, else `/etc/tencentcloud/credentials`; the profile is
/// `$TENCENTCLOUD_PROFILE` when set, else `default`.
///
/// ```text
/// [default]
/// secret_id = AKID...
/// secret_key = ...
///
/// [dr-account]
/// secret_id = AKID...
/// secret_key = ...
/// token = ...        # optional, for temporary credentials
/// ```
///
/// No file, or no `default` profile in it: "not found" (a chain moves on). A file that
/// was asked for by name but is missing, a profile that was asked for by name but is not
/// in the file, a malformed line or an incomplete profile: an error naming the file and
/// the line.
#[derive(Clone, Debug)]
pub struct ProfileProvider {
    files: Vec<PathBuf>,
    explicit_file: bool,
    profile: String,
    explicit_profile: bool,
}

impl ProfileProvider {
    /// The file and profile the environment names, as described above.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok(), home_dir())
    }

    /// As [`from_env`](Self::from_env), with the variables from `lookup` and the given home
    /// directory.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>, home: Option<PathBuf>) -> Self {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let (files, explicit_file) = match set("TENCENTCLOUD_CREDENTIALS_FILE") {
            Some(file) => (vec![PathBuf::from(file)], true),
            None => {
                let mut files: Vec<PathBuf> = home
                    .map(|h| h.join(".tencentcloud").join("credentials"))
                    .into_iter()
                    .collect();
                files.push(PathBuf::from("/etc/tencentcloud/credentials"));
                (files, false)
            }
        };
        let (profile, explicit_profile) = match set("TENCENTCLOUD_PROFILE") {
            Some(profile) => (profile.trim().to_owned(), true),
            None => ("default".to_owned(), false),
        };
        ProfileProvider {
            files,
            explicit_file,
            profile,
            explicit_profile,
        }
    }

    /// Reads `file` only.
    pub fn file(mut self, file: impl Into<PathBuf>) -> Self {
        self.files = vec![file.into()];
        self.explicit_file = true;
        self
    }

    /// Uses the profile `name`.
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.profile = name.into();
        self.explicit_profile = true;
        self
    }

    /// Reads the credentials now.
    pub fn load(&self) -> Result<Credentials, CredentialsError> {
        let Some((path, text)) = self
            .files
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok().map(|t| (p, t)))
        else {
            let tried = self
                .files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(if self.explicit_file {
                CredentialsError::invalid(
                    SOURCE,
                    format!("cannot read the credentials file {tried}"),
                )
            } else {
                CredentialsError::not_found(SOURCE, format!("no credentials file ({tried})"))
            });
        };
        parse(path, &text, &self.profile, self.explicit_profile)
    }
}

impl ProvideCredentials for ProfileProvider {
    fn provide_credentials(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        let result = self.load();
        Box::pin(async move { result })
    }
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// Finds `profile` in the INI text of `path`.
fn parse(
    path: &Path,
    text: &str,
    profile: &str,
    explicit: bool,
) -> Result<Credentials, CredentialsError> {
    let at = |line: usize, message: &str| {
        CredentialsError::invalid(SOURCE, format!("{}:{line}: {message}", path.display()))
    };
    let mut section: Option<String> = None;
    let mut found_at: Option<usize> = None;
    let (mut id, mut key, mut token) = (None, None, None);
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let name = rest
                .strip_suffix(']')
                .ok_or_else(|| at(number, "a section header must end with `]`"))?
                .trim();
            if name.is_empty() {
                return Err(at(number, "a section needs a name"));
            }
            section = Some(name.to_owned());
            if name == profile {
                found_at = Some(number);
            }
            continue;
        }
        let (name, value) = line
            .split_once('=')
            .ok_or_else(|| at(number, "expected `key = value`"))?;
        let Some(current) = &section else {
            return Err(at(number, "a setting must come after a `[profile]` header"));
        };
        if current != profile {
            continue;
        }
        // A value may carry a trailing comment after ` #`.
        let value = value.split(" #").next().unwrap_or("").trim().to_owned();
        match name.trim() {
            "secret_id" => id = Some(value),
            "secret_key" => key = Some(value),
            "token" => token = Some(value),
            _ => {}
        }
    }
    let Some(header) = found_at else {
        let message = format!("{} has no [{profile}] profile", path.display());
        return Err(if explicit {
            CredentialsError::invalid(SOURCE, message)
        } else {
            CredentialsError::not_found(SOURCE, message)
        });
    };
    match (id.filter(|v| !v.is_empty()), key.filter(|v| !v.is_empty())) {
        (Some(id), Some(key)) => {
            let credentials = Credentials::new(id, key);
            let credentials = match token.filter(|t| !t.is_empty()) {
                Some(token) => credentials.with_token(token, None),
                None => credentials,
            };
            Ok(credentials.with_source(SOURCE))
        }
        _ => Err(at(
            header,
            &format!("the [{profile}] profile needs both secret_id and secret_key"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::CredentialsErrorKind;

    fn parsed(text: &str, profile: &str, explicit: bool) -> Result<Credentials, CredentialsError> {
        parse(Path::new("/cfg/credentials"), text, profile, explicit)
    }

    #[test]
    fn default_and_named_profiles() {
        let text = "# comment\n[default]\nsecret_id = AKID1\nsecret_key = key1\n\n[dr]\nsecret_id=AKID2\nsecret_key=key2 # note\ntoken = tok\n";
        let c = parsed(text, "default", false).unwrap();
        assert_eq!(
            (c.secret_id(), c.token(), c.source()),
            ("AKID1", None, "profile")
        );
        let c = parsed(text, "dr", true).unwrap();
        assert_eq!((c.secret_id(), c.token()), ("AKID2", Some("tok")));
    }

    #[test]
    fn errors_name_file_and_line() {
        let err = parsed("[default]\nsecret_id AKID\n", "default", false).unwrap_err();
        assert_eq!(err.kind(), CredentialsErrorKind::Invalid);
        assert!(err.message().starts_with("/cfg/credentials:2:"), "{err}");
        let err = parsed("[default\n", "default", false).unwrap_err();
        assert!(err.message().contains(":1:"));
        let err = parsed("secret_id = x\n", "default", false).unwrap_err();
        assert!(err.message().contains(":1:"));
        let err = parsed("[default]\nsecret_id = AKID\n", "default", false).unwrap_err();
        assert!(
            err.message().contains(":1:") && err.message().contains("secret_key"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_profile_is_not_found_unless_asked_for() {
        let text = "[other]\nsecret_id = a\nsecret_key = b\n";
        assert_eq!(
            parsed(text, "default", false).unwrap_err().kind(),
            CredentialsErrorKind::NotFound
        );
        assert_eq!(
            parsed(text, "dr", true).unwrap_err().kind(),
            CredentialsErrorKind::Invalid
        );
    }

    #[test]
    fn file_lookup() {
        let none = ProfileProvider::from_lookup(|_| None, Some(PathBuf::from("/nonexistent-home")));
        let err = none.load().unwrap_err();
        assert_eq!(err.kind(), CredentialsErrorKind::NotFound);
        assert!(
            err.message()
                .contains("/nonexistent-home/.tencentcloud/credentials")
        );
        let named = ProfileProvider::from_lookup(
            |k| (k == "TENCENTCLOUD_CREDENTIALS_FILE").then(|| "/nonexistent/creds".to_owned()),
            None,
        );
        assert_eq!(
            named.load().unwrap_err().kind(),
            CredentialsErrorKind::Invalid
        );
    }
}
