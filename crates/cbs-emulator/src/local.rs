//! The emulator in process: a [`Transport`] that hands requests straight to it.

use std::fmt;
use std::sync::Arc;

use cbs_transport::{
    BoxFuture, HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind,
};
use http_body_util::{BodyExt, Full};

use crate::protocol::{self, Shared};

/// Sends requests to an emulator in the same process, without a socket: what a client
/// gets over HTTP, on tokio's clock alone, so tests under paused time are exact. Where
/// requests are addressed does not matter; an injected dropped connection is an
/// [`Interrupted`](TransportErrorKind::Interrupted) error.
#[derive(Clone)]
pub struct LocalTransport {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for LocalTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalTransport").finish_non_exhaustive()
    }
}

impl Transport for LocalTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let request = http::Request::from_parts(parts, Full::new(body));
            let response = protocol::handle(self.shared.clone(), request)
                .await
                .map_err(|dropped| TransportError::new(TransportErrorKind::Interrupted, dropped))?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map(|collected| collected.to_bytes())
                .unwrap_or_default();
            Ok(http::Response::from_parts(parts, body))
        })
    }
}
