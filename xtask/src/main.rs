//! `cargo xtask`: project automation.
//!
//! - `cargo xtask import-model DIR [--common FILE]` reads the vendor's `api.json` and
//!   `errorcodes.json` from DIR (and the platform-wide error codes, by default
//!   `DIR/../common-errorcodes.json`) and writes the structural model to
//!   `model/cbs-2017-03-12.json`, without the vendor's prose.
//! - `cargo xtask codegen` regenerates `crates/cbs-model/src/generated/` from the vendored
//!   model and `model/overlay.json`; `--check` writes nothing and fails, naming the stale
//!   files, when the checked-in code differs.

mod codegen;
mod import;
mod model;
mod names;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("import-model") => import_model(&args[1..]),
        Some("codegen") => {
            codegen::run(&workspace_root(), args[1..].iter().any(|a| a == "--check"))
        }
        _ => Err(
            "usage: cargo xtask import-model DIR [--common FILE] | cargo xtask codegen [--check]"
                .to_owned(),
        ),
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
            .ok_or("import-model needs the spec directory")?,
    );
    let common = match args.iter().position(|a| a == "--common") {
        Some(i) => PathBuf::from(args.get(i + 1).ok_or("--common needs a file")?),
        None => dir.join("..").join("common-errorcodes.json"),
    };
    let out = workspace_root().join("model").join("cbs-2017-03-12.json");
    import::run(&dir, &common, &out)
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
