//! A client for Tencent Cloud Block Storage (CBS), API version 2017-03-12.
//!
//! - Typed operations for all 44 actions, in a fluent style:
//!   `client.copy_snapshot_cross_regions().snapshot_id("snap-…").destination_regions(["ap-beijing"]).send().await`,
//!   validated before anything is sent.
//! - Retries that are safe: throttling, clock-skew rejections and connections that never
//!   sent anything are retried for every action; transient failures only for read-only
//!   ones, so a copy is never started twice because an answer got lost.
//! - A client-side rate limiter per action, so concurrent callers wait instead of
//!   collecting `RequestLimitExceeded`.
//! - Clock-skew recovery: a request rejected for its timestamp is re-signed with the
//!   service's time and sent again.
//! - One small [`Error`] with the code, message and request id, and whether the request
//!   may have run.
//! - `tracing` spans per call; no secret, token or signature is ever logged.
//!
//! ```no_run
//! use tencentcloud_cbs::{Client, Credentials};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder()
//!     .region("ap-guangzhou")
//!     .credentials(Credentials::new("AKID…", "…"))
//!     .build()?;
//!
//! let copy = client
//!     .copy_snapshot_cross_regions()
//!     .snapshot_id("snap-ckgjwkqh")
//!     .destination_regions(["ap-beijing"])
//!     .send()
//!     .await?;
//! for result in copy.snapshot_copy_result_set() {
//!     println!("{:?}: {:?} {:?}", result.destination_region, result.code, result.snapshot_id);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The request and response types live in [`model`] (the `cbs-model` crate); the HTTP
//! layer is any [`Transport`] (the `cbs-transport` crate; by default a pooled hyper
//! client over rustls).
#![deny(missing_docs)]

mod client;
mod clock;
pub mod credentials;
mod dispatch;
mod error;
mod generated;
mod paginator;
mod rate_limit;
mod replicate;
mod retry;
mod trace_id;
mod waiter;
mod wire_cache;

pub use client::{BuildError, Client, ClientBuilder, DEFAULT_ROOT_DOMAIN, Language};
pub use clock::{Clock, OffsetClock, SystemClock};
pub use credentials::{
    AssumeRoleProvider, CachingProvider, ChainProvider, Credentials, CredentialsError,
    CredentialsErrorKind, CvmRoleProvider, EnvProvider, OidcProvider, ProfileProvider,
    ProvideCredentials,
};
pub use dispatch::CallOptions;
pub use error::{
    ApiError, CallContext, DecodeFailure, Error, InvalidInput, TimeoutError, TransportFailure,
};
pub use paginator::{Items, Paginator};
pub use rate_limit::RateLimitConfig;
pub use replicate::{CopyAndWait, RegionOutcome};
pub use retry::{RetryConfig, RetryQuota};
pub use waiter::{SnapshotProgress, SnapshotWaiter, WaiterError};

/// The fluent builders of every action.
pub mod operation {
    pub use crate::generated::operations::*;
}

/// Request, response and error-code types (the `cbs-model` crate).
pub use cbs_model as model;
pub use cbs_model::{ErrorCode, RetryClass};
pub use cbs_transport::{
    BoxFuture, HttpRequest, HttpResponse, ProxyConfig, SharedTransport, Transport, TransportError,
    TransportErrorKind,
};

/// The README's code, compiled as a doctest so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
