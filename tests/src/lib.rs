//! Shared pieces of the end-to-end tests: an emulator with known credentials and a
//! client pointed at it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cbs_emulator::{Emulator, EmulatorBuilder, EmulatorHandle};
use tencentcloud_cbs::{Client, ClientBuilder, Credentials, RetryConfig};

/// The secret id the tests' emulators accept.
pub const SECRET_ID: &str = "AKIDe2etest000000000000000000000000";
/// Its key.
pub const SECRET_KEY: &str = "e2e-secret-key-do-not-log-me";

/// An emulator builder with the test credential and demo data, copies taking `copy`.
pub fn emulator_builder(copy: Duration) -> EmulatorBuilder {
    Emulator::builder()
        .credential(SECRET_ID, SECRET_KEY)
        .seed_demo(true)
        .copy_duration(copy)
}

/// Starts an emulator with the test credential and demo data.
pub async fn emulator() -> EmulatorHandle {
    emulator_builder(Duration::from_secs(1))
        .start()
        .await
        .expect("emulator starts")
}

/// A client builder for `emulator`: its endpoint, the test credential, `ap-guangzhou`,
/// and fast retries so tests do not wait.
pub fn client_builder(emulator: &EmulatorHandle) -> ClientBuilder {
    Client::builder()
        .endpoint(emulator.endpoint())
        .region("ap-guangzhou")
        .credentials(Credentials::new(SECRET_ID, SECRET_KEY))
        .retry_config(
            RetryConfig::standard()
                .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
        )
}

/// A client for `emulator`.
pub fn client(emulator: &EmulatorHandle) -> Client {
    client_builder(emulator).build().expect("client builds")
}

/// A `tracing` writer that keeps everything written to it.
#[derive(Clone, Debug, Default)]
pub struct CapturedLogs(pub Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
