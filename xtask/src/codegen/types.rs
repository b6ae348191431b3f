//! The code of `cbs-model`: objects, request builders, enums, error codes, the action
//! table and the schema.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::{
    Context, DEPRECATED_ATTR, HEADER, Role, clean_example, client_token, safety, write_doc,
};
use crate::model::{Api, Member, Object, Overlay};
use crate::names::{code_variant, field_ident};

pub(super) fn gen_mod(api: &Api) -> String {
    let sources: String = api.sources.iter().map(|s| format!("//! - {s}\n")).collect();
    format!(
        "{HEADER}//! Everything generated from the vendored models of {} {}:\n//!\n{sources}\n// Generated code refers to the items the service has deprecated.\n#![allow(deprecated)]\n\npub mod actions;\npub mod enums;\npub mod error_codes;\npub mod objects;\npub mod requests;\npub mod responses;\n#[cfg(feature = \"schema\")]\npub mod schema;\n",
        api.service, api.version
    )
}

pub(super) fn gen_enums(overlay: &Overlay) -> String {
    let mut out = format!(
        "{HEADER}//! Open enums for string members whose values form a closed list in practice.\n\n"
    );
    for e in &overlay.enums {
        let _ = writeln!(out, "crate::open_enum! {{");
        let members = e.members.join("`, `");
        write_doc(
            &mut out,
            "    ",
            &format!(
                "The values of `{}` (used by `{members}`). Open: a value this version does not know parses as `Unknown` and is sent back unchanged.",
                e.name
            ),
        );
        let _ = writeln!(out, "    {} {{", e.name);
        for (wire, variant) in &e.values {
            let _ = writeln!(
                out,
                "        /// `{wire}`.\n        {variant} = \"{wire}\","
            );
        }
        out.push_str("    }\n}\n\n");
    }
    out
}

pub(super) fn gen_error_codes(api: &Api) -> String {
    let mut out = format!(
        "{HEADER}//! Every error code of the CBS API (both sites) and of the platform, with its retry class.\n\ncrate::error_codes! {{\n"
    );
    let mut seen = BTreeSet::new();
    for entry in &api.error_codes {
        let variant = code_variant(&entry.code);
        assert!(seen.insert(variant.clone()), "two codes map to {variant}");
        let class = match entry.class.as_str() {
            "throttled" => "Throttled",
            "clock" => "Clock",
            "transient" => "Transient",
            _ => "Client",
        };
        let origin = match entry.origin.as_str() {
            "common" => "platform-wide",
            "cbs" => "CBS",
            _ => "platform-wide, also listed by CBS",
        };
        let _ = writeln!(
            out,
            "    /// `{}` ({origin}; retry class {}).\n    {variant} = (\"{}\", {class}),",
            entry.code, entry.class, entry.code
        );
    }
    out.push_str("}\n");
    out
}

/// The sentence that says how safe an action is to repeat.
fn safety_doc(safety: &str) -> &'static str {
    match safety {
        "ReadOnly" => {
            "Read-only: the client retries it after any failure that may pass, since running it twice does no harm."
        }
        "Idempotent" => {
            "Idempotent: the client fills an empty `ClientToken` with a fresh token once per call, so retries after a lost answer cannot run it twice."
        }
        _ => "Mutating: the client never sends it again after a failure that may have let it run.",
    }
}

impl Context<'_> {
    pub(super) fn gen_objects(&self, select: impl Fn(Role) -> bool, about: &str) -> String {
        let objects_import = if about.starts_with("Objects") {
            ""
        } else {
            "#[allow(unused_imports)]\nuse super::objects::*;\n"
        };
        let mut out = format!(
            "{HEADER}//! {about}\n\n#[allow(unused_imports)]\nuse super::enums::*;\n{objects_import}\n"
        );
        if about.contains("request") {
            out.push_str("use crate::action::ValidationError;\n\n");
        }
        for object in &self.api.objects {
            if select(self.roles[object.name.as_str()]) {
                self.gen_object(&mut out, object);
            }
        }
        out
    }

    fn object_doc(&self, object: &Object) -> String {
        let name = object.name.as_str();
        match self.roles[name] {
            Role::Request => {
                let action = self
                    .action_of_input(name)
                    .expect("a request belongs to an action");
                let mut doc = format!(
                    "Parameters of the `{}` action.\n\n{} Offered on {}.",
                    action.name,
                    safety_doc(safety(action, object)),
                    action.sites.describe()
                );
                if action.deprecated {
                    doc.push_str(" The service has deprecated this action.");
                }
                doc.push_str("\n\nMake one with [`new`](Self::new), which takes the required members, or member by member with [`builder`](Self::builder).");
                doc
            }
            Role::Response => {
                let action = self
                    .action_of_output(name)
                    .expect("a response belongs to an action");
                format!(
                    "Output of the `{}` action. Every member is optional: the service may leave any out or send `null`, and members this version does not know are ignored.",
                    action.name
                )
            }
            Role::SharedIn => format!("The `{name}` object, sent in requests."),
            Role::SharedOut { also_in: true } => format!(
                "The `{name}` object, sent in requests and returned in responses. Every field is optional so that responses always parse; [`new`](Self::new) takes the members a request must carry."
            ),
            Role::SharedOut { also_in: false } => format!(
                "The `{name}` object, returned in responses. Every member is optional: the service may leave any out or send `null`."
            ),
        }
    }

    fn gen_object(&self, out: &mut String, object: &Object) {
        let name = object.name.as_str();
        let role = self.roles[name];
        let plain: Vec<&Member> = object
            .members
            .iter()
            .filter(|m| self.is_plain(name, m))
            .collect();
        let deprecated = match role {
            Role::Request => self.action_of_input(name).is_some_and(|a| a.deprecated),
            _ => false,
        };
        write_doc(out, "", &self.object_doc(object));
        // Serialize what a client sends, Deserialize what it receives; the other direction
        // only for servers and tools (the `server` feature).
        let (always, server) = match role {
            Role::Request | Role::SharedIn => ("serde::Serialize", "serde::Deserialize"),
            Role::Response | Role::SharedOut { also_in: false } => {
                ("serde::Deserialize", "serde::Serialize")
            }
            Role::SharedOut { also_in: true } => ("serde::Serialize, serde::Deserialize", ""),
        };
        let default = if plain.is_empty() { ", Default" } else { "" };
        let _ = writeln!(out, "#[derive(Clone, Debug, PartialEq, {always}{default})]");
        if !server.is_empty() {
            let _ = writeln!(out, "#[cfg_attr(feature = \"server\", derive({server}))]");
        }
        if deprecated {
            out.push_str(DEPRECATED_ATTR);
        }
        let _ = writeln!(out, "#[non_exhaustive]\npub struct {name} {{");
        for m in &object.members {
            let ident = field_ident(&m.name);
            if role == Role::Response && m.name == "RequestId" {
                write_doc(
                    out,
                    "    ",
                    "Identifies this call to the service; quote it when reporting a problem.",
                );
                let _ = writeln!(
                    out,
                    "    #[serde(rename = \"RequestId\", default, deserialize_with = \"crate::de::null_as_default\")]\n    pub request_id: String,"
                );
                continue;
            }
            write_doc(out, "    ", &self.member_doc(name, m));
            let ty = self.full_type(name, m);
            if self.is_plain(name, m) {
                let _ = writeln!(
                    out,
                    "    #[serde(rename = \"{}\")]\n    pub {ident}: {ty},",
                    m.name
                );
            } else {
                let _ = writeln!(
                    out,
                    "    #[serde(rename = \"{}\", default, skip_serializing_if = \"Option::is_none\")]\n    pub {ident}: Option<{ty}>,",
                    m.name
                );
            }
        }
        out.push_str("}\n\n");

        let _ = writeln!(out, "impl {name} {{");
        match role {
            Role::Request => {
                self.gen_new(out, object);
                let _ = writeln!(
                    out,
                    "    /// A builder that sets members one by one.\n    pub fn builder() -> {name}Builder {{\n        {name}Builder::default()\n    }}"
                );
            }
            Role::SharedIn | Role::SharedOut { also_in: true } => {
                self.gen_new(out, object);
                for m in &object.members {
                    let ident = field_ident(&m.name);
                    let (param, convert) = self.param(name, m);
                    let assign = if self.is_plain(name, m) {
                        convert
                    } else {
                        format!("Some({convert})")
                    };
                    write_doc(out, "    ", &format!("Sets `{}`.", m.name));
                    let _ = writeln!(
                        out,
                        "    pub fn {ident}(mut self, value: {param}) -> Self {{\n        self.{ident} = {assign};\n        self\n    }}"
                    );
                }
            }
            Role::Response | Role::SharedOut { also_in: false } => {}
        }
        if matches!(role, Role::Response | Role::SharedOut { also_in: false }) {
            for m in object.members.iter().filter(|m| m.kind == "list") {
                let ident = field_ident(&m.name);
                let base = self.base_type(name, m);
                write_doc(
                    out,
                    "    ",
                    &format!(
                        "`{}`, or an empty slice when the service left it out.",
                        m.name
                    ),
                );
                let _ = writeln!(
                    out,
                    "    pub fn {ident}(&self) -> &[{base}] {{\n        self.{ident}.as_deref().unwrap_or_default()\n    }}"
                );
            }
        }
        out.push_str("}\n\n");
        if role == Role::Request {
            self.gen_builder(out, object, deprecated);
        }
    }

    /// `new(required members…)`.
    fn gen_new(&self, out: &mut String, object: &Object) {
        let name = object.name.as_str();
        let required: Vec<&Member> = object
            .members
            .iter()
            .filter(|m| self.is_required(name, m))
            .collect();
        let args: Vec<String> = required
            .iter()
            .map(|m| format!("{}: {}", field_ident(&m.name), self.param(name, m).0))
            .collect();
        let docs = if required.is_empty() {
            "An empty value.".to_owned()
        } else {
            format!(
                "A value with its required members ({}).",
                required
                    .iter()
                    .map(|m| format!("`{}`", m.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        write_doc(out, "    ", &docs);
        let _ = writeln!(
            out,
            "    #[allow(clippy::new_without_default)]\n    pub fn new({}) -> Self {{\n        Self {{",
            args.join(", ")
        );
        for m in &object.members {
            let ident = field_ident(&m.name);
            let value = if self.is_required(name, m) {
                let convert = self.param(name, m).1.replace("value", &ident);
                if self.is_plain(name, m) {
                    convert
                } else {
                    format!("Some({convert})")
                }
            } else {
                "None".to_owned()
            };
            if value == ident {
                let _ = writeln!(out, "            {ident},");
            } else {
                let _ = writeln!(out, "            {ident}: {value},");
            }
        }
        out.push_str("        }\n    }\n");
    }

    /// `XxxRequestBuilder`: every member optional, a setter, a `set_` and a `get_` each,
    /// and `build()`, which names the first required member not set.
    fn gen_builder(&self, out: &mut String, object: &Object, deprecated: bool) {
        let name = object.name.as_str();
        let builder = format!("{name}Builder");
        write_doc(
            out,
            "",
            &format!(
                "Builds a [`{name}`] member by member; [`build`](Self::build) checks that the required ones are set."
            ),
        );
        let _ = writeln!(out, "#[derive(Clone, Debug, Default, PartialEq)]");
        if deprecated {
            out.push_str(DEPRECATED_ATTR);
        }
        let _ = writeln!(out, "pub struct {builder} {{");
        for m in &object.members {
            let _ = writeln!(
                out,
                "    {}: Option<{}>,",
                field_ident(&m.name),
                self.full_type(name, m)
            );
        }
        out.push_str("}\n\n");
        let _ = writeln!(out, "impl {builder} {{");
        for m in &object.members {
            let ident = field_ident(&m.name);
            let bare = ident.trim_start_matches("r#");
            let ty = self.full_type(name, m);
            let (param, convert) = self.param(name, m);
            let required = if self.is_required(name, m) {
                " Required."
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "    /// Sets `{wire}`.{required}\n    pub fn {ident}(mut self, value: {param}) -> Self {{\n        self.{ident} = Some({convert});\n        self\n    }}\n    /// Sets `{wire}`, or clears it with `None`.\n    pub fn set_{bare}(mut self, value: Option<{ty}>) -> Self {{\n        self.{ident} = value;\n        self\n    }}\n    /// `{wire}`, if set.\n    pub fn get_{bare}(&self) -> Option<&{ty}> {{\n        self.{ident}.as_ref()\n    }}",
                wire = m.name,
            );
        }
        let _ = writeln!(
            out,
            "    /// The request; fails naming the first required member not set.\n    pub fn build(self) -> Result<{name}, ValidationError> {{\n        Ok({name} {{"
        );
        for m in &object.members {
            let ident = field_ident(&m.name);
            if self.is_plain(name, m) {
                let _ = writeln!(
                    out,
                    "            {ident}: self.{ident}.ok_or(ValidationError::missing(\"{}\"))?,",
                    m.name
                );
            } else {
                let _ = writeln!(out, "            {ident}: self.{ident},");
            }
        }
        out.push_str("        })\n    }\n}\n\n");
    }

    fn member_doc(&self, object: &str, m: &Member) -> String {
        let ty = match (m.kind.as_str(), m.member.as_str()) {
            ("list", member) => format!("list of {member}"),
            (_, member) => member.to_owned(),
        };
        let mut notes = vec![format!("`{}`: {ty}", m.name)];
        if self.is_required(object, m) {
            notes.push(if m.required {
                "required".into()
            } else {
                "required by the service (the model marks it optional)".into()
            });
        }
        if m.value_allowed_null == Some(true) {
            notes.push("may be null".into());
        }
        let mut doc = notes.join("; ") + ".";
        // The vendor writes 无 ("none") where it has no example.
        if let Some(example) = m
            .example
            .as_deref()
            .map(clean_example)
            .filter(|e| !e.is_empty() && e != "无")
        {
            let _ = write!(doc, " Example: `{example}`.");
        }
        doc
    }

    pub(super) fn gen_actions(&self) -> String {
        let mut out = format!(
            "{HEADER}//! The action table and the [`Action`] impl of every request.\n\nuse super::objects::*;\nuse super::requests::*;\nuse super::responses::*;\nuse crate::action::{{Action, ActionInfo, ActionOutput, Availability, Safety, ValidationError}};\n\n"
        );
        let mut table = String::new();
        for action in &self.api.actions {
            let object = self.objects[action.input.as_str()];
            let required: Vec<&Member> = object
                .members
                .iter()
                .filter(|m| self.is_required(&action.input, m))
                .collect();
            let safety = safety(action, object);
            let availability = action.sites.variant();
            let deprecated = action.deprecated;
            let names = required
                .iter()
                .map(|m| format!("\"{}\"", m.name))
                .collect::<Vec<_>>()
                .join(", ");
            let mut checks = String::new();
            for m in &required {
                let ident = field_ident(&m.name);
                let empty_check = m.kind == "list"
                    || (m.member == "string"
                        && !self
                            .enums
                            .contains_key(&(action.input.clone(), m.name.clone())));
                if empty_check {
                    let _ = writeln!(
                        checks,
                        "        if self.{ident}.is_empty() {{ return Err(ValidationError::empty(\"{}\")); }}",
                        m.name
                    );
                }
            }
            let validate = if checks.is_empty() {
                "    fn validate(&self) -> Result<(), ValidationError> {\n        Ok(())\n    }\n"
                    .to_owned()
            } else {
                format!(
                    "    fn validate(&self) -> Result<(), ValidationError> {{\n{checks}        Ok(())\n    }}\n"
                )
            };
            let token = match client_token(object) {
                Some(m) => format!(
                    "    fn client_token_mut(&mut self) -> Option<&mut Option<String>> {{\n        Some(&mut self.{})\n    }}\n",
                    field_ident(&m.name)
                ),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "impl Action for {input} {{\n    const NAME: &'static str = \"{name}\";\n    const SAFETY: Safety = Safety::{safety};\n    const AVAILABILITY: Availability = Availability::{availability};\n    const DEPRECATED: bool = {deprecated};\n    const REQUIRED: &'static [&'static str] = &[{names}];\n    type Output = {output};\n{validate}{token}}}\n\nimpl ActionOutput for {output} {{\n    fn request_id(&self) -> &str {{\n        &self.request_id\n    }}\n}}\n",
                input = action.input,
                output = action.output,
                name = action.name,
            );
            let _ = writeln!(
                table,
                "    ActionInfo {{ name: \"{name}\", safety: Safety::{safety}, availability: Availability::{availability}, deprecated: {deprecated}, required: &[{names}] }},",
                name = action.name
            );
        }
        for action in &self.api.actions {
            if let Some((list, item)) = self.pagination(action) {
                let id = match self.item_id(&item) {
                    Some(field) => format!("item.{field}.as_deref()"),
                    None => "None".to_owned(),
                };
                let _ = writeln!(
                    out,
                    "impl crate::action::Paginated for {input} {{\n    type Item = {item};\n    fn offset(&self) -> Option<u64> {{\n        self.offset\n    }}\n    fn set_offset(&mut self, offset: u64) {{\n        self.offset = Some(offset);\n    }}\n    fn limit(&self) -> Option<u64> {{\n        self.limit\n    }}\n    fn total_count(output: &Self::Output) -> Option<u64> {{\n        output.total_count\n    }}\n    fn items(output: &Self::Output) -> &[Self::Item] {{\n        output.{list}()\n    }}\n    fn item_id(item: &Self::Item) -> Option<&str> {{\n        {id}\n    }}\n}}\n",
                    input = action.input,
                );
            }
        }
        let _ = writeln!(
            out,
            "/// Every action of the API, sorted by name.\npub const ACTIONS: &[ActionInfo] = &[\n{table}];"
        );
        out.push_str(ACTION_LOOKUPS);
        let arms: String = self
            .api
            .actions
            .iter()
            .map(|a| {
                format!(
                    "        \"{}\" => Some(visitor.visit::<{}>()),\n",
                    a.name, a.input
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "/// Calls `visitor` with the request type of the action called `name`; `None` when there is no such action.\npub fn visit_action<V: crate::action::ActionVisitor>(name: &str, visitor: V) -> Option<V::Output> {{\n    match name {{\n{arms}        _ => None,\n    }}\n}}"
        );
        out
    }

    pub(super) fn gen_schema(&self) -> String {
        let mut out = format!(
            "{HEADER}//! The structure of every object, for code that works with members by name.\n\nuse crate::schema::{{MemberSchema, MemberType, ObjectSchema}};\n\n/// Every object of the model, sorted by name.\npub const OBJECTS: &[ObjectSchema] = &[\n"
        );
        for object in &self.api.objects {
            let _ = writeln!(
                out,
                "    ObjectSchema {{ name: \"{}\", members: &[",
                object.name
            );
            for m in &object.members {
                let ty = match m.member.as_str() {
                    "string" | "datetime" | "datetime_iso" | "date" => {
                        "MemberType::String".to_owned()
                    }
                    "uint64" => "MemberType::U64".to_owned(),
                    "int64" => "MemberType::I64".to_owned(),
                    "float" => "MemberType::F64".to_owned(),
                    "bool" => "MemberType::Bool".to_owned(),
                    other => format!("MemberType::Object(\"{other}\")"),
                };
                let _ = writeln!(
                    out,
                    "        MemberSchema {{ name: \"{}\", list: {}, ty: {ty}, required: {} }},",
                    m.name,
                    m.kind == "list",
                    self.is_required(&object.name, m)
                );
            }
            out.push_str("    ] },\n");
        }
        out.push_str("];\n");
        out.push_str(SCHEMA_LOOKUP);
        out
    }
}

/// The searches of the action table, generated beside it.
const ACTION_LOOKUPS: &str = r#"
/// The table row of the action called `name`, if there is one.
///
/// ```
/// use cbs_model::{Availability, Safety};
/// let info = cbs_model::action_info("DescribeSnapshots").unwrap();
/// assert_eq!(info.safety, Safety::ReadOnly);
/// assert_eq!(info.availability, Availability::Both);
/// let remote = cbs_model::action_info("CreateRemoteDisks").unwrap();
/// assert_eq!(remote.availability, Availability::ChinaOnly);
/// assert!(cbs_model::action_info("NoSuchAction").is_none());
/// ```
pub fn action_info(name: &str) -> Option<&'static ActionInfo> {
    action_index(name).map(|i| &ACTIONS[i])
}

/// The position in [`ACTIONS`] of the action called `name`, for tables kept beside it.
///
/// ```
/// let i = cbs_model::action_index("DescribeSnapshots").unwrap();
/// assert_eq!(cbs_model::ACTIONS[i].name, "DescribeSnapshots");
/// assert!(cbs_model::action_index("NoSuchAction").is_none());
/// ```
pub fn action_index(name: &str) -> Option<usize> {
    ACTIONS.binary_search_by(|info| info.name.cmp(name)).ok()
}
"#;

/// The search of the schema table, generated beside it.
const SCHEMA_LOOKUP: &str = r#"
/// The object called `name`.
///
/// ```
/// use cbs_model::{object_schema, MemberType};
/// let request = object_schema("CopySnapshotCrossRegionsRequest").unwrap();
/// let regions = request.member("DestinationRegions").unwrap();
/// assert!(regions.list && regions.required && regions.ty == MemberType::String);
/// ```
pub fn object_schema(name: &str) -> Option<&'static ObjectSchema> {
    OBJECTS
        .binary_search_by(|o| o.name.cmp(name))
        .ok()
        .map(|i| &OBJECTS[i])
}
"#;
