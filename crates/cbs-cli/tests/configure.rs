//! `tccbs configure`, completions and the manual page.

use std::io::Write;
use std::process::{Command, Output, Stdio};

mod common;
use common::scratch;

fn tccbs(file: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tccbs"))
        .args(args)
        .env("TENCENTCLOUD_CREDENTIALS_FILE", file)
        .env_remove("TENCENTCLOUD_PROFILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn configure_writes_the_sdk_profile_file_privately_and_keeps_the_rest() {
    let dir = scratch("configure");
    let file = dir.join("nested").join("credentials");
    // Interactive form, fed on standard input (no terminal here).
    let out = tccbs(
        &file,
        &["configure"],
        "AKIDfirst000000000000000000000000000\nfirst-secret-key\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        written,
        "[default]\nsecret_id = AKIDfirst000000000000000000000000000\nsecret_key = first-secret-key\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // A comment and another profile by hand; `set` keeps both.
    std::fs::write(
        &file,
        format!("# my notes\n{written}\n[other]\nsecret_id = AKIDother\nsecret_key = other-key\n"),
    )
    .unwrap();
    let set = tccbs(
        &file,
        &[
            "--profile",
            "prod",
            "configure",
            "set",
            "secretId",
            "AKIDprod00000000000000000000000000000",
            "secret_key",
            "-",
        ],
        "prod-secret-key\n",
    );
    assert_eq!(set.status.code(), Some(0), "{}", text(&set.stderr));
    assert!(
        !text(&set.stderr).contains("warning"),
        "a secret read from stdin is not warned about"
    );
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(after.starts_with("# my notes\n[default]\n"), "{after}");
    assert!(
        after.contains("[other]\nsecret_id = AKIDother\nsecret_key = other-key\n"),
        "{after}"
    );
    assert!(after.ends_with("[prod]\nsecret_id = AKIDprod00000000000000000000000000000\nsecret_key = prod-secret-key\n"), "{after}");

    // A secret on the command line works but is warned about.
    let loud = tccbs(
        &file,
        &[
            "--profile",
            "prod",
            "configure",
            "set",
            "secret_key",
            "visible-key",
        ],
        "",
    );
    assert_eq!(loud.status.code(), Some(0));
    assert!(
        text(&loud.stderr).contains("shell history"),
        "{}",
        text(&loud.stderr)
    );

    let list = tccbs(&file, &["configure", "list"], "");
    let listed = text(&list.stdout);
    assert!(
        listed.contains("prod") && listed.contains("AKID****0000"),
        "{listed}"
    );
    for secret in [
        "first-secret-key",
        "other-key",
        "visible-key",
        "AKIDfirst000000000000000000000000000",
    ] {
        assert!(!listed.contains(secret), "{secret} shown: {listed}");
    }
    let bad = tccbs(&file, &["configure", "set", "region"], "");
    assert_eq!(bad.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn completions_and_man_page() {
    let dir = scratch("configure");
    let file = dir.join("credentials");
    for shell in ["bash", "zsh", "fish"] {
        let out = tccbs(&file, &["completions", shell], "");
        assert_eq!(out.status.code(), Some(0));
        let script = text(&out.stdout);
        assert!(
            script.contains("replicate") && script.contains("tccbs"),
            "{shell}"
        );
    }
    let man = tccbs(&file, &["man"], "");
    assert_eq!(man.status.code(), Some(0));
    let page = text(&man.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH"),
        "{}",
        &page[..200.min(page.len())]
    );
    assert!(page.contains("replicate"));
    let _ = std::fs::remove_dir_all(dir);
}
