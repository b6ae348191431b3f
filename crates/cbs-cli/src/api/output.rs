//! Printing an action's response as tccli does: the members the model declares, in the
//! model's order, as JSON indented by four; or tab-separated text; or a table.

use cbs_model::{MemberType, ObjectSchema, object_schema};
use serde_json::Value;

/// A response reduced to the model's members, in the model's order.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// A string, number, boolean or null.
    Scalar(Value),
    /// A list.
    List(Vec<Node>),
    /// An object's members, in order.
    Object(Vec<(String, Node)>),
}

/// Keeps the members `object` declares, in its order, recursively, as tccli does: a
/// member the service left out is written as null, and one the model does not declare
/// is dropped.
pub fn project(value: &Value, object: &ObjectSchema) -> Node {
    let Value::Object(map) = value else {
        return Node::Scalar(value.clone());
    };
    let mut members = Vec::new();
    for member in object.members {
        let Some(inner) = map.get(member.name) else {
            members.push((member.name.to_owned(), Node::Scalar(Value::Null)));
            continue;
        };
        let nested = match member.ty {
            MemberType::Object(name) => object_schema(name),
            _ => None,
        };
        let node = match (inner, nested) {
            (Value::Array(items), Some(schema)) => {
                Node::List(items.iter().map(|i| project(i, schema)).collect())
            }
            (Value::Object(_), Some(schema)) => project(inner, schema),
            _ => plain(inner),
        };
        members.push((member.name.to_owned(), node));
    }
    Node::Object(members)
}

/// Any JSON value as a node, objects in their keys' order.
pub fn plain(value: &Value) -> Node {
    match value {
        Value::Array(items) => Node::List(items.iter().map(plain).collect()),
        Value::Object(map) => {
            Node::Object(map.iter().map(|(k, v)| (k.clone(), plain(v))).collect())
        }
        other => Node::Scalar(other.clone()),
    }
}

impl Node {
    /// Back to JSON (object keys sorted), for JMESPath.
    pub fn to_value(&self) -> Value {
        match self {
            Node::Scalar(v) => v.clone(),
            Node::List(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Node::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

/// JSON indented by four spaces, non-ASCII characters as they are.
pub fn json(node: &Node) -> String {
    let mut out = String::new();
    write_json(node, 0, &mut out);
    out
}

fn write_json(node: &Node, depth: usize, out: &mut String) {
    let pad = |depth: usize, out: &mut String| out.push_str(&"    ".repeat(depth));
    match node {
        Node::Scalar(v) => out.push_str(&v.to_string()),
        Node::List(items) if items.is_empty() => out.push_str("[]"),
        Node::Object(members) if members.is_empty() => out.push_str("{}"),
        Node::List(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                pad(depth + 1, out);
                write_json(item, depth + 1, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            pad(depth, out);
            out.push(']');
        }
        Node::Object(members) => {
            out.push_str("{\n");
            for (i, (key, value)) in members.iter().enumerate() {
                pad(depth + 1, out);
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(": ");
                write_json(value, depth + 1, out);
                out.push_str(if i + 1 < members.len() { ",\n" } else { "\n" });
            }
            pad(depth, out);
            out.push('}');
        }
    }
}

/// A scalar as tccli's text output writes it (its Python `str`).
fn scalar_text(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

/// Tab-separated text, the layout of tccli's `--output text`: a line per object with its
/// scalar members in key order (prefixed by the member's name, upper-cased, below the
/// top), then its lists and objects.
pub fn text(value: &Value) -> String {
    let mut out = String::new();
    text_item(value, None, None, &mut out);
    out
}

fn text_item(value: &Value, identifier: Option<&str>, keys: Option<&[String]>, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut scalars: Vec<String> = Vec::new();
            let mut rest: Vec<(&String, &Value)> = Vec::new();
            match keys {
                None => {
                    let mut sorted: Vec<(&String, &Value)> = map.iter().collect();
                    sorted.sort_by(|a, b| a.0.cmp(b.0));
                    for (k, v) in sorted {
                        if is_scalar(v) {
                            scalars.push(scalar_text(v));
                        } else {
                            rest.push((k, v));
                        }
                    }
                }
                Some(keys) => {
                    for key in keys {
                        scalars.push(map.get(key).map(scalar_text).unwrap_or_default());
                    }
                    let mut others: Vec<(&String, &Value)> =
                        map.iter().filter(|(k, _)| !keys.contains(k)).collect();
                    others.sort_by(|a, b| a.0.cmp(b.0));
                    rest = others;
                }
            }
            if !scalars.is_empty() {
                if let Some(id) = identifier {
                    scalars.insert(0, id.to_uppercase());
                }
                out.push_str(&scalars.join("\t"));
                out.push('\n');
            }
            for (k, v) in rest {
                text_item(v, Some(k), None, out);
            }
        }
        Value::Array(items) => {
            if items.is_empty() {
                return;
            }
            if items.iter().any(Value::is_object) {
                let mut all: Vec<String> = items
                    .iter()
                    .filter_map(Value::as_object)
                    .flat_map(|m| {
                        m.iter()
                            .filter(|(_, v)| is_scalar(v))
                            .map(|(k, _)| k.clone())
                    })
                    .collect();
                all.sort();
                all.dedup();
                for item in items {
                    text_item(item, identifier, Some(&all), out);
                }
            } else if items.iter().any(Value::is_array) {
                let scalars: Vec<&Value> = items.iter().filter(|v| is_scalar(v)).collect();
                if !scalars.is_empty() {
                    scalar_list(&scalars, identifier, out);
                }
                for item in items.iter().filter(|v| !is_scalar(v)) {
                    text_item(item, identifier, None, out);
                }
            } else {
                let all: Vec<&Value> = items.iter().collect();
                scalar_list(&all, identifier, out);
            }
        }
        scalar => {
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
}

fn scalar_list(items: &[&Value], identifier: Option<&str>, out: &mut String) {
    match identifier {
        Some(id) => {
            for item in items {
                out.push_str(&format!("{}\t{}\n", id.to_uppercase(), scalar_text(item)));
            }
        }
        None => {
            let cells: Vec<String> = items.iter().map(|v| scalar_text(v)).collect();
            out.push_str(&cells.join("\t"));
            out.push('\n');
        }
    }
}

/// A table per object: its scalar members as a header row and a value row (lists of
/// objects as one row each), then its nested members as titled sections.
pub fn table(title: &str, value: &Value) -> String {
    let mut out = String::new();
    table_section(title, value, 0, &mut out);
    out
}

fn table_section(title: &str, value: &Value, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().filter(|k| is_scalar(&map[*k])).collect();
            keys.sort();
            let rows = if keys.is_empty() {
                Vec::new()
            } else {
                vec![keys.iter().map(|k| scalar_text(&map[*k])).collect()]
            };
            grid(&indent, title, &keys, &rows, out);
            let mut nested: Vec<(&String, &Value)> =
                map.iter().filter(|(_, v)| !is_scalar(v)).collect();
            nested.sort_by(|a, b| a.0.cmp(b.0));
            for (k, v) in nested {
                table_section(k, v, depth + 1, out);
            }
        }
        Value::Array(items) if items.iter().all(Value::is_object) && !items.is_empty() => {
            let mut keys: Vec<&String> = items
                .iter()
                .filter_map(Value::as_object)
                .flat_map(|m| m.iter().filter(|(_, v)| is_scalar(v)).map(|(k, _)| k))
                .collect();
            keys.sort();
            keys.dedup();
            let rows: Vec<Vec<String>> = items
                .iter()
                .filter_map(Value::as_object)
                .map(|m| {
                    keys.iter()
                        .map(|k| m.get(*k).map(scalar_text).unwrap_or_default())
                        .collect()
                })
                .collect();
            grid(&indent, title, &keys, &rows, out);
            for (i, item) in items.iter().enumerate() {
                if let Some(map) = item.as_object() {
                    let mut nested: Vec<(&String, &Value)> =
                        map.iter().filter(|(_, v)| !is_scalar(v)).collect();
                    nested.sort_by(|a, b| a.0.cmp(b.0));
                    for (k, v) in nested {
                        table_section(&format!("{title}[{i}].{k}"), v, depth + 1, out);
                    }
                }
            }
        }
        Value::Array(items) => {
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|v| {
                    vec![if is_scalar(v) {
                        scalar_text(v)
                    } else {
                        v.to_string()
                    }]
                })
                .collect();
            let none: Vec<&String> = Vec::new();
            grid(&indent, title, &none, &rows, out);
        }
        scalar => {
            let none: Vec<&String> = Vec::new();
            grid(&indent, title, &none, &[vec![scalar_text(scalar)]], out);
        }
    }
}

fn grid(indent: &str, title: &str, headers: &[&String], rows: &[Vec<String>], out: &mut String) {
    let columns = headers
        .len()
        .max(rows.iter().map(Vec::len).max().unwrap_or(0));
    let mut widths = vec![0usize; columns];
    for (i, h) in headers.iter().enumerate() {
        widths[i] = widths[i].max(h.chars().count());
    }
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let inner: usize = widths
        .iter()
        .map(|w| w + 3)
        .sum::<usize>()
        .max(title.chars().count() + 4)
        - 1;
    let line = |out: &mut String| {
        out.push_str(indent);
        out.push('+');
        out.push_str(&"-".repeat(inner));
        out.push_str("+\n");
    };
    line(out);
    out.push_str(&format!("{indent}|{:^inner$}|\n", title));
    line(out);
    let row_text = |cells: &[String]| {
        let mut text = String::from("|");
        for (i, w) in widths.iter().enumerate() {
            let cell = cells.get(i).map(String::as_str).unwrap_or("");
            text.push_str(&format!(" {cell:<w$} |"));
        }
        // Pad to the box when the title is the widest part.
        let used = text.chars().count();
        if used < inner + 2 {
            text.pop();
            text.push_str(&" ".repeat(inner + 2 - used));
            text.push('|');
        }
        text
    };
    if !headers.is_empty() {
        let cells: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        out.push_str(&format!("{indent}{}\n", row_text(&cells)));
        line(out);
    }
    for row in rows {
        out.push_str(&format!("{indent}{}\n", row_text(row)));
    }
    if !rows.is_empty() {
        line(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn projection_keeps_model_order_and_nulls_and_drops_the_rest() {
        let response = json!({
            "RequestId": "r-1",
            "SnapshotSet": [{"SnapshotId": "snap-1", "Placement": {"Zone": "z", "CageId": null}, "Bogus": 1}],
            "TotalCount": 1,
            "Extra": true
        });
        let node = project(
            &response,
            object_schema("DescribeSnapshotsResponse").unwrap(),
        );
        let text = json(&node);
        assert!(
            text.starts_with("{\n    \"TotalCount\": 1,\n    \"SnapshotSet\": ["),
            "{text}"
        );
        assert!(text.contains("\"CageId\": null"));
        assert!(!text.contains("Bogus") && !text.contains("Extra"));
        assert!(text.ends_with("\"RequestId\": \"r-1\"\n}"));
        assert!(text.find("Placement").unwrap() < text.find("SnapshotId").unwrap());
    }

    #[test]
    fn text_layout_is_tcclis() {
        let value = json!({
            "TotalCount": 2,
            "RequestId": "r",
            "SnapshotSet": [
                {"SnapshotId": "snap-1", "Percent": 100, "Encrypt": false, "Placement": {"Zone": "z1"}},
                {"SnapshotId": "snap-2", "Percent": 5, "Tags": ["a", "b"]}
            ]
        });
        assert_eq!(
            text(&value),
            "r\t2\nSNAPSHOTSET\tFalse\t100\tsnap-1\nPLACEMENT\tz1\nSNAPSHOTSET\t\t5\tsnap-2\nTAGS\ta\nTAGS\tb\n"
        );
    }
}
