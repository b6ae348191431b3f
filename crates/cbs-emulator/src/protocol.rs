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
use crate::rate_limit::RateLimiter;
use crate::world::World;

/// The largest request body accepted (10 MiB), as the service enforces.
pub const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;

/// How long a request body may take to arrive.
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Everything the exchanges share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub world: Mutex<World>,
    pub credentials: RwLock<CredentialStore>,
    pub faults: Mutex<FaultList>,
    pub limiter: Mutex<RateLimiter>,
    pub verifier: Verifier,
    pub clock: EmuClock,
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

/// Answers one request, arriving over a connection or in process.
pub(crate) async fn handle<B>(shared: Arc<Shared>, request: Request<B>) -> Answer
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let request_id = ids::request_id();
    let query_params = request
        .uri()
        .query()
        .map(cbs_model::decode_query)
        .unwrap_or_default();
    let from_query = |name: &str| {
        query_params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let action = header(request.headers(), "x-tc-action")
        .map(str::to_owned)
        .or_else(|| from_query("Action"));

    let fault = action.as_deref().and_then(|a| lock(&shared.faults).take(a));
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

    let outcome = process(&shared, &parts, &body, action.as_deref(), &from_query);
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

/// Everything after the body is read: envelope checks, authentication, the action.
fn process(
    shared: &Shared,
    parts: &http::request::Parts,
    body: &Bytes,
    action: Option<&str>,
    from_query: &dyn Fn(&str) -> Option<String>,
) -> Result<Value, ApiFailure> {
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
    let version = header(&parts.headers, "x-tc-version")
        .map(str::to_owned)
        .or_else(|| from_query("Version"));
    match version.as_deref() {
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

    let secret_id = authenticate(shared, parts, body)?;
    if !lock(&shared.limiter).admit(&secret_id, action, Instant::now()) {
        return Err(ApiFailure::new(
            "RequestLimitExceeded",
            format!("Too many {action} requests; the limit is per second."),
        ));
    }

    let request_body = if parts.method == Method::GET {
        let params: Vec<(String, String)> = parts
            .uri
            .query()
            .map(cbs_model::decode_query)
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "Action" | "Version" | "Region" | "Timestamp" | "Nonce" | "Language" | "Token"
                )
            })
            .collect();
        cbs_model::form_to_json(&format!("{action}Request"), params)
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
    let region = header(&parts.headers, "x-tc-region")
        .map(str::to_owned)
        .or_else(|| from_query("Region"));
    let now = shared.clock.now_ms();
    let call = Call {
        region: region.as_deref(),
        now,
    };
    let mut world = lock(&shared.world);
    world.now_ms = now;
    actions::dispatch(&mut world, action, &call, request_body)
}

/// Verifies the signature and the token's validity; returns the secret id.
fn authenticate(
    shared: &Shared,
    parts: &http::request::Parts,
    body: &Bytes,
) -> Result<String, ApiFailure> {
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
    let now = clock::wall_unix_secs();
    let store = shared
        .credentials
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let verified = shared
        .verifier
        .verify(&received, now, |id| store.get(id))
        .map_err(|e| ApiFailure::new(e.api_code(), capitalize(e.detail())))?;
    if store.expired(verified.secret_id(), now) {
        return Err(ApiFailure::new(
            "AuthFailure.TokenFailure",
            "The temporary credentials have expired.",
        ));
    }
    Ok(verified.secret_id().to_owned())
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str() + ".")
        .unwrap_or_default()
}
