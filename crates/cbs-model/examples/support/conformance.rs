//! Checks an API example (request and response as the vendor documents them) against
//! the generated types. Shared by the `check-examples` example and the crate's tests.

use std::collections::BTreeMap;

use cbs_model::{Action, ActionVisitor, MemberType, ObjectSchema, object_schema};
use serde::Deserialize;
use serde_json::{Number, Value};

/// An examples file: `{"actions": {"Name": [{"input": "...", "output": "..."}]}}`.
#[derive(Deserialize)]
pub struct ExampleFile {
    pub actions: BTreeMap<String, Vec<Example>>,
}

#[derive(Deserialize)]
pub struct Example {
    pub input: String,
    pub output: String,
}

/// Parameters every action takes that are not members of its request object.
const COMMON_PARAMETERS: &[&str] = &[
    "Action",
    "Version",
    "Region",
    "Timestamp",
    "Nonce",
    "SecretId",
    "Signature",
    "Language",
    "Token",
];

/// The request body an example's input stands for: the JSON after the headers of a POST,
/// or the typed JSON equivalent of a GET URL's parameters.
fn request_json(action: &str, input: &str) -> Result<Value, String> {
    let trimmed = input.trim_start();
    if trimmed.starts_with("https://")
        || trimmed.starts_with("http://")
        || trimmed.starts_with("GET ")
    {
        let query = trimmed.split_once('?').map(|(_, q)| q).unwrap_or("");
        let flat: String = query.split('\n').map(str::trim).collect();
        let params: Vec<(String, String)> = cbs_model::decode_query(&flat)
            .into_iter()
            .filter(|(k, _)| !k.starts_with('<') && !COMMON_PARAMETERS.contains(&k.as_str()))
            .collect();
        return cbs_model::form_to_json(&format!("{action}Request"), params)
            .map_err(|e| format!("request: {e}"));
    }
    // The body follows a blank line, or (in some of the vendor's examples) directly the
    // last header line.
    let body = input
        .find("\n\n")
        .map(|i| &input[i + 2..])
        .or_else(|| input.find("\n{").map(|i| &input[i + 1..]))
        .ok_or("request: no body after the headers")?;
    serde_json::from_str(body.trim()).map_err(|e| format!("request is not JSON: {e}"))
}

/// Reduces a value to what the model can carry: members the schema does not know and
/// `null` members are dropped, and numbers compare by value (`6` equals `6.0`).
pub fn normalize(value: &Value, schema: &ObjectSchema) -> Value {
    let Value::Object(map) = value else {
        return value.clone();
    };
    let mut out = serde_json::Map::new();
    for (key, v) in map {
        let Some(member) = schema.member(key) else {
            continue;
        };
        if v.is_null() {
            continue;
        }
        let one = |v: &Value| match member.ty {
            MemberType::Object(name) => object_schema(name).map_or(v.clone(), |s| normalize(v, s)),
            _ => number_by_value(v),
        };
        let normalized = match (member.list, v) {
            (true, Value::Array(items)) => Value::Array(items.iter().map(one).collect()),
            _ => one(v),
        };
        out.insert(key.clone(), normalized);
    }
    Value::Object(out)
}

fn number_by_value(v: &Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(Number::from_f64)
            .map_or(v.clone(), Value::Number),
        other => other.clone(),
    }
}

struct RoundTrip<'a> {
    request: &'a Value,
    response: &'a str,
}

impl ActionVisitor for RoundTrip<'_> {
    type Output = Result<(), String>;

    fn visit<A: Action>(self) -> Result<(), String> {
        let input_schema =
            object_schema(&format!("{}Request", A::NAME)).ok_or("no request schema")?;
        let output_schema =
            object_schema(&format!("{}Response", A::NAME)).ok_or("no response schema")?;

        let request: A = serde_json::from_value(self.request.clone())
            .map_err(|e| format!("request does not parse: {e}"))?;
        let back = serde_json::to_value(&request).map_err(|e| e.to_string())?;
        if normalize(self.request, input_schema) != normalize(&back, input_schema) {
            return Err(format!(
                "request changes in a round trip: {} became {back}",
                self.request
            ));
        }

        let output = cbs_model::parse_response::<A::Output>(self.response.as_bytes())
            .map_err(|e| format!("response does not parse: {e}"))?
            .map_err(|e| format!("response is an error: {e}"))?;
        let original: Value = serde_json::from_str(self.response).map_err(|e| e.to_string())?;
        let original = original.get("Response").cloned().unwrap_or(Value::Null);
        let back = serde_json::to_value(&output).map_err(|e| e.to_string())?;
        if normalize(&original, output_schema) != normalize(&back, output_schema) {
            return Err(format!(
                "response changes in a round trip: {original} became {back}"
            ));
        }
        Ok(())
    }
}

/// Checks one example of `action`.
pub fn check(action: &str, example: &Example) -> Result<(), String> {
    let request = request_json(action, &example.input)?;
    cbs_model::visit_action(
        action,
        RoundTrip {
            request: &request,
            response: &example.output,
        },
    )
    .unwrap_or_else(|| Err(format!("unknown action {action}")))
}

/// Checks every example of a file; returns one line per failure and the counts.
#[allow(dead_code)]
pub fn check_file(file: &ExampleFile) -> (Vec<String>, usize, usize) {
    let mut failures = Vec::new();
    let mut passed = 0;
    for (action, examples) in &file.actions {
        for (i, example) in examples.iter().enumerate() {
            match check(action, example) {
                Ok(()) => passed += 1,
                Err(why) => failures.push(format!("FAIL {action} #{i}: {why}")),
            }
        }
    }
    let failed = failures.len();
    (failures, passed, failed)
}
