//! `cargo xtask`: project automation.
//!
//! - `cargo xtask import-model DIR --site international|china [--source TEXT] [--common FILE]`
//!   reads the vendor's `api.json` and `errorcodes.json` from DIR (and the platform-wide
//!   error codes, by default `DIR/../common-errorcodes.json`) and writes that site's
//!   structural model, without the vendor's prose, to
//!   `model/cbs-2017-03-12.<site>.json`. `--source` says where the files came from (a
//!   package and version), for the record.
//! - `cargo xtask codegen` merges the vendored models (the rules are in `model.rs`) and,
//!   with `model/overlay.json`, regenerates `crates/cbs-model/src/generated/` and the
//!   client's operations; `--check` writes nothing and fails, naming the stale files,
//!   when the checked-in code differs.
//!
//! Updating the API is: import the new model of a site, run codegen, review the diff.

mod codegen;
mod import;
mod model;
mod names;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask import-model DIR --site international|china [--source TEXT] [--common FILE] | cargo xtask codegen [--check]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("import-model") => import_model(&args[1..]),
        Some("codegen") => {
            codegen::run(&workspace_root(), args[1..].iter().any(|a| a == "--check"))
        }
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn import_model(args: &[String]) -> Result<(), String> {
    let dir = PathBuf::from(
        args.first()
            .filter(|a| !a.starts_with("--"))
            .ok_or("import-model needs the spec directory")?,
    );
    let option = |name: &str| -> Result<Option<String>, String> {
        match args.iter().position(|a| a == name) {
            Some(i) => args
                .get(i + 1)
                .cloned()
                .map(Some)
                .ok_or(format!("{name} needs a value")),
            None => Ok(None),
        }
    };
    let site = option("--site")?.ok_or("import-model needs --site international|china")?;
    let (_, file) = import::SITES
        .iter()
        .find(|(name, _)| *name == site)
        .ok_or(format!("unknown site `{site}`; {USAGE}"))?;
    let common = option("--common")?
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("..").join("common-errorcodes.json"));
    let source = option("--source")?.unwrap_or_else(|| format!("{} ({site} site)", dir.display()));
    import::run(&dir, &common, &site, &source, &workspace_root().join(file))
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
