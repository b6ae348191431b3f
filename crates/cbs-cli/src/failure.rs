//! How failures are reported: one line with the code, message and request id, then a
//! hint where one helps.

use std::process::ExitCode;

use crate::table::say;
use tencentcloud_cbs::{Error, ErrorCode};

/// Why a command failed.
#[derive(Debug)]
pub enum Failure {
    /// The command line was wrong in a way clap could not see.
    Usage(String),
    /// A call failed.
    Call(Error),
    /// Something else (the emulator could not start, a file could not be read).
    Other(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Call(e)
    }
}

impl Failure {
    pub fn report(self) -> ExitCode {
        match self {
            Failure::Usage(message) => {
                say!("error: {message}");
                ExitCode::from(2)
            }
            Failure::Other(message) => {
                say!("error: {message}");
                ExitCode::FAILURE
            }
            Failure::Call(error) => {
                say!("error: {}", one_line(&error));
                if let Some(hint) = hint(&error) {
                    say!("hint: {hint}");
                }
                ExitCode::FAILURE
            }
        }
    }
}

/// The error and its causes on one line.
pub fn one_line(error: &Error) -> String {
    tencentcloud_cbs::ErrorChain(error).to_string()
}

fn hint(error: &Error) -> Option<String> {
    match error {
        Error::Credentials(_) => Some(
            "set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (and TENCENTCLOUD_TOKEN for temporary credentials), \
             or write them to ~/.tencentcloud/credentials under [default], \
             or add --local to try everything against a local emulator"
                .into(),
        ),
        Error::Api(e) if *e.code() == ErrorCode::AuthFailureSignatureFailure || *e.code() == ErrorCode::AuthFailureSecretIdNotFound => {
            Some("check the secret id and key".into())
        }
        Error::Api(e) if *e.code() == ErrorCode::MissingParameter && e.message().contains("Region") => {
            Some("pass --region or set TENCENTCLOUD_REGION".into())
        }
        Error::Api(e) if *e.code() == ErrorCode::InvalidSnapshotIdNotFound => {
            Some("list the snapshots of the source region with `tccbs snapshot list --region REGION`".into())
        }
        _ if error.may_have_executed() => Some(
            "the request may have run: check its effect (for a copy, `tccbs snapshot list` in the destination) before retrying".into(),
        ),
        _ => None,
    }
}
