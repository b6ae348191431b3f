//! One HTTP exchange: the API 3.0 envelope, authentication, rate limiting, faults, and
//! the action itself.

use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Body;
use serde_json::{Value, json};
use tc3_sign::{ReceivedRequest, Verifier};
use tokio::time::Instant;

use crate::actions::{self, ApiFailure, Call};
use crate::auth::CredentialStore;
use crate::clock::{self, EmuClock};
use crate::faults::{FaultKind, FaultList};
use crate::ids;
use crate::persist::StateFile;
use crate::rate_limit::RateLimiter;
use crate::state::{Accounts, World};

/// The largest request body accepted (10 MiB), as the service enforces.
pub const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;

/// How long a request body may take to arrive.
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Everything the exchanges share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub accounts: Mutex<Accounts>,
    pub credentials: RwLock<CredentialStore>,
    pub faults: Mutex<FaultList>,
    pub limiter: Mutex<RateLimiter>,
    pub verifier: Verifier,
    /// The Tag service's: the same credentials, its own signing scope.
    pub tag_verifier: Verifier,
    pub clock: EmuClock,
    pub state_file: Option<StateFile>,
}

impl Shared {
    /// Runs `change` on the default account's world brought up to now, then saves.
    pub(crate) fn change<R>(&self, change: impl FnOnce(&mut World) -> R) -> R {
        self.change_accounts(|accounts| change(accounts.default_world_mut()))
    }

    /// Runs `change` on every account brought up to now, then saves the state if a
    /// state file is kept. Saving after every change is what makes a kill at any moment
    /// lose at most the exchange in flight.
    pub(crate) fn change_accounts<R>(&self, change: impl FnOnce(&mut Accounts) -> R) -> R {
        let mut accounts = lock(&self.accounts);
        accounts.advance_to(self.clock.now_ms());
        let result = change(&mut accounts);
        self.save(&accounts);
        result
    }

    /// Saves the world when a state file is kept. A failed save is reported on standard
    /// error and retried with the next change: the emulator keeps serving.
    fn save(&self, accounts: &Accounts) {
        if let Some(file) = &self.state_file
            && let Err(e) = file.save(accounts)
        {
            eprintln!("cbs-emulator: {}", file.error(e.to_string()));
        }
    }
}

/// Returned to hyper to close the connection without an answer.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DropConnection {}

type Answer = Result<Response<Full<Bytes>>, DropConnection>;

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A handler that panicked cannot leave the data half-changed in a way that matters
    // more than refusing every later request would.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn json_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    // The service's clock, which a client corrects its signing clock by (the wall clock:
    // signatures are checked against it).
    if let Ok(date) =
        http::HeaderValue::from_str(&httpdate::fmt_http_date(std::time::SystemTime::now()))
    {
        headers.insert(http::header::DATE, date);
    }
    response
}

fn error_envelope(code: &str, message: &str, request_id: &str) -> Response<Full<Bytes>> {
    let body =
        json!({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}});
    json_response(StatusCode::OK, body.to_string())
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The parameters a request carries outside a JSON body: the query's (GET), or a form
/// body's (legacy v1 POST).
struct Params(Vec<(String, String)>);

/// Parameters that belong to the envelope (signing, routing), not to the action.
const COMMON_PARAMS: &[&str] = &[
    "Action",
    "Version",
    "Region",
    "Timestamp",
    "Nonce",
    "SecretId",
    "Signature",
    "SignatureMethod",
    "Token",
    "Language",
    "RequestClient",
];

impl Params {
    fn of(parts: &http::request::Parts, body: &Bytes) -> Self {
        let form = header(&parts.headers, "content-type")
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        let text = if parts.method == Method::POST && form {
            String::from_utf8_lossy(body).into_owned()
        } else {
            parts.uri.query().unwrap_or("").to_owned()
        };
        Params(cbs_model::decode_query(&text))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The action's own members, as flattened parameters.
    fn members(&self) -> impl Iterator<Item = &(String, String)> {
        self.0
            .iter()
            .filter(|(k, _)| !COMMON_PARAMS.contains(&k.as_str()))
    }
}

/// Answers one request, arriving over a connection or in process.
pub(crate) async fn handle<B>(shared: Arc<Shared>, request: Request<B>) -> Answer
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let request_id = ids::request_id();
    let (parts, body) = request.into_parts();
    let declared = header(&parts.headers, "content-length").and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_REQUEST_BYTES as u64) {
        return Ok(error_envelope(
            "RequestSizeLimitExceeded",
            "The request body exceeds 10 MiB.",
            &request_id,
        ));
    }
    // A client that stops sending mid-body must not hold the connection forever.
    let collected = tokio::time::timeout(
        BODY_READ_TIMEOUT,
        Limited::new(body, MAX_REQUEST_BYTES).collect(),
    )
    .await
    .map_err(|_| DropConnection)?;
    let body = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return Ok(error_envelope(
                "RequestSizeLimitExceeded",
                "The request body exceeds 10 MiB.",
                &request_id,
            ));
        }
        Err(_) => return Err(DropConnection),
    };
    let params = Params::of(&parts, &body);
    let action = header(&parts.headers, "x-tc-action").or_else(|| params.get("Action"));
    let service = service_of(&parts.headers, &params);

    let region = header(&parts.headers, "x-tc-region").or_else(|| params.get("Region"));
    // A CBS call concerns its region; a Tag call, the regions of the resources it names.
    let regions: Vec<String> = match service {
        Service::Tag => crate::tags::regions_of(&body),
        Service::Cbs => region.into_iter().map(str::to_owned).collect(),
    };
    let regions: Vec<&str> = regions.iter().map(String::as_str).collect();
    let fault = action.and_then(|a| lock(&shared.faults).take(service.name(), a, &regions));
    if let Some(delay) = fault.as_ref().and_then(FaultKind::delay) {
        tokio::time::sleep(delay).await;
    }
    match &fault {
        Some(FaultKind::DropBeforeRead) => return Err(DropConnection),
        Some(FaultKind::BadGateway) => {
            let mut response = Response::new(Full::new(Bytes::from_static(
                b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
            )));
            *response.status_mut() = StatusCode::BAD_GATEWAY;
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/html"),
            );
            return Ok(response);
        }
        Some(FaultKind::Answer { status, body }) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
            return Ok(json_response(status, body.to_string()));
        }
        Some(FaultKind::Error { code, message }) => {
            let message = if message.is_empty() {
                format!("Injected {code}.")
            } else {
                message.clone()
            };
            return Ok(error_envelope(code, &message, &request_id));
        }
        _ => {}
    }

    let outcome = match service {
        Service::Cbs => process(&shared, &parts, &body, &params, action),
        Service::Tag => process_tag(&shared, &parts, &body, &params, action),
    };
    match (outcome, fault) {
        (_, Some(FaultKind::DropAfterRead)) => Err(DropConnection),
        (Ok(_), Some(FaultKind::MalformedJson)) => Ok(json_response(
            StatusCode::OK,
            format!("{{\"Response\": {{\"RequestId\": \"{request_id}\", \"SnapshotSet\": [{{"),
        )),
        (Ok(mut output), _) => {
            if let Value::Object(map) = &mut output {
                map.insert("RequestId".to_owned(), Value::String(request_id));
            }
            Ok(json_response(
                StatusCode::OK,
                json!({ "Response": output }).to_string(),
            ))
        }
        (Err(failure), _) => Ok(error_envelope(&failure.code, &failure.message, &request_id)),
    }
}

/// The services the emulator answers on one port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Service {
    Cbs,
    Tag,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::Cbs => cbs_model::SERVICE,
            Service::Tag => "tag",
        }
    }
}

/// Which service a request is for: the one its TC3 credential scope names
/// (`DATE/tag/tc3_request`), else the first label of its `Host` (`tag.…`), else (a
/// legacy v1 request to a shared host) the one whose API version it gives.
fn service_of(headers: &HeaderMap, params: &Params) -> Service {
    let scope = header(headers, http::header::AUTHORIZATION.as_str())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split(['/', ',']).nth(2));
    let host = header(headers, "host").unwrap_or_default();
    let version = header(headers, "x-tc-version").or_else(|| params.get("Version"));
    let tag = match scope {
        Some(service) => service == "tag",
        None => host.starts_with("tag.") || version == Some(crate::tags::VERSION),
    };
    if tag { Service::Tag } else { Service::Cbs }
}

/// The common checks of a request to the Tag service, then its action on the caller's
/// account.
fn process_tag(
    shared: &Shared,
    parts: &http::request::Parts,
    body: &Bytes,
    params: &Params,
    action: Option<&str>,
) -> Result<Value, ApiFailure> {
    envelope(parts)?;
    let action = action.ok_or_else(|| {
        ApiFailure::new(
            "MissingParameter",
            "The request is missing the Action parameter (X-TC-Action).",
        )
    })?;
    if !crate::tags::ACTIONS.contains(&action) {
        return Err(ApiFailure::new(
            "InvalidAction",
            format!("The action `{action}` does not exist (or is not emulated)."),
        ));
    }
    match header(&parts.headers, "x-tc-version").or_else(|| params.get("Version")) {
        Some(crate::tags::VERSION) => {}
        other => {
            return Err(ApiFailure::new(
                "NoSuchVersion",
                format!(
                    "The Tag service's version is {}, not {other:?}.",
                    crate::tags::VERSION
                ),
            ));
        }
    }
    let (secret_id, account) = authenticate(shared, &shared.tag_verifier, parts, body, params)?;
    let limited = format!("tag.{action}");
    if !lock(&shared.limiter).admit(&secret_id, &account, &limited, Instant::now()) {
        return Err(ApiFailure::new(
            "RequestLimitExceeded",
            format!("Too many {action} requests; the limit is per second."),
        ));
    }
    let request_body = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(value @ Value::Object(_)) => value,
            _ => {
                return Err(ApiFailure::new(
                    "InvalidParameter",
                    "The Tag service takes a JSON object body.",
                ));
            }
        }
    };
    let mut accounts = lock(&shared.accounts);
    let moved = accounts.advance_to(shared.clock.now_ms());
    let answer = accounts
        .as_account(&account, |world, _, _| {
            crate::tags::dispatch(world, &account, action, &request_body)
        })
        .unwrap_or_else(|| {
            Err(ApiFailure::new(
                "InternalError",
                "The credential belongs to no account.",
            ))
        });
    if moved || (answer.is_ok() && !crate::tags::read_only(action)) {
        shared.save(&accounts);
    }
    answer
}

/// The path and method every request must have.
fn envelope(parts: &http::request::Parts) -> Result<(), ApiFailure> {
    if parts.uri.path() != "/" {
        return Err(ApiFailure::new(
            "InvalidRequest",
            "Requests go to the path `/`.",
        ));
    }
    if parts.method != Method::POST && parts.method != Method::GET {
        return Err(ApiFailure::new(
            "UnsupportedProtocol",
            "Only POST and GET are supported.",
        ));
    }
    Ok(())
}

/// Everything after the body is read: envelope checks, authentication, the action.
fn process(
    shared: &Shared,
    parts: &http::request::Parts,
    body: &Bytes,
    params: &Params,
    action: Option<&str>,
) -> Result<Value, ApiFailure> {
    envelope(parts)?;
    let action = action.ok_or_else(|| {
        ApiFailure::new(
            "MissingParameter",
            "The request is missing the Action parameter (X-TC-Action).",
        )
    })?;
    if cbs_model::action_info(action).is_none() {
        return Err(ApiFailure::new(
            "InvalidAction",
            format!("The action `{action}` does not exist."),
        ));
    }
    match header(&parts.headers, "x-tc-version").or_else(|| params.get("Version")) {
        None => {
            return Err(ApiFailure::new(
                "MissingParameter",
                "The request is missing the Version parameter (X-TC-Version).",
            ));
        }
        Some(cbs_model::VERSION) => {}
        Some(other) => {
            return Err(ApiFailure::new(
                "NoSuchVersion",
                format!("The version `{other}` does not exist."),
            ));
        }
    }

    let (secret_id, account) = authenticate(shared, &shared.verifier, parts, body, params)?;
    if !lock(&shared.limiter).admit(&secret_id, &account, action, Instant::now()) {
        return Err(ApiFailure::new(
            "RequestLimitExceeded",
            format!("Too many {action} requests; the limit is per second."),
        ));
    }

    let json_body =
        header(&parts.headers, "content-type").is_none_or(|t| t.starts_with("application/json"));
    let request_body = if parts.method == Method::GET || !json_body {
        cbs_model::form_to_json(&format!("{action}Request"), params.members().cloned())
            .map_err(|e| ApiFailure::new("InvalidParameter", e.to_string()))?
    } else if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(value @ Value::Object(_)) => value,
            Ok(_) => {
                return Err(ApiFailure::new(
                    "InvalidParameter",
                    "The request body must be a JSON object.",
                ));
            }
            Err(e) => {
                return Err(ApiFailure::new(
                    "InvalidParameter",
                    format!("The request body is not valid JSON: {e}."),
                ));
            }
        }
    };
    let region = header(&parts.headers, "x-tc-region").or_else(|| params.get("Region"));
    let mut accounts = lock(&shared.accounts);
    let moved = accounts.advance_to(shared.clock.now_ms());
    let answer = accounts
        .as_account(&account, |world, others, deliveries| {
            let call = Call::new(region, others);
            let answer = actions::dispatch(world, action, &call, request_body);
            *deliveries = call.into_deliveries();
            answer
        })
        .unwrap_or_else(|| {
            Err(ApiFailure::new(
                "InternalError",
                "The credential belongs to no account.",
            ))
        });
    let read_only = cbs_model::action_info(action)
        .is_some_and(|info| info.safety == cbs_model::Safety::ReadOnly);
    if moved || (answer.is_ok() && !read_only) {
        shared.save(&accounts);
    }
    answer
}

/// Verifies the signature (TC3 with an `Authorization` header, else legacy v1 with a
/// `Signature` parameter) and the token's validity; returns the secret id and the
/// account it belongs to.
fn authenticate(
    shared: &Shared,
    verifier: &Verifier,
    parts: &http::request::Parts,
    body: &Bytes,
    params: &Params,
) -> Result<(String, String), ApiFailure> {
    let now = clock::wall_unix_secs();
    let store = shared
        .credentials
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let refused = |e: tc3_sign::VerifyError| ApiFailure::new(e.api_code(), capitalize(e.detail()));
    let secret_id = if !parts.headers.contains_key(http::header::AUTHORIZATION)
        && params.get(tc3_sign::v1::SIGNATURE).is_some()
    {
        let pairs: Vec<(&str, &str)> = params
            .0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let host = header(&parts.headers, "host").unwrap_or("");
        let request =
            tc3_sign::v1::Request::new(parts.method.as_str(), host, &pairs).path(parts.uri.path());
        let verified =
            tc3_sign::v1::verify(&request, now, tc3_sign::DEFAULT_CLOCK_WINDOW_SECS, |id| {
                store.get(id).map(|c| c.secret_key())
            })
            .map_err(refused)?;
        let expected = store.get(&verified.secret_id).and_then(|c| c.token());
        if expected.is_some() && params.get("Token") != expected {
            return Err(ApiFailure::new(
                "AuthFailure.TokenFailure",
                "The Token parameter is missing or wrong.",
            ));
        }
        verified.secret_id
    } else {
        let headers: Vec<(&str, &str)> = parts
            .headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
            .collect();
        let received = ReceivedRequest::new(
            parts.method.as_str(),
            parts.uri.path(),
            parts.uri.query().unwrap_or(""),
            body,
            &headers,
        );
        let verified = verifier
            .verify(&received, now, |id| store.get(id))
            .map_err(refused)?;
        verified.secret_id().to_owned()
    };
    if store.expired(&secret_id, now) {
        return Err(ApiFailure::new(
            "AuthFailure.TokenFailure",
            "The temporary credentials have expired.",
        ));
    }
    let account = store.account(&secret_id).unwrap_or_default().to_owned();
    Ok((secret_id, account))
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str() + ".")
        .unwrap_or_default()
}
