//! The Tag service (API version 2018-08-13): the actions a CBS user needs to label
//! snapshots and disks and read the labels back, typed, on the same client (its
//! credentials, signing, retries, rate limits and transport).
//!
//! Tags bind to resources named in the six-segment form; [`snapshot_resource`] and
//! [`disk_resource`] make the names of CBS snapshots and disks (their service segment is
//! `cvm`, and the account segment may stay empty).
//!
//! ```no_run
//! # async fn run(client: tencentcloud_cbs::Client) -> Result<(), tencentcloud_cbs::Error> {
//! use tencentcloud_cbs::tag::{self, Tag};
//!
//! let replica = tag::snapshot_resource("ap-beijing", "snap-8dkx2lq9");
//! let answer = client
//!     .tag_resources()
//!     .resources([replica.clone()])
//!     .tags([Tag::new("team", "storage")])
//!     .send()
//!     .await?;
//! assert!(answer.failed_resources.is_empty());
//! let page = client.get_resources().resources([replica]).send().await?;
//! for resource in &page.resources {
//!     println!("{}: {:?}", resource.resource, resource.tags);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Why these types are written by hand rather than generated like the CBS ones: the
//! project uses four of the Tag service's thirty-one actions, each with a handful of
//! members; generating them would take a second model, with its own sites and overlay,
//! through the generator for no more code than this file.

use serde::{Deserialize, Serialize};

use crate::{CallOptions, Client, Error, RetryConfig, Safety};

/// The Tag service's short name: the host's first label and the signing scope's.
pub const SERVICE: &str = "tag";
/// The API version of the actions here.
pub const VERSION: &str = "2018-08-13";
/// The most resources one [`TagResources`] or [`UnTagResources`] call may name.
pub const MAX_RESOURCES_PER_CALL: usize = 10;
/// The most tags a resource may carry.
pub const MAX_TAGS_PER_RESOURCE: usize = 50;
/// The longest tag key, in characters.
pub const MAX_KEY_CHARS: usize = 127;
/// The longest tag value, in characters.
pub const MAX_VALUE_CHARS: usize = 255;

/// The six-segment name of a CBS snapshot, as the Tag service takes it:
/// `qcs::cvm:<region>:uin/:snapshot/<id>`.
///
/// ```
/// assert_eq!(
///     tencentcloud_cbs::tag::snapshot_resource("ap-beijing", "snap-8dkx2lq9"),
///     "qcs::cvm:ap-beijing:uin/:snapshot/snap-8dkx2lq9"
/// );
/// ```
pub fn snapshot_resource(region: &str, snapshot_id: &str) -> String {
    format!("qcs::cvm:{region}:uin/:snapshot/{snapshot_id}")
}

/// The six-segment name of a CBS disk: `qcs::cvm:<region>:uin/:volume/<id>`.
pub fn disk_resource(region: &str, disk_id: &str) -> String {
    format!("qcs::cvm:{region}:uin/:volume/{disk_id}")
}

/// A tag: a key and its value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tag {
    /// The key.
    #[serde(rename = "TagKey")]
    pub key: String,
    /// The value.
    #[serde(rename = "TagValue")]
    pub value: String,
}

impl Tag {
    /// A tag of `key` and `value`.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }

    /// Why the service would refuse this tag, if it would: a key of 1 to 127 and a
    /// value of 1 to 255 characters, letters (any script), digits, inner spaces and
    /// `+ - = . _ : / @ ( ) [ ] , ; > <` only, no key starting with `qcs:` or
    /// `project` (reserved).
    ///
    /// ```
    /// use tencentcloud_cbs::tag::Tag;
    /// assert!(Tag::new("team", "storage").problem().is_none());
    /// assert!(Tag::new("qcs:owner", "x").problem().is_some());
    /// assert!(Tag::new("team", "").problem().is_some());
    /// assert!(Tag::new("team", "a#b").problem().is_some());
    /// ```
    pub fn problem(&self) -> Option<String> {
        let chars = |text: &str| text.chars().count();
        if !(1..=MAX_KEY_CHARS).contains(&chars(&self.key)) {
            return Some(format!("a tag key has 1 to {MAX_KEY_CHARS} characters"));
        }
        if !(1..=MAX_VALUE_CHARS).contains(&chars(&self.value)) {
            return Some(format!(
                "the value of `{}` has 1 to {MAX_VALUE_CHARS} characters",
                self.key
            ));
        }
        if self.key.starts_with("qcs:") || self.key.starts_with("project") {
            return Some(format!(
                "`{}`: keys starting with qcs: or project are reserved",
                self.key
            ));
        }
        for text in [&self.key, &self.value] {
            if text.starts_with(' ') || text.ends_with(' ') {
                return Some(format!("`{text}` starts or ends with a space"));
            }
            if let Some(c) = text.chars().find(|c| !allowed(*c)) {
                return Some(format!("`{text}` has {c:?}, which a tag cannot"));
            }
        }
        None
    }
}

/// Whether a tag key or value may hold `c` (the service's published character set).
pub fn allowed(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "+-=._:/@()[],;><【】".contains(c)
}

/// A resource the service could not tag (or untag), and why.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct FailedResource {
    /// The resource, six-segment.
    #[serde(rename = "Resource", default)]
    pub resource: String,
    /// The error code.
    #[serde(rename = "Code", default)]
    pub code: String,
    /// The service's message.
    #[serde(rename = "Message", default)]
    pub message: String,
}

/// A resource and its tags.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ResourceTags {
    /// The resource, six-segment.
    #[serde(rename = "Resource", default)]
    pub resource: String,
    /// Its tags.
    #[serde(
        rename = "Tags",
        default,
        deserialize_with = "cbs_model::de::null_as_default"
    )]
    pub tags: Vec<Tag>,
}

/// The answer to [`TagResources`] and [`UnTagResources`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct TaggingOutput {
    /// The resources the call could not change (the rest it did).
    #[serde(
        rename = "FailedResources",
        default,
        deserialize_with = "cbs_model::de::null_as_default"
    )]
    pub failed_resources: Vec<FailedResource>,
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
}

/// The answer to [`GetResources`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct GetResourcesOutput {
    /// The resources and their tags.
    #[serde(
        rename = "ResourceTagMappingList",
        default,
        deserialize_with = "cbs_model::de::null_as_default"
    )]
    pub resources: Vec<ResourceTags>,
    /// Where the next page starts; empty on the last.
    #[serde(rename = "PaginationToken", default)]
    pub pagination_token: String,
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
}

/// A filter of [`GetResources`]: resources carrying `key` with one of `values` (any
/// value when empty).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TagFilter {
    /// The key.
    #[serde(rename = "TagKey")]
    pub key: String,
    /// The values, any of which matches.
    #[serde(rename = "TagValue", skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

impl TagFilter {
    /// Resources carrying `key` with one of `values` (any, when none is given).
    pub fn new(
        key: impl Into<String>,
        values: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        TagFilter {
            key: key.into(),
            values: values.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Serialize)]
struct TagResourcesRequest<'a> {
    #[serde(rename = "ResourceList")]
    resources: &'a [String],
    #[serde(rename = "Tags")]
    tags: &'a [Tag],
}

#[derive(Serialize)]
struct UnTagResourcesRequest<'a> {
    #[serde(rename = "ResourceList")]
    resources: &'a [String],
    #[serde(rename = "TagKeys")]
    keys: &'a [String],
}

#[derive(Serialize)]
struct GetResourcesRequest<'a> {
    #[serde(rename = "ResourceList", skip_serializing_if = "<[String]>::is_empty")]
    resources: &'a [String],
    #[serde(rename = "TagFilters", skip_serializing_if = "<[TagFilter]>::is_empty")]
    filters: &'a [TagFilter],
    #[serde(rename = "PaginationToken", skip_serializing_if = "Option::is_none")]
    pagination_token: Option<&'a str>,
    #[serde(rename = "MaxResults", skip_serializing_if = "Option::is_none")]
    max_results: Option<u64>,
}

/// Binds tags to up to 10 resources: start one with [`Client::tag_resources`]. A key a
/// resource has already gets the new value; binding the same tags again changes
/// nothing, so the call is safe to repeat.
#[derive(Clone, Debug)]
pub struct TagResources {
    client: Client,
    resources: Vec<String>,
    tags: Vec<Tag>,
    options: CallOptions,
}

/// Removes tags (by key) from up to 10 resources: start one with
/// [`Client::untag_resources`]. Safe to repeat.
#[derive(Clone, Debug)]
pub struct UnTagResources {
    client: Client,
    resources: Vec<String>,
    keys: Vec<String>,
    options: CallOptions,
}

/// Lists resources and their tags, by name or by tag: start one with
/// [`Client::get_resources`].
#[derive(Clone, Debug)]
pub struct GetResources {
    client: Client,
    resources: Vec<String>,
    filters: Vec<TagFilter>,
    pagination_token: Option<String>,
    max_results: Option<u64>,
    options: CallOptions,
}

impl Client {
    /// Binds tags to resources (`TagResources`).
    pub fn tag_resources(&self) -> TagResources {
        TagResources {
            client: self.clone(),
            resources: Vec::new(),
            tags: Vec::new(),
            options: CallOptions::default(),
        }
    }

    /// Removes tags from resources (`UnTagResources`).
    pub fn untag_resources(&self) -> UnTagResources {
        UnTagResources {
            client: self.clone(),
            resources: Vec::new(),
            keys: Vec::new(),
            options: CallOptions::default(),
        }
    }

    /// Lists resources with their tags (`GetResources`).
    pub fn get_resources(&self) -> GetResources {
        GetResources {
            client: self.clone(),
            resources: Vec::new(),
            filters: Vec::new(),
            pagination_token: None,
            max_results: None,
            options: CallOptions::default(),
        }
    }
}

/// Refuses more than [`MAX_RESOURCES_PER_CALL`] resources, or none, before sending.
fn check_resources(action: &str, resources: &[String]) -> Result<(), Error> {
    if resources.is_empty() || resources.len() > MAX_RESOURCES_PER_CALL {
        return Err(Error::invalid_input(
            action,
            Some("ResourceList"),
            format!(
                "names 1 to {MAX_RESOURCES_PER_CALL} resources, not {}",
                resources.len()
            ),
        ));
    }
    Ok(())
}

impl TagResources {
    /// The resources (six-segment names), up to 10.
    pub fn resources(mut self, resources: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.resources.extend(resources.into_iter().map(Into::into));
        self
    }

    /// The tags to bind.
    pub fn tags(mut self, tags: impl IntoIterator<Item = Tag>) -> Self {
        self.tags.extend(tags);
        self
    }

    /// Retries this call by `config` instead of the client's retry config.
    pub fn retry_config(mut self, config: RetryConfig) -> Self {
        self.options = self.options.retry_config(config);
        self
    }

    /// Checks the request (resources, [`Tag::problem`]), then sends it. Binding tags
    /// twice changes nothing, so a failure that may have run is retried like a read.
    pub async fn send(self) -> Result<TaggingOutput, Error> {
        const ACTION: &str = "TagResources";
        check_resources(ACTION, &self.resources)?;
        if self.tags.is_empty() || self.tags.len() > MAX_TAGS_PER_RESOURCE {
            return Err(Error::invalid_input(
                ACTION,
                Some("Tags"),
                format!(
                    "binds 1 to {MAX_TAGS_PER_RESOURCE} tags, not {}",
                    self.tags.len()
                ),
            ));
        }
        if let Some(problem) = self.tags.iter().find_map(Tag::problem) {
            return Err(Error::invalid_input(ACTION, Some("Tags"), problem));
        }
        let request = TagResourcesRequest {
            resources: &self.resources,
            tags: &self.tags,
        };
        self.client
            .send_service(
                SERVICE,
                VERSION,
                ACTION,
                Safety::Idempotent,
                &request,
                self.options,
            )
            .await
    }
}

impl UnTagResources {
    /// The resources (six-segment names), up to 10.
    pub fn resources(mut self, resources: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.resources.extend(resources.into_iter().map(Into::into));
        self
    }

    /// The keys to remove.
    pub fn keys(mut self, keys: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.keys.extend(keys.into_iter().map(Into::into));
        self
    }

    /// Retries this call by `config` instead of the client's retry config.
    pub fn retry_config(mut self, config: RetryConfig) -> Self {
        self.options = self.options.retry_config(config);
        self
    }

    /// Checks the request, then sends it (safe to repeat).
    pub async fn send(self) -> Result<TaggingOutput, Error> {
        const ACTION: &str = "UnTagResources";
        check_resources(ACTION, &self.resources)?;
        if self.keys.is_empty() {
            return Err(Error::invalid_input(
                ACTION,
                Some("TagKeys"),
                "names no key",
            ));
        }
        let request = UnTagResourcesRequest {
            resources: &self.resources,
            keys: &self.keys,
        };
        self.client
            .send_service(
                SERVICE,
                VERSION,
                ACTION,
                Safety::Idempotent,
                &request,
                self.options,
            )
            .await
    }
}

impl GetResources {
    /// These resources only (six-segment names, up to 10); with them the service
    /// answers for all of them in one page.
    pub fn resources(mut self, resources: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.resources.extend(resources.into_iter().map(Into::into));
        self
    }

    /// Only resources carrying every filter's tag (up to 6 filters).
    pub fn filters(mut self, filters: impl IntoIterator<Item = TagFilter>) -> Self {
        self.filters.extend(filters);
        self
    }

    /// The page after the one whose [`pagination_token`](GetResourcesOutput::pagination_token)
    /// this is.
    pub fn pagination_token(mut self, token: impl Into<String>) -> Self {
        self.pagination_token = Some(token.into()).filter(|t| !t.is_empty());
        self
    }

    /// Resources per page (up to 200; 50 unless set).
    pub fn max_results(mut self, max: u64) -> Self {
        self.max_results = Some(max);
        self
    }

    /// Retries this call by `config` instead of the client's retry config.
    pub fn retry_config(mut self, config: RetryConfig) -> Self {
        self.options = self.options.retry_config(config);
        self
    }

    /// Sends the call (read-only).
    pub async fn send(self) -> Result<GetResourcesOutput, Error> {
        const ACTION: &str = "GetResources";
        if self.resources.len() > MAX_RESOURCES_PER_CALL {
            check_resources(ACTION, &self.resources)?;
        }
        let request = GetResourcesRequest {
            resources: &self.resources,
            filters: &self.filters,
            pagination_token: self.pagination_token.as_deref(),
            max_results: self.max_results,
        };
        self.client
            .send_service(
                SERVICE,
                VERSION,
                ACTION,
                Safety::ReadOnly,
                &request,
                self.options,
            )
            .await
    }
}
