//! Helpers shared by the CLI's test binaries.

use std::path::PathBuf;

/// A fresh directory under the system's temporary one, unique to this process and
/// moment; tests remove it when they pass.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tccbs-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
