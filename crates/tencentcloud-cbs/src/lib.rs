//! A client for Tencent Cloud Block Storage (CBS), API version 2017-03-12.
//!
//! - Typed operations for all 61 actions (both sites' models), in a fluent style:
//!   `client.copy_snapshot_cross_regions().snapshot_id("snap-…").destination_regions(["ap-beijing"]).send().await`,
//!   validated before anything is sent.
//! - Retries that are safe, by one rule: throttling, clock-skew rejections and
//!   connections that never sent anything are retried for every action; transient
//!   failures only for read-only ones and for idempotent ones, whose empty `ClientToken`
//!   the client fills once per call; so a copy is never started twice because an answer
//!   got lost. [`Error::is_retryable`] and [`Error::may_have_executed`] answer by the
//!   same rule.
//! - A client-side rate limiter per action, taken by every attempt, so concurrent
//!   callers and their retries wait instead of collecting `RequestLimitExceeded`.
//! - Clock-skew recovery: a request rejected for its timestamp is re-signed with the
//!   service's time and sent again, for skews of minutes or of decades (a VM restored
//!   from an old image, a board that boots in 1970); a warning says how far off the
//!   local clock is.
//! - One small [`Error`] with the code, message and request id, and whether the request
//!   may have run.
//! - `tracing` spans per call; no secret, token or signature is ever logged.
//! - Waiters ([`Client::wait_until_snapshot_normal`], [`Client::copy_snapshot_and_wait`])
//!   and paginators (`into_paginator()` on every `Describe*` builder).
//! - Disaster recovery for fleets of disks (policies, plans, exactly-once copies,
//!   retention, RPO checks, restore drills) is a crate of its own on top of this one,
//!   `cbs-dr`; this crate is the client alone.
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
#![cfg_attr(docsrs, feature(doc_cfg))]

mod assume_role;
mod call;
mod client;
mod clock;
mod copy_and_wait;
pub mod credentials;
mod endpoint;
mod error;
mod generated;
mod paginator;
mod random;
mod rate_limit;
mod request;
mod retry;
pub mod tag;
mod waiter;

pub use assume_role::{AssumeRoleBuilder, AssumeRoleProvider};
pub use call::CallOptions;
pub use client::{BuildError, Client, ClientBuilder, Language};
pub use clock::{Clock, MAX_LEARNED_OFFSET, OffsetClock, SystemClock};
pub use copy_and_wait::{CopyAndWait, RegionOutcome};
pub use credentials::{
    CachingProvider, ChainProvider, Credentials, CredentialsError, CredentialsErrorKind,
    CvmRoleProvider, EnvProvider, OidcProvider, ProfileProvider, ProvideCredentials,
    ProviderContext,
};
pub use endpoint::{DEFAULT_ROOT_DOMAIN, INTERNATIONAL_ROOT_DOMAIN};
pub use error::{
    ApiFailure, CallContext, DecodeFailure, Error, ErrorChain, InvalidInput, TimeoutError,
    TransportFailure,
};
pub use paginator::{Items, Paginator};
pub use rate_limit::RateLimitConfig;
pub use request::SignatureMethod;
pub use retry::{RetryConfig, RetryQuota};
pub use waiter::{SnapshotProgress, SnapshotWaiter, WaiterError};

/// The fluent builders of every action.
pub mod operation {
    pub use crate::generated::operations::*;
}

/// Request, response and error-code types (the `cbs-model` crate).
pub use cbs_model as model;
pub use cbs_model::{ApiError, Availability, ErrorCode, RetryClass, Safety};
#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub use cbs_transport::ProxyConfig;
pub use cbs_transport::{
    BoxFuture, HttpRequest, HttpResponse, SharedTransport, Transport, TransportError,
    TransportErrorKind,
};

/// A scripted transport for tests (feature `test-util`): see
/// [`MockTransport`](test_util::MockTransport).
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util {
    pub use cbs_transport::test_util::*;
}

/// The README's code, compiled as a doctest so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
