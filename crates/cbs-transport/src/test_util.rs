//! A scripted [`Transport`] for tests that should not open sockets (feature `test-util`).

use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;

use bytes::Bytes;

use crate::error::{TransportError, TransportErrorKind};
use crate::transport::{BoxFuture, HttpRequest, HttpResponse, Transport};

type Handler = Box<dyn Fn(&HttpRequest) -> Result<HttpResponse, TransportError> + Send + Sync>;

enum Reply {
    Response(HttpResponse),
    Error(TransportErrorKind, String),
}

/// Answers requests from a script, then from an optional handler, and keeps every
/// request it was sent.
///
/// ```
/// use cbs_transport::test_util::MockTransport;
/// use cbs_transport::{Transport, TransportErrorKind};
///
/// # tokio_test_block_on(async {
/// let mock = MockTransport::new();
/// mock.push_error(TransportErrorKind::Connect);
/// mock.push_response(200, r#"{"Response":{"RequestId":"r"}}"#);
/// let request = || http::Request::post("https://h/").body(bytes::Bytes::new()).unwrap();
/// assert_eq!(mock.send(request()).await.unwrap_err().kind(), TransportErrorKind::Connect);
/// assert_eq!(mock.send(request()).await.unwrap().status(), 200);
/// assert_eq!(mock.requests().len(), 2);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub struct MockTransport {
    script: Mutex<VecDeque<Reply>>,
    captured: Mutex<Vec<HttpRequest>>,
    handler: Option<Handler>,
}

impl fmt::Debug for MockTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockTransport")
            .field(
                "scripted",
                &self.script.lock().map(|s| s.len()).unwrap_or(0),
            )
            .field(
                "requests",
                &self.captured.lock().map(|c| c.len()).unwrap_or(0),
            )
            .finish()
    }
}

impl Default for MockTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl MockTransport {
    /// A transport with an empty script; requests beyond the script fail with
    /// [`TransportErrorKind::Other`].
    pub fn new() -> Self {
        MockTransport {
            script: Mutex::new(VecDeque::new()),
            captured: Mutex::new(Vec::new()),
            handler: None,
        }
    }

    /// A transport that answers every request beyond the script with `handler`.
    pub fn with_handler(
        handler: impl Fn(&HttpRequest) -> Result<HttpResponse, TransportError> + Send + Sync + 'static,
    ) -> Self {
        MockTransport {
            handler: Some(Box::new(handler)),
            ..Self::new()
        }
    }

    /// Queues a response with `status` and `body` (content type JSON).
    pub fn push_response(&self, status: u16, body: impl Into<Bytes>) -> &Self {
        self.push_http_response(json_response(status, body))
    }

    /// Queues a complete response.
    pub fn push_http_response(&self, response: HttpResponse) -> &Self {
        self.lock_script().push_back(Reply::Response(response));
        self
    }

    /// Queues a failure of `kind`.
    pub fn push_error(&self, kind: TransportErrorKind) -> &Self {
        self.lock_script()
            .push_back(Reply::Error(kind, format!("injected {kind:?} failure")));
        self
    }

    /// Every request sent so far, in order.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.captured.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn lock_script(&self) -> std::sync::MutexGuard<'_, VecDeque<Reply>> {
        // A test that panicked while holding the lock leaves the script as it was.
        self.script
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn answer(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        match self.lock_script().pop_front() {
            Some(Reply::Response(response)) => return Ok(response),
            Some(Reply::Error(kind, message)) => return Err(TransportError::new(kind, message)),
            None => {}
        }
        match &self.handler {
            Some(handler) => handler(request),
            None => Err(TransportError::new(
                TransportErrorKind::Other,
                "MockTransport has no scripted reply left",
            )),
        }
    }
}

/// A response with `status` and a JSON `body`, for scripts and handlers.
pub fn json_response(status: u16, body: impl Into<Bytes>) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap_or_default()
}

impl Transport for MockTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        let reply = self.answer(&request);
        self.captured
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(request);
        Box::pin(async move { reply })
    }
}
