//! Starts the emulator in-process and sends it one request signed by hand with
//! `tc3-sign`, printing the raw JSON answer: the smallest complete use of the emulator
//! without the SDK's client.
//!
//! ```text
//! cargo run -p cbs-emulator --example hand_signed
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use cbs_emulator::{DEMO_SECRET_ID, DEMO_SECRET_KEY, Emulator};
use cbs_transport::{HyperTransport, Transport};
use tc3_sign::{Credentials, SignableRequest, sign};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::builder().seed_demo(true).start().await?;
    let host = emulator.host();
    let body = br#"{"SnapshotId":"snap-demo0001","DestinationRegions":["ap-beijing"]}"#;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let credentials = Credentials::new(DEMO_SECRET_ID, DEMO_SECRET_KEY);
    let signed = sign(
        &SignableRequest::post_json(&host, body),
        &credentials,
        "cbs",
        now,
    )?;

    let mut request = http::Request::post(format!("{}/", emulator.endpoint()))
        .header("content-type", "application/json")
        .header("host", &host)
        .header("x-tc-action", "CopySnapshotCrossRegions")
        .header("x-tc-version", "2017-03-12");
    for (name, value) in signed.headers() {
        request = request.header(name, value);
    }
    let transport = HyperTransport::builder().allow_http(true).build()?;
    let response = transport
        .send(request.body(Bytes::from_static(body))?)
        .await?;
    println!("{}", String::from_utf8_lossy(response.body()));
    emulator.shutdown().await;
    Ok(())
}
