//! Sends one request with the default transport and reports what happened, including
//! whether a failed request may have been sent.
//!
//! ```text
//! cargo run -p cbs-transport --example send -- https://cbs.tencentcloudapi.com/
//! cargo run -p cbs-transport --example send -- http://127.0.0.1:8080/ --allow-http
//! ```

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use cbs_transport::{HyperTransport, Transport};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(url) = args.next() else {
        eprintln!("usage: send URL [--allow-http]");
        return ExitCode::from(2);
    };
    let allow_http = args.any(|a| a == "--allow-http");
    let transport = match HyperTransport::builder()
        .allow_http(allow_http)
        .connect_timeout(Duration::from_secs(3))
        .request_timeout(Duration::from_secs(10))
        .build()
    {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let request = match http::Request::post(url.as_str())
        .header("content-type", "application/json")
        .body(Bytes::from_static(b"{}"))
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bad URL: {e}");
            return ExitCode::from(2);
        }
    };
    match transport.send(request).await {
        Ok(response) => {
            println!(
                "HTTP {} with {} bytes",
                response.status(),
                response.body().len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!(
                "{e} (kind {:?}; may have been sent: {})",
                e.kind(),
                e.may_have_been_sent()
            );
            let mut source = e.source();
            while let Some(cause) = source {
                println!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}
