//! Shared pieces of the end-to-end tests: an emulator with known credentials and a
//! client pointed at it.
//!
//! Most tests reach the emulator in process ([`EmulatorHandle::transport`]) and run under
//! tokio's paused time, so they are exact and never wait; the few that test the wire
//! itself use [`tcp_emulator`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cbs_emulator::{Emulator, EmulatorBuilder, EmulatorHandle, Fault, FaultKind};
use tencentcloud_cbs::{
    BoxFuture, Client, ClientBuilder, Credentials, HttpRequest, HttpResponse, ProviderContext,
    RetryConfig, SharedTransport, Transport, TransportError,
};
use tokio::time::Instant;

/// The secret id the tests' emulators accept.
pub const SECRET_ID: &str = "AKIDe2etest000000000000000000000000";
/// Its key.
pub const SECRET_KEY: &str = "e2e-secret-key-do-not-log-me";

/// A one-thread runtime on tokio's paused clock, for tests that drive futures
/// themselves (property tests, tests with a global log subscriber).
pub fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
}

/// An emulator builder with the test credential and demo data, copies taking `copy`.
pub fn emulator_builder(copy: Duration) -> EmulatorBuilder {
    Emulator::builder()
        .credential(SECRET_ID, SECRET_KEY)
        .seed_demo(true)
        .copy_duration(copy)
}

/// An emulator in process with the test credential and demo data.
pub fn emulator() -> EmulatorHandle {
    emulator_builder(Duration::from_secs(1))
        .start_in_process()
        .expect("emulator starts")
}

/// An emulator listening on 127.0.0.1, for the tests of the wire itself.
pub async fn tcp_emulator() -> EmulatorHandle {
    emulator_builder(Duration::from_secs(1))
        .start()
        .await
        .expect("emulator starts")
}

/// A client builder for `emulator`, in process: its transport, the test credential,
/// `ap-guangzhou`, and quick retries.
pub fn client_builder(emulator: &EmulatorHandle) -> ClientBuilder {
    tcp_client_builder(emulator).transport(emulator.transport())
}

/// A client builder for `emulator` over its socket.
pub fn tcp_client_builder(emulator: &EmulatorHandle) -> ClientBuilder {
    Client::builder()
        .endpoint(emulator.endpoint())
        .region("ap-guangzhou")
        .credentials(Credentials::new(SECRET_ID, SECRET_KEY))
        .retry_config(
            RetryConfig::standard()
                .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
        )
}

/// A client for `emulator`, in process.
pub fn client(emulator: &EmulatorHandle) -> Client {
    client_builder(emulator).build().expect("client builds")
}

/// A clock that starts at the system time and then follows tokio's clock, so ages
/// measured under paused time agree with the emulator's emulated time.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    wall: std::time::SystemTime,
    start: Instant,
}

impl TokioClock {
    /// Reads the system time now, and tokio's time from then on.
    pub fn new() -> Self {
        TokioClock {
            wall: std::time::SystemTime::now(),
            start: Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl tencentcloud_cbs::Clock for TokioClock {
    fn now(&self) -> std::time::SystemTime {
        self.wall + self.start.elapsed()
    }
}

/// How many requests of each action went out.
pub fn counts(sent: &[(Instant, String)]) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for (_, action) in sent {
        *counts.entry(action.clone()).or_default() += 1;
    }
    counts
}

/// A transport that notes when each request goes out (on tokio's clock) and which
/// action it carries, then hands it on.
#[derive(Debug, Clone)]
pub struct Recording<T> {
    inner: T,
    sent: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl<T: Transport> Recording<T> {
    /// Records what goes through `inner`.
    pub fn new(inner: T) -> Self {
        Recording {
            inner,
            sent: Arc::default(),
        }
    }

    /// `(when, action)` of every request so far.
    pub fn sent(&self) -> Vec<(Instant, String)> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl<T: Transport> Transport for Recording<T> {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        let action = request
            .headers()
            .get("x-tc-action")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        self.sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((Instant::now(), action));
        self.inner.send(request)
    }
}

/// A `tracing` writer that keeps everything written to it.
#[derive(Clone, Debug, Default)]
pub struct CapturedLogs(pub Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// A subscriber logging everything, down to TRACE, into this writer.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(self.clone())
            .with_ansi(false)
            .finish()
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

/// Runs `run()` `runs` times, each stopped (its future dropped, as a killed process
/// stops) after a moment drawn from `[0, window)` by a generator seeded with `seed`, so
/// the moments are the same on every run of a test; runs that finish first just
/// finish. Returns how many were stopped.
pub async fn runs_killed_at_random<F, Fut>(
    runs: usize,
    window: Duration,
    seed: u64,
    mut run: F,
) -> usize
where
    F: FnMut() -> Fut,
    Fut: std::future::Future,
{
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).max(1);
    let window_ms = window.as_millis().clamp(1, u128::from(u64::MAX)) as u64;
    let mut killed = 0;
    for _ in 0..runs {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let after = Duration::from_millis(state % window_ms);
        if tokio::time::timeout(after, run()).await.is_err() {
            killed += 1;
        }
    }
    killed
}

/// An injected `InternalError` (retryable).
pub fn internal_error() -> Fault {
    Fault::new(FaultKind::Error {
        code: "InternalError".into(),
        message: String::new(),
    })
}

/// A provider context lending `transport`.
pub fn context(transport: impl Transport) -> ProviderContext {
    ProviderContext::new(SharedTransport::new(transport))
}
