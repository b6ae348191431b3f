//! Runs every legacy v1 signing vector (`HmacSHA1`, `HmacSHA256`) of a JSON file.
//!
//! ```text
//! cargo run -p tc3-sign --example check-v1-vectors -- crates/tc3-sign/tests/data/v1-official-python.json
//! ```
//!
//! The file holds `{"cases": [{"name", "method", "host", "path", "secret_key", "params",
//! "string_to_sign", "signature", "form_body"}]}` as in
//! `tests/data/v1-official-python.json`. Each case is checked stage by stage
//! (parameters, string to sign, signature, form body, then the verifier); a failing case
//! prints `FAIL <name>: <stage> differs`, and the last line is `N passed, M failed`.
//! The exit status is 1 when M > 0, 2 when the file is unusable.

use std::process::ExitCode;

#[path = "support/v1_vector_file.rs"]
mod v1_vector_file;

use v1_vector_file::V1VectorFile;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: check-v1-vectors FILE");
        return ExitCode::from(2);
    };
    let file: V1VectorFile = match std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
    {
        Ok(file) => file,
        Err(err) => {
            eprintln!("cannot use {}: {err}", path.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    let (mut passed, mut failed) = (0usize, 0usize);
    for case in &file.cases {
        match case.check() {
            Ok(()) => passed += 1,
            Err(why) => {
                failed += 1;
                println!("FAIL {}: {why}", case.name);
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
