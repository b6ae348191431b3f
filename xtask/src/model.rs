//! The vendored model: the structure of the CBS API, without the vendor's prose.

use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct Model {
    pub service: String,
    pub version: String,
    /// Where the structure was taken from.
    pub source: String,
    pub actions: Vec<Action>,
    /// Every request, response and shared object, sorted by name.
    pub objects: Vec<Object>,
    /// Every error code the service documents plus the platform-wide ones, sorted.
    pub error_codes: Vec<ErrorCodeEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Action {
    pub name: String,
    pub input: String,
    pub output: String,
    /// `online` or `deprecated`.
    pub status: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Object {
    pub name: String,
    pub members: Vec<Member>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Member {
    pub name: String,
    /// `string`, `int`, `float`, `bool`, `list` or `object`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The element or object type: `string`, `uint64`, `int64`, `float`, `bool`,
    /// `datetime`, `datetime_iso`, `date`, or an object name.
    pub member: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_allowed_null: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorCodeEntry {
    pub code: String,
    /// `throttled`, `clock`, `transient` or `client`.
    pub class: String,
    /// `common`, `cbs`, or `common+cbs`.
    pub origin: String,
}

/// Curated facts the vendor's model does not carry.
#[derive(Debug, Deserialize)]
pub struct Overlay {
    pub enums: Vec<EnumOverlay>,
    /// `Object.Member` pairs the service requires although the model does not say so.
    pub required: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct EnumOverlay {
    pub name: String,
    /// `[wire value, variant name]` pairs.
    pub values: Vec<(String, String)>,
    /// `Object.Member` or `*.Member` patterns of the string members that take this enum.
    pub members: Vec<String>,
}
