//! A local Tencent Cloud CBS endpoint for tests, demos and offline development.
//!
//! It speaks the real protocol (API 3.0 over HTTP, `POST` JSON or `GET` form), checks
//! TC3-HMAC-SHA256 signatures with [`tc3_sign`]'s verifier, answers every failure with
//! the service's error envelope and code, and keeps disks and snapshots per region.
//! Cross-region snapshot copies take time and report progress, so code that copies and
//! waits can be exercised end to end. Faults can be injected: error codes, delays,
//! dropped connections, broken bodies, 502 pages.
//!
//! Implemented for real: `CopySnapshotCrossRegions`, `DescribeSnapshots`,
//! `CreateSnapshot`, `DeleteSnapshots`, `ModifySnapshotAttribute`, `DescribeDisks`,
//! `CreateDisks`, `DescribeSnapshotOverview`. Every other action of the API answers
//! `UnsupportedOperation`; unknown actions answer `InvalidAction`.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use std::time::Duration;
//! use cbs_emulator::Emulator;
//!
//! let emulator = Emulator::builder()
//!     .credential("AKIDtest", "test-secret")
//!     .seed_demo(true)
//!     .copy_duration(Duration::from_secs(2))
//!     .start()
//!     .await?;
//! println!("endpoint {}", emulator.endpoint());
//! // … point a client at it …
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod actions;
mod auth;
mod clock;
mod faults;
mod ids;
mod local;
mod protocol;
mod rate_limit;
mod server;
mod world;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tc3_sign::{Credentials, Verifier};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use actions::IMPLEMENTED;
pub use faults::{Fault, FaultKind, parse_fault_file};
pub use local::LocalTransport;
pub use protocol::MAX_REQUEST_BYTES;
pub use world::REGIONS;

use auth::CredentialStore;
use clock::EmuClock;
use faults::FaultList;
use protocol::{Shared, lock};
use rate_limit::RateLimiter;
use world::{Progress, World};

/// The secret id the emulator accepts when no credential is configured.
pub const DEMO_SECRET_ID: &str = "AKIDLOCALEMULATOR0000000000000000000";
/// The secret key that goes with [`DEMO_SECRET_ID`]. Not a secret: it only opens the
/// local emulator.
pub const DEMO_SECRET_KEY: &str = "local-emulator-demo-secret-key00";

/// Entry point: `Emulator::builder()`.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// Settings for a new emulator, starting from the defaults.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

/// Settings for an emulator.
#[derive(Debug)]
pub struct EmulatorBuilder {
    bind: SocketAddr,
    credentials: Vec<(Credentials, Option<u64>)>,
    seed_demo: bool,
    copy_duration: Duration,
    create_duration: Duration,
    rate_limit: u32,
    snapshot_quota: usize,
    faults: Vec<Fault>,
    time_scale: f64,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            credentials: Vec::new(),
            seed_demo: false,
            copy_duration: Duration::from_secs(10),
            create_duration: Duration::ZERO,
            rate_limit: 20,
            snapshot_quota: 1000,
            faults: Vec::new(),
            time_scale: 1.0,
        }
    }
}

impl EmulatorBuilder {
    /// The address to listen on; `127.0.0.1:0` (loopback, any free port) by default.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Accepts this secret id and key. Without any, the demo credential
    /// ([`DEMO_SECRET_ID`], [`DEMO_SECRET_KEY`]) is accepted.
    pub fn credential(
        mut self,
        secret_id: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        self.credentials
            .push((Credentials::new(secret_id, secret_key), None));
        self
    }

    /// Accepts temporary credentials: requests must carry `token` in `X-TC-Token`, and
    /// fail with `AuthFailure.TokenFailure` from `expires_unix` on.
    pub fn temporary_credential(
        mut self,
        secret_id: impl Into<String>,
        secret_key: impl Into<String>,
        token: impl Into<String>,
        expires_unix: u64,
    ) -> Self {
        self.credentials.push((
            Credentials::new(secret_id, secret_key).with_token(token),
            Some(expires_unix),
        ));
        self
    }

    /// Starts with a few disks and `NORMAL` snapshots in several regions, among them
    /// `snap-demo0001` in `ap-guangzhou`.
    pub fn seed_demo(mut self, seed: bool) -> Self {
        self.seed_demo = seed;
        self
    }

    /// How long a cross-region copy takes (10 s by default).
    pub fn copy_duration(mut self, duration: Duration) -> Self {
        self.copy_duration = duration;
        self
    }

    /// How long `CreateSnapshot` takes to reach `NORMAL` (immediately by default).
    pub fn create_duration(mut self, duration: Duration) -> Self {
        self.create_duration = duration;
        self
    }

    /// Requests per second per credential and action before `RequestLimitExceeded`
    /// (20 by default, as the service documents; 0 turns the limit off).
    pub fn rate_limit(mut self, per_second: u32) -> Self {
        self.rate_limit = per_second;
        self
    }

    /// How many snapshots a region may hold before `InsufficientSnapshotQuota`.
    pub fn snapshot_quota(mut self, quota: usize) -> Self {
        self.snapshot_quota = quota;
        self
    }

    /// How much faster than tokio's clock emulated time runs (1 by default; 60: a second
    /// is a minute). Durations given here are in emulated time.
    pub fn time_scale(mut self, scale: f64) -> Self {
        self.time_scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        self
    }

    /// Injects a fault from the start.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// Binds the socket and starts serving on the current Tokio runtime. The handle's
    /// [`transport`](EmulatorHandle::transport) reaches the same emulator in process.
    pub async fn start(self) -> std::io::Result<EmulatorHandle> {
        let listener = TcpListener::bind(self.bind).await?;
        let addr = listener.local_addr()?;
        let shared = self.into_shared();
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, shared.clone(), stopped));
        Ok(EmulatorHandle {
            addr: Some(addr),
            shared,
            stop,
            task: Some(task),
        })
    }

    /// Starts the emulator in process only, without a socket: reach it with the
    /// handle's [`transport`](EmulatorHandle::transport).
    pub fn start_in_process(self) -> EmulatorHandle {
        let (stop, _) = watch::channel(false);
        EmulatorHandle {
            addr: None,
            shared: self.into_shared(),
            stop,
            task: None,
        }
    }

    fn into_shared(self) -> Arc<Shared> {
        let mut store = CredentialStore::default();
        if self.credentials.is_empty() {
            store.add(Credentials::new(DEMO_SECRET_ID, DEMO_SECRET_KEY), None);
        }
        for (credentials, expiry) in self.credentials {
            store.add(credentials, expiry);
        }
        let clock = EmuClock::new(self.time_scale);
        let mut world = World::new(
            self.copy_duration,
            self.create_duration,
            self.snapshot_quota,
        );
        world.now_ms = clock.now_ms();
        if self.seed_demo {
            world.seed_demo();
        }
        let mut faults = FaultList::default();
        for fault in self.faults {
            faults.push(fault);
        }
        Arc::new(Shared {
            world: Mutex::new(world),
            credentials: RwLock::new(store),
            faults: Mutex::new(faults),
            limiter: Mutex::new(RateLimiter::new(self.rate_limit)),
            verifier: Verifier::new(cbs_model::SERVICE),
            clock,
        })
    }
}

/// A running emulator. Dropping it stops the server; [`shutdown`](Self::shutdown) also
/// waits for open exchanges to finish.
#[derive(Debug)]
pub struct EmulatorHandle {
    addr: Option<SocketAddr>,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// A snapshot as the emulator holds it, for tests to inspect.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotInfo {
    /// The snapshot id.
    pub id: String,
    /// Its region.
    pub region: String,
    /// Its name.
    pub name: String,
    /// Its state now (`NORMAL`, `COPYING_FROM_REMOTE`, …).
    pub state: String,
    /// Progress in percent.
    pub percent: u64,
    /// The source snapshot, for a cross-region copy.
    pub copied_from: Option<String>,
}

/// A disk as the emulator holds it, for tests to inspect.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DiskInfo {
    /// The disk id.
    pub id: String,
    /// Its region.
    pub region: String,
    /// Its name.
    pub name: String,
    /// Its size in GB.
    pub size_gb: u64,
}

impl EmulatorHandle {
    /// The address it listens on; `None` when it runs in process only.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// The endpoint URL, `http://IP:PORT`; in process only, a loopback URL the
    /// [`transport`](Self::transport) ignores.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.host())
    }

    /// The host clients put in `Host` and sign, `IP:PORT`.
    pub fn host(&self) -> String {
        match self.addr {
            Some(addr) => addr.to_string(),
            None => "127.0.0.1".to_owned(),
        }
    }

    /// A transport that reaches this emulator in process, without a socket.
    pub fn transport(&self) -> LocalTransport {
        LocalTransport {
            shared: self.shared.clone(),
        }
    }

    /// Injects a fault now; it applies to calls that arrive from now on.
    pub fn inject(&self, fault: Fault) {
        lock(&self.shared.faults).push(fault);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Accepts another credential from now on.
    pub fn add_credential(&self, secret_id: &str, secret_key: &str) {
        self.shared
            .credentials
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .add(Credentials::new(secret_id, secret_key), None);
    }

    /// Every snapshot of `region`, oldest first.
    pub fn snapshots(&self, region: &str) -> Vec<SnapshotInfo> {
        let world = lock(&self.shared.world);
        let now = self.shared.clock.now_ms();
        let mut records: Vec<_> = world.snapshots_in(region).collect();
        records.sort_by_key(|s| s.seq);
        records
            .into_iter()
            .map(|s| {
                let (state, percent) = s.status(now);
                SnapshotInfo {
                    id: s.id.clone(),
                    region: s.region.clone(),
                    name: s.name.clone(),
                    state: state.as_str().to_owned(),
                    percent,
                    copied_from: s.copied_from.as_ref().map(|(id, _)| id.clone()),
                }
            })
            .collect()
    }

    /// Every disk of `region`, oldest first.
    pub fn disks(&self, region: &str) -> Vec<DiskInfo> {
        let world = lock(&self.shared.world);
        let mut records: Vec<_> = world
            .disks
            .values()
            .filter(|d| d.region == region)
            .collect();
        records.sort_by_key(|d| d.seq);
        records
            .into_iter()
            .map(|d| DiskInfo {
                id: d.id.clone(),
                region: d.region.clone(),
                name: d.name.clone(),
                size_gb: d.size,
            })
            .collect()
    }

    /// Adds `count` `NORMAL` snapshots to `region` directly (no API calls, no rate
    /// limit); returns their ids.
    pub fn add_snapshots(&self, region: &str, count: usize) -> Vec<String> {
        let mut world = lock(&self.shared.world);
        (0..count)
            .map(|i| {
                world.add_snapshot(None, region, &format!("bulk-{i:04}"), None, Progress::Done)
            })
            .collect()
    }

    /// Removes a snapshot directly, as if someone deleted it elsewhere; `false` when
    /// there was none.
    pub fn remove_snapshot(&self, snapshot_id: &str) -> bool {
        lock(&self.shared.world)
            .snapshots
            .remove(snapshot_id)
            .is_some()
    }

    /// Stops accepting connections and waits (up to 5 s) for open exchanges to finish.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
