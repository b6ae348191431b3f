//! The one error type of every call.

use std::error::Error as StdError;
use std::fmt;

use cbs_model::{ErrorCode, RetryClass};
use cbs_transport::TransportError;

use crate::credentials::CredentialsError;

/// Why a call failed.
///
/// Two words in size; each variant boxes its details. [`code`](Self::code),
/// [`request_id`](Self::request_id) and [`is_retryable`](Self::is_retryable) work
/// without matching; `Display` says what failed and never repeats the source (walk
/// [`source`](StdError::source) for that), and never shows credentials.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The service answered with an error.
    Api(Box<ApiError>),
    /// No response arrived: the connection failed, broke or timed out.
    Transport(Box<TransportFailure>),
    /// No credentials could be had.
    Credentials(Box<CredentialsError>),
    /// The request was not sent because it is incomplete or invalid.
    InvalidInput(Box<InvalidInput>),
    /// A response arrived that is not a readable API response (an HTML error page, a
    /// truncated body, an unexpected status).
    Decode(Box<DecodeFailure>),
    /// The call's total deadline passed before it could finish.
    Timeout(Box<TimeoutError>),
}

/// Which call an error belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallContext {
    /// The action (`CopySnapshotCrossRegions`).
    pub action: String,
    /// The region the call was sent to, if any.
    pub region: Option<String>,
    /// Whether the action only reads.
    pub read_only: bool,
    /// How many attempts were made.
    pub attempts: u32,
}

impl fmt::Display for CallContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.action)?;
        if let Some(region) = &self.region {
            write!(f, " in {region}")?;
        }
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        Ok(())
    }
}

/// An error the service answered with.
#[derive(Debug)]
pub struct ApiError {
    /// The error code.
    pub code: ErrorCode,
    /// The service's message.
    pub message: String,
    /// The request id; quote it when asking for support.
    pub request_id: String,
    /// The call.
    pub context: CallContext,
}

/// A call that got no response.
#[derive(Debug)]
pub struct TransportFailure {
    /// The underlying transport error; its kind says whether the request may have been
    /// sent.
    pub source: TransportError,
    /// The call.
    pub context: CallContext,
}

impl TransportFailure {
    /// Whether the request may have reached the service. For a mutating action this
    /// means it may have been executed: check (for a copy, with `DescribeSnapshots`)
    /// before sending it again.
    pub fn may_have_been_sent(&self) -> bool {
        self.source.may_have_been_sent()
    }
}

/// A request that was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput {
    /// The action.
    pub action: String,
    /// The member at fault, by wire name, if one is.
    pub member: Option<String>,
    /// What is wrong.
    pub reason: String,
}

/// A response that could not be read as an API response.
#[derive(Debug)]
pub struct DecodeFailure {
    /// The HTTP status.
    pub status: u16,
    /// The request id, if the body had one.
    pub request_id: Option<String>,
    /// The start of the body (at most 256 bytes).
    pub excerpt: String,
    /// What the parser said.
    pub detail: String,
    /// The call.
    pub context: CallContext,
}

/// The call ran out of time.
#[derive(Debug)]
pub struct TimeoutError {
    /// How long the call was allowed.
    pub limit: std::time::Duration,
    /// The last failure before time ran out, if any.
    pub last: Option<Error>,
    /// The call.
    pub context: CallContext,
}

impl Error {
    /// The API error code, for [`Error::Api`].
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Api(e) => Some(&e.code),
            _ => None,
        }
    }

    /// The request id, when the service assigned one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => Some(e.request_id.as_str()).filter(|r| !r.is_empty()),
            Error::Decode(e) => e.request_id.as_deref(),
            Error::Timeout(e) => e.last.as_ref().and_then(Error::request_id),
            _ => None,
        }
    }

    /// The details of an API error.
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// Whether sending the same request again is safe and may succeed, judged by the
    /// error's class and whether the action only reads. The client's retry policy
    /// already applied this rule; a `true` here means the attempts ran out.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) => match e.code.retry_class() {
                RetryClass::Throttled | RetryClass::Clock => true,
                RetryClass::Transient => e.context.read_only,
                _ => false,
            },
            Error::Transport(e) => e.source.is_retryable(e.context.read_only),
            Error::Decode(e) => e.status >= 500 && e.context.read_only,
            Error::Timeout(e) => e.context.read_only,
            Error::Credentials(_) | Error::InvalidInput(_) => false,
        }
    }

    /// Whether a mutating request may have been executed although no answer arrived,
    /// so that sending it again could repeat it.
    pub fn may_have_executed(&self) -> bool {
        match self {
            Error::Transport(e) => e.may_have_been_sent() && !e.context.read_only,
            Error::Decode(e) => e.status >= 500 && !e.context.read_only,
            Error::Timeout(e) => !e.context.read_only,
            _ => false,
        }
    }

    pub(crate) fn invalid_input(
        action: &str,
        member: Option<&str>,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidInput(Box::new(InvalidInput {
            action: action.to_owned(),
            member: member.map(str::to_owned),
            reason: reason.into(),
        }))
    }

    /// A required member was not set.
    pub(crate) fn missing(action: &str, member: &str) -> Self {
        Self::invalid_input(action, Some(member), "is required but was not set")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api(e) => {
                write!(f, "{}: {}: {}", e.context, e.code, e.message)?;
                if !e.request_id.is_empty() {
                    write!(f, " (request id {})", e.request_id)?;
                }
                Ok(())
            }
            Error::Transport(e) => {
                write!(f, "{}: no response", e.context)?;
                if e.may_have_been_sent() && !e.context.read_only {
                    write!(
                        f,
                        "; the request may have been executed, so it was not sent again: check its effect before retrying"
                    )?;
                }
                Ok(())
            }
            Error::Credentials(_) => f.write_str("no usable credentials"),
            Error::InvalidInput(e) => match &e.member {
                Some(member) => write!(f, "{}: `{member}` {}", e.action, e.reason),
                None => write!(f, "{}: {}", e.action, e.reason),
            },
            Error::Decode(e) => {
                write!(f, "{}: unreadable response (HTTP {})", e.context, e.status)?;
                if let Some(id) = &e.request_id {
                    write!(f, " (request id {id})")?;
                }
                write!(f, ": {}; body starts {:?}", e.detail, e.excerpt)
            }
            Error::Timeout(e) => write!(f, "{}: no result within {:?}", e.context, e.limit),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::Transport(e) => Some(&e.source),
            Error::Credentials(e) => Some(&**e),
            Error::Timeout(e) => e.last.as_ref().map(|l| l as &(dyn StdError + 'static)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_two_words() {
        assert!(std::mem::size_of::<Error>() <= 2 * std::mem::size_of::<usize>());
    }

    fn context(read_only: bool) -> CallContext {
        CallContext {
            action: "CopySnapshotCrossRegions".into(),
            region: Some("ap-guangzhou".into()),
            read_only,
            attempts: 1,
        }
    }

    #[test]
    fn display_shows_code_and_request_id() {
        let e = Error::Api(Box::new(ApiError {
            code: ErrorCode::InvalidSnapshotIdNotFound,
            message: "no such snapshot".into(),
            request_id: "r-1".into(),
            context: context(false),
        }));
        assert_eq!(
            e.to_string(),
            "CopySnapshotCrossRegions in ap-guangzhou: InvalidSnapshotId.NotFound: no such snapshot (request id r-1)"
        );
        assert_eq!(e.request_id(), Some("r-1"));
        assert!(!e.is_retryable());
    }

    #[test]
    fn ambiguous_transport_failures_say_so_and_do_not_repeat_the_source() {
        let source = TransportError::new(
            cbs_transport::TransportErrorKind::Interrupted,
            "connection reset by peer",
        );
        let e = Error::Transport(Box::new(TransportFailure {
            source,
            context: context(false),
        }));
        let shown = e.to_string();
        assert!(shown.contains("may have been executed"));
        assert!(!shown.contains("reset by peer"));
        assert!(e.may_have_executed() && !e.is_retryable());
        assert!(StdError::source(&e).is_some());
    }
}
