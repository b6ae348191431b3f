//! The signing-vector file format, shared by the `check-vectors` example and the tests.

use serde::Deserialize;
use tc3_sign::{Payload, SignableRequest};

/// `{"vectors": [...]}`.
#[derive(Deserialize)]
pub struct VectorFile {
    pub vectors: Vec<Vector>,
}

#[derive(Deserialize)]
pub struct Vector {
    pub name: String,
    pub input: Input,
    pub expected: Expected,
}

#[derive(Deserialize)]
pub struct Input {
    pub method: String,
    pub host: String,
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub payload: String,
    pub unsigned_payload: bool,
    pub signed_headers: Vec<String>,
    pub secret_id: String,
    pub secret_key: String,
    pub service: String,
    pub timestamp: u64,
}

#[derive(Deserialize)]
pub struct Expected {
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signature: String,
    pub authorization: String,
    pub date: String,
}

impl Input {
    /// The request to sign. Every official vector signs `content-type;host`.
    pub fn request(&self) -> Result<SignableRequest<'_>, String> {
        if self.signed_headers != ["content-type", "host"] {
            return Err(format!(
                "unsupported signed headers {:?}",
                self.signed_headers
            ));
        }
        let payload = if self.unsigned_payload {
            Payload::Unsigned
        } else {
            Payload::Bytes(self.payload.as_bytes())
        };
        Ok(SignableRequest::new(&self.method, &self.host, payload)
            .path(&self.path)
            .query(&self.query)
            .content_type(&self.content_type))
    }
}
