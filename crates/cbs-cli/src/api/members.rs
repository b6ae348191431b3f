//! Request members from the command line: the tccli form (`--SnapshotIds '["a"]'`), the
//! idiomatic form (`--snapshot-ids a --snapshot-ids b`), dotted members
//! (`--Filters.0.Values a b`, with `--cli-unfold-argument`), and JSON input; every value
//! checked against the member's type before anything is sent.

use cbs_model::{MemberSchema, MemberType, ObjectSchema, object_schema};
use serde_json::{Map, Value};

/// A member's name in the idiomatic form: `SnapshotIds` → `snapshot-ids`,
/// `CDCId` → `cdc-id`.
pub fn kebab(name: &str) -> String {
    cbs_model::snake_case(name).replace('_', "-")
}

/// The schema of an object of the model.
pub fn schema(name: &str) -> Result<&'static ObjectSchema, String> {
    object_schema(name).ok_or_else(|| format!("the model has no object `{name}`"))
}

/// What a member holds, for messages and help: `list of String`, `Filter`, …
pub fn type_name(member: &MemberSchema) -> String {
    let one = match member.ty {
        MemberType::String => "String",
        MemberType::U64 => "Integer (≥ 0)",
        MemberType::I64 => "Integer",
        MemberType::F64 => "Float",
        MemberType::Bool => "Boolean",
        MemberType::Object(name) => name,
        _ => "value",
    };
    if member.list {
        format!("list of {one}")
    } else {
        one.to_owned()
    }
}

/// One value of a member given as text on the command line.
pub fn scalar(member: &MemberSchema, path: &str, text: &str) -> Result<Value, String> {
    let bad = |what: &str| format!("{path}: expected {what}, got `{text}`");
    Ok(match member.ty {
        MemberType::String => Value::String(text.to_owned()),
        MemberType::U64 => Value::from(
            text.trim()
                .parse::<u64>()
                .map_err(|_| bad("an unsigned integer"))?,
        ),
        MemberType::I64 => Value::from(text.trim().parse::<i64>().map_err(|_| bad("an integer"))?),
        MemberType::F64 => {
            let number: f64 = text.trim().parse().map_err(|_| bad("a number"))?;
            serde_json::Number::from_f64(number)
                .map(Value::Number)
                .ok_or_else(|| bad("a finite number"))?
        }
        MemberType::Bool => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "1" => Value::Bool(true),
            "false" | "f" | "0" => Value::Bool(false),
            _ => return Err(bad("true or false")),
        },
        MemberType::Object(name) => {
            let value: Value = serde_json::from_str(text)
                .map_err(|e| format!("{path}: expected a JSON object ({name}): {e}"))?;
            check_one(member, path, &value)?;
            value
        }
        _ => return Err(bad("a value this version cannot read")),
    })
}

/// A member's whole value given as JSON text (the tccli form for lists and objects).
pub fn json_value(member: &MemberSchema, path: &str, text: &str) -> Result<Value, String> {
    if !member.list && !matches!(member.ty, MemberType::Object(_)) {
        return scalar(member, path, text);
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| format!("{path}: expected JSON ({}): {e}", type_name(member)))?;
    check(member, path, &value)?;
    Ok(value)
}

/// Checks a JSON value against a member's type (and an object's members, recursively).
pub fn check(member: &MemberSchema, path: &str, value: &Value) -> Result<(), String> {
    if member.list {
        let Value::Array(items) = value else {
            return Err(format!(
                "{path}: expected a JSON list ({})",
                type_name(member)
            ));
        };
        for (i, item) in items.iter().enumerate() {
            check_one(member, &format!("{path}.{i}"), item)?;
        }
        return Ok(());
    }
    check_one(member, path, value)
}

fn check_one(member: &MemberSchema, path: &str, value: &Value) -> Result<(), String> {
    let bad = |what: &str| format!("{path}: expected {what}, got {value}");
    match member.ty {
        MemberType::String if value.is_string() => Ok(()),
        MemberType::String => Err(bad("a string")),
        MemberType::U64 if value.is_u64() => Ok(()),
        MemberType::U64 => Err(bad("an unsigned integer")),
        MemberType::I64 if value.is_i64() => Ok(()),
        MemberType::I64 => Err(bad("an integer")),
        MemberType::F64 if value.is_number() => Ok(()),
        MemberType::F64 => Err(bad("a number")),
        MemberType::Bool if value.is_boolean() => Ok(()),
        MemberType::Bool => Err(bad("true or false")),
        MemberType::Object(name) => {
            let Value::Object(map) = value else {
                return Err(bad(&format!("a JSON object ({name})")));
            };
            check_object(schema(name)?, path, map)
        }
        _ => Err(bad("a value this version cannot check")),
    }
}

/// Checks an object's members: each known and well typed, the required ones present.
pub fn check_object(
    object: &ObjectSchema,
    path: &str,
    map: &Map<String, Value>,
) -> Result<(), String> {
    let at = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    for (name, value) in map {
        let member = object.member(name).ok_or_else(|| {
            let known: Vec<&str> = object.members.iter().map(|m| m.name).collect();
            format!(
                "{}: not a member of {} (its members: {})",
                at(name),
                object.name.trim_end_matches("Request"),
                known.join(", ")
            )
        })?;
        check(member, &at(name), value)?;
    }
    for member in object.members.iter().filter(|m| m.required) {
        if !map.contains_key(member.name) {
            return Err(format!(
                "{}: required ({})",
                at(member.name),
                type_name(member)
            ));
        }
    }
    Ok(())
}

/// Sets `value` at a dotted `path` (`Filters.0.Values`) inside `body`, creating the
/// objects and lists on the way from the schema. `values` are the texts that followed
/// the flag: several for a list of scalars, one otherwise.
pub fn set_dotted(
    object: &ObjectSchema,
    body: &mut Map<String, Value>,
    path: &str,
    values: &[String],
) -> Result<(), String> {
    let segments: Vec<&str> = path.split('.').collect();
    set_in_object(object, body, &segments, path, values)
}

fn set_in_object(
    object: &ObjectSchema,
    map: &mut Map<String, Value>,
    segments: &[&str],
    full: &str,
    values: &[String],
) -> Result<(), String> {
    let name = segments[0];
    let member = object.member(name).ok_or_else(|| {
        let known: Vec<&str> = object.members.iter().map(|m| m.name).collect();
        format!(
            "--{full}: `{name}` is not a member of {} (its members: {})",
            object.name.trim_end_matches("Request"),
            known.join(", ")
        )
    })?;
    let rest = &segments[1..];
    if member.list {
        let Some((index, after)) = rest.split_first() else {
            // The list itself: its scalar elements follow the flag.
            if matches!(member.ty, MemberType::Object(_)) {
                return Err(format!(
                    "--{full}: a list of {}; give its elements as --{full}.0.Member …",
                    type_name(member).trim_start_matches("list of ")
                ));
            }
            let items = values
                .iter()
                .enumerate()
                .map(|(i, v)| scalar(member, &format!("{full}.{i}"), v))
                .collect::<Result<Vec<_>, _>>()?;
            map.insert(name.to_owned(), Value::Array(items));
            return Ok(());
        };
        let index: usize = index
            .parse()
            .map_err(|_| format!("--{full}: `{index}` is not a list index"))?;
        let list = map
            .entry(name.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        let Value::Array(items) = list else {
            return Err(format!("--{full}: {name} was given twice"));
        };
        // Indexes may come in any order; gaps are refused once everything is read.
        while items.len() <= index {
            items.push(Value::Null);
        }
        return set_element(member, &mut items[index], after, full, values);
    }
    match member.ty {
        MemberType::Object(inner) if !rest.is_empty() => {
            let slot = map
                .entry(name.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(inner_map) = slot else {
                return Err(format!("--{full}: {name} was given twice"));
            };
            set_in_object(schema(inner)?, inner_map, rest, full, values)
        }
        _ if !rest.is_empty() => Err(format!(
            "--{full}: {name} is {}, it has no members",
            type_name(member)
        )),
        _ => {
            let [value] = values else {
                return Err(format!(
                    "--{full}: expected one value, got {}",
                    values.len()
                ));
            };
            map.insert(name.to_owned(), scalar(member, full, value)?);
            Ok(())
        }
    }
}

fn set_element(
    member: &MemberSchema,
    slot: &mut Value,
    after: &[&str],
    full: &str,
    values: &[String],
) -> Result<(), String> {
    match member.ty {
        MemberType::Object(inner) => {
            if after.is_empty() {
                let [value] = values else {
                    return Err(format!("--{full}: expected one JSON object"));
                };
                *slot = scalar(member, full, value)?;
                return Ok(());
            }
            if slot.is_null() {
                *slot = Value::Object(Map::new());
            }
            let Value::Object(map) = slot else {
                return Err(format!("--{full}: given twice"));
            };
            set_in_object(schema(inner)?, map, after, full, values)
        }
        _ if after.is_empty() => {
            let [value] = values else {
                return Err(format!(
                    "--{full}: expected one value, got {}",
                    values.len()
                ));
            };
            *slot = scalar(member, full, value)?;
            Ok(())
        }
        _ => Err(format!("--{full}: a {} has no members", type_name(member))),
    }
}

/// Refuses lists with gaps left by dotted indexes (`.0` and `.2` without `.1`).
pub fn no_gaps(value: &Value, path: &str) -> Result<(), String> {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if item.is_null() {
                    return Err(format!(
                        "--{path}: indexes must start at 0 and go up by 1 (no .{i})"
                    ));
                }
                no_gaps(item, &format!("{path}.{i}"))?;
            }
            Ok(())
        }
        Value::Object(map) => {
            for (k, v) in map {
                let inner = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                no_gaps(v, &inner)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A request with every member, each holding a value of its type: the template
/// `--generate-cli-skeleton` prints and `--cli-input-json` takes.
pub fn skeleton(object: &ObjectSchema, depth: usize) -> Value {
    let mut map = Map::new();
    for member in object.members {
        let one = match member.ty {
            MemberType::String => Value::String(String::new()),
            MemberType::U64 | MemberType::I64 => Value::from(0),
            MemberType::F64 => Value::from(0.0),
            MemberType::Bool => Value::Bool(false),
            // The model has no cycles today; the depth bound keeps a future one finite.
            MemberType::Object(name) if depth < 8 => object_schema(name)
                .map(|inner| skeleton(inner, depth + 1))
                .unwrap_or(Value::Null),
            _ => Value::Null,
        };
        let value = if member.list {
            Value::Array(vec![one])
        } else {
            one
        };
        map.insert(member.name.to_owned(), value);
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_names() {
        assert_eq!(kebab("SnapshotIds"), "snapshot-ids");
        assert_eq!(kebab("DiskChargePrepaid"), "disk-charge-prepaid");
        assert_eq!(kebab("CDCId"), "cdc-id");
        assert_eq!(kebab("Limit"), "limit");
        assert_eq!(kebab("KMSKeyId"), "kms-key-id");
    }

    #[test]
    fn dotted_members_build_nested_values() {
        let request = schema("DescribeSnapshotsRequest").unwrap();
        let mut body = Map::new();
        set_dotted(
            request,
            &mut body,
            "Filters.0.Name",
            &["snapshot-name".into()],
        )
        .unwrap();
        set_dotted(
            request,
            &mut body,
            "Filters.0.Values",
            &["a".into(), "b".into()],
        )
        .unwrap();
        set_dotted(request, &mut body, "Limit", &["5".into()]).unwrap();
        assert_eq!(
            Value::Object(body.clone()),
            serde_json::json!({"Filters": [{"Name": "snapshot-name", "Values": ["a", "b"]}], "Limit": 5})
        );
        let error = set_dotted(request, &mut body, "Limit", &["five".into()]).unwrap_err();
        assert!(
            error.contains("Limit") && error.contains("unsigned integer"),
            "{error}"
        );
        let error = set_dotted(request, &mut body, "Filters.0.Nme", &["x".into()]).unwrap_err();
        assert!(error.contains("Nme") && error.contains("Values"), "{error}");
        set_dotted(request, &mut body, "Filters.2.Name", &["x".into()]).unwrap();
        assert!(
            no_gaps(&Value::Object(body), "")
                .unwrap_err()
                .contains("no .1")
        );
    }

    #[test]
    fn checks_name_the_member() {
        let request = schema("CopySnapshotCrossRegionsRequest").unwrap();
        let ok = serde_json::json!({"SnapshotId": "snap-1", "DestinationRegions": ["ap-beijing"]});
        assert!(check_object(request, "", ok.as_object().unwrap()).is_ok());
        let missing = serde_json::json!({"SnapshotId": "snap-1"});
        let error = check_object(request, "", missing.as_object().unwrap()).unwrap_err();
        assert!(error.starts_with("DestinationRegions: required"), "{error}");
        let wrong = serde_json::json!({"SnapshotId": 5, "DestinationRegions": []});
        let error = check_object(request, "", wrong.as_object().unwrap()).unwrap_err();
        assert!(
            error.starts_with("SnapshotId: expected a string"),
            "{error}"
        );
    }
}
