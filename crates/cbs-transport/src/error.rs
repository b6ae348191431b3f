use std::error::Error as StdError;
use std::fmt;

/// Why a request got no response, in terms of what is safe to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No connection could be made (name resolution, refused, connect timeout, proxy
    /// refused the tunnel), or a pooled connection was found closed before the request
    /// went out. The request was not sent: retrying is safe for any request.
    Connect,
    /// The exchange did not finish within the timeout. The request may have been sent.
    Timeout,
    /// The connection broke after the request started (reset, closed early). The request
    /// may have been sent.
    Interrupted,
    /// The TLS handshake failed (an untrusted certificate, a protocol mismatch). Not sent;
    /// retrying will fail the same way.
    Tls,
    /// The response body is larger than the configured limit. It was not read to the end.
    ResponseTooLarge,
    /// The server's answer is not valid HTTP.
    InvalidResponse,
    /// The request cannot be sent as given (for example plain `http` when only `https`
    /// is allowed). Not sent.
    InvalidRequest,
    /// Anything else. The request may have been sent.
    Other,
}

impl TransportErrorKind {
    /// Whether the request may have reached the server.
    pub fn may_have_been_sent(self) -> bool {
        !matches!(
            self,
            TransportErrorKind::Connect
                | TransportErrorKind::Tls
                | TransportErrorKind::InvalidRequest
        )
    }

    /// Whether a response (or the start of one) arrived: the server handled the request.
    pub fn response_arrived(self) -> bool {
        matches!(
            self,
            TransportErrorKind::ResponseTooLarge | TransportErrorKind::InvalidResponse
        )
    }

    fn describe(self) -> &'static str {
        match self {
            TransportErrorKind::Connect => "could not connect; the request was not sent",
            TransportErrorKind::Timeout => "the request timed out; it may have been sent",
            TransportErrorKind::Interrupted => {
                "the connection broke during the exchange; the request may have been sent"
            }
            TransportErrorKind::Tls => "the TLS handshake failed",
            TransportErrorKind::ResponseTooLarge => "the response body exceeds the size limit",
            TransportErrorKind::InvalidResponse => "the response is not valid HTTP",
            TransportErrorKind::InvalidRequest => "the request cannot be sent as given",
            TransportErrorKind::Other => "the HTTP exchange failed",
        }
    }
}

/// A failure to get a response. Its [`kind`](Self::kind) says what happened (whether
/// the request may have been sent, whether an answer arrived); deciding whether to send
/// it again is the caller's business. [`source`](StdError::source) keeps the
/// underlying error.
pub struct TransportError {
    inner: Box<Inner>,
}

struct Inner {
    kind: TransportErrorKind,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl TransportError {
    /// An error of `kind` caused by `source`.
    pub fn new(
        kind: TransportErrorKind,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        TransportError {
            inner: Box::new(Inner {
                kind,
                source: Some(source.into()),
            }),
        }
    }

    /// An error of `kind` with no underlying cause.
    pub fn from_kind(kind: TransportErrorKind) -> Self {
        TransportError {
            inner: Box::new(Inner { kind, source: None }),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> TransportErrorKind {
        self.inner.kind
    }

    /// Whether the request may have reached the server.
    pub fn may_have_been_sent(&self) -> bool {
        self.inner.kind.may_have_been_sent()
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportError")
            .field("kind", &self.inner.kind)
            .field("source", &self.inner.source)
            .finish()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.inner.kind.describe())
    }
}

impl StdError for TransportError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|s| &**s as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_each_kind_says_happened() {
        use TransportErrorKind::*;
        for kind in [Connect, Tls, InvalidRequest] {
            assert!(
                !kind.may_have_been_sent() && !kind.response_arrived(),
                "{kind:?}"
            );
        }
        for kind in [Timeout, Interrupted, Other] {
            assert!(
                kind.may_have_been_sent() && !kind.response_arrived(),
                "{kind:?}"
            );
        }
        for kind in [ResponseTooLarge, InvalidResponse] {
            assert!(
                kind.may_have_been_sent() && kind.response_arrived(),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn small_and_chained() {
        assert_eq!(
            std::mem::size_of::<TransportError>(),
            std::mem::size_of::<usize>()
        );
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = TransportError::new(TransportErrorKind::Connect, io);
        assert_eq!(err.source().unwrap().to_string(), "refused");
        assert!(
            !err.to_string().contains("refused"),
            "Display must not repeat the source"
        );
    }
}
