/// The body of a request, as far as the signature is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Payload<'a> {
    /// The body bytes; the signature covers their SHA-256 hash.
    Bytes(&'a [u8]),
    /// The body is not covered: the literal `UNSIGNED-PAYLOAD` is hashed instead, and the
    /// request must carry `X-TC-Content-SHA256: UNSIGNED-PAYLOAD` (see
    /// [`Signed::headers`](crate::Signed::headers), which includes it).
    Unsigned,
    /// The body's SHA-256 hash, already computed by the caller, as 64 lower-case hex digits.
    Sha256Hex(&'a str),
}

/// The parts of an outgoing request that the signature covers.
///
/// Everything is borrowed, so describing a request costs nothing. By default the signed
/// headers are `content-type` and `host`, exactly like the official SDKs; more can be
/// added with [`sign_headers`](Self::sign_headers).
///
/// ```
/// use tc3_sign::{Payload, SignableRequest};
///
/// let body = br#"{"Limit":20}"#;
/// let post = SignableRequest::post_json("cbs.tencentcloudapi.com", body);
///
/// let get = SignableRequest::get_form("cbs.tencentcloudapi.com", "Limit=20&Offset=0");
///
/// let extra = [("X-TC-Action", "DescribeSnapshots")];
/// let custom = SignableRequest::new("POST", "cbs.tencentcloudapi.com", Payload::Unsigned)
///     .content_type("application/octet-stream")
///     .sign_headers(&extra);
/// # let _ = (post, get, custom);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SignableRequest<'a> {
    pub(crate) method: &'a str,
    pub(crate) host: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: &'a str,
    pub(crate) content_type: &'a str,
    pub(crate) payload: Payload<'a>,
    pub(crate) extra_headers: &'a [(&'a str, &'a str)],
}

/// The `Content-Type` of JSON requests.
const JSON: &str = "application/json";
/// The `Content-Type` of form-encoded GET requests.
const FORM: &str = "application/x-www-form-urlencoded";

impl<'a> SignableRequest<'a> {
    /// A request with the given method, host and payload; path `/`, empty query and
    /// content type `application/json` until changed.
    pub fn new(method: &'a str, host: &'a str, payload: Payload<'a>) -> Self {
        SignableRequest {
            method,
            host,
            path: "/",
            query: "",
            content_type: JSON,
            payload,
            extra_headers: &[],
        }
    }

    /// `POST /` with a JSON body: the usual shape of an API 3.0 call.
    pub fn post_json(host: &'a str, body: &'a [u8]) -> Self {
        Self::new("POST", host, Payload::Bytes(body))
    }

    /// `GET /?query` with form-encoded parameters and an empty body. The query is signed
    /// exactly as given, so pass it exactly as it will be sent.
    pub fn get_form(host: &'a str, query: &'a str) -> Self {
        Self::new("GET", host, Payload::Bytes(b""))
            .query(query)
            .content_type(FORM)
    }

    /// Sets the path (default `/`).
    pub fn path(mut self, path: &'a str) -> Self {
        self.path = path;
        self
    }

    /// Sets the raw query string, without the `?` (default empty).
    pub fn query(mut self, query: &'a str) -> Self {
        self.query = query;
        self
    }

    /// Sets the `Content-Type` value that is signed and must be sent.
    pub fn content_type(mut self, content_type: &'a str) -> Self {
        self.content_type = content_type;
        self
    }

    /// Sets the payload.
    pub fn payload(mut self, payload: Payload<'a>) -> Self {
        self.payload = payload;
        self
    }

    /// Signs these headers besides `content-type` and `host`, as `(name, value)` pairs.
    /// Names are case-insensitive; values are signed trimmed of spaces and tabs, and
    /// must be sent with the request as given.
    pub fn sign_headers(mut self, headers: &'a [(&'a str, &'a str)]) -> Self {
        self.extra_headers = headers;
        self
    }
}
