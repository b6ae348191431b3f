//! TC3-HMAC-SHA256, the request signature of Tencent Cloud API 3.0, and the legacy v1
//! signatures (`HmacSHA1`, `HmacSHA256`) in [`v1`].
//!
//! This crate signs requests for any Tencent Cloud API (CBS, CVM, STS, …) and verifies
//! them on the receiving side. It does no I/O, has no async and no clock of its own: every
//! input, the timestamp included, is passed in. It is `no_std` with `alloc`; the default
//! `std` feature adds [`std::error::Error`] impls and [`SystemTime`](std::time::SystemTime)
//! helpers, and the `http` feature signs and verifies `http::Request` values in place
//! (`sign_http_request`, `verify_http_request`).
//!
//! # Signing
//!
//! ```
//! use tc3_sign::{sign, Credentials, SignableRequest};
//!
//! let credentials = Credentials::new("AKIDEXAMPLE", "EXAMPLEKEYexamplekeyEXAMPLEKEY12");
//! let body = br#"{"SnapshotId":"snap-ckgjwkqh","DestinationRegions":["ap-beijing"]}"#;
//! let request = SignableRequest::post_json("cbs.tencentcloudapi.com", body);
//!
//! let signed = sign(&request, &credentials, "cbs", 1_700_000_000)?;
//! assert_eq!(
//!     signed.signature(),
//!     "39f8767dc3009df3f297604faaead3189afaa2fe1581cbf7df908674ffb8524e"
//! );
//! // Everything the request must carry besides its own headers:
//! for (name, value) in signed.headers() {
//!     println!("{name}: {value}");
//! }
//! # Ok::<(), tc3_sign::SignError>(())
//! ```
//!
//! A long-running client should not derive the signing key for every request: a
//! [`SigningKey`] depends only on the secret key, the UTC date and the service, and
//! [`CachingSigner`] keeps one and re-derives it when the date changes. When requests
//! differ only in their body (one host, one path), a [`PreparedRequest`] also keeps the
//! hashed constant part of the canonical request.
//!
//! # Verifying
//!
//! ```
//! use tc3_sign::{sign, Credentials, ReceivedRequest, SignableRequest, Verifier};
//!
//! let credentials = Credentials::new("AKIDEXAMPLE", "secret");
//! let body = br#"{"Limit":10}"#;
//! let signed = sign(&SignableRequest::post_json("cbs.example", body), &credentials, "cbs", 1_700_000_000)?;
//!
//! // What the server received:
//! let headers = [
//!     ("Host", "cbs.example"),
//!     ("Content-Type", "application/json"),
//!     ("X-TC-Timestamp", "1700000000"),
//!     ("Authorization", signed.authorization()),
//! ];
//! let received = ReceivedRequest::new("POST", "/", "", body, &headers);
//! let verified = Verifier::new("cbs")
//!     .verify(&received, 1_700_000_100, |id| (id == "AKIDEXAMPLE").then_some(&credentials))
//!     .expect("valid signature");
//! assert_eq!(verified.secret_id(), "AKIDEXAMPLE");
//! # Ok::<(), tc3_sign::SignError>(())
//! ```
//!
//! # Canonical form
//!
//! The stages are public so that a failing signature can be debugged: see
//! [`canonical_request`], [`string_to_sign`] and [`SigningKey::signature_hex`]. Header
//! names are lower-cased and sorted; header values are trimmed of spaces and tabs but
//! otherwise signed as sent, which is what the official SDKs do.
#![no_std]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod authorization;
mod canonical;
mod credentials;
mod date;
mod error;
#[cfg(feature = "http")]
mod http_request;
mod key;
mod prepared;
mod request;
mod sha;
mod sign;
mod text;
pub mod v1;
mod verify;

pub use authorization::ParsedAuthorization;
pub use canonical::{canonical_request, string_to_sign};
pub use credentials::Credentials;
pub use date::UtcDate;
pub use error::{SignError, SignErrorKind, VerifyError, VerifyErrorKind};
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use http_request::{sign_http_request, verify_http_request};
pub use key::SigningKey;
pub use prepared::PreparedRequest;
pub use request::{Payload, SignableRequest};
pub use sign::{CachingSigner, Signed, sign, sign_with_key};
pub use verify::{DEFAULT_CLOCK_WINDOW_SECS, ReceivedRequest, Verified, Verifier};

/// The algorithm name that opens every `Authorization` value.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// The last element of every credential scope.
pub const SCOPE_TERMINATOR: &str = "tc3_request";

/// The payload marker for requests whose body is not hashed.
///
/// A request signed this way must carry the header `X-TC-Content-SHA256` with this value.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Header names the signer emits or reads, in the spelling the API documents.
pub mod header {
    /// `Authorization`.
    pub const AUTHORIZATION: &str = "Authorization";
    /// `X-TC-Timestamp`: the Unix time the signature was made for.
    pub const TIMESTAMP: &str = "X-TC-Timestamp";
    /// `X-TC-Token`: the session token of temporary credentials.
    pub const TOKEN: &str = "X-TC-Token";
    /// `X-TC-Content-SHA256`: set to [`UNSIGNED_PAYLOAD`](crate::UNSIGNED_PAYLOAD) for unsigned bodies.
    pub const CONTENT_SHA256: &str = "X-TC-Content-SHA256";
}
