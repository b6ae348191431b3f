//! The completion scripts, run by the shells themselves: actions complete in both forms
//! (`tccbs cbs DescribeSnap`, `tccbs describe-snap`) and so do an action's members.
//!
//! A shell that is not installed is skipped with a message, unless
//! `TCCBS_REQUIRE_SHELLS=1` (set by CI, which installs bash, zsh and fish).

use std::path::Path;
use std::process::Command;

mod common;
use common::scratch;

/// Lines typed, and what completion must offer for each (among other candidates).
const CASES: &[(&str, &[&str])] = &[
    (
        "tccbs cbs DescribeSnap",
        &["DescribeSnapshots", "DescribeSnapshotSharePermission"],
    ),
    (
        "tccbs describe-snap",
        &["describe-snapshots", "describe-snapshot-share-permission"],
    ),
    ("tccbs cbs DescribeSnapshots --Lim", &["--Limit"]),
    (
        "tccbs cbs CopySnapshotCrossRegions --Dest",
        &["--DestinationRegions"],
    ),
    ("tccbs describe-snapshots --snapshot-i", &["--snapshot-ids"]),
    (
        "tccbs copy-snapshot-cross-regions --dest",
        &["--destination-regions"],
    ),
    ("tccbs repl", &["replicate"]),
];

/// Bash: calls the completion function as bash's programmable completion would.
const BASH_HARNESS: &str = r#"
source "$1"
complete -p tccbs >/dev/null || exit 9
read -r -a COMP_WORDS <<< "$2"
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="$2"; COMP_POINT=${#COMP_LINE}
_tccbs tccbs "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;

/// Zsh: an interactive zsh in a pseudo-terminal with compinit, where `compadd` also
/// writes its candidates to a file. Once its prompt shows (the script is loaded), the line
/// is typed with a key bound to completing and then printing a marker: reading up to the
/// marker waits exactly for completion to finish. (The prompt and marker are spelled so
/// that the echo of what was typed cannot match them.)
const ZSH_HARNESS: &str = r#"
zmodload zsh/zpty || exit 9
zpty z zsh -f -i
zpty -w z "PS1=\$'\\x52DY>'; autoload -U compinit; compinit -u -D; compadd () { local -a h; builtin compadd -O h \"\$@\"; print -r -l -- \$h >> $3; }; report () { zle complete-word; print -n \"DONE-\$((40+2))\"; }; zle -N report; bindkey '^T' report; source $1"
zpty -r -m z out '*RDY>*'
zpty -w -n z "$2"$'\x14'
zpty -r -m z out '*DONE-42*'
zpty -d z
cat "$3"
"#;

fn shell_available(shell: &str) -> bool {
    let found = Command::new(shell)
        .args(["-c", "exit 0"])
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("TCCBS_REQUIRE_SHELLS").as_deref() != Ok("1"),
            "{shell} is required (TCCBS_REQUIRE_SHELLS=1) but not installed"
        );
        eprintln!("skipped: {shell} is not installed");
    }
    found
}

fn script(shell: &str, dir: &Path) -> std::path::PathBuf {
    let out = Command::new(env!("CARGO_BIN_EXE_tccbs"))
        .args(["completions", shell])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{shell}");
    let path = dir.join(format!("tccbs.{shell}"));
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

/// What `shell` offers for `line`, run under `timeout` so a stuck shell fails the test.
fn offered(shell: &str, script: &Path, line: &str, dir: &Path) -> Vec<String> {
    let hits = dir.join("hits");
    let _ = std::fs::remove_file(&hits);
    std::fs::write(&hits, "").unwrap();
    let mut command = Command::new("timeout");
    command.arg("60").arg(shell);
    match shell {
        "bash" => command.args(["-c", BASH_HARNESS, "harness"]),
        "zsh" => command.args(["-f", "-c", ZSH_HARNESS, "harness"]),
        "fish" => command.args(["--no-config", "-c", "source $argv[1]; complete -C $argv[2]"]),
        other => unreachable!("{other}"),
    };
    command.arg(script).arg(line).arg(&hits);
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{shell} `{line}`: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        // Fish prints "candidate<TAB>description".
        .map(|l| l.split('\t').next().unwrap_or("").trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn every_shell_completes_actions_and_their_members() {
    let dir = scratch("completions");
    for shell in ["bash", "zsh", "fish"] {
        if !shell_available(shell) {
            continue;
        }
        let script = script(shell, &dir);
        for (line, expected) in CASES {
            let got = offered(shell, &script, line, &dir);
            for want in *expected {
                assert!(
                    got.iter().any(|g| g == want),
                    "{shell}: `{line}` offered {got:?}, not {want}"
                );
            }
            // Only what matches what was typed.
            let typed = line.rsplit(' ').next().unwrap();
            assert!(
                got.iter().all(|g| g.starts_with(typed)),
                "{shell}: `{line}` offered {got:?}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}
