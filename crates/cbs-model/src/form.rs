//! Form and GET parameters (`Filters.0.Values.1=x`) to and from the JSON body they stand
//! for.

#[cfg(feature = "schema")]
use std::collections::BTreeMap;
#[cfg(feature = "schema")]
use std::fmt;

use serde_json::Value;
#[cfg(feature = "schema")]
use serde_json::{Map, Number};

#[cfg(feature = "schema")]
use crate::generated::schema::object_schema;
#[cfg(feature = "schema")]
use crate::schema::{MemberType, ObjectSchema};

/// Flattens a JSON request body into the parameters a form or query carries: list items
/// as `Name.0`, `Name.1`, object members as `Name.Member`; strings as they are, numbers
/// as their JSON text, booleans as `true`/`false`; `null` members are left out.
///
/// ```
/// let params = cbs_model::json_to_form(&serde_json::json!({
///     "Limit": 5,
///     "Filters": [{"Name": "snapshot-state", "Values": ["NORMAL", "CREATING"]}],
///     "Offset": null,
/// }));
/// assert_eq!(params, [
///     ("Filters.0.Name".to_owned(), "snapshot-state".to_owned()),
///     ("Filters.0.Values.0".to_owned(), "NORMAL".to_owned()),
///     ("Filters.0.Values.1".to_owned(), "CREATING".to_owned()),
///     ("Limit".to_owned(), "5".to_owned()),
/// ]);
/// ```
pub fn json_to_form(body: &Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
        let child = |name: &str| {
            if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}.{name}")
            }
        };
        match value {
            Value::Null => {}
            Value::Bool(b) => out.push((prefix.to_owned(), b.to_string())),
            Value::Number(n) => out.push((prefix.to_owned(), n.to_string())),
            Value::String(s) => out.push((prefix.to_owned(), s.clone())),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(&child(&i.to_string()), item, out);
                }
            }
            Value::Object(members) => {
                for (name, member) in members {
                    walk(&child(name), member, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk("", body, &mut out);
    out
}

/// A form parameter that does not fit the object it is meant for.
#[cfg(feature = "schema")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormError {
    key: String,
    reason: &'static str,
}

#[cfg(feature = "schema")]
impl FormError {
    fn new(key: &str, reason: &'static str) -> Self {
        FormError {
            key: key.to_owned(),
            reason,
        }
    }

    /// The parameter name as given.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// What is wrong with it.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

#[cfg(feature = "schema")]
impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "parameter `{}`: {}", self.key, self.reason)
    }
}

#[cfg(feature = "schema")]
impl std::error::Error for FormError {}

#[cfg(feature = "schema")]
enum Node {
    /// Just created; the parameter being placed decides what it becomes.
    Vacant,
    Leaf(Value),
    Object(BTreeMap<String, Node>),
    List(BTreeMap<usize, Node>),
}

#[cfg(feature = "schema")]
impl Node {
    fn into_value(self) -> Value {
        match self {
            Node::Vacant => Value::Null,
            Node::Leaf(v) => v,
            Node::Object(m) => Value::Object(
                m.into_iter()
                    .map(|(k, n)| (k, n.into_value()))
                    .collect::<Map<_, _>>(),
            ),
            Node::List(items) => Value::Array(items.into_values().map(Node::into_value).collect()),
        }
    }
}

/// Turns flattened parameters into the JSON object they stand for, typed by the model
/// (feature `schema`):
/// `Limit=5` becomes a number, `Filters.0.Values.1=x` the second value of the first filter.
///
/// `object` names the request object (`DescribeSnapshotsRequest`); parameters that are
/// not its members, or whose values do not fit their types, are errors. Callers drop
/// the common parameters (`Action`, `Version`, …) first.
///
/// ```
/// let json = cbs_model::form_to_json(
///     "DescribeSnapshotsRequest",
///     [("Limit", "5"), ("Filters.0.Name", "snapshot-state"), ("Filters.0.Values.0", "NORMAL")],
/// )?;
/// assert_eq!(json, serde_json::json!({
///     "Limit": 5,
///     "Filters": [{"Name": "snapshot-state", "Values": ["NORMAL"]}],
/// }));
/// # Ok::<(), cbs_model::FormError>(())
/// ```
#[cfg(feature = "schema")]
pub fn form_to_json<K: AsRef<str>, V: AsRef<str>>(
    object: &str,
    params: impl IntoIterator<Item = (K, V)>,
) -> Result<Value, FormError> {
    let schema = object_schema(object).ok_or_else(|| FormError::new(object, "no such object"))?;
    let mut root = BTreeMap::new();
    for (key, value) in params {
        let (key, value) = (key.as_ref(), value.as_ref());
        insert(&mut root, schema, key, &mut key.split('.'), value)?;
    }
    Ok(Node::Object(root).into_value())
}

#[cfg(feature = "schema")]
fn insert<'k>(
    into: &mut BTreeMap<String, Node>,
    schema: &ObjectSchema,
    key: &str,
    path: &mut impl Iterator<Item = &'k str>,
    value: &str,
) -> Result<(), FormError> {
    let name = path.next().unwrap_or_default();
    let member = schema
        .member(name)
        .ok_or_else(|| FormError::new(key, "not a member of this object"))?;
    let slot = into.entry(name.to_owned()).or_insert(Node::Vacant);
    if !member.list {
        return place(slot, member.ty, key, path, value);
    }
    let index: usize = path
        .next()
        .and_then(|i| i.parse().ok())
        .ok_or_else(|| FormError::new(key, "a list member needs an index (`Name.0`)"))?;
    if let Node::Vacant = slot {
        *slot = Node::List(BTreeMap::new());
    }
    let Node::List(items) = slot else {
        return Err(FormError::new(
            key,
            "given both as a list and as a single value",
        ));
    };
    place(
        items.entry(index).or_insert(Node::Vacant),
        member.ty,
        key,
        path,
        value,
    )
}

#[cfg(feature = "schema")]
fn place<'k>(
    slot: &mut Node,
    ty: MemberType,
    key: &str,
    path: &mut impl Iterator<Item = &'k str>,
    value: &str,
) -> Result<(), FormError> {
    if let MemberType::Object(name) = ty {
        let schema =
            object_schema(name).ok_or_else(|| FormError::new(key, "unknown object type"))?;
        if let Node::Vacant = slot {
            *slot = Node::Object(BTreeMap::new());
        }
        let Node::Object(fields) = slot else {
            return Err(FormError::new(
                key,
                "given both as an object and as a value",
            ));
        };
        return insert(fields, schema, key, path, value);
    }
    if path.next().is_some() {
        return Err(FormError::new(key, "a plain value has no members"));
    }
    if !matches!(slot, Node::Vacant) {
        return Err(FormError::new(key, "given more than once"));
    }
    let leaf = scalar_value(ty, value)
        .ok_or_else(|| FormError::new(key, "the value does not fit the member's type"))?;
    *slot = Node::Leaf(leaf);
    Ok(())
}

#[cfg(feature = "schema")]
fn scalar_value(ty: MemberType, value: &str) -> Option<Value> {
    Some(match ty {
        MemberType::String => Value::String(value.to_owned()),
        MemberType::U64 => Value::Number(value.parse::<u64>().ok()?.into()),
        MemberType::I64 => Value::Number(value.parse::<i64>().ok()?.into()),
        MemberType::F64 => Value::Number(Number::from_f64(value.parse().ok()?)?),
        MemberType::Bool => Value::Bool(match value {
            "true" | "TRUE" | "True" => true,
            "false" | "FALSE" | "False" => false,
            _ => return None,
        }),
        MemberType::Object(_) => return None,
    })
}

/// Splits a raw query string (`a=1&b=x%20y`) into decoded pairs; `+` is a space.
///
/// ```
/// let pairs = cbs_model::decode_query("Limit=5&Filters.0.Values.0=a%2Fb+c&Flag");
/// assert_eq!(pairs, [("Limit".into(), "5".into()), ("Filters.0.Values.0".into(), "a/b c".into()), ("Flag".into(), String::new())]);
/// ```
pub fn decode_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len()
                && hex(bytes[i + 1]).is_some()
                && hex(bytes[i + 2]).is_some() =>
            {
                out.push(hex(bytes[i + 1]).unwrap_or(0) * 16 + hex(bytes[i + 2]).unwrap_or(0));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(all(test, feature = "schema"))]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattening_and_unflattening_agree() {
        let body = json!({"Limit": 5, "Filters": [{"Name": "disk-id", "Values": ["d-1", "d-2"]}], "Offset": 0});
        let params = json_to_form(&body);
        assert_eq!(
            form_to_json("DescribeSnapshotsRequest", params).unwrap(),
            body
        );
    }

    #[test]
    fn nested_lists_and_objects() {
        let v = form_to_json(
            "ApplySnapshotGroupRequest",
            [
                ("SnapshotGroupId", "csnap-1"),
                ("ApplyDisks.1.DiskId", "disk-b"),
                ("ApplyDisks.0.SnapshotId", "snap-a"),
                ("ApplyDisks.0.DiskId", "disk-a"),
                ("ApplyDisks.1.SnapshotId", "snap-b"),
            ],
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"SnapshotGroupId": "csnap-1", "ApplyDisks": [
                {"SnapshotId": "snap-a", "DiskId": "disk-a"},
                {"SnapshotId": "snap-b", "DiskId": "disk-b"}]})
        );
    }

    #[test]
    fn errors_name_the_parameter() {
        let err = |params: &[(&str, &str)]| {
            form_to_json("DescribeSnapshotsRequest", params.iter().copied()).unwrap_err()
        };
        assert_eq!(err(&[("Nope", "1")]).key(), "Nope");
        assert_eq!(
            err(&[("Limit", "ten")]).reason(),
            "the value does not fit the member's type"
        );
        assert_eq!(
            err(&[("Limit", "1"), ("Limit", "2")]).reason(),
            "given more than once"
        );
        assert_eq!(
            err(&[("SnapshotIds", "x")]).reason(),
            "a list member needs an index (`Name.0`)"
        );
        assert_eq!(
            err(&[("Limit.0", "1")]).reason(),
            "a plain value has no members"
        );
        assert!(form_to_json("Nothing", [("a", "b")]).is_err());
    }

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(percent_decode("%E4%BA%91%zz%4"), "云%zz%4");
    }
}
