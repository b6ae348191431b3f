//! The vendored models (the structure of the CBS API, without the vendor's prose) and the
//! merge of the international and China-site models into the one API the code carries.
//!
//! # How the two models are merged
//!
//! Both sites serve the same API version, but the China-site model lists more actions
//! (61 against 44) and more members on shared objects. The generated code is their union:
//!
//! - **Actions**: every action of either model. Each records the sites whose model lists
//!   it. An action both list must name the same request and response objects. It is
//!   deprecated when either model says so.
//! - **Objects**: every object of either model; its members are the union, in the order
//!   of the model that lists the most of them, with the other model's extra members
//!   appended in their own order.
//! - **Where the models disagree on a member, the looser reading wins**:
//!   - *required* only when every model that has the object has the member and marks it
//!     required (a member one site does not know cannot be required of its callers);
//!   - *may be null* when either model says so;
//!   - *always in output* (`output_required`) only when both say so;
//!   - *type*: the same in both, or a numeric widening (`uint64` with `int64` is
//!     `int64`; an integer with `float` is `float`); any other disagreement stops the
//!     generator with the member's name, for a person to decide.
//! - **Error codes**: every code of either site plus the platform-wide codes, each with
//!   its retry class.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One site's model, as `cargo xtask import-model` writes it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Model {
    pub service: String,
    pub version: String,
    /// `international` or `china`.
    pub site: String,
    /// Where the structure was taken from.
    pub source: String,
    pub actions: Vec<Action>,
    /// Every request, response and shared object, sorted by name.
    pub objects: Vec<Object>,
    /// Every error code the site documents plus the platform-wide ones, sorted.
    pub error_codes: Vec<ErrorCodeEntry>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Action {
    pub name: String,
    pub input: String,
    pub output: String,
    /// `online` or `deprecated`.
    pub status: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Object {
    pub name: String,
    pub members: Vec<Member>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorCodeEntry {
    pub code: String,
    /// `throttled`, `clock`, `transient` or `client`.
    pub class: String,
    /// `common`, `cbs`, or `common+cbs`.
    pub origin: String,
}

/// Curated facts the vendor's models do not carry.
#[derive(Debug, Deserialize)]
pub struct Overlay {
    pub enums: Vec<EnumOverlay>,
    /// `Object.Member` pairs the service requires although the models do not say so.
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

/// Which sites offer an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sites {
    pub international: bool,
    pub china: bool,
}

impl Sites {
    /// The `cbs_model::Availability` variant.
    pub fn variant(self) -> &'static str {
        match (self.international, self.china) {
            (true, true) => "Both",
            (false, true) => "ChinaOnly",
            _ => "InternationalOnly",
        }
    }

    /// Words for documentation.
    pub fn describe(self) -> &'static str {
        match (self.international, self.china) {
            (true, true) => "both the international and the China site",
            (false, true) => "the China site only (cloud.tencent.com)",
            _ => "the international site only (tencentcloud.com)",
        }
    }
}

/// An action of the merged API.
#[derive(Clone, Debug)]
pub struct MergedAction {
    pub name: String,
    pub input: String,
    pub output: String,
    pub deprecated: bool,
    pub sites: Sites,
}

/// The API the code carries: both models merged.
#[derive(Debug)]
pub struct Api {
    pub service: String,
    pub version: String,
    /// The models it was merged from, for the generated files' headers.
    pub sources: Vec<String>,
    pub actions: Vec<MergedAction>,
    pub objects: Vec<Object>,
    pub error_codes: Vec<ErrorCodeEntry>,
}

/// Merges the models by the rules in this module's documentation.
pub fn merge(models: &[Model]) -> Result<Api, String> {
    let first = models.first().ok_or("no model to merge")?;
    for model in models {
        if model.service != first.service || model.version != first.version {
            return Err(format!(
                "the {} model is {} {}, the {} model {} {}",
                first.site, first.service, first.version, model.site, model.service, model.version
            ));
        }
    }

    let mut actions: BTreeMap<String, MergedAction> = BTreeMap::new();
    for model in models {
        for action in &model.actions {
            let entry = actions
                .entry(action.name.clone())
                .or_insert_with(|| MergedAction {
                    name: action.name.clone(),
                    input: action.input.clone(),
                    output: action.output.clone(),
                    deprecated: false,
                    sites: Sites {
                        international: false,
                        china: false,
                    },
                });
            if entry.input != action.input || entry.output != action.output {
                return Err(format!(
                    "action {}: the models name different request or response objects",
                    action.name
                ));
            }
            entry.deprecated |= action.status == "deprecated";
            match model.site.as_str() {
                "international" => entry.sites.international = true,
                "china" => entry.sites.china = true,
                other => return Err(format!("unknown site `{other}`")),
            }
        }
    }

    let mut names: Vec<&str> = models
        .iter()
        .flat_map(|m| m.objects.iter().map(|o| o.name.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut objects = Vec::new();
    for name in names {
        let versions: Vec<&Object> = models
            .iter()
            .filter_map(|m| m.objects.iter().find(|o| o.name == name))
            .collect();
        objects.push(merge_object(name, &versions)?);
    }

    let mut codes: BTreeMap<String, ErrorCodeEntry> = BTreeMap::new();
    for model in models {
        for entry in &model.error_codes {
            match codes.get(&entry.code) {
                Some(seen) if seen.class != entry.class => {
                    return Err(format!(
                        "error code {}: retry class {} in one model, {} in another",
                        entry.code, seen.class, entry.class
                    ));
                }
                Some(_) => {}
                None => {
                    codes.insert(entry.code.clone(), entry.clone());
                }
            }
        }
    }

    Ok(Api {
        service: first.service.clone(),
        version: first.version.clone(),
        sources: models
            .iter()
            .map(|m| format!("{} ({})", m.site, m.source))
            .collect(),
        actions: actions.into_values().collect(),
        objects,
        error_codes: codes.into_values().collect(),
    })
}

fn merge_object(name: &str, versions: &[&Object]) -> Result<Object, String> {
    // The version with the most members gives the order; the others' extras follow.
    let mut ordered: Vec<&Object> = versions.to_vec();
    ordered.sort_by_key(|o| std::cmp::Reverse(o.members.len()));
    let mut members: Vec<Member> = Vec::new();
    for version in &ordered {
        for member in &version.members {
            if !members.iter().any(|m| m.name == member.name) {
                members.push(member.clone());
            }
        }
    }
    for merged in &mut members {
        let seen: Vec<&Member> = versions
            .iter()
            .filter_map(|o| o.members.iter().find(|m| m.name == merged.name))
            .collect();
        let everywhere = seen.len() == versions.len();
        merged.required = everywhere && seen.iter().all(|m| m.required);
        merged.value_allowed_null = if seen.iter().any(|m| m.value_allowed_null == Some(true)) {
            Some(true)
        } else {
            seen.iter().find_map(|m| m.value_allowed_null)
        };
        merged.output_required = match seen.iter().filter_map(|m| m.output_required).count() {
            0 => None,
            _ => Some(everywhere && seen.iter().all(|m| m.output_required == Some(true))),
        };
        merged.example = seen
            .iter()
            .filter_map(|m| m.example.clone())
            .find(|e| !e.trim().is_empty());
        for other in &seen {
            if other.kind != merged.kind && (other.kind == "list" || merged.kind == "list") {
                return Err(format!(
                    "{name}.{}: a list in one model, not in another",
                    merged.name
                ));
            }
            merged.member = widen(&merged.member, &other.member).ok_or_else(|| {
                format!(
                    "{name}.{}: type {} in one model, {} in another; decide in the overlay or the merge rules",
                    merged.name, merged.member, other.member
                )
            })?;
            if merged.kind != "list" {
                merged.kind = match merged.member.as_str() {
                    "float" => "float".into(),
                    "int64" | "uint64" => "int".into(),
                    _ => merged.kind.clone(),
                };
            }
        }
    }
    Ok(Object {
        name: name.to_owned(),
        members,
    })
}

/// The looser of two member types, if one exists.
fn widen(a: &str, b: &str) -> Option<String> {
    let integer = |t: &str| matches!(t, "uint64" | "int64");
    match (a, b) {
        _ if a == b => Some(a.to_owned()),
        _ if integer(a) && integer(b) => Some("int64".to_owned()),
        _ if (integer(a) || a == "float") && (integer(b) || b == "float") => {
            Some("float".to_owned())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, ty: &str, required: bool) -> Member {
        Member {
            name: name.into(),
            kind: if ty == "string" {
                "string".into()
            } else {
                "int".into()
            },
            member: ty.into(),
            required,
            output_required: None,
            value_allowed_null: None,
            example: None,
        }
    }

    fn model(site: &str, actions: &[&str], objects: Vec<Object>) -> Model {
        Model {
            service: "cbs".into(),
            version: "2017-03-12".into(),
            site: site.into(),
            source: "test".into(),
            actions: actions
                .iter()
                .map(|a| Action {
                    name: a.to_string(),
                    input: format!("{a}Request"),
                    output: format!("{a}Response"),
                    status: "online".into(),
                })
                .collect(),
            objects,
            error_codes: Vec::new(),
        }
    }

    #[test]
    fn the_looser_reading_wins() {
        let intl = model(
            "international",
            &["A"],
            vec![Object {
                name: "ARequest".into(),
                members: vec![member("Id", "string", true), member("N", "uint64", true)],
            }],
        );
        let china = model(
            "china",
            &["A", "B"],
            vec![Object {
                name: "ARequest".into(),
                members: vec![
                    member("Id", "string", true),
                    member("N", "int64", true),
                    member("Extra", "string", true),
                ],
            }],
        );
        let api = merge(&[intl, china]).unwrap();
        assert_eq!(api.actions.len(), 2);
        assert_eq!(api.actions[0].sites.variant(), "Both");
        assert_eq!(api.actions[1].sites.variant(), "ChinaOnly");
        let request = &api.objects[0];
        let names: Vec<&str> = request.members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["Id", "N", "Extra"]);
        assert!(request.members[0].required);
        assert_eq!(request.members[1].member, "int64");
        assert!(
            !request.members[2].required,
            "a member one site lacks is optional"
        );
    }

    #[test]
    fn irreconcilable_types_stop_the_merge() {
        let object = |ty: &str| Object {
            name: "ARequest".into(),
            members: vec![member("X", ty, false)],
        };
        let err = merge(&[
            model("international", &["A"], vec![object("string")]),
            model("china", &["A"], vec![object("uint64")]),
        ])
        .unwrap_err();
        assert!(err.contains("ARequest.X"), "{err}");
    }
}
