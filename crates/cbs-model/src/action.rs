use core::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A request type of the CBS API: what the client needs to know to send it.
pub trait Action:
    Serialize + DeserializeOwned + Clone + fmt::Debug + Send + Sync + 'static
{
    /// The action name (`X-TC-Action`).
    const NAME: &'static str;
    /// Whether the action only reads (`Describe*`, `Inquir*`, `Get*`), so that repeating
    /// it after an ambiguous failure is harmless.
    const READ_ONLY: bool;
    /// Whether the service has marked the action deprecated.
    const DEPRECATED: bool;
    /// Wire names of the members the service requires, including those the curated
    /// overlay adds to the model's own list.
    const REQUIRED: &'static [&'static str];
    /// The response type.
    type Output: ActionOutput;

    /// Checks what the types cannot: that required lists and strings are not empty.
    fn validate(&self) -> Result<(), ValidationError>;
}

/// A response type of the CBS API.
pub trait ActionOutput:
    Serialize + DeserializeOwned + Clone + fmt::Debug + Send + Sync + 'static
{
    /// The request id the service assigned to the call (empty if it sent none).
    fn request_id(&self) -> &str;
}

/// One row of the action table ([`ACTIONS`](crate::ACTIONS)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActionInfo {
    /// The action name.
    pub name: &'static str,
    /// Whether the action only reads.
    pub read_only: bool,
    /// Whether the service has marked the action deprecated.
    pub deprecated: bool,
    /// Wire names of the required members.
    pub required: &'static [&'static str],
}

/// The table row of the action called `name`, if there is one.
///
/// ```
/// let info = cbs_model::action_info("DescribeSnapshots").unwrap();
/// assert!(info.read_only);
/// assert!(cbs_model::action_info("NoSuchAction").is_none());
/// ```
pub fn action_info(name: &str) -> Option<&'static ActionInfo> {
    action_index(name).map(|i| &crate::ACTIONS[i])
}

/// The position in [`ACTIONS`](crate::ACTIONS) of the action called `name`, for tables
/// kept beside it.
///
/// ```
/// let i = cbs_model::action_index("DescribeSnapshots").unwrap();
/// assert_eq!(cbs_model::ACTIONS[i].name, "DescribeSnapshots");
/// assert!(cbs_model::action_index("NoSuchAction").is_none());
/// ```
pub fn action_index(name: &str) -> Option<usize> {
    crate::ACTIONS
        .binary_search_by(|info| info.name.cmp(name))
        .ok()
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
}
