//! Runs every API example of a file against the generated types.
//!
//! ```text
//! cargo run -p cbs-model --features json --example check-examples -- crates/cbs-model/tests/data/examples.json
//! ```
//!
//! The file has the `examples.json` format: `{"actions": {"Name": [{"input", "output"}]}}`
//! where `input` is an HTTP request (POST with a JSON body, or a GET URL) and `output`
//! the JSON response. An example passes when its request body and its response parse
//! into the action's types and each serializes back to the original JSON value (`null`
//! members count as absent, numbers compare by value, members the model does not know
//! are ignored). Each failure prints one line `FAIL <Action> #<index>: <why>`; the last
//! line is `N passed, M failed`. Exit status: 0 when all pass, 1 on failures, 2 when the
//! file cannot be used.

#[path = "support/conformance.rs"]
mod conformance;

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: check-examples FILE");
        return ExitCode::from(2);
    };
    let file: conformance::ExampleFile = match std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
    {
        Ok(file) => file,
        Err(err) => {
            eprintln!("cannot use {}: {err}", path.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    let (failures, passed, failed) = conformance::check_file(&file);
    for line in &failures {
        println!("{line}");
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
