//! The state file: everything the emulator holds, loaded at start and saved after every
//! change, atomically (a temporary file beside it, flushed, then renamed over it), so a
//! kill at any moment leaves either the old state or the new one.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::state::{Accounts, World};

/// The layout version of the file; a file of another version is refused. Version 2
/// added the other accounts; a version 1 file is the default account alone.
const FORMAT: u32 = 2;
const READS: [u32; 2] = [1, FORMAT];

#[derive(Serialize)]
struct Saved<'w> {
    format: u32,
    /// The default account.
    world: &'w World,
    /// Every other account, by id.
    accounts: BTreeMap<&'w str, &'w World>,
}

/// Read first, so a file of another layout is refused by its version rather than by
/// whatever field it lacks.
#[derive(Deserialize)]
struct Header {
    format: u32,
}

#[derive(Deserialize)]
struct Loaded {
    world: World,
    #[serde(default)]
    accounts: BTreeMap<String, World>,
}

/// What a state file holds: the default account's world and the others'.
pub(crate) type Restored = (World, BTreeMap<String, World>);

/// Why a state file cannot be used.
#[derive(Debug)]
pub struct StateFileError {
    path: PathBuf,
    reason: String,
    saving: bool,
}

impl std::fmt::Display for StateFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.saving {
            write!(
                f,
                "the state file {} cannot be written: {}",
                self.path.display(),
                self.reason
            )
        } else {
            write!(
                f,
                "the state file {} cannot be used: {}; it was left as it is",
                self.path.display(),
                self.reason
            )
        }
    }
}

impl std::error::Error for StateFileError {}

/// Where the state lives.
#[derive(Debug)]
pub(crate) struct StateFile {
    path: PathBuf,
}

impl StateFile {
    pub(crate) fn new(path: impl Into<PathBuf>) -> Self {
        StateFile { path: path.into() }
    }

    /// The saved world, `None` when there is no file yet. A file that cannot be read or
    /// understood is an error, and is never overwritten.
    pub(crate) fn load(&self) -> Result<Option<Restored>, StateFileError> {
        let fail = |reason: String| StateFileError {
            path: self.path.clone(),
            reason,
            saving: false,
        };
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(fail(e.to_string())),
        };
        let header: Header = serde_json::from_slice(&bytes).map_err(|e| fail(e.to_string()))?;
        if !READS.contains(&header.format) {
            return Err(fail(format!(
                "it has format {}, this emulator reads {FORMAT}",
                header.format
            )));
        }
        let loaded: Loaded = serde_json::from_slice(&bytes).map_err(|e| fail(e.to_string()))?;
        Ok(Some((loaded.world, loaded.accounts)))
    }

    /// The error for a failed save of this file.
    pub(crate) fn error(&self, reason: String) -> StateFileError {
        StateFileError {
            path: self.path.clone(),
            reason,
            saving: true,
        }
    }

    /// Writes every account in place of the file, atomically.
    pub(crate) fn save(&self, accounts: &Accounts) -> std::io::Result<()> {
        let text = serde_json::to_vec(&Saved {
            format: FORMAT,
            world: accounts.default_world(),
            accounts: accounts
                .others()
                .map(|(uin, w)| (uin.as_str(), w))
                .collect(),
        })
        .map_err(std::io::Error::other)?;
        let temporary = temporary_path(&self.path);
        {
            let mut file = File::create(&temporary)?;
            file.write_all(&text)?;
            file.sync_all()?;
        }
        fs::rename(&temporary, &self.path)?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The rename itself reaches the disk with the directory.
            if let Ok(dir) = File::open(dir) {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    }
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "cbs-emulator-state-{}",
            crate::ids::resource_id("t")
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn round_trip_and_refusals() {
        let dir = dir();
        let file = StateFile::new(dir.join("state.json"));
        assert!(file.load().unwrap().is_none(), "no file yet");
        let mut world = World::default();
        world.add_disk("ap-guangzhou", "ap-guangzhou-1", "d", 50, "CLOUD_SSD");
        let disks = world.disks.clone();
        let mut accounts = Accounts::new(world);
        accounts.ensure("100000000777");
        file.save(&accounts).unwrap();
        let (back, others) = file.load().unwrap().unwrap();
        assert_eq!(back.disks, disks);
        assert_eq!(others.keys().collect::<Vec<_>>(), ["100000000777"]);

        // A file of the first layout is the default account alone.
        fs::write(dir.join("v1.json"), b"{\"format\": 1, \"world\": {\"now_ms\": 5, \"seq\": 0, \"instances\": {}, \"disks\": {}, \"snapshots\": {}, \"policies\": {}, \"backups\": {}, \"groups\": {}, \"remote_disks\": {}, \"client_tokens\": {}}}").unwrap();
        let (v1, none) = StateFile::new(dir.join("v1.json")).load().unwrap().unwrap();
        assert_eq!((v1.now_ms, none.len()), (5, 0));

        fs::write(dir.join("broken.json"), b"{\"format\": 1, \"world\": {").unwrap();
        let broken = StateFile::new(dir.join("broken.json"));
        let err = broken.load().unwrap_err().to_string();
        assert!(
            err.contains("broken.json") && err.contains("left as it is"),
            "{err}"
        );
        assert_eq!(
            fs::read(dir.join("broken.json")).unwrap(),
            b"{\"format\": 1, \"world\": {"
        );

        fs::write(dir.join("future.json"), b"{\"format\": 99, \"world\": {}}").unwrap();
        let err = StateFile::new(dir.join("future.json")).load().unwrap_err();
        assert!(err.to_string().contains("format 99"));
        let _ = fs::remove_dir_all(dir);
    }
}
