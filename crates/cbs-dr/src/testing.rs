//! What the phases' unit tests share: a client on a scripted transport that answers by
//! action, a run on it, and plan items.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tencentcloud_cbs::test_util::{MockTransport, json_response};
use tencentcloud_cbs::{Client, Credentials, HttpRequest, SystemClock, TransportError};

use crate::plan::{PlanAction, PlanItem};
use crate::run::Run;

/// A call the scripted service received: its action, region and body.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub action: String,
    pub region: String,
    pub body: serde_json::Value,
}

/// What the scripted service answers: the `Response` object's members (a `RequestId`
/// is added), or a transport failure.
pub(crate) type Answer = Result<serde_json::Value, TransportError>;

/// The calls a service received, in order.
pub(crate) type Calls = Arc<Mutex<Vec<Call>>>;

/// A client whose every call is answered by `answer` (by action, region, body), and
/// the calls it made.
pub(crate) fn client(answer: impl Fn(&Call) -> Answer + Send + Sync + 'static) -> (Client, Calls) {
    let calls: Calls = Arc::default();
    let seen = calls.clone();
    let mock = MockTransport::with_handler(move |request: &HttpRequest| {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let call = Call {
            action: header("X-TC-Action"),
            region: header("X-TC-Region"),
            body: serde_json::from_slice(request.body()).unwrap_or_default(),
        };
        seen.lock().unwrap().push(call.clone());
        let mut members = answer(&call)?;
        members["RequestId"] = format!("req-{}", seen.lock().unwrap().len()).into();
        let body = serde_json::json!({ "Response": members }).to_string();
        Ok(json_response(200, body))
    });
    let client = Client::builder()
        .region("ap-guangzhou")
        .credentials(Credentials::new("AKIDunit", "unit-secret"))
        .transport(mock)
        .build()
        .expect("client builds");
    (client, calls)
}

/// An error answer with `code`.
pub(crate) fn error(code: &str) -> Answer {
    Ok(serde_json::json!({"Error": {"Code": code, "Message": format!("{code} (scripted)")}}))
}

/// A run of `client` with an hour to go and quick polls.
pub(crate) fn run(client: &Client) -> Run {
    Run::new(
        client,
        Duration::from_secs(3600),
        (Duration::from_secs(1), Duration::from_secs(2)),
        None,
        Arc::new(SystemClock),
    )
}

/// Unix seconds of the source snapshots in these tests.
pub(crate) const TAKEN: i64 = 1_800_000_000;

/// A plan item of rule `prod` for `disk` (snapshot `snap-<disk>`, taken at [`TAKEN`])
/// into `destination`.
pub(crate) fn item(disk: &str, destination: &str, action: PlanAction) -> PlanItem {
    PlanItem {
        rule: "prod".into(),
        disk_id: format!("disk-{disk}"),
        source_region: "ap-guangzhou".into(),
        source_snapshot_id: Some(format!("snap-{disk}")),
        source_created_unix: Some(TAKEN),
        destination: Some(destination.into()),
        size_gb: 10,
        action,
    }
}

/// The calls of `action`.
pub(crate) fn of(calls: &Calls, action: &str) -> Vec<Call> {
    calls
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.action == action)
        .cloned()
        .collect()
}

/// The state a plan's items start from, looked at just now, each look good for a
/// minute.
pub(crate) fn of_plan(
    items: Vec<PlanItem>,
    regions: crate::state::Regions,
) -> (crate::state::ApplyState, Vec<crate::report::ReportItem>) {
    crate::state::ApplyState::of_plan(
        items,
        regions,
        tokio::time::Instant::now(),
        Duration::from_secs(60),
    )
}
