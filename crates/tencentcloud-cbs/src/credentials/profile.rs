//! Credentials from the INI file the official SDKs share: `[default]` or a named
//! profile with `secret_id`, `secret_key` and an optional `token`.

use std::path::{Path, PathBuf};

use cbs_transport::BoxFuture;

use super::{Credentials, CredentialsError, ProvideCredentials, ProviderContext};

const SOURCE: &str = "profile";

/// Reads credentials from a profile file at every call.
///
/// The file is `$TENCENTCLOUD_CREDENTIALS_FILE` when set, else
/// `~/.tencentcloud/credentials` (the home directory from `HOME`, else `USERPROFILE` or
/// `HOMEDRIVE` + `HOMEPATH` as on Windows), else `/etc/tencentcloud/credentials`; the
/// profile is `$TENCENTCLOUD_PROFILE` when set, else `default`.
///
/// ```text
/// [default]
/// secret_id = AKID...
/// secret_key = ...
///
/// [dr-account]
/// secret_id = AKID...
/// secret_key = ...
/// token = ...
/// ```
///
/// The file is read as the Go and Python SDKs read it: `#` and `;` start a comment only
/// at the start of a line, so a value keeps everything after the `=` (or `:`) but
/// surrounding spaces, ` #` included; names are case-insensitive; settings before the
/// first `[section]` belong to no profile and are ignored; a leading byte-order mark
/// and `\r\n` line ends are fine. Refused, with the file and line: a `[` without `]`,
/// an empty `[]`, a line that is neither a comment, a section nor `name = value`, and a
/// profile or setting given twice (the SDKs disagree on which would win).
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
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`from_env`](Self::from_env), with the variables (the home directory's too)
    /// from `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let (files, explicit_file) = match set("TENCENTCLOUD_CREDENTIALS_FILE") {
            Some(file) => (vec![PathBuf::from(file)], true),
            None => {
                let home = set("HOME")
                    .or_else(|| set("USERPROFILE"))
                    .or_else(|| Some(format!("{}{}", set("HOMEDRIVE")?, set("HOMEPATH")?)));
                let mut files: Vec<PathBuf> = home
                    .map(|h| PathBuf::from(h).join(".tencentcloud").join("credentials"))
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

    /// The files looked at, in order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Reads the credentials now. A file that does not exist is passed over; one that
    /// exists but cannot be read (permissions, not text, too large) is an error that
    /// says why, rather than a silent fall-through to the next source.
    pub fn load(&self) -> Result<Credentials, CredentialsError> {
        let mut missing = Vec::new();
        for path in &self.files {
            match read_text(path) {
                Ok(text) => return parse(path, &text, &self.profile, self.explicit_profile),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    missing.push(path.display().to_string())
                }
                Err(e) => {
                    return Err(CredentialsError::invalid(
                        SOURCE,
                        format!("cannot read the credentials file {}: {e}", path.display()),
                    ));
                }
            }
        }
        let tried = missing.join(", ");
        Err(if self.explicit_file {
            CredentialsError::invalid(
                SOURCE,
                format!("cannot read the credentials file {tried}: it does not exist"),
            )
        } else {
            CredentialsError::not_found(SOURCE, format!("no credentials file ({tried})"))
        })
    }
}

/// The most a credentials file may hold: a few profiles are a few hundred bytes.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// A file's text, refused when it is larger than [`MAX_FILE_BYTES`] or not UTF-8.
fn read_text(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} KiB", MAX_FILE_BYTES / 1024),
        ));
    }
    String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not text (a credentials file is UTF-8 text)",
        )
    })
}

impl ProvideCredentials for ProfileProvider {
    fn provide_credentials<'a>(
        &'a self,
        _: &'a ProviderContext,
    ) -> BoxFuture<'a, Result<Credentials, CredentialsError>> {
        let result = self.load();
        Box::pin(async move { result })
    }
}

/// Finds `profile` in the INI text of `path`, by the rules on [`ProfileProvider`].
fn parse(
    path: &Path,
    text: &str,
    profile: &str,
    explicit: bool,
) -> Result<Credentials, CredentialsError> {
    let at = |line: usize, message: &str| {
        CredentialsError::invalid(SOURCE, format!("{}:{line}: {message}", path.display()))
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut in_profile = false;
    let mut found_at: Option<usize> = None;
    // (value, line) of each setting read from the profile.
    let (mut id, mut key, mut token): (Option<(String, usize)>, _, _) = (None, None, None);
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
            in_profile = name == profile;
            if in_profile {
                if let Some(first) = found_at {
                    return Err(at(
                        number,
                        &format!("[{profile}] appears twice (first on line {first})"),
                    ));
                }
                found_at = Some(number);
            }
            continue;
        }
        let split = line
            .find(['=', ':'])
            .ok_or_else(|| at(number, "expected `name = value`"))?;
        let (name, value) = (line[..split].trim(), line[split + 1..].trim());
        if name.is_empty() {
            return Err(at(number, "expected `name = value`"));
        }
        if !in_profile {
            continue;
        }
        let slot = match name.to_ascii_lowercase().as_str() {
            "secret_id" => &mut id,
            "secret_key" => &mut key,
            "token" => &mut token,
            _ => continue,
        };
        if let Some((_, first)) = slot {
            return Err(at(
                number,
                &format!("{name} is set twice in [{profile}] (first on line {first})"),
            ));
        }
        *slot = Some((value.to_owned(), number));
    }
    let Some(header) = found_at else {
        let message = format!("{} has no [{profile}] profile", path.display());
        return Err(if explicit {
            CredentialsError::invalid(SOURCE, message)
        } else {
            CredentialsError::not_found(SOURCE, message)
        });
    };
    let value =
        |setting: Option<(String, usize)>| setting.map(|(v, _)| v).filter(|v| !v.is_empty());
    match (value(id), value(key)) {
        (Some(id), Some(key)) => {
            let credentials = Credentials::new(id, key);
            let credentials = match value(token) {
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
    fn the_home_directory_falls_back_as_on_windows() {
        let files = |vars: &'static [(&'static str, &'static str)]| {
            ProfileProvider::from_lookup(move |name| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            })
            .files()
            .to_vec()
        };
        let first = |vars| files(vars)[0].display().to_string();
        assert_eq!(
            first(&[("HOME", "/home/a")]),
            "/home/a/.tencentcloud/credentials"
        );
        assert!(first(&[("USERPROFILE", "C:\\Users\\a")]).starts_with("C:\\Users\\a"));
        assert!(
            first(&[("HOMEDRIVE", "D:"), ("HOMEPATH", "\\Users\\b")]).starts_with("D:\\Users\\b")
        );
        assert_eq!(files(&[]), [PathBuf::from("/etc/tencentcloud/credentials")]);
        let named = files(&[
            ("TENCENTCLOUD_CREDENTIALS_FILE", "/x/creds"),
            ("HOME", "/home/a"),
        ]);
        assert_eq!(named, [PathBuf::from("/x/creds")]);
    }
}
