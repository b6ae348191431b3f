//! Secrets never reach logs, errors or `Debug` output. In a test binary of their own,
//! with one global subscriber set before any callsite is reached: subscribers set per
//! thread, next to other tests running in parallel, can lose spans to tracing's
//! interest cache (seen as a flaky "the call span was logged").

use std::sync::OnceLock;

use cbs_e2e::*;
use cbs_transport::test_util::{MockTransport, json_response};
use tencentcloud_cbs::{
    AssumeRoleProvider, Credentials, CredentialsError, CvmRoleProvider, OidcProvider,
    ProvideCredentials,
};

/// Everything this binary logs, down to TRACE.
fn logs() -> &'static CapturedLogs {
    static LOGS: OnceLock<CapturedLogs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = CapturedLogs::default();
        tracing::subscriber::set_global_default(logs.subscriber())
            .expect("the only subscriber of this binary");
        logs
    })
}

/// What an error shows in every form, its causes included.
fn everything_shown(err: &CredentialsError) -> String {
    let mut shown = format!("{err} {err:?}");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        shown.push_str(&format!(" {cause} {cause:?}"));
        source = cause.source();
    }
    shown
}

/// Answers that a cut-off or oddly shaped credential service might send, each carrying
/// the secret key and the token.
const BROKEN_ANSWERS: &[&str] = &[
    // Cut off in the middle.
    r#"{"Response":{"Credentials":{"Token":"TOKEN-LEAK-CHECK","TmpSecretId":"AKIDx","TmpSecretKey":"SECRET-LEAK-CHECK""#,
    // A number where a string belongs, after the secrets.
    r#"{"Response":{"Credentials":{"Token":"TOKEN-LEAK-CHECK","TmpSecretId":7,"TmpSecretKey":"SECRET-LEAK-CHECK"},"ExpiredTime":1}}"#,
    // The secret where a number belongs.
    r#"{"Response":{"Credentials":{"Token":"TOKEN-LEAK-CHECK","TmpSecretId":"AKIDx","TmpSecretKey":"SECRET-LEAK-CHECK"},"ExpiredTime":"SECRET-LEAK-CHECK"}}"#,
    // No expiry at all.
    r#"{"Response":{"Credentials":{"Token":"TOKEN-LEAK-CHECK","TmpSecretId":"AKIDx","TmpSecretKey":"SECRET-LEAK-CHECK"}}}"#,
    // Not an object.
    r#"["TOKEN-LEAK-CHECK","SECRET-LEAK-CHECK"]"#,
];

#[test]
fn secrets_never_reach_debug_output_or_trace_logs() {
    let logs = logs();
    let runtime = paused_runtime();
    let token = "SESSION-TOKEN-must-not-leak";
    let debug = runtime.block_on(async {
        let emulator = cbs_emulator::Emulator::builder()
            .temporary_credential(SECRET_ID, SECRET_KEY, token, u64::MAX)
            .seed_demo(true)
            .start_in_process()
            .expect("emulator starts");
        let client = client_builder(&emulator)
            .credentials(Credentials::new(SECRET_ID, SECRET_KEY).with_token(token, None))
            .build()
            .unwrap();
        client.describe_snapshots().send().await.unwrap();
        emulator.inject(internal_error().times(1));
        client.describe_snapshots().send().await.unwrap();
        let err = client
            .copy_snapshot_cross_regions()
            .snapshot_id("snap-nothere")
            .destination_regions(["ap-beijing"])
            .send()
            .await
            .unwrap_err();
        format!(
            "{client:?} {err:?} {err} {:?}",
            Credentials::new(SECRET_ID, SECRET_KEY).with_token(token, None)
        )
    });
    let text = logs.text();
    assert!(
        text.contains("cbs_call"),
        "the call span was logged: {text}"
    );
    assert!(text.contains("retrying"));
    for secret in [SECRET_KEY, token, "Signature=", "TC3-HMAC-SHA256"] {
        assert!(!text.contains(secret), "{secret} appeared in the logs");
        assert!(!debug.contains(secret), "{secret} appeared in Debug output");
    }
}

#[test]
fn broken_credential_answers_never_show_their_secrets() {
    let logs = logs();
    let runtime = paused_runtime();
    let token_file = std::env::temp_dir().join(format!("leak-check-token-{}", std::process::id()));
    std::fs::write(&token_file, "web-identity\n").unwrap();
    let path = token_file.to_str().unwrap().to_owned();
    let mut shown = String::new();
    runtime.block_on(async {
        for answer in BROKEN_ANSWERS {
            let answer = answer.to_string();
            let mock = MockTransport::with_handler(move |_| Ok(json_response(200, answer.clone())));
            let ctx = context(mock);
            let role = AssumeRoleProvider::builder(Credentials::new("AKIDs", "k"), "arn", "s")
                .build()
                .unwrap();
            let err = role.provide_credentials(&ctx).await.unwrap_err();
            shown.push_str(&everything_shown(&err));
            let path = path.clone();
            let oidc = OidcProvider::from_lookup(move |name| {
                Some(match name {
                    "TKE_WEB_IDENTITY_TOKEN_FILE" => path.clone(),
                    other => format!("{other}-value"),
                })
            });
            let err = oidc.provide_credentials(&ctx).await.unwrap_err();
            shown.push_str(&everything_shown(&err));
            // The metadata service's answers carry the same secrets.
            let cvm = CvmRoleProvider::with_endpoint("http://metadata.test").role("r");
            if let Err(err) = cvm.provide_credentials(&ctx).await {
                shown.push_str(&everything_shown(&err));
            }
        }
    });
    let _ = std::fs::remove_file(&token_file);
    let text = logs.text();
    assert!(shown.contains("unreadable"), "{shown}");
    for secret in ["SECRET-LEAK-CHECK", "TOKEN-LEAK-CHECK"] {
        assert!(!shown.contains(secret), "{secret} in an error: {shown}");
        assert!(!text.contains(secret), "{secret} in the logs: {text}");
    }
}

#[test]
fn a_clock_learnt_from_the_service_says_how_far_off_it_was() {
    let logs = logs();
    let runtime = paused_runtime();
    runtime.block_on(async {
        let emulator = cbs_emulator::Emulator::builder()
            .credential(SECRET_ID, SECRET_KEY)
            .start_in_process()
            .expect("emulator starts");
        // A VM restored from an image 30 days old, its clock never corrected.
        let client = client_builder(&emulator)
            .clock(tencentcloud_cbs::OffsetClock {
                offset_secs: -30 * 86_400,
            })
            .build()
            .unwrap();
        client.describe_snapshots().send().await.unwrap();
    });
    let text = logs.text();
    let line = text
        .lines()
        .find(|l| l.contains("the local clock is"))
        .unwrap_or_else(|| panic!("no clock warning in:\n{text}"));
    assert!(line.contains("WARN"), "{line}");
    // Thirty days, give or take the seconds the call took.
    assert!(
        line.contains("30 days") || line.contains("29 days 23 h 59 min"),
        "{line}"
    );
    assert!(line.contains("behind the service's"), "{line}");
}
