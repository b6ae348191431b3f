//! The official SDK's signing vectors, stage by stage, through the public API; and the
//! verifier accepts every one of them.

#[path = "../examples/support/vector_file.rs"]
mod vector_file;

use tc3_sign::{Credentials, ReceivedRequest, SigningKey, UtcDate, Verifier};
use vector_file::{Input, Vector, VectorFile};

fn vectors() -> Vec<Vector> {
    let text = include_str!("data/tc3-official-python.json");
    let file: VectorFile = serde_json::from_str(text).expect("vector file parses");
    assert_eq!(file.vectors.len(), 200, "the official file has 200 vectors");
    file.vectors
}

fn request(i: &Input) -> tc3_sign::SignableRequest<'_> {
    i.request().expect("an official vector")
}

#[test]
fn every_stage_of_every_official_vector_matches() {
    for v in vectors() {
        let (i, e) = (&v.input, &v.expected);
        let req = request(i);
        let date = UtcDate::from_unix(i.timestamp).unwrap();
        assert_eq!(date.as_str(), e.date, "{}: date", v.name);
        let canonical = tc3_sign::canonical_request(&req).unwrap();
        assert_eq!(
            canonical, e.canonical_request,
            "{}: canonical request",
            v.name
        );
        let sts = tc3_sign::string_to_sign(i.timestamp, &i.service, &canonical).unwrap();
        assert_eq!(sts, e.string_to_sign, "{}: string to sign", v.name);
        let key = SigningKey::derive(&i.secret_key, date, &i.service);
        assert_eq!(
            key.signature_hex(&sts),
            e.signature,
            "{}: signature",
            v.name
        );

        let credentials = Credentials::new(i.secret_id.as_str(), i.secret_key.as_str());
        let signed = tc3_sign::sign(&req, &credentials, &i.service, i.timestamp).unwrap();
        assert_eq!(
            signed.authorization(),
            e.authorization,
            "{}: authorization",
            v.name
        );
        assert_eq!(signed.signature(), e.signature, "{}", v.name);
        let cached = tc3_sign::sign_with_key(&req, &credentials, &key, i.timestamp).unwrap();
        assert_eq!(
            cached.authorization(),
            e.authorization,
            "{}: cached key",
            v.name
        );
    }
}

#[test]
fn verifier_accepts_every_official_vector() {
    for v in vectors() {
        let i = &v.input;
        let credentials = Credentials::new(i.secret_id.as_str(), i.secret_key.as_str());
        let timestamp = i.timestamp.to_string();
        let mut headers = vec![
            ("Host", i.host.as_str()),
            ("Content-Type", i.content_type.as_str()),
            ("X-TC-Timestamp", timestamp.as_str()),
            ("Authorization", v.expected.authorization.as_str()),
        ];
        if i.unsigned_payload {
            headers.push(("X-TC-Content-SHA256", "UNSIGNED-PAYLOAD"));
        }
        let received =
            ReceivedRequest::new(&i.method, &i.path, &i.query, i.payload.as_bytes(), &headers);
        let verified = Verifier::new(i.service.as_str())
            .verify(&received, i.timestamp + 299, |id| {
                (id == i.secret_id).then_some(&credentials)
            })
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(verified.secret_id(), i.secret_id);
        assert_eq!(verified.timestamp(), i.timestamp);
    }
}
