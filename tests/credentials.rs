//! Credential providers against small fake servers on 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cbs_e2e::*;
use tencentcloud_cbs::{
    AssumeRoleProvider, BoxFuture, CachingProvider, ChainProvider, Clock, Credentials,
    CredentialsError, CredentialsErrorKind, CvmRoleProvider, OidcProvider, ProvideCredentials,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A received request: head and body.
struct Received {
    head: String,
    body: String,
}

impl Received {
    fn path(&self) -> &str {
        self.head.split_whitespace().nth(1).unwrap_or("")
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// A fake HTTP server: `answer` turns each request into (status, body), or `None` to
/// never answer. Serves at most 200 connections.
async fn fake_server(
    answer: impl Fn(&Received) -> Option<(u16, String)> + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        for _ in 0..200 {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let answer = answer.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let received = loop {
                    let Ok(n) = stream.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let head = text[..end].to_owned();
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            break Received {
                                head,
                                body: text[end + 4..].to_owned(),
                            };
                        }
                    }
                };
                counter.fetch_add(1, Ordering::SeqCst);
                match answer(&received) {
                    Some((status, body)) => {
                        let response = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = stream.write_all(response.as_bytes()).await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            });
        }
    });
    (url, count)
}

fn role_credentials(expires: u64) -> String {
    format!(
        r#"{{"TmpSecretId":"AKIDrole","TmpSecretKey":"role-secret-key","Token":"role-token","ExpiredTime":{expires},"Expiration":"x","Code":"Success"}}"#
    )
}

#[tokio::test]
async fn cvm_role_success_404_malformed_and_timeout() {
    let (url, count) = fake_server(|r| match r.path() {
        "/latest/meta-data/cam/security-credentials/" => Some((200, "dr-role\n".into())),
        "/latest/meta-data/cam/security-credentials/dr-role" => {
            Some((200, role_credentials(unix_now() + 3600)))
        }
        _ => Some((404, String::new())),
    })
    .await;
    let credentials = CvmRoleProvider::with_endpoint(&url)
        .unwrap()
        .provide_credentials()
        .await
        .unwrap();
    assert_eq!(credentials.secret_id(), "AKIDrole");
    assert_eq!(credentials.token(), Some("role-token"));
    assert_eq!(credentials.source(), "cvm-role");
    assert!(credentials.expires_at().unwrap() > SystemTime::now() + Duration::from_secs(3000));
    assert_eq!(count.load(Ordering::SeqCst), 2);
    // A configured role name skips the lookup.
    CvmRoleProvider::with_endpoint(&url)
        .unwrap()
        .role("dr-role")
        .provide_credentials()
        .await
        .unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 3);

    let (no_role, _) = fake_server(|_| Some((404, "not found".into()))).await;
    let err = CvmRoleProvider::with_endpoint(no_role)
        .unwrap()
        .provide_credentials()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), CredentialsErrorKind::NotFound);

    let (malformed, _) = fake_server(|r| match r.path() {
        "/latest/meta-data/cam/security-credentials/" => Some((200, "dr-role".into())),
        _ => Some((200, "{not json".into())),
    })
    .await;
    let err = CvmRoleProvider::with_endpoint(malformed)
        .unwrap()
        .provide_credentials()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), CredentialsErrorKind::Invalid);

    let (silent, _) = fake_server(|_| None).await;
    let started = Instant::now();
    let err = CvmRoleProvider::with_endpoint(silent)
        .unwrap()
        .provide_credentials()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), CredentialsErrorKind::Provider);
    // Abandoned within its 2 s bound (generously checked).
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = CvmRoleProvider::with_endpoint(closed)
        .unwrap()
        .provide_credentials()
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        CredentialsErrorKind::NotFound,
        "not on a CVM instance: the chain moves on"
    );
}

fn sts_answer(expires: u64) -> String {
    format!(
        r#"{{"Response":{{"Credentials":{{"Token":"sts-token","TmpSecretId":"AKIDsts","TmpSecretKey":"sts-secret-key"}},"ExpiredTime":{expires},"Expiration":"x","RequestId":"r-sts"}}}}"#
    )
}

#[tokio::test]
async fn assume_role_is_signed_by_the_source_credentials() {
    let source = tc3_sign::Credentials::new("AKIDsource", "source-secret");
    let (url, count) = fake_server(move |r| {
        let headers: Vec<(&str, &str)> = r.head.lines().skip(1).filter_map(|l| l.split_once(':')).map(|(n, v)| (n, v.trim())).collect();
        let received = tc3_sign::ReceivedRequest::new("POST", "/", "", r.body.as_bytes(), &headers);
        if tc3_sign::Verifier::new("sts").verify(&received, unix_now(), |id| (id == "AKIDsource").then_some(&source)).is_err() {
            return Some((200, r#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"bad"},"RequestId":"r"}}"#.into()));
        }
        assert_eq!(r.header("x-tc-action"), Some("AssumeRole"));
        assert_eq!(r.header("x-tc-version"), Some("2018-08-13"));
        assert_eq!(r.header("x-tc-region"), Some("ap-shanghai"));
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["RoleArn"], "qcs::cam::uin/1:roleName/dr");
        assert_eq!(body["DurationSeconds"], 900);
        Some((200, sts_answer(unix_now() + 900)))
    })
    .await;
    let provider = AssumeRoleProvider::builder(
        Credentials::new("AKIDsource", "source-secret"),
        "qcs::cam::uin/1:roleName/dr",
        "dr-session",
    )
    .region("ap-shanghai")
    .duration_secs(900)
    .endpoint(&url)
    .build()
    .unwrap();
    let credentials = provider.provide_credentials().await.unwrap();
    assert_eq!(
        (credentials.secret_id(), credentials.token()),
        ("AKIDsts", Some("sts-token"))
    );
    assert_eq!(count.load(Ordering::SeqCst), 1);

    // Refused by STS: an error, with the service's code inside.
    let wrong = AssumeRoleProvider::builder(
        Credentials::new("AKIDsource", "wrong"),
        "qcs::cam::uin/1:roleName/dr",
        "s",
    )
    .region("ap-shanghai")
    .duration_secs(900)
    .endpoint(&url)
    .build()
    .unwrap();
    let err = wrong.provide_credentials().await.unwrap_err();
    assert_eq!(err.kind(), CredentialsErrorKind::Provider);
    assert!(format!("{:?}", std::error::Error::source(&err)).contains("SignatureFailure"));

    let too_long = AssumeRoleProvider::builder(Credentials::new("a", "b"), "arn", "s")
        .duration_secs(43_201)
        .build();
    assert!(too_long.is_err());
}

#[tokio::test]
async fn tke_oidc_is_unsigned_and_rereads_the_token_file() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let (url, _) = fake_server(move |r| {
        assert_eq!(r.header("authorization"), Some("SKIP"));
        assert_eq!(r.header("x-tc-action"), Some("AssumeRoleWithWebIdentity"));
        assert_eq!(r.header("x-tc-region"), Some("ap-singapore"));
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        log.lock()
            .unwrap()
            .push(body["WebIdentityToken"].as_str().unwrap().to_owned());
        Some((200, sts_answer(unix_now() + 3600)))
    })
    .await;
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
    let provider = OidcProvider::from_lookup(env).endpoint(&url);
    assert_eq!(
        provider.provide_credentials().await.unwrap().secret_id(),
        "AKIDsts"
    );
    std::fs::write(&token_file, "token-two\n").unwrap();
    provider.provide_credentials().await.unwrap();
    let _ = std::fs::remove_file(&token_file);
    assert_eq!(*seen.lock().unwrap(), ["token-one", "token-two"]);

    let unconfigured = OidcProvider::from_lookup(|_| None);
    assert_eq!(
        unconfigured.provide_credentials().await.unwrap_err().kind(),
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

#[tokio::test]
async fn caching_refreshes_before_expiry_once_for_concurrent_callers_and_never_serves_stale() {
    let now = unix_now();
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let failing = fail.clone();
    let (url, count) = fake_server(move |r| {
        if failing.load(Ordering::SeqCst) {
            return Some((500, "down".into()));
        }
        match r.path() {
            "/latest/meta-data/cam/security-credentials/" => Some((200, "dr-role".into())),
            _ => Some((200, role_credentials(now + 3600))),
        }
    })
    .await;
    let clock = ManualClock(Arc::new(AtomicU64::new(now)));
    let cached = Arc::new(
        CachingProvider::new(
            CvmRoleProvider::with_endpoint(&url)
                .unwrap()
                .role("dr-role"),
        )
        .clock(clock.clone()),
    );

    let mut tasks = Vec::new();
    for _ in 0..10 {
        let cached = cached.clone();
        tasks.push(tokio::spawn(async move {
            cached
                .provide_credentials()
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
        count.load(Ordering::SeqCst),
        1,
        "ten concurrent callers, one fetch"
    );
    assert!(cached.expires_at().await.is_some());

    // More than five minutes left: cached.
    clock.0.store(now + 3600 - 301, Ordering::SeqCst);
    cached.provide_credentials().await.unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 1);
    // Five minutes or less: refreshed.
    clock.0.store(now + 3600 - 300, Ordering::SeqCst);
    cached.provide_credentials().await.unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 2);

    // A failed refresh is an error, not the old credentials.
    fail.store(true, Ordering::SeqCst);
    clock.0.store(now + 3600 - 10, Ordering::SeqCst);
    assert!(cached.provide_credentials().await.is_err());
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
    fn new(answers: Vec<Answer>) -> Self {
        Scripted {
            answers: std::sync::Mutex::new(answers),
            calls: AtomicUsize::new(0),
        }
    }
}

impl ProvideCredentials for Scripted {
    fn provide_credentials(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
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

#[tokio::test]
async fn the_chain_moves_on_only_past_not_found() {
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
        chain.provide_credentials().await.unwrap().secret_id(),
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
    let err = stops.provide_credentials().await.unwrap_err();
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
    let err = empty.provide_credentials().await.unwrap_err();
    assert_eq!(err.kind(), CredentialsErrorKind::NotFound);
    assert_eq!(
        err.message(),
        "no credentials found; tried environment: variables not set; profile: no file"
    );
}

#[tokio::test]
async fn answers_at_hand_skip_the_asynchronous_path() {
    let fixed = Credentials::new("AKIDfixed", "k");
    assert_eq!(
        fixed
            .provide_credentials_now()
            .unwrap()
            .unwrap()
            .secret_id(),
        "AKIDfixed"
    );

    let scripted = Arc::new(Scripted::new(vec![Answer::Ok(Credentials::new(
        "AKIDcached",
        "k",
    ))]));
    #[derive(Debug)]
    struct Forward(Arc<Scripted>);
    impl ProvideCredentials for Forward {
        fn provide_credentials(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
            self.0.provide_credentials()
        }
    }
    let chain =
        ChainProvider::new().push("cached", CachingProvider::new(Forward(scripted.clone())));
    assert!(
        chain.provide_credentials_now().is_none(),
        "nothing cached yet: only the asynchronous path can tell"
    );
    chain.provide_credentials().await.unwrap();
    for _ in 0..3 {
        let now = chain.provide_credentials_now().unwrap().unwrap();
        assert_eq!(now.secret_id(), "AKIDcached");
    }
    assert_eq!(scripted.calls.load(Ordering::SeqCst), 1);
    chain.invalidate();
    assert!(
        chain.provide_credentials_now().is_none(),
        "after a rejected token the cache must be refreshed first"
    );
    chain.provide_credentials().await.unwrap();
    assert_eq!(scripted.calls.load(Ordering::SeqCst), 2);

    let fixed_first = ChainProvider::new()
        .push("fixed", fixed)
        .push("cached", CachingProvider::new(Forward(scripted.clone())));
    assert_eq!(
        fixed_first
            .provide_credentials_now()
            .unwrap()
            .unwrap()
            .secret_id(),
        "AKIDfixed"
    );
}

#[tokio::test]
async fn a_token_failure_refreshes_once_and_retries() {
    let emulator = cbs_emulator::Emulator::builder()
        .temporary_credential("AKIDtemp", "temp-key", "fresh-token", unix_now() + 3600)
        .seed_demo(true)
        .start()
        .await
        .unwrap();
    let expiry = Some(SystemTime::now() + Duration::from_secs(3600));
    let provider = Arc::new(Scripted::new(vec![
        Answer::Ok(Credentials::new("AKIDtemp", "temp-key").with_token("revoked-token", expiry)),
        Answer::Ok(Credentials::new("AKIDtemp", "temp-key").with_token("fresh-token", expiry)),
    ]));
    #[derive(Debug)]
    struct Forward(Arc<Scripted>);
    impl ProvideCredentials for Forward {
        fn provide_credentials(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
            self.0.provide_credentials()
        }
    }
    let client = client_builder(&emulator)
        .credentials_provider(CachingProvider::new(Forward(provider.clone())))
        .build()
        .unwrap();
    let page = client.describe_snapshots().send().await.unwrap();
    assert_eq!(page.total_count, Some(2));
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
    let cvm = CvmRoleProvider::with_endpoint("http://127.0.0.1:9").unwrap();
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
    let shown = format!(
        "{cvm:?} {cached:?} {role:?} {:?}",
        ChainProvider::default_chain()
    );
    assert!(
        !shown.contains("SECRET-KEY-VALUE") && !shown.contains("TOKEN-VALUE"),
        "{shown}"
    );
}
