//! `tccbs configure`: the credentials file the official SDKs share
//! (`~/.tencentcloud/credentials`, or `$TENCENTCLOUD_CREDENTIALS_FILE`), INI with one
//! section per profile. Other profiles and lines are kept; the file is written with
//! mode 0600, atomically.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tencentcloud_cbs::ProfileProvider;

use crate::cli::{ConfigureArgs, ConfigureCommand, Global};
use crate::failure::Failure;
use crate::table;

/// The keys a profile may hold, as the SDKs name them.
const KEYS: &[&str] = &[
    "secret_id",
    "secret_key",
    "token",
    "role_arn",
    "role_session_name",
];

/// Keys whose values are secrets: masked when listed, warned about on a command line.
const SECRET_KEYS: &[&str] = &["secret_key", "token"];

fn file() -> Result<PathBuf, Failure> {
    if let Some(path) = std::env::var_os("TENCENTCLOUD_CREDENTIALS_FILE").filter(|p| !p.is_empty())
    {
        return Ok(PathBuf::from(path));
    }
    // The first place the SDKs look, the one `configure` writes.
    ProfileProvider::from_env()
        .files()
        .first()
        .cloned()
        .ok_or_else(|| {
            Failure::Usage("no home directory: set TENCENTCLOUD_CREDENTIALS_FILE".into())
        })
}

fn profile(global: &Global) -> String {
    global
        .profile
        .clone()
        .or_else(|| {
            std::env::var("TENCENTCLOUD_PROFILE")
                .ok()
                .filter(|p| !p.trim().is_empty())
        })
        .unwrap_or_else(|| "default".to_owned())
}

pub fn run(global: &Global, args: ConfigureArgs) -> Result<ExitCode, Failure> {
    let path = file()?;
    let profile = profile(global);
    match args.command {
        Some(ConfigureCommand::List) => list(&path),
        Some(ConfigureCommand::Set { pairs }) => {
            if pairs.len() % 2 != 0 {
                return Err(Failure::Usage(
                    "configure set takes KEY VALUE pairs, e.g. `secret_id AKID… secret_key -`"
                        .into(),
                ));
            }
            let mut settings = Vec::new();
            for pair in pairs.chunks(2) {
                let key = match pair[0].to_ascii_lowercase().as_str() {
                    // tccli's own spellings of the same keys.
                    "secretid" => "secret_id".to_owned(),
                    "secretkey" => "secret_key".to_owned(),
                    other => other.to_owned(),
                };
                let value = pair[1].clone();
                if !KEYS.contains(&key.as_str()) {
                    return Err(Failure::Usage(format!(
                        "`{key}` is not a profile key (keys: {})",
                        KEYS.join(", ")
                    )));
                }
                let value = if value == "-" {
                    read_line(&format!("{key}: "), SECRET_KEYS.contains(&key.as_str()))?
                } else {
                    if SECRET_KEYS.contains(&key.as_str()) {
                        eprintln!(
                            "warning: the {key} given on the command line stays in your shell history; \
                             pass `-` to read it from standard input instead"
                        );
                    }
                    value
                };
                settings.push((key, value));
            }
            write(&path, &profile, &settings)?;
            println!("updated [{profile}] in {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let current = sections(&std::fs::read_to_string(&path).unwrap_or_default());
            let old_id = current
                .iter()
                .find(|s| s.name == profile)
                .and_then(|s| s.get("secret_id"))
                .map(|id| format!(" [{}]", mask(id, 4)))
                .unwrap_or_default();
            let id = read_line(&format!("SecretId{old_id}: "), false)?;
            let key = read_line("SecretKey: ", true)?;
            let mut settings = Vec::new();
            if !id.is_empty() {
                settings.push(("secret_id".to_owned(), id));
            }
            if !key.is_empty() {
                settings.push(("secret_key".to_owned(), key));
            }
            if settings.is_empty() {
                println!("nothing changed");
                return Ok(ExitCode::SUCCESS);
            }
            write(&path, &profile, &settings)?;
            println!("updated [{profile}] in {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One line from the terminal (without echo for secrets) or from standard input.
fn read_line(prompt: &str, secret: bool) -> Result<String, Failure> {
    let failed = |e: std::io::Error| Failure::Other(format!("cannot read {prompt}{e}"));
    if std::io::stdin().is_terminal() {
        if secret {
            return rpassword::prompt_password(prompt)
                .map(|v| v.trim().to_owned())
                .map_err(failed);
        }
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(failed)?;
    Ok(line.trim().to_owned())
}

/// A profile as read from the file, keys lower-cased.
struct Section {
    name: String,
    /// The section header's line index (`None` for lines before any header).
    header: Option<usize>,
    /// `(line index, key, value)`.
    entries: Vec<(usize, String, String)>,
}

impl Section {
    fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(_, k, _)| k == key)
            .map(|(_, _, v)| v.as_str())
    }
}

/// The sections of an INI text, as the SDKs read them (`=` or `:`, `#`/`;` comments).
fn sections(text: &str) -> Vec<Section> {
    let mut out = vec![Section {
        name: String::new(),
        header: None,
        entries: Vec::new(),
    }];
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push(Section {
                name: name.trim().to_owned(),
                header: Some(index),
                entries: Vec::new(),
            });
            continue;
        }
        if let Some(split) = line.find(['=', ':']) {
            let key = line[..split].trim().to_ascii_lowercase();
            let value = line[split + 1..].trim().to_owned();
            if let Some(section) = out.last_mut() {
                section.entries.push((index, key, value));
            }
        }
    }
    out
}

/// `text` with `settings` set in `[profile]`, every other line as it was.
fn edited(text: &str, profile: &str, settings: &[(String, String)]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let found = sections(text)
        .into_iter()
        .find(|s| s.name == profile && s.header.is_some());
    match found {
        None => {
            if lines.last().is_some_and(|l| !l.trim().is_empty()) {
                lines.push(String::new());
            }
            lines.push(format!("[{profile}]"));
            for (key, value) in settings {
                lines.push(format!("{key} = {value}"));
            }
        }
        Some(section) => {
            let mut insert_at = section
                .entries
                .last()
                .map(|(i, ..)| i + 1)
                .or(section.header.map(|h| h + 1))
                .unwrap_or(lines.len());
            for (key, value) in settings {
                match section.entries.iter().find(|(_, k, _)| k == key) {
                    Some((index, ..)) => lines[*index] = format!("{key} = {value}"),
                    None => {
                        lines.insert(insert_at, format!("{key} = {value}"));
                        insert_at += 1;
                    }
                }
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

fn write(path: &Path, profile: &str, settings: &[(String, String)]) -> Result<(), Failure> {
    let failed = |what: &str, e: std::io::Error| {
        Failure::Other(format!("cannot {what} {}: {e}", path.display()))
    };
    if profile.is_empty() || profile.contains([']', '[', '\n']) {
        return Err(Failure::Usage(format!("`{profile}` is not a profile name")));
    }
    if let Some((key, _)) = settings.iter().find(|(_, v)| v.contains('\n')) {
        return Err(Failure::Usage(format!("the {key} holds a line break")));
    }
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(failed("read", e)),
    };
    let new = edited(&text, profile, settings);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(|e| failed("create the directory of", e))?;
    }
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    {
        let mut file = private_file(&temporary).map_err(|e| failed("write", e))?;
        file.write_all(new.as_bytes())
            .map_err(|e| failed("write", e))?;
        file.sync_all().map_err(|e| failed("write", e))?;
    }
    std::fs::rename(&temporary, path).map_err(|e| failed("replace", e))?;
    // What was written must read back the way the SDKs (and this client) read it.
    let section = sections(&new).into_iter().find(|s| s.name == profile);
    if section.is_some_and(|s| s.get("secret_id").is_some() && s.get("secret_key").is_some()) {
        ProfileProvider::from_env()
            .file(path)
            .profile(profile)
            .load()
            .map_err(|e| {
                Failure::Other(format!("the file was written but does not read back: {e}"))
            })?;
    }
    Ok(())
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.exists() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// `AKID****abcd`: the first `shown` characters and the last four.
fn mask(value: &str, shown: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= shown + 4 {
        return "*".repeat(chars.len().max(4));
    }
    let head: String = chars[..shown].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

fn list(path: &Path) -> Result<ExitCode, Failure> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("no credentials file at {}", path.display());
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => {
            return Err(Failure::Other(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let rows: Vec<Vec<String>> = sections(&text)
        .into_iter()
        .filter(|s| s.header.is_some())
        .map(|s| {
            let show = |key: &str| {
                s.get(key)
                    .map(|v| {
                        if SECRET_KEYS.contains(&key) {
                            mask(v, 0)
                        } else if key == "secret_id" {
                            mask(v, 4)
                        } else {
                            v.to_owned()
                        }
                    })
                    .unwrap_or_else(|| "-".to_owned())
            };
            vec![
                s.name.clone(),
                show("secret_id"),
                show("secret_key"),
                show("token"),
                show("role_arn"),
            ]
        })
        .collect();
    println!("{}", path.display());
    table::print(
        &["PROFILE", "SECRET_ID", "SECRET_KEY", "TOKEN", "ROLE_ARN"],
        &rows,
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_keep_everything_else() {
        let text = "# mine\n[default]\nsecret_id = A\nsecret_key : B\n\n[prod]\nsecret_id=C\n";
        let once = edited(
            text,
            "prod",
            &[
                ("secret_key".into(), "D".into()),
                ("secret_id".into(), "E".into()),
            ],
        );
        assert_eq!(
            once,
            "# mine\n[default]\nsecret_id = A\nsecret_key : B\n\n[prod]\nsecret_id = E\nsecret_key = D\n"
        );
        let added = edited(&once, "new", &[("secret_id".into(), "F".into())]);
        assert!(
            added.ends_with("secret_key = D\n\n[new]\nsecret_id = F\n"),
            "{added}"
        );
        assert_eq!(mask("AKIDabcdefgh1234", 4), "AKID****1234");
        assert_eq!(mask("short", 4), "*****");
        assert_eq!(mask("secretkeyvalue", 0), "****alue");
    }
}
