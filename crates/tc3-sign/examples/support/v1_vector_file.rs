//! The v1 signing-vector file format and its stage-by-stage check, shared by the
//! `check-v1-vectors` example and the tests.

use serde::Deserialize;
use tc3_sign::v1::{self, Algorithm};

/// `{"about": "...", "cases": [...]}`.
#[derive(Deserialize)]
pub struct V1VectorFile {
    pub cases: Vec<V1Case>,
}

/// One case: the request, its parameters as sent (the signature aside), and what the
/// official SDK made of them.
#[derive(Deserialize)]
pub struct V1Case {
    pub name: String,
    pub method: String,
    pub host: String,
    pub path: String,
    pub secret_key: String,
    pub params: Vec<(String, String)>,
    pub string_to_sign: String,
    pub signature: String,
    pub form_body: String,
}

impl V1Case {
    /// Runs the case stage by stage; the error names the first stage that differs.
    pub fn check(&self) -> Result<(), String> {
        let params: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let method = params
            .iter()
            .find(|(n, _)| *n == "SignatureMethod")
            .map(|(_, v)| *v)
            .ok_or("parameters: no SignatureMethod")?;
        let algorithm =
            Algorithm::parse(method).ok_or(format!("parameters: unknown method {method}"))?;
        let request = v1::Request::new(&self.method, &self.host, &params).path(&self.path);
        let sts = request
            .string_to_sign()
            .map_err(|e| format!("string to sign: {e}"))?;
        // The parameters, as they appear in the string to sign: sorted, `_` as `.`.
        let (_, query) = sts.split_once('?').ok_or("string to sign: no `?`")?;
        let (_, expected_query) = self
            .string_to_sign
            .split_once('?')
            .ok_or("expected string to sign: no `?`")?;
        if query != expected_query {
            return Err("parameters differ".into());
        }
        if sts != self.string_to_sign {
            return Err("string_to_sign differs".into());
        }
        let signature = request
            .sign(&self.secret_key, algorithm)
            .map_err(|e| format!("signature: {e}"))?;
        if signature != self.signature {
            return Err("signature differs".into());
        }
        if v1::form_body(&params, &signature) != self.form_body {
            return Err("form_body differs".into());
        }
        // And the verifier accepts what was signed.
        let mut signed = params.clone();
        signed.push((v1::SIGNATURE, signature.as_str()));
        let timestamp: u64 = params
            .iter()
            .find(|(n, _)| *n == "Timestamp")
            .and_then(|(_, v)| v.parse().ok())
            .ok_or("parameters: no Timestamp")?;
        let key = self.secret_key.as_str();
        v1::verify(
            &v1::Request::new(&self.method, &self.host, &signed).path(&self.path),
            timestamp,
            300,
            |_| Some(key),
        )
        .map_err(|e| format!("verify: {e}"))?;
        Ok(())
    }
}
