//! The official SDK's v1 vectors, stage by stage, and the verifier on each of them.

#[path = "../examples/support/v1_vector_file.rs"]
mod v1_vector_file;

use tc3_sign::v1::{self, Algorithm};
use v1_vector_file::V1VectorFile;

fn cases() -> V1VectorFile {
    let file: V1VectorFile =
        serde_json::from_str(include_str!("data/v1-official-python.json")).expect("parses");
    assert_eq!(file.cases.len(), 200, "the official file has 200 cases");
    file
}

#[test]
fn every_stage_of_every_official_v1_case_matches() {
    let file = cases();
    let failures: Vec<String> = file
        .cases
        .iter()
        .filter_map(|case| {
            case.check()
                .err()
                .map(|why| format!("{}: {why}", case.name))
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    let methods: std::collections::BTreeSet<&str> = file
        .cases
        .iter()
        .flat_map(|c| c.params.iter())
        .filter(|(n, _)| n == "SignatureMethod")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        methods.into_iter().collect::<Vec<_>>(),
        ["HmacSHA1", "HmacSHA256"]
    );
}

#[test]
fn a_changed_parameter_fails_verification() {
    let file = cases();
    for case in file.cases.iter().take(40) {
        let mut params: Vec<(&str, &str)> = case
            .params
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let algorithm = Algorithm::parse(
            params
                .iter()
                .find(|(n, _)| *n == "SignatureMethod")
                .unwrap()
                .1,
        )
        .unwrap();
        let timestamp: u64 = params
            .iter()
            .find(|(n, _)| *n == "Timestamp")
            .unwrap()
            .1
            .parse()
            .unwrap();
        let signature = v1::Request::new(&case.method, &case.host, &params)
            .path(&case.path)
            .sign(&case.secret_key, algorithm)
            .unwrap();
        params.push(("Extra", "x"));
        params.push((v1::SIGNATURE, &signature));
        let err = v1::verify(
            &v1::Request::new(&case.method, &case.host, &params).path(&case.path),
            timestamp,
            300,
            |_| Some(case.secret_key.as_str()),
        )
        .unwrap_err();
        assert_eq!(
            err.api_code(),
            "AuthFailure.SignatureFailure",
            "{}",
            case.name
        );
    }
}
