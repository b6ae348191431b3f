//! Runs every TC3 signing vector of a JSON file and reports failures.
//!
//! ```text
//! cargo run -p tc3-sign --example check-vectors -- crates/tc3-sign/tests/data/tc3-official-python.json
//! ```
//!
//! The file holds `{"vectors": [{"name", "input": {...}, "expected": {...}}]}` as in
//! `tests/data/tc3-official-python.json`. Each failing vector prints one line
//! `FAIL <name>: <stage> differs` (or why it could not run); the last line is
//! `N passed, M failed`. The exit status is 1 when M > 0, 2 when the file is unusable.

use std::process::ExitCode;

#[path = "support/vector_file.rs"]
mod vector_file;

use tc3_sign::{Credentials, SigningKey, UtcDate};
use vector_file::{Vector, VectorFile};

/// Runs one vector stage by stage; the error names the first stage that differs.
fn check(v: &Vector) -> Result<(), String> {
    let i = &v.input;
    let request = i.request()?;
    let stage = |name: &str, got: &str, want: &str| {
        if got == want {
            Ok(())
        } else {
            Err(format!("{name} differs"))
        }
    };
    let e = &v.expected;
    let date = UtcDate::from_unix(i.timestamp).map_err(|err| format!("date: {err}"))?;
    stage("date", date.as_str(), &e.date)?;
    let canonical =
        tc3_sign::canonical_request(&request).map_err(|err| format!("canonical request: {err}"))?;
    stage("canonical_request", &canonical, &e.canonical_request)?;
    let sts = tc3_sign::string_to_sign(i.timestamp, &i.service, &canonical)
        .map_err(|err| format!("string to sign: {err}"))?;
    stage("string_to_sign", &sts, &e.string_to_sign)?;
    let key = SigningKey::derive(&i.secret_key, date, &i.service);
    stage("signature", &key.signature_hex(&sts), &e.signature)?;
    let credentials = Credentials::new(i.secret_id.as_str(), i.secret_key.as_str());
    let signed = tc3_sign::sign(&request, &credentials, &i.service, i.timestamp)
        .map_err(|err| format!("sign: {err}"))?;
    stage("signature (one call)", signed.signature(), &e.signature)?;
    stage("authorization", signed.authorization(), &e.authorization)
}

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: check-vectors FILE");
        return ExitCode::from(2);
    };
    let file: VectorFile = match std::fs::read(&path)
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
    for vector in &file.vectors {
        match check(vector) {
            Ok(()) => passed += 1,
            Err(why) => {
                failed += 1;
                println!("FAIL {}: {why}", vector.name);
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
