//! Every action of the model from the shell: `tccbs cbs DescribeSnapshots --Limit 5`
//! (the way tccli takes it) and `tccbs describe-snapshots --limit 5` (kebab-case,
//! repeatable flags for lists).

pub mod completion;
pub mod help;
pub mod members;
pub mod output;
mod waiter;

use std::io::Read;
use std::process::ExitCode;

use cbs_model::{ActionInfo, Safety};
use serde_json::{Map, Value};

use crate::cli::{Global, Output};
use crate::commands::print_json;
use crate::context::Context;
use crate::failure::Failure;

/// The action whose kebab-case name is `name` (`describe-snapshots`).
pub fn action_by_kebab(name: &str) -> Option<&'static ActionInfo> {
    cbs_model::ACTIONS
        .iter()
        .find(|a| members::kebab(a.name) == name)
}

/// What came after the action on the command line.
#[derive(Debug, Default)]
struct Parsed {
    body: Map<String, Value>,
    input_json: Option<String>,
    skeleton: bool,
    unfold: bool,
    filter: Option<String>,
    waiter: Option<String>,
    help: bool,
}

/// An option an action takes besides its members.
pub(crate) struct ActionOption {
    pub name: &'static str,
    /// What its value is, for help; `None`: a flag.
    pub value: Option<&'static str>,
    pub help: &'static str,
}

/// The options only an action takes: [`parse`] reads them, the completion scripts offer
/// them.
pub(crate) const ACTION_OPTIONS: &[ActionOption] = &[
    ActionOption {
        name: "cli-input-json",
        value: Some("JSON"),
        help: "The request as JSON, file://PATH, or - for stdin",
    },
    ActionOption {
        name: "generate-cli-skeleton",
        value: None,
        help: "Print the request's JSON skeleton",
    },
    ActionOption {
        name: "cli-unfold-argument",
        value: None,
        help: "Take dotted members (--Filters.0.Name)",
    },
    ActionOption {
        name: "filter",
        value: Some("JMESPATH"),
        help: "Print only what this JMESPath expression selects",
    },
    ActionOption {
        name: "waiter",
        value: Some("JSON"),
        help: "Repeat a read-only action until a condition holds",
    },
];

/// Whether `name` is an option that takes a value after the action: one of the
/// action's own, or of the whole command's, which may also come there, as with tccli.
fn takes_value(name: &str) -> bool {
    GLOBAL_VALUE_OPTIONS.contains(&name)
        || ACTION_OPTIONS
            .iter()
            .any(|o| o.name == name && o.value.is_some())
}

/// Options of the whole command, with a value, that may also come after the action.
const GLOBAL_VALUE_OPTIONS: &[&str] = &[
    "region",
    "profile",
    "endpoint",
    "output",
    "language",
    "role-arn",
    "role-session-name",
    "local-faults",
    "local-state",
    "ca-bundle",
    "timeout",
    "https-proxy",
    "version",
];

/// Reads the arguments after the action into a request body (checked member by member)
/// and options; global options found there update `global`.
fn parse(action: &ActionInfo, args: &[String], global: &mut Global) -> Result<Parsed, Failure> {
    let usage = |m: String| Failure::Usage(m);
    let request = members::schema(&format!("{}Request", action.name)).map_err(usage)?;
    let mut parsed = Parsed {
        unfold: args.iter().any(|a| a == "--cli-unfold-argument"),
        ..Parsed::default()
    };
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "-h" || arg == "--help" {
            parsed.help = true;
            continue;
        }
        if arg == "-v" || arg == "-vv" || arg == "-vvv" {
            global.verbose = global.verbose.max(arg.len() as u8 - 1);
            continue;
        }
        let Some(flag) = arg.strip_prefix("--") else {
            return Err(usage(format!(
                "unexpected `{arg}`: members are given as --Member value (see `tccbs cbs {} --help`)",
                action.name
            )));
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (flag, None),
        };
        // The values that follow, up to the next flag.
        let mut values: Vec<String> = inline.into_iter().collect();
        if values.is_empty() {
            while i < args.len() && !args[i].starts_with("--") {
                values.push(args[i].clone());
                i += 1;
            }
        }
        let one = |values: &[String]| -> Result<String, Failure> {
            match values {
                [value] => Ok(value.clone()),
                [] => Err(Failure::Usage(format!("--{name} needs a value"))),
                _ => Err(Failure::Usage(format!(
                    "--{name} takes one value, got {} (quote a value with spaces)",
                    values.len()
                ))),
            }
        };
        match name {
            "cli-unfold-argument" => continue,
            "local" => {
                global.local = true;
                continue;
            }
            "use-cvm-role" => {
                global.use_cvm_role = true;
                continue;
            }
            "generate-cli-skeleton" => {
                if values.iter().any(|v| v != "input") {
                    return Err(usage(
                        "--generate-cli-skeleton takes no value but `input`".into(),
                    ));
                }
                parsed.skeleton = true;
                continue;
            }
            "secretId" | "secretKey" | "token" => {
                return Err(usage(format!(
                    "--{name} is not taken on the command line, where it would stay in your shell history: \
                     use `tccbs configure`, a profile (--profile), or TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY"
                )));
            }
            _ if takes_value(name) => {
                let value = one(&values)?;
                match name {
                    "region" => global.region = Some(value),
                    "profile" => global.profile = Some(value),
                    "endpoint" => global.endpoint = Some(value),
                    "output" => {
                        global.output = Some(match value.as_str() {
                            "json" => Output::Json,
                            "table" => Output::Table,
                            "text" => Output::Text,
                            other => {
                                return Err(usage(format!(
                                    "--output: `{other}` is not one of json, table, text"
                                )));
                            }
                        })
                    }
                    "language" => {
                        global.language = Some(crate::cli::parse_language(&value).map_err(usage)?)
                    }
                    "filter" => parsed.filter = Some(value),
                    "waiter" => parsed.waiter = Some(value),
                    "cli-input-json" => parsed.input_json = Some(value),
                    "role-arn" => global.role_arn = Some(value),
                    "role-session-name" => global.role_session_name = Some(value),
                    "local-faults" => global.local_faults = Some(value.into()),
                    "local-state" => global.local_state = Some(value.into()),
                    "ca-bundle" => global.ca_bundle = Some(value.into()),
                    "timeout" => {
                        global.request_timeout = Some(
                            crate::cli::parse_timeout(&value)
                                .map_err(|e| usage(format!("--timeout: {e}")))?,
                        )
                    }
                    "https-proxy" => global.https_proxy = Some(value),
                    // tccli's API version option: this build speaks one.
                    "version" if value == cbs_model::VERSION => {}
                    "version" => {
                        return Err(usage(format!(
                            "--version: this tccbs speaks CBS {}, not `{value}`",
                            cbs_model::VERSION
                        )));
                    }
                    _ => unreachable!("every value option is handled"),
                }
                continue;
            }
            _ => {}
        }
        if name.contains('.') {
            if !parsed.unfold {
                return Err(usage(format!(
                    "--{name}: dotted members need --cli-unfold-argument"
                )));
            }
            members::set_dotted(request, &mut parsed.body, name, &values).map_err(usage)?;
            continue;
        }
        // The tccli form names the member exactly; the idiomatic one in kebab-case.
        if let Some(member) = request.member(name) {
            if parsed.unfold {
                members::set_dotted(request, &mut parsed.body, name, &values).map_err(usage)?;
            } else {
                let value = members::json_value(member, name, &one(&values)?).map_err(usage)?;
                parsed.body.insert(member.name.to_owned(), value);
            }
            continue;
        }
        let Some(member) = request
            .members
            .iter()
            .find(|m| members::kebab(m.name) == name)
        else {
            let known: Vec<String> = request
                .members
                .iter()
                .map(|m| format!("--{}", m.name))
                .collect();
            return Err(usage(format!(
                "--{name} is not a member of {} (its members: {})",
                action.name,
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(" ")
                }
            )));
        };
        let path = member.name;
        if member.list {
            // Repeatable: each occurrence adds its values (a JSON list adds all of it).
            let entry = parsed
                .body
                .entry(member.name.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(items) = entry else {
                return Err(usage(format!("--{name} was given twice")));
            };
            if values.is_empty() {
                return Err(usage(format!("--{name} needs a value")));
            }
            for value in &values {
                if value.trim_start().starts_with('[') {
                    let list = members::json_value(member, path, value).map_err(usage)?;
                    items.extend(list.as_array().cloned().unwrap_or_default());
                } else {
                    let at = format!("{path}.{}", items.len());
                    items.push(members::scalar(member, &at, value).map_err(usage)?);
                }
            }
        } else {
            let value = members::scalar(member, path, &one(&values)?).map_err(usage)?;
            if parsed.body.insert(member.name.to_owned(), value).is_some() {
                return Err(usage(format!("--{name} was given twice")));
            }
        }
    }
    members::no_gaps(&Value::Object(parsed.body.clone()), "").map_err(usage)?;
    Ok(parsed)
}

/// Reads `--cli-input-json`: JSON text, `file://PATH`, or `-` for standard input.
fn read_input_json(source: &str) -> Result<Map<String, Value>, Failure> {
    let text = if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::Other(format!("cannot read standard input: {e}")))?;
        text
    } else if let Some(path) = source.strip_prefix("file://") {
        std::fs::read_to_string(path)
            .map_err(|e| Failure::Usage(format!("--cli-input-json: cannot read {path}: {e}")))?
    } else {
        source.to_owned()
    };
    match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Failure::Usage(
            "--cli-input-json: expected a JSON object".into(),
        )),
        Err(e) => Err(Failure::Usage(format!(
            "--cli-input-json: invalid JSON: {e}"
        ))),
    }
}

/// Runs one action: `args` are what followed its name.
pub async fn run(
    action: &'static ActionInfo,
    args: &[String],
    mut global: Global,
) -> Result<ExitCode, Failure> {
    let parsed = parse(action, args, &mut global)?;
    let request = members::schema(&format!("{}Request", action.name)).map_err(Failure::Usage)?;
    if parsed.help {
        print!("{}", help::action(action));
        return Ok(ExitCode::SUCCESS);
    }
    if parsed.skeleton {
        print_json(&members::skeleton(request, 0));
        return Ok(ExitCode::SUCCESS);
    }
    // The input JSON first; members on the command line override its keys.
    let mut body = match &parsed.input_json {
        Some(source) => read_input_json(source)?,
        None => Map::new(),
    };
    body.extend(parsed.body);
    members::check_object(request, "", &body).map_err(Failure::Usage)?;
    let waiter = match &parsed.waiter {
        None => None,
        Some(_) if action.safety != Safety::ReadOnly => {
            return Err(Failure::Usage(format!(
                "--waiter sends the action again until its condition holds, and {} is {}: it would run again. \
                 Wait with a read-only action instead (e.g. `tccbs cbs DescribeSnapshots --waiter …`, or `tccbs snapshot wait`)",
                action.name,
                action.safety.as_str()
            )));
        }
        Some(spec) => Some(waiter::Waiter::parse(spec)?),
    };
    let filter = match &parsed.filter {
        Some(expression) => Some(
            jmespath::compile(expression).map_err(|e| Failure::Usage(format!("--filter: {e}")))?,
        ),
        None => None,
    };
    let output = global.output.unwrap_or(Output::Json);
    let ctx = Context::build(&global).await?;
    let response_schema =
        members::schema(&format!("{}Response", action.name)).map_err(Failure::Usage)?;
    let body = Value::Object(body);
    let node = match waiter {
        Some(waiter) => waiter.run(&ctx, action, body, response_schema).await?,
        None => {
            let answer = call(&ctx, action, body).await?;
            output::project(&answer, response_schema)
        }
    };
    let result = match &filter {
        Some(expression) => {
            let found = expression
                .search(node.to_value())
                .map_err(|e| Failure::Usage(format!("--filter: {e}")))?;
            let value = serde_json::to_value(&*found).unwrap_or(Value::Null);
            output::plain(&value)
        }
        None => node,
    };
    match output {
        Output::Prometheus => return Err(prometheus_refused()),
        Output::Json => println!("{}", output::json(&result)),
        Output::Text => print!("{}", output::text(&result.to_value())),
        Output::Table => print!("{}", output::table(action.name, &result.to_value())),
    }
    Ok(ExitCode::SUCCESS)
}

/// One call of `action` with `body`.
pub(crate) async fn call(
    ctx: &Context,
    action: &ActionInfo,
    body: Value,
) -> Result<Value, Failure> {
    Ok(ctx
        .client
        .call_json(
            cbs_model::SERVICE,
            cbs_model::VERSION,
            action.name,
            None,
            body,
        )
        .await?)
}

/// `--output prometheus` is for the replication commands that have metrics.
pub(crate) fn prometheus_refused() -> Failure {
    Failure::Usage(
        "--output prometheus is for `replicate check` and `replicate apply`; use json, table or text here"
            .into(),
    )
}
