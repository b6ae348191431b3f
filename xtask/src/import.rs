//! `import-model`: one site's vendor files in, that site's structural model out.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::model::{Action, ErrorCodeEntry, Member, Model, Object};

/// The sites a model can come from, with the file name each is vendored under.
pub const SITES: &[(&str, &str)] = &[
    ("international", "model/cbs-2017-03-12.international.json"),
    ("china", "model/cbs-2017-03-12.china.json"),
];

/// Reads `api.json` and `errorcodes.json` from `spec_dir` and the platform-wide codes
/// from `common_codes`, and writes the structure (names, types, flags, example values;
/// no prose) to `out`.
pub fn run(
    spec_dir: &Path,
    common_codes: &Path,
    site: &str,
    source: &str,
    out: &Path,
) -> Result<(), String> {
    let api = read_json(&spec_dir.join("api.json"))?;
    let site_codes = read_json(&spec_dir.join("errorcodes.json"))?;
    let common = read_json(common_codes)?;

    let version = api["metadata"]["apiVersion"]
        .as_str()
        .ok_or("api.json: no metadata.apiVersion")?;
    let service = api["metadata"]["serviceShortName"]
        .as_str()
        .ok_or("api.json: no metadata.serviceShortName")?;

    let actions_json = api["actions"].as_object().ok_or("api.json: no actions")?;
    let mut actions = Vec::new();
    for (name, action) in actions_json {
        let field = |key: &str| {
            action[key]
                .as_str()
                .map(str::to_owned)
                .ok_or(format!("action {name}: no {key}"))
        };
        actions.push(Action {
            name: name.clone(),
            input: field("input")?,
            output: field("output")?,
            status: field("status")?,
        });
    }
    actions.sort_by(|a, b| a.name.cmp(&b.name));

    let objects_json = api["objects"].as_object().ok_or("api.json: no objects")?;
    let mut objects = Vec::new();
    for (name, object) in objects_json {
        let members_json = object["members"]
            .as_array()
            .ok_or(format!("object {name}: no members"))?;
        let mut members = Vec::new();
        for m in members_json {
            let text = |key: &str| m[key].as_str().map(str::to_owned);
            members.push(Member {
                name: text("name").ok_or(format!("object {name}: member without name"))?,
                kind: text("type").ok_or(format!("object {name}: member without type"))?,
                member: text("member").ok_or(format!("object {name}: member without member"))?,
                required: m["required"].as_bool().unwrap_or(false),
                output_required: m["output_required"].as_bool(),
                value_allowed_null: m["value_allowed_null"].as_bool(),
                example: text("example"),
            });
        }
        objects.push(Object {
            name: name.clone(),
            members,
        });
    }
    objects.sort_by(|a, b| a.name.cmp(&b.name));

    let error_codes = merge_codes(&site_codes, &common)?;
    let model = Model {
        service: service.to_owned(),
        version: version.to_owned(),
        site: site.to_owned(),
        source: source.to_owned(),
        actions,
        objects,
        error_codes,
    };
    let mut text = serde_json::to_string_pretty(&model).map_err(|e| e.to_string())?;
    text.push('\n');
    std::fs::write(out, text).map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "wrote {}: {} actions, {} objects, {} error codes",
        out.display(),
        model.actions.len(),
        model.objects.len(),
        model.error_codes.len()
    );
    Ok(())
}

/// Platform codes keep their retry class. A service code takes the class of the platform
/// code it refines (`InternalError.ComponentError` is `transient` like `InternalError`),
/// and is `client` otherwise: retrying it cannot help.
fn merge_codes(site: &Value, common: &Value) -> Result<Vec<ErrorCodeEntry>, String> {
    let list = |v: &Value, file: &str| -> Result<Vec<Value>, String> {
        v["codes"]
            .as_array()
            .cloned()
            .ok_or(format!("{file}: no codes"))
    };
    let mut merged: BTreeMap<String, (String, String)> = BTreeMap::new();
    for entry in list(common, "common-errorcodes.json")? {
        let code = entry["code"].as_str().ok_or("common code without code")?;
        let class = entry["class"]
            .as_str()
            .ok_or(format!("common code {code} without class"))?;
        merged.insert(code.to_owned(), (class.to_owned(), "common".to_owned()));
    }
    for entry in list(site, "errorcodes.json")? {
        let code = entry["code"].as_str().ok_or("cbs code without code")?;
        if let Some((_, origin)) = merged.get_mut(code) {
            *origin = "common+cbs".to_owned();
            continue;
        }
        let category = code.split('.').next().unwrap_or(code);
        let class = merged
            .get(category)
            .map(|(class, _)| class.clone())
            .unwrap_or_else(|| "client".to_owned());
        merged.insert(code.to_owned(), (class, "cbs".to_owned()));
    }
    Ok(merged
        .into_iter()
        .map(|(code, (class, origin))| ErrorCodeEntry {
            code,
            class,
            origin,
        })
        .collect())
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}
