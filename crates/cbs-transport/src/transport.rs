use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::TransportError;

/// A request with its whole body.
pub type HttpRequest = http::Request<bytes::Bytes>;
/// A response with its whole body.
pub type HttpResponse = http::Response<bytes::Bytes>;
/// The future a [`Transport`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sends HTTP requests. Object safe: clients hold one as `Arc<dyn Transport>`.
///
/// An implementation sends the request as given (it adds nothing that is signed, such as
/// `Host`, if the request already has it) and returns the response whatever its status;
/// only failures to get a response are errors.
pub trait Transport: Send + Sync + fmt::Debug + 'static {
    /// Sends `request` and reads the whole response.
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>>;
}

impl<T: Transport + ?Sized> Transport for Arc<T> {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        (**self).send(request)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        (**self).send(request)
    }
}

/// A cheaply cloned, shared transport.
#[derive(Clone, Debug)]
pub struct SharedTransport(Arc<dyn Transport>);

impl SharedTransport {
    /// Shares `transport`.
    pub fn new(transport: impl Transport) -> Self {
        SharedTransport(Arc::new(transport))
    }

    /// Shares an already shared transport.
    pub fn from_arc(transport: Arc<dyn Transport>) -> Self {
        SharedTransport(transport)
    }
}

impl Transport for SharedTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        self.0.send(request)
    }
}
