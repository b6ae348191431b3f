//! The one error type of every call.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use cbs_model::{ApiError, ErrorCode, Safety};
use cbs_transport::{TransportError, TransportErrorKind};

use crate::credentials::CredentialsError;

/// Why a call failed.
///
/// Two words in size; each variant boxes its details. [`code`](Self::code),
/// [`request_id`](Self::request_id), [`is_retryable`](Self::is_retryable) and
/// [`may_have_executed`](Self::may_have_executed) work without matching; `Display` says
/// what failed and never repeats the source (walk [`source`](StdError::source) for that),
/// and never shows credentials.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The service answered with an error.
    Api(Box<ApiFailure>),
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

/// Which call an error belongs to, and what its attempts did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallContext {
    pub(crate) action: String,
    pub(crate) region: Option<String>,
    pub(crate) safety: Safety,
    pub(crate) attempts: u32,
    /// Whether an attempt before the last may have run the request.
    pub(crate) earlier_attempt_may_have_run: bool,
    pub(crate) client_token: Option<String>,
}

impl CallContext {
    /// The action (`CopySnapshotCrossRegions`).
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The region the call was sent to, if any.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// How safe the action is to send again.
    pub fn safety(&self) -> Safety {
        self.safety
    }

    /// How many attempts were made.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The `ClientToken` the call carried (an idempotent action's, filled in by the
    /// client when the caller left it empty): send the request again with this token and
    /// the service runs it at most once.
    pub fn client_token(&self) -> Option<&str> {
        self.client_token.as_deref()
    }
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

/// An error the service answered with: the service's error (the model's [`ApiError`],
/// the one type for the envelope's `Error` object) and the call it answered.
#[derive(Debug)]
#[non_exhaustive]
pub struct ApiFailure {
    pub(crate) error: ApiError,
    pub(crate) context: CallContext,
}

impl ApiFailure {
    /// The service's error: code, message, request id.
    pub fn api_error(&self) -> &ApiError {
        &self.error
    }

    /// The error code (the same as `api_error().code()`).
    pub fn code(&self) -> &ErrorCode {
        self.error.code()
    }

    /// The service's message.
    pub fn message(&self) -> &str {
        self.error.message()
    }

    /// The request id; quote it when asking for support.
    pub fn request_id(&self) -> &str {
        self.error.request_id()
    }

    /// The call.
    pub fn context(&self) -> &CallContext {
        &self.context
    }
}

/// A call that got no response.
#[derive(Debug)]
#[non_exhaustive]
pub struct TransportFailure {
    pub(crate) source: TransportError,
    pub(crate) context: CallContext,
}

impl TransportFailure {
    /// What went wrong, as the transport saw it.
    pub fn kind(&self) -> TransportErrorKind {
        self.source.kind()
    }

    /// Whether the request may have reached the service. For a mutating action this
    /// means it may have been executed: check (for a copy, with `DescribeSnapshots`)
    /// before sending it again.
    pub fn may_have_been_sent(&self) -> bool {
        self.source.may_have_been_sent()
    }

    /// The transport's error.
    pub fn transport_error(&self) -> &TransportError {
        &self.source
    }

    /// The call.
    pub fn context(&self) -> &CallContext {
        &self.context
    }
}

/// A request that was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidInput {
    pub(crate) action: String,
    pub(crate) member: Option<String>,
    pub(crate) reason: String,
}

impl InvalidInput {
    /// The action.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The member at fault, by wire name, if one is.
    pub fn member(&self) -> Option<&str> {
        self.member.as_deref()
    }

    /// What is wrong.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// A response that could not be read as an API response.
#[derive(Debug)]
#[non_exhaustive]
pub struct DecodeFailure {
    pub(crate) status: u16,
    pub(crate) request_id: Option<String>,
    pub(crate) excerpt: Option<String>,
    pub(crate) detail: String,
    pub(crate) context: CallContext,
}

impl DecodeFailure {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The request id, if the body had one.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The start of the body (at most 256 bytes), for diagnosis; `None` for answers that
    /// may carry secrets (those of credential services).
    pub fn excerpt(&self) -> Option<&str> {
        self.excerpt.as_deref()
    }

    /// What the parser said.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The call.
    pub fn context(&self) -> &CallContext {
        &self.context
    }
}

/// The call ran out of time.
#[derive(Debug)]
#[non_exhaustive]
pub struct TimeoutError {
    pub(crate) limit: Duration,
    pub(crate) last: Option<Error>,
    pub(crate) context: CallContext,
}

impl TimeoutError {
    /// How long the call was allowed.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// The last failure before time ran out, if any.
    pub fn last(&self) -> Option<&Error> {
        self.last.as_ref()
    }

    /// The call.
    pub fn context(&self) -> &CallContext {
        &self.context
    }
}

impl Error {
    /// The API error code, for [`Error::Api`] (or a timeout whose last attempt had one).
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Api(e) => Some(e.code()),
            Error::Timeout(e) => e.last.as_ref().and_then(Error::code),
            _ => None,
        }
    }

    /// The request id, when the service assigned one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => Some(e.request_id()).filter(|r| !r.is_empty()),
            Error::Decode(e) => e.request_id.as_deref(),
            Error::Timeout(e) => e.last.as_ref().and_then(Error::request_id),
            _ => None,
        }
    }

    /// The details of an API error.
    pub fn as_api(&self) -> Option<&ApiFailure> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The call the error belongs to; `None` for errors before a call could start
    /// (credentials, invalid input).
    pub fn context(&self) -> Option<&CallContext> {
        match self {
            Error::Api(e) => Some(&e.context),
            Error::Transport(e) => Some(&e.context),
            Error::Decode(e) => Some(&e.context),
            Error::Timeout(e) => Some(&e.context),
            Error::Credentials(_) | Error::InvalidInput(_) => None,
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

    /// A request that failed the model's checks.
    pub(crate) fn from_validation(action: &str, error: cbs_model::ValidationError) -> Self {
        Self::invalid_input(action, Some(error.member()), error.reason())
    }

    pub(crate) fn context_mut(&mut self) -> Option<&mut CallContext> {
        match self {
            Error::Api(e) => Some(&mut e.context),
            Error::Transport(e) => Some(&mut e.context),
            Error::Decode(e) => Some(&mut e.context),
            Error::Timeout(e) => Some(&mut e.context),
            Error::Credentials(_) | Error::InvalidInput(_) => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api(e) => {
                write!(f, "{}: {}: {}", e.context, e.code(), e.message())?;
                if !e.request_id().is_empty() {
                    write!(f, " (request id {})", e.request_id())?;
                }
                Ok(())
            }
            Error::Transport(e) => write!(f, "{}: no response", e.context),
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
                write!(f, ": {}", e.detail)?;
                if let Some(excerpt) = &e.excerpt {
                    write!(f, "; body starts {excerpt:?}")?;
                }
                Ok(())
            }
            Error::Timeout(e) => write!(
                f,
                "{}: no result within the call's deadline of {}",
                e.context,
                Seconds(e.limit)
            ),
        }?;
        if self.may_have_executed() {
            f.write_str("; the request may have been executed")?;
            if self.context().is_some_and(|c| c.safety == Safety::Mutating) {
                f.write_str(", so it was not sent again: check its effect before retrying")?;
            }
        }
        Ok(())
    }
}

/// A duration as people read it: `45s`, `3m 20s`, `6h 0m`.
struct Seconds(Duration);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        match secs {
            0..120 => write!(f, "{:.0}s", self.0.as_secs_f64()),
            120..7200 => write!(f, "{}m {}s", secs / 60, secs % 60),
            _ => write!(f, "{}h {}m", secs / 3600, secs % 3600 / 60),
        }
    }
}

/// An error and every cause under it, on one line, `: ` between them: for logs and
/// reports that keep only a string. (An [`Error`]'s own `Display` never repeats its
/// source, so that a caller who walks the chain does not see it twice.)
///
/// ```
/// use tencentcloud_cbs::ErrorChain;
/// let io = std::io::Error::other("disk full");
/// assert_eq!(ErrorChain(&io).to_string(), "disk full");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ErrorChain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
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

    pub(crate) fn context(safety: Safety) -> CallContext {
        CallContext {
            action: "CopySnapshotCrossRegions".into(),
            region: Some("ap-guangzhou".into()),
            safety,
            attempts: 1,
            earlier_attempt_may_have_run: false,
            client_token: None,
        }
    }

    #[test]
    fn display_shows_code_and_request_id() {
        let e = Error::Api(Box::new(ApiFailure {
            error: ApiError::new(
                ErrorCode::InvalidSnapshotIdNotFound,
                "no such snapshot",
                "r-1",
            ),
            context: context(Safety::Mutating),
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
        let source =
            TransportError::new(TransportErrorKind::Interrupted, "connection reset by peer");
        let e = Error::Transport(Box::new(TransportFailure {
            source,
            context: context(Safety::Mutating),
        }));
        let shown = e.to_string();
        assert!(shown.contains("may have been executed"), "{shown}");
        assert!(!shown.contains("reset by peer"));
        assert!(e.may_have_executed() && !e.is_retryable());
        assert!(StdError::source(&e).is_some());
    }
}
