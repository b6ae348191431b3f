use core::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// How safe it is to send a request of an action again when it is not known whether
/// the first one ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Safety {
    /// The action only reads (`Describe*`, `Inquir*`, `Get*`): running it twice does no
    /// harm.
    ReadOnly,
    /// The action changes something, but carries a `ClientToken`: the service runs a
    /// request once per token, so a repeat with the same token is harmless.
    Idempotent,
    /// The action changes something and a repeat would do it again (a second copy, a
    /// second disk).
    Mutating,
}

impl Safety {
    /// Whether a request may be sent again after it may have run.
    pub fn may_repeat(self) -> bool {
        !matches!(self, Safety::Mutating)
    }

    /// `read-only`, `idempotent` or `mutating`.
    pub fn as_str(self) -> &'static str {
        match self {
            Safety::ReadOnly => "read-only",
            Safety::Idempotent => "idempotent",
            Safety::Mutating => "mutating",
        }
    }
}

impl fmt::Display for Safety {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which of Tencent Cloud's sites offer an action: the international site
/// (tencentcloud.com) and the China site (cloud.tencent.com) publish different models of
/// the same API version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Availability {
    /// Both sites.
    Both,
    /// The China site only.
    ChinaOnly,
    /// The international site only.
    InternationalOnly,
}

impl Availability {
    /// `both`, `china` or `international`.
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Both => "both",
            Availability::ChinaOnly => "china",
            Availability::InternationalOnly => "international",
        }
    }
}

impl fmt::Display for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request type of the CBS API: what the client needs to know to send it.
///
/// With the `server` feature, every request also implements `Deserialize` and every
/// output `Serialize` (through [`ServerRequest`] and [`ServerOutput`]).
pub trait Action: Serialize + ServerRequest + Clone + fmt::Debug + Send + Sync + 'static {
    /// The action name (`X-TC-Action`).
    const NAME: &'static str;
    /// How safe the action is to send again.
    const SAFETY: Safety;
    /// Which sites offer it.
    const AVAILABILITY: Availability;
    /// Whether the service has marked the action deprecated.
    const DEPRECATED: bool;
    /// Wire names of the members the service requires, including those the curated
    /// overlay adds to the models' own lists.
    const REQUIRED: &'static [&'static str];
    /// The response type.
    type Output: ActionOutput;

    /// Checks what the types cannot: that required lists and strings are not empty.
    fn validate(&self) -> Result<(), ValidationError>;

    /// The request's `ClientToken`, for [`Idempotent`](Safety::Idempotent) actions:
    /// a client fills an empty one before the first attempt.
    fn client_token_mut(&mut self) -> Option<&mut Option<String>> {
        None
    }
}

/// A response type of the CBS API.
pub trait ActionOutput:
    DeserializeOwned + ServerOutput + Clone + fmt::Debug + Send + Sync + 'static
{
    /// The request id the service assigned to the call (empty if it sent none).
    fn request_id(&self) -> &str;
}

/// What a server needs of a request besides what a client does: `Deserialize` with the
/// `server` feature, nothing without it.
#[cfg(feature = "server")]
pub trait ServerRequest: DeserializeOwned {}
#[cfg(feature = "server")]
impl<T: DeserializeOwned> ServerRequest for T {}
/// What a server needs of a request besides what a client does: `Deserialize` with the
/// `server` feature, nothing without it.
#[cfg(not(feature = "server"))]
pub trait ServerRequest {}
#[cfg(not(feature = "server"))]
impl<T> ServerRequest for T {}

/// What a server needs of an output besides what a client does: `Serialize` with the
/// `server` feature, nothing without it.
#[cfg(feature = "server")]
pub trait ServerOutput: Serialize {}
#[cfg(feature = "server")]
impl<T: Serialize> ServerOutput for T {}
/// What a server needs of an output besides what a client does: `Serialize` with the
/// `server` feature, nothing without it.
#[cfg(not(feature = "server"))]
pub trait ServerOutput {}
#[cfg(not(feature = "server"))]
impl<T> ServerOutput for T {}

/// One row of the action table ([`ACTIONS`](crate::ACTIONS)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActionInfo {
    /// The action name.
    pub name: &'static str,
    /// How safe it is to send again.
    pub safety: Safety,
    /// Which sites offer it.
    pub availability: Availability,
    /// Whether the service has marked the action deprecated.
    pub deprecated: bool,
    /// Wire names of the required members.
    pub required: &'static [&'static str],
}

/// A request member that fails a check the types cannot express.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidationError {
    member: &'static str,
    reason: &'static str,
}

impl ValidationError {
    /// A required member is empty.
    pub fn empty(member: &'static str) -> Self {
        ValidationError {
            member,
            reason: "must not be empty",
        }
    }

    /// A required member was not set.
    pub fn missing(member: &'static str) -> Self {
        ValidationError {
            member,
            reason: "is required but was not set",
        }
    }

    /// The wire name of the offending member.
    pub fn member(&self) -> &'static str {
        self.member
    }

    /// What is wrong with it.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.member, self.reason)
    }
}

impl std::error::Error for ValidationError {}

/// Something done with an action's request type chosen at run time by name; see
/// [`visit_action`](crate::visit_action).
///
/// ```
/// use cbs_model::{Action, ActionVisitor, visit_action};
///
/// struct RequiredMembers;
/// impl ActionVisitor for RequiredMembers {
///     type Output = &'static [&'static str];
///     fn visit<A: Action>(self) -> Self::Output {
///         A::REQUIRED
///     }
/// }
/// let required = visit_action("CopySnapshotCrossRegions", RequiredMembers).unwrap();
/// assert_eq!(required, ["DestinationRegions", "SnapshotId"]);
/// ```
pub trait ActionVisitor {
    /// What the visit returns.
    type Output;
    /// Called with the action's request type.
    fn visit<A: Action>(self) -> Self::Output;
}

/// An action whose results come in pages selected by `Offset` and `Limit`, with the
/// total in `TotalCount` and the items in one list.
pub trait Paginated: Action {
    /// One item of a page.
    type Item: Clone + fmt::Debug + PartialEq + Send + Sync + 'static;

    /// The request's `Offset`.
    fn offset(&self) -> Option<u64>;
    /// Sets the request's `Offset`.
    fn set_offset(&mut self, offset: u64);
    /// The request's `Limit` (the page size).
    fn limit(&self) -> Option<u64>;
    /// The `TotalCount` of a page.
    fn total_count(output: &Self::Output) -> Option<u64>;
    /// The items of a page.
    fn items(output: &Self::Output) -> &[Self::Item];
    /// What identifies an item (`SnapshotId`, `DiskId`, …), when it has such a member.
    fn item_id(item: &Self::Item) -> Option<&str>;
}
