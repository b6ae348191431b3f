//! The response envelope: `{"Response": {...output..., "RequestId": "…"}}` or
//! `{"Response": {"Error": {"Code": "…", "Message": "…"}, "RequestId": "…"}}`.

use core::fmt;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::ErrorCode;

/// The most of a malformed body a [`DecodeError`] keeps.
const EXCERPT_LIMIT: usize = 256;

/// An error the service answered with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    request_id: String,
}

impl ApiError {
    /// An error with the given parts (useful for servers and test doubles).
    pub fn new(code: ErrorCode, message: impl Into<String>, request_id: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            request_id: request_id.into(),
        }
    }

    /// The error code.
    pub fn code(&self) -> &ErrorCode {
        &self.code
    }

    /// The service's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The request id (empty if the service sent none).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The envelope the service would send for this error.
    #[cfg(feature = "server")]
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "Response": {
                "Error": {"Code": self.code.as_str(), "Message": self.message},
                "RequestId": self.request_id,
            }
        })
        .to_string()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if !self.request_id.is_empty() {
            write!(f, " (request id {})", self.request_id)?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// What was wrong with a body that is neither an output nor an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The body is not JSON.
    NotJson,
    /// The body is JSON without a `Response` object.
    NoResponse,
    /// `Response.Error` has no string `Code`.
    ErrorWithoutCode,
    /// The output members do not have the types the model gives them.
    UnexpectedShape,
}

/// A response body that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    kind: DecodeErrorKind,
    detail: String,
    excerpt: String,
}

impl DecodeError {
    fn new(kind: DecodeErrorKind, detail: impl fmt::Display, body: &[u8]) -> Self {
        DecodeError {
            kind,
            detail: detail.to_string(),
            excerpt: excerpt(body),
        }
    }

    /// What was wrong.
    pub fn kind(&self) -> DecodeErrorKind {
        self.kind
    }

    /// The parser's description of the problem.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The start of the body (at most 256 bytes, lossily decoded), for diagnosis.
    pub fn excerpt(&self) -> &str {
        &self.excerpt
    }
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecodeErrorKind::NotJson => "the response body is not JSON",
            DecodeErrorKind::NoResponse => "the response body has no `Response` object",
            DecodeErrorKind::ErrorWithoutCode => "the response's `Error` has no `Code`",
            DecodeErrorKind::UnexpectedShape => "the response does not fit the action's output",
        })
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}); body starts: {:?}",
            self.kind, self.detail, self.excerpt
        )
    }
}

impl std::error::Error for DecodeError {}

/// Whether the body is (at most) a JSON object: serde reads structs from arrays too.
fn starts_with_brace(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

fn excerpt(body: &[u8]) -> String {
    let mut end = body.len().min(EXCERPT_LIMIT);
    // Cut on a character boundary when the body is UTF-8.
    while end > 0 && end < body.len() && (body[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    String::from_utf8_lossy(&body[..end]).into_owned()
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "Response", borrow, default)]
    response: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "Error", default)]
    error: Option<ErrorBody>,
    #[serde(rename = "RequestId", default)]
    request_id: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "Code", default)]
    code: Option<String>,
    #[serde(rename = "Message", default)]
    message: Option<String>,
}

/// Reads a response body: the action's output, or the error the service answered with.
///
/// Never panics; anything else is a [`DecodeError`] that keeps the start of the body.
///
/// ```
/// use cbs_model::{parse_response, CopySnapshotCrossRegionsResponse, ErrorCode};
///
/// let ok = br#"{"Response":{"SnapshotCopyResultSet":[{"SnapshotId":"snap-d012rm6t",
///     "DestinationRegion":"ap-beijing","Code":"Success","Message":""}],"RequestId":"r-1"}}"#;
/// let output: CopySnapshotCrossRegionsResponse = parse_response(ok)?.unwrap();
/// assert_eq!(output.snapshot_copy_result_set()[0].snapshot_id.as_deref(), Some("snap-d012rm6t"));
///
/// let failed = br#"{"Response":{"Error":{"Code":"InvalidSnapshotId.NotFound","Message":"no"},"RequestId":"r-2"}}"#;
/// let error = parse_response::<CopySnapshotCrossRegionsResponse>(failed)?.unwrap_err();
/// assert_eq!(error.code(), &ErrorCode::InvalidSnapshotIdNotFound);
/// assert_eq!(error.request_id(), "r-2");
/// # Ok::<(), cbs_model::DecodeError>(())
/// ```
pub fn parse_response<T: DeserializeOwned>(
    body: &[u8],
) -> Result<Result<T, ApiError>, DecodeError> {
    // Most bodies are outputs: when the body does not mention `"Error"` at all, read the
    // output in one pass. Anything unusual takes the careful path below, which also
    // classifies failures precisely.
    #[derive(Deserialize)]
    struct Direct<T> {
        #[serde(rename = "Response")]
        response: T,
    }
    // One UTF-8 check of the whole body is cheaper than one per string, and the
    // standard library's substring search is vectorised.
    if let Ok(text) = std::str::from_utf8(body)
        && !text.contains("\"Error\"")
        && starts_with_brace(body)
        && let Ok(Direct { response }) = serde_json::from_str::<Direct<T>>(text)
    {
        return Ok(Ok(response));
    }
    let envelope: Envelope<'_> = serde_json::from_slice(body).map_err(|e| {
        // Valid JSON of another shape (an array, a string) has no `Response` either.
        let kind = match e.classify() {
            serde_json::error::Category::Data => DecodeErrorKind::NoResponse,
            _ => DecodeErrorKind::NotJson,
        };
        DecodeError::new(kind, e, body)
    })?;
    // serde reads a struct from an array too; the envelope is always an object.
    let is_object = starts_with_brace(body);
    let raw = envelope.response.filter(|_| is_object).ok_or_else(|| {
        DecodeError::new(DecodeErrorKind::NoResponse, "no `Response` member", body)
    })?;
    if !raw.get().contains("\"Error\"") {
        return serde_json::from_str(raw.get())
            .map(Ok)
            .map_err(|e| DecodeError::new(DecodeErrorKind::UnexpectedShape, e, body));
    }
    let probe: Probe = serde_json::from_str(raw.get())
        .map_err(|e| DecodeError::new(DecodeErrorKind::UnexpectedShape, e, body))?;
    if let Some(error) = probe.error {
        let code = error.code.ok_or_else(|| {
            DecodeError::new(
                DecodeErrorKind::ErrorWithoutCode,
                "`Error` without `Code`",
                body,
            )
        })?;
        return Ok(Err(ApiError {
            code: ErrorCode::parse(&code),
            message: error.message.unwrap_or_default(),
            request_id: probe.request_id.unwrap_or_default(),
        }));
    }
    serde_json::from_str(raw.get())
        .map(Ok)
        .map_err(|e| DecodeError::new(DecodeErrorKind::UnexpectedShape, e, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DescribeSnapshotsResponse;

    fn kind(body: &[u8]) -> DecodeErrorKind {
        parse_response::<DescribeSnapshotsResponse>(body)
            .unwrap_err()
            .kind()
    }

    #[test]
    fn malformed_bodies() {
        assert_eq!(
            kind(b"<html>502 Bad Gateway</html>"),
            DecodeErrorKind::NotJson
        );
        assert_eq!(kind(b""), DecodeErrorKind::NotJson);
        assert_eq!(kind(b"{}"), DecodeErrorKind::NoResponse);
        assert_eq!(kind(b"[1]"), DecodeErrorKind::NoResponse);
        assert_eq!(kind(b"{\"Response\":1"), DecodeErrorKind::NotJson);
        assert_eq!(
            kind(br#"{"Response":{"Error":{"Message":"x"}}}"#),
            DecodeErrorKind::ErrorWithoutCode
        );
        assert_eq!(
            kind(br#"{"Response":{"Error":{"Code":5}}}"#),
            DecodeErrorKind::UnexpectedShape
        );
        assert_eq!(
            kind(br#"{"Response":{"TotalCount":"many"}}"#),
            DecodeErrorKind::UnexpectedShape
        );
        assert_eq!(kind(br#"{"Response":7}"#), DecodeErrorKind::UnexpectedShape);
    }

    #[test]
    fn excerpt_is_bounded_and_on_a_char_boundary() {
        let body = "云".repeat(200);
        let err = parse_response::<DescribeSnapshotsResponse>(body.as_bytes()).unwrap_err();
        assert!(err.excerpt().len() <= EXCERPT_LIMIT);
        assert!(err.excerpt().chars().all(|c| c == '云'));
        assert!(err.to_string().contains("not JSON"));
    }

    #[test]
    fn the_word_error_in_a_value_is_not_an_error() {
        let body = br#"{"Response":{"TotalCount":1,"SnapshotSet":[{"SnapshotName":"Error","SnapshotId":"\"Error\""}],"RequestId":"r"}}"#;
        let out = parse_response::<DescribeSnapshotsResponse>(body)
            .unwrap()
            .unwrap();
        assert_eq!(
            out.snapshot_set()[0].snapshot_name.as_deref(),
            Some("Error")
        );
        let error =
            br#"{"Response":{"Error":{"Code":"InternalError","Message":"m"},"RequestId":"r"}}"#;
        assert!(
            parse_response::<DescribeSnapshotsResponse>(error)
                .unwrap()
                .is_err()
        );
    }

    #[test]
    fn null_error_and_nulls_are_tolerated() {
        let body = br#"{"Response":{"Error":null,"TotalCount":null,"SnapshotSet":null,"RequestId":null,"New":1}}"#;
        let out = parse_response::<DescribeSnapshotsResponse>(body)
            .unwrap()
            .unwrap();
        assert_eq!(out.total_count, None);
        assert!(out.snapshot_set().is_empty());
        assert_eq!(out.request_id, "");
    }
}
