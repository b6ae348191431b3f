//! Credential providers through the public API: on the calling client's transport (a
//! scripted one here), under paused time; profile files as the official SDKs read them.
//! (That secrets in credential answers never reach an error or a log: `logs.rs`.)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cbs_e2e::*;
use cbs_transport::test_util::{MockTransport, json_response};
use tencentcloud_cbs::{
    AssumeRoleProvider, BoxFuture, CachingProvider, ChainProvider, Client, Clock, Credentials,
    CredentialsError, CredentialsErrorKind, CvmRoleProvider, HttpRequest, HttpResponse,
    OidcProvider, ProfileProvider, ProvideCredentials, ProviderContext, Transport, TransportError,
    TransportErrorKind,
};

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn role_credentials(expires: u64) -> String {
    format!(
        r#"{{"TmpSecretId":"AKIDrole","TmpSecretKey":"role-secret-key","Token":"role-token","ExpiredTime":{expires},"Expiration":"x","Code":"Success"}}"#
    )
}

/// Answers the metadata service's paths: the role name, then its credentials.
fn metadata(request: &HttpRequest) -> Result<HttpResponse, TransportError> {
    Ok(match request.uri().path() {
        "/latest/meta-data/cam/security-credentials/" => json_response(200, "dr-role\n"),
        "/latest/meta-data/cam/security-credentials/dr-role" => {
            json_response(200, role_credentials(unix_now() + 3600))
        }
        _ => json_response(404, ""),
    })
}

/// A transport that never answers.
#[derive(Debug)]
struct Silent;

impl Transport for Silent {
    fn send(&self, _: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        Box::pin(std::future::pending())
    }
}

#[tokio::test(start_paused = true)]
async fn cvm_role_success_404_malformed_silent_and_unreachable() {
    let mock = Arc::new(MockTransport::with_handler(metadata));
    let ctx = context(mock.clone());
    let credentials = CvmRoleProvider::with_endpoint("http://metadata.test")
        .provide_credentials(&ctx)
        .await
        .unwrap();
    assert_eq!(credentials.secret_id(), "AKIDrole");
    assert_eq!(credentials.token(), Some("role-token"));
    assert_eq!(credentials.source(), "cvm-role");
    assert!(credentials.expires_at().unwrap() > SystemTime::now() + Duration::from_secs(3000));
    assert_eq!(mock.requests().len(), 2);
    assert_eq!(
        mock.requests()[0].uri().to_string(),
        "http://metadata.test/latest/meta-data/cam/security-credentials/"
    );
    // A configured role name skips the lookup.
    CvmRoleProvider::with_endpoint("http://metadata.test")
        .role("dr-role")
        .provide_credentials(&ctx)
        .await
        .unwrap();
    assert_eq!(mock.requests().len(), 3);

    let kind = |transport: MockTransport| async move {
        CvmRoleProvider::with_endpoint("http://metadata.test")
            .provide_credentials(&context(transport))
            .await
            .unwrap_err()
            .kind()
    };
    assert_eq!(
        kind(MockTransport::with_handler(|_| Ok(json_response(404, "")))).await,
        CredentialsErrorKind::NotFound
    );
    assert_eq!(
        kind(MockTransport::with_handler(|r| Ok(match r.uri().path() {
            "/latest/meta-data/cam/security-credentials/" => json_response(200, "dr-role"),
            _ => json_response(200, "{not json"),
        })))
        .await,
        CredentialsErrorKind::Invalid
    );
    let unreachable = MockTransport::new();
    unreachable.push_error(TransportErrorKind::Connect);
    assert_eq!(
        kind(unreachable).await,
        CredentialsErrorKind::NotFound,
        "not on a CVM instance: the chain moves on"
    );
    // A metadata service that never answers is given up within 2 s of paused time.
    let started = tokio::time::Instant::now();
    let err = CvmRoleProvider::with_endpoint("http://metadata.test")
        .provide_credentials(&context(Silent))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), CredentialsErrorKind::NotFound);
    assert_eq!(started.elapsed(), Duration::from_secs(2));
}

fn sts_answer(expires: u64) -> String {
    format!(
        r#"{{"Response":{{"Credentials":{{"Token":"sts-token","TmpSecretId":"AKIDsts","TmpSecretKey":"sts-secret-key"}},"ExpiredTime":{expires},"Expiration":"x","RequestId":"r-sts"}}}}"#
    )
}

/// Whether `request` is signed for STS by the source credentials.
fn signed_by_source(request: &HttpRequest) -> bool {
    let source = tc3_sign::Credentials::new("AKIDsource", "source-secret");
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str(), v.to_str().unwrap_or("")))
        .collect();
    let received = tc3_sign::ReceivedRequest::new("POST", "/", "", request.body(), &headers);
    tc3_sign::Verifier::new("sts")
        .verify(&received, unix_now(), |id| {
            (id == "AKIDsource").then_some(&source)
        })
        .is_ok()
}

#[tokio::test(start_paused = true)]
async fn assume_role_is_signed_by_the_source_credentials_on_the_clients_transport() {
    let mock = Arc::new(MockTransport::with_handler(|request| {
        if !signed_by_source(request) {
            return Ok(json_response(
                200,
                r#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"bad"},"RequestId":"r"}}"#,
            ));
        }
        let body: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
        assert_eq!(body["RoleArn"], "qcs::cam::uin/1:roleName/dr");
        assert_eq!(body["DurationSeconds"], 900);
        Ok(json_response(200, sts_answer(unix_now() + 900)))
    }));
    let provider = AssumeRoleProvider::builder(
        Credentials::new("AKIDsource", "source-secret"),
        "qcs::cam::uin/1:roleName/dr",
        "dr-session",
    )
    .region("ap-shanghai")
    .duration_secs(900)
    .build()
    .unwrap();
    let credentials = provider
        .provide_credentials(&context(mock.clone()))
        .await
        .unwrap();
    assert_eq!(
        (credentials.secret_id(), credentials.token()),
        ("AKIDsts", Some("sts-token"))
    );
    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    let h = requests[0].headers();
    assert_eq!(h["host"], "sts.tencentcloudapi.com");
    assert_eq!(h["x-tc-action"], "AssumeRole");
    assert_eq!(h["x-tc-version"], "2018-08-13");
    assert_eq!(h["x-tc-region"], "ap-shanghai");

    // Refused by STS: an error, with the service's code inside.
    let wrong = AssumeRoleProvider::builder(
        Credentials::new("AKIDsource", "wrong"),
        "qcs::cam::uin/1:roleName/dr",
        "s",
    )
    .build()
    .unwrap();
    let err = wrong
        .provide_credentials(&context(mock.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), CredentialsErrorKind::Provider);
    assert!(format!("{:?}", std::error::Error::source(&err)).contains("SignatureFailure"));

    let too_long = AssumeRoleProvider::builder(Credentials::new("a", "b"), "arn", "s")
        .duration_secs(43_201)
        .build();
    assert!(too_long.is_err());
    let plain = AssumeRoleProvider::builder(Credentials::new("a", "b"), "arn", "s")
        .endpoint("http://sts.example.com")
        .build();
    assert!(plain.is_err(), "STS in the clear only on loopback");
}

#[tokio::test(start_paused = true)]
async fn tke_oidc_is_unsigned_and_rereads_the_token_file() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let mock = Arc::new(MockTransport::with_handler(move |request| {
        let h = request.headers();
        assert_eq!(h["authorization"], "SKIP");
        assert_eq!(h["x-tc-action"], "AssumeRoleWithWebIdentity");
        assert_eq!(h["x-tc-region"], "ap-singapore");
        let body: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
        log.lock()
            .unwrap()
            .push(body["WebIdentityToken"].as_str().unwrap().to_owned());
        Ok(json_response(200, sts_answer(unix_now() + 3600)))
    }));
    let token_file = std::env::temp_dir().join(format!("oidc-token-{}", std::process::id()));
    std::fs::write(&token_file, "token-one\n").unwrap();
    let path = token_file.to_str().unwrap().to_owned();
    let env = move |name: &str| match name {
        "TKE_REGION" => Some("ap-singapore".to_owned()),
        "TKE_PROVIDER_ID" => Some("provider-1".to_owned()),
        "TKE_WEB_IDENTITY_TOKEN_FILE" => Some(path.clone()),
        "TKE_ROLE_ARN" => Some("qcs::cam::uin/1:roleName/pod".to_owned()),
        _ => None,
    };
    let provider = OidcProvider::from_lookup(env);
    let ctx = context(mock.clone());
    assert_eq!(
        provider
            .provide_credentials(&ctx)
            .await
            .unwrap()
            .secret_id(),
        "AKIDsts"
    );
    std::fs::write(&token_file, "token-two\n").unwrap();
    provider.provide_credentials(&ctx).await.unwrap();
    let _ = std::fs::remove_file(&token_file);
    assert_eq!(*seen.lock().unwrap(), ["token-one", "token-two"]);
    assert_eq!(
        mock.requests()[0].uri().to_string(),
        "https://sts.tencentcloudapi.com/"
    );

    let unconfigured = OidcProvider::from_lookup(|_| None);
    assert_eq!(
        unconfigured
            .provide_credentials(&ctx)
            .await
            .unwrap_err()
            .kind(),
        CredentialsErrorKind::NotFound
    );
}

/// A clock the test moves by hand.
#[derive(Debug, Clone)]
struct ManualClock(Arc<AtomicU64>);

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0.load(Ordering::SeqCst))
    }
}

#[tokio::test(start_paused = true)]
async fn caching_refreshes_before_expiry_once_for_concurrent_callers_and_never_serves_stale() {
    let now = unix_now();
    let fail = Arc::new(AtomicBool::new(false));
    let failing = fail.clone();
    let mock = Arc::new(MockTransport::with_handler(move |request| {
        if failing.load(Ordering::SeqCst) {
            return Ok(json_response(500, "down"));
        }
        Ok(match request.uri().path() {
            "/latest/meta-data/cam/security-credentials/" => json_response(200, "dr-role"),
            _ => json_response(200, role_credentials(now + 3600)),
        })
    }));
    let ctx = Arc::new(context(mock.clone()));
    let clock = ManualClock(Arc::new(AtomicU64::new(now)));
    let cached = Arc::new(
        CachingProvider::new(
            CvmRoleProvider::with_endpoint("http://metadata.test").role("dr-role"),
        )
        .clock(clock.clone()),
    );

    let mut tasks = Vec::new();
    for _ in 0..10 {
        let cached = cached.clone();
        let ctx = ctx.clone();
        tasks.push(tokio::spawn(async move {
            cached
                .provide_credentials(&ctx)
                .await
                .unwrap()
                .secret_id()
                .to_owned()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), "AKIDrole");
    }
    assert_eq!(
        mock.requests().len(),
        1,
        "ten concurrent callers, one fetch"
    );
    assert!(cached.expires_at().await.is_some());

    // More than five minutes left: cached.
    clock.0.store(now + 3600 - 301, Ordering::SeqCst);
    cached.provide_credentials(&ctx).await.unwrap();
    assert_eq!(mock.requests().len(), 1);
    // Five minutes or less: refreshed.
    clock.0.store(now + 3600 - 300, Ordering::SeqCst);
    cached.provide_credentials(&ctx).await.unwrap();
    assert_eq!(mock.requests().len(), 2);

    // A failed refresh is an error, not the old credentials.
    fail.store(true, Ordering::SeqCst);
    clock.0.store(now + 3600 - 10, Ordering::SeqCst);
    assert!(cached.provide_credentials(&ctx).await.is_err());
}

/// What a scripted provider answers.
#[derive(Clone, Debug)]
enum Answer {
    Ok(Credentials),
    NotFound(&'static str, &'static str),
    Invalid(&'static str, &'static str),
}

/// Answers from a script (the last answer repeats) and counts how often it was asked.
#[derive(Debug)]
struct Scripted {
    answers: std::sync::Mutex<Vec<Answer>>,
    calls: AtomicUsize,
}

impl Scripted {
    fn new(answers: Vec<Answer>) -> Arc<Self> {
        Arc::new(Scripted {
            answers: std::sync::Mutex::new(answers),
            calls: AtomicUsize::new(0),
        })
    }
}

impl ProvideCredentials for Scripted {
    fn provide_credentials<'a>(
        &'a self,
        _: &'a ProviderContext,
    ) -> BoxFuture<'a, Result<Credentials, CredentialsError>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut answers = self.answers.lock().unwrap();
        let answer = if answers.len() > 1 {
            answers.remove(0)
        } else {
            answers[0].clone()
        };
        let result = match answer {
            Answer::Ok(c) => Ok(c),
            Answer::NotFound(source, message) => Err(CredentialsError::not_found(source, message)),
            Answer::Invalid(source, message) => Err(CredentialsError::invalid(source, message)),
        };
        Box::pin(async move { result })
    }
}

#[tokio::test(start_paused = true)]
async fn the_chain_moves_on_only_past_not_found() {
    let ctx = context(MockTransport::new());
    let chain = ChainProvider::new()
        .push(
            "first",
            Scripted::new(vec![Answer::NotFound("first", "nothing here")]),
        )
        .push(
            "second",
            Scripted::new(vec![Answer::Ok(Credentials::new("AKIDsecond", "k"))]),
        )
        .push(
            "third",
            Scripted::new(vec![Answer::Ok(Credentials::new("AKIDthird", "k"))]),
        );
    assert_eq!(
        chain.provide_credentials(&ctx).await.unwrap().secret_id(),
        "AKIDsecond"
    );

    let stops = ChainProvider::new()
        .push(
            "first",
            Scripted::new(vec![Answer::Invalid(
                "profile",
                "/x:3: expected `key = value`",
            )]),
        )
        .push(
            "second",
            Scripted::new(vec![Answer::Ok(Credentials::new("AKIDsecond", "k"))]),
        );
    let err = stops.provide_credentials(&ctx).await.unwrap_err();
    assert_eq!(err.kind(), CredentialsErrorKind::Invalid);
    assert!(err.to_string().contains("/x:3:"));

    let empty = ChainProvider::new()
        .push(
            "environment",
            Scripted::new(vec![Answer::NotFound("environment", "variables not set")]),
        )
        .push(
            "profile",
            Scripted::new(vec![Answer::NotFound("profile", "no file")]),
        );
    let err = empty.provide_credentials(&ctx).await.unwrap_err();
    assert_eq!(err.kind(), CredentialsErrorKind::NotFound);
    assert_eq!(
        err.message(),
        "no credentials found; tried environment: variables not set; profile: no file"
    );
}

#[tokio::test(start_paused = true)]
async fn providers_fetch_on_the_clients_own_transport() {
    // Everything the client sends, the metadata requests included, goes through one
    // transport: the one the caller gave the client.
    let emulator = emulator();
    let mock = Arc::new(MockTransport::with_handler(move |request| {
        if request.uri().path().starts_with("/latest/meta-data/") {
            metadata(request)
        } else {
            Ok(json_response(
                200,
                r#"{"Response":{"TotalCount":0,"SnapshotSet":[],"RequestId":"r"}}"#,
            ))
        }
    }));
    let chain = ChainProvider::new()
        .push(
            "nothing",
            Scripted::new(vec![Answer::NotFound("nothing", "-")]),
        )
        .push(
            "cvm-role",
            CachingProvider::new(CvmRoleProvider::with_endpoint("http://metadata.test")),
        );
    let client = client_builder(&emulator)
        .credentials_provider(chain)
        .transport(mock.clone())
        .build()
        .unwrap();
    client.describe_snapshots().send().await.unwrap();
    client.describe_snapshots().send().await.unwrap();
    let paths: Vec<String> = mock
        .requests()
        .iter()
        .map(|r| r.uri().path().to_owned())
        .collect();
    assert_eq!(
        paths,
        [
            "/latest/meta-data/cam/security-credentials/",
            "/latest/meta-data/cam/security-credentials/dr-role",
            "/",
            "/"
        ]
    );
    assert_eq!(mock.requests()[2].headers()["x-tc-token"], "role-token");
}

#[tokio::test(start_paused = true)]
async fn a_token_failure_refreshes_once_and_retries() {
    let emulator = cbs_emulator::Emulator::builder()
        .temporary_credential("AKIDtemp", "temp-key", "fresh-token", unix_now() + 3600)
        .seed_demo(true)
        .start_in_process()
        .expect("emulator starts");
    let expiry = Some(SystemTime::now() + Duration::from_secs(3600));
    let provider = Scripted::new(vec![
        Answer::Ok(Credentials::new("AKIDtemp", "temp-key").with_token("revoked-token", expiry)),
        Answer::Ok(Credentials::new("AKIDtemp", "temp-key").with_token("fresh-token", expiry)),
    ]);
    let client = client_builder(&emulator)
        .credentials_provider(CachingProvider::new(provider.clone()))
        .build()
        .unwrap();
    let page = client.describe_snapshots().send().await.unwrap();
    assert_eq!(
        page.total_count,
        Some(emulator.snapshots("ap-guangzhou").len() as u64)
    );
    assert_eq!(
        provider.calls.load(Ordering::SeqCst),
        2,
        "one refresh after the token failure"
    );
    client.describe_snapshots().send().await.unwrap();
    assert_eq!(
        provider.calls.load(Ordering::SeqCst),
        2,
        "the fresh credentials are cached"
    );
}

#[test]
fn no_provider_shows_secrets_in_debug() {
    let cvm = CvmRoleProvider::with_endpoint("http://127.0.0.1:9");
    let cached = CachingProvider::new(
        Credentials::new("AKIDx", "SECRET-KEY-VALUE").with_token("TOKEN-VALUE", None),
    );
    let role = AssumeRoleProvider::builder(
        Credentials::new("AKIDx", "SECRET-KEY-VALUE"),
        "arn",
        "session",
    )
    .build()
    .unwrap();
    let client = Client::builder()
        .credentials(Credentials::new("AKIDx", "SECRET-KEY-VALUE"))
        .transport(MockTransport::new())
        .build()
        .unwrap();
    let shown = format!(
        "{cvm:?} {cached:?} {role:?} {:?} {client:?}",
        ChainProvider::default_chain()
    );
    assert!(
        !shown.contains("SECRET-KEY-VALUE") && !shown.contains("TOKEN-VALUE"),
        "{shown}"
    );
}

/// A credentials file that exists but cannot be used says why: not text, too large,
/// a directory, absent although named.
#[test]
fn an_unreadable_credentials_file_is_refused_with_its_reason() {
    let dir = std::env::temp_dir().join(format!("unreadable-profiles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let binary = dir.join("binary");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x80, 0x81]).unwrap();
    let huge = dir.join("huge");
    std::fs::write(&huge, "#".repeat(2 << 20)).unwrap();
    let cases = [
        (binary.clone(), "not text"),
        (huge, "larger than"),
        (dir.clone(), "directory"),
        (dir.join("absent"), "does not exist"),
    ];
    for (path, reason) in cases {
        let error = ProfileProvider::from_lookup(|_| None)
            .file(&path)
            .load()
            .unwrap_err();
        let shown = format!("{error} {error:?}");
        assert!(shown.contains(reason), "{}: {shown}", path.display());
        assert!(shown.contains(&path.display().to_string()), "{shown}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Profile files: what the Go and Python SDKs accept is read, and what either refuses
/// or reads differently is refused with the file and line.
#[test]
fn profile_files_as_the_official_sdks_read_them() {
    let dir = std::env::temp_dir().join(format!("profiles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let load = |name: &str, text: &str, profile: Option<&str>| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let provider = ProfileProvider::from_lookup(|_| None).file(&path);
        match profile {
            Some(profile) => provider.profile(profile).load(),
            None => provider.load(),
        }
    };
    // Accepted: (file, text, profile, secret id, secret key, token).
    type Accepted<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        &'a str,
        &'a str,
        Option<&'a str>,
    );
    let accepted: &[Accepted<'_>] = &[
        (
            "plain",
            "[default]\nsecret_id = AKID1\nsecret_key = key1\n",
            None,
            "AKID1",
            "key1",
            None,
        ),
        (
            "no-spaces",
            "[default]\nsecret_id=AKID1\nsecret_key=key1",
            None,
            "AKID1",
            "key1",
            None,
        ),
        // Go keeps settings before the first section in a global one; they are no profile.
        (
            "global-keys",
            "region = ap-guangzhou\nsecret_id = AKIDglobal\n[default]\nsecret_id = AKID1\nsecret_key = key1\n",
            None,
            "AKID1",
            "key1",
            None,
        ),
        // Neither SDK has inline comments: ` #` is part of the value.
        (
            "hash-in-value",
            "[default]\nsecret_id = AKID1\nsecret_key = abc #def\n",
            None,
            "AKID1",
            "abc #def",
            None,
        ),
        (
            "semicolon-in-value",
            "[default]\nsecret_id = AKID1\nsecret_key = a;b=c\n",
            None,
            "AKID1",
            "a;b=c",
            None,
        ),
        (
            "comments",
            "# top\n; also\n[default]\n  # indented\nsecret_id = AKID1\nsecret_key = key1\n",
            None,
            "AKID1",
            "key1",
            None,
        ),
        (
            "crlf-and-bom",
            "\u{feff}[default]\r\nsecret_id = AKID1\r\nsecret_key = key1\r\n",
            None,
            "AKID1",
            "key1",
            None,
        ),
        // Python's delimiters are `=` and `:`; its option names are case-insensitive.
        (
            "colon-and-case",
            "[default]\nSECRET_ID: AKID1\nSecret_Key = key1\n",
            None,
            "AKID1",
            "key1",
            None,
        ),
        (
            "named-with-token",
            "[default]\nsecret_id = A\nsecret_key = B\n[dr]\nsecret_id = AKID2\nsecret_key = key2\ntoken = tok\n",
            Some("dr"),
            "AKID2",
            "key2",
            Some("tok"),
        ),
        (
            "other-keys",
            "[default]\nsecret_id = AKID1\nregion = ap-beijing\nsecret_key = key1\n",
            None,
            "AKID1",
            "key1",
            None,
        ),
    ];
    for (name, text, profile, id, key, token) in accepted {
        let credentials = load(name, text, *profile).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(credentials.secret_id(), *id, "{name}");
        assert_eq!(credentials.secret_key(), *key, "{name}");
        assert_eq!(credentials.token(), *token, "{name}");
    }
    // Refused: (file, text, profile, the line named).
    let refused: &[(&str, &str, Option<&str>, &str)] = &[
        ("unclosed-section", "[default\nsecret_id = a\n", None, ":1:"),
        ("empty-section", "[]\nsecret_id = a\n", None, ":1:"),
        (
            "no-delimiter",
            "[default]\nsecret_id AKID1\nsecret_key = k\n",
            None,
            ":2:",
        ),
        (
            "twice-set",
            "[default]\nsecret_id = a\nsecret_key = k\nsecret_id = b\n",
            None,
            ":4:",
        ),
        (
            "twice-section",
            "[default]\nsecret_id = a\nsecret_key = k\n[default]\nsecret_id = b\n",
            None,
            ":4:",
        ),
        ("incomplete", "[default]\nsecret_id = AKID\n", None, ":1:"),
        (
            "empty-key",
            "[default]\nsecret_id = AKID\nsecret_key =\n",
            None,
            ":1:",
        ),
        (
            "missing-named",
            "[default]\nsecret_id = a\nsecret_key = k\n",
            Some("dr"),
            "no [dr] profile",
        ),
    ];
    for (name, text, profile, line) in refused {
        let err = load(name, text, *profile).unwrap_err();
        assert_eq!(err.kind(), CredentialsErrorKind::Invalid, "{name}");
        assert!(err.message().contains(line), "{name}: {err}");
    }
    // No default profile and none asked for: not found, the chain moves on.
    let err = load(
        "only-other",
        "[other]\nsecret_id = a\nsecret_key = k\n",
        None,
    )
    .unwrap_err();
    assert_eq!(err.kind(), CredentialsErrorKind::NotFound);
    let _ = std::fs::remove_dir_all(&dir);
}
