//! A hand-signing client for driving the emulator over HTTP.
#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use cbs_emulator::EmulatorHandle;
use cbs_transport::{HyperTransport, ProxyConfig, Transport, TransportError};
use serde_json::Value;
use tc3_sign::{Credentials, SignableRequest, sign};

pub const ID: &str = "AKIDtest";
pub const KEY: &str = "test-secret-key";

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A client for the emulator's socket.
pub fn transport() -> HyperTransport {
    HyperTransport::builder()
        .allow_http(true)
        .proxy(ProxyConfig::none())
        .build()
        .unwrap()
}

/// What to send; every field can be bent to test the emulator's checks.
#[derive(Clone)]
pub struct Call {
    pub action: String,
    pub region: Option<String>,
    pub body: Vec<u8>,
    pub version: String,
    pub credentials: Credentials,
    pub timestamp: u64,
    pub send_token: bool,
    pub extra_signed: Vec<(String, String)>,
}

impl Call {
    pub fn new(action: &str, body: &str) -> Self {
        Call {
            action: action.to_owned(),
            region: Some("ap-guangzhou".to_owned()),
            body: body.as_bytes().to_vec(),
            version: "2017-03-12".to_owned(),
            credentials: Credentials::new(ID, KEY),
            timestamp: now(),
            send_token: true,
            extra_signed: Vec::new(),
        }
    }

    pub fn region(mut self, region: Option<&str>) -> Self {
        self.region = region.map(str::to_owned);
        self
    }

    pub fn request(&self, emulator: &EmulatorHandle) -> cbs_transport::HttpRequest {
        self.request_to(&emulator.endpoint(), &emulator.host())
    }

    /// The signed request for an emulator at `endpoint` (`http://HOST`).
    pub fn request_to(&self, endpoint: &str, host: &str) -> cbs_transport::HttpRequest {
        let extra: Vec<(&str, &str)> = self
            .extra_signed
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let signable = SignableRequest::post_json(host, &self.body).sign_headers(&extra);
        let signed = sign(&signable, &self.credentials, "cbs", self.timestamp).unwrap();
        let mut builder = http::Request::post(format!("{endpoint}/"))
            .header("content-type", "application/json")
            .header("host", host)
            .header("x-tc-action", &self.action)
            .header("x-tc-version", &self.version);
        if let Some(region) = &self.region {
            builder = builder.header("x-tc-region", region);
        }
        for (name, value) in signed.headers() {
            if name == "X-TC-Token" && !self.send_token {
                continue;
            }
            builder = builder.header(name, value);
        }
        for (name, value) in &self.extra_signed {
            if !name.eq_ignore_ascii_case("x-tc-action") {
                builder = builder.header(name.as_str(), value.as_str());
            }
        }
        builder.body(Bytes::from(self.body.clone())).unwrap()
    }

    /// Sends the call (in process) and returns the parsed `Response` object.
    pub async fn send(&self, emulator: &EmulatorHandle) -> Value {
        let response = emulator
            .transport()
            .send(self.request(emulator))
            .await
            .expect("emulator answers");
        assert_eq!(response.status(), 200);
        let json: Value = serde_json::from_slice(response.body()).expect("JSON body");
        let inner = json["Response"].clone();
        assert!(
            inner["RequestId"].as_str().is_some_and(|r| r.len() == 36),
            "{json}"
        );
        inner
    }

    pub async fn try_send(
        &self,
        emulator: &EmulatorHandle,
    ) -> Result<cbs_transport::HttpResponse, TransportError> {
        emulator.transport().send(self.request(emulator)).await
    }
}

/// The error code of a response, if it is an error.
pub fn code(response: &Value) -> Option<&str> {
    response["Error"]["Code"].as_str()
}
