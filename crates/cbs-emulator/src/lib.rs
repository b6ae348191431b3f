//! A local Tencent Cloud CBS for tests, demos and offline development.
//!
//! It speaks the real protocol (API 3.0 over HTTP or HTTPS: `POST` JSON, `GET` form,
//! and the legacy v1 signed forms), checks signatures with [`tc3_sign`]'s verifiers,
//! answers every failure with the service's error envelope and code, and implements
//! every action of the API (both sites' models) with state: disks attached to instances,
//! snapshots created and copied across regions over emulated time, auto snapshot
//! policies that fire on schedule and prune by retention, backups, snapshot groups,
//! share permissions, remote disks, prices and quotas. Requests with the same
//! `ClientToken` run once.
//!
//! Emulated time runs on tokio's clock, scaled ([`time_scale`](EmulatorBuilder::time_scale)),
//! so tests under paused time are exact and a demo can compress hours into minutes. The
//! state can persist in a file ([`state_file`](EmulatorBuilder::state_file)). Faults can
//! be injected per action and per region: error codes, delays, dropped connections,
//! broken bodies, 502 pages, answers of any shape.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
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
//! // … point a client at it (or use `emulator.transport()` in process) …
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
mod persist;
mod protocol;
mod rate_limit;
mod server;
mod state;
mod tags;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tc3_sign::{Credentials, Verifier};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use faults::{Fault, FaultKind, Latency, Spread, parse_fault_file};
pub use local::LocalTransport;
pub use persist::StateFileError;
pub use protocol::MAX_REQUEST_BYTES;
pub use state::REGIONS;

/// Whether `name` has the shape of a zone of a region the emulator serves: the region, a
/// dash and a number (`ap-guangzhou-4`).
pub fn is_zone_name(name: &str) -> bool {
    state::region_of(name).is_some()
}

use auth::CredentialStore;
use clock::EmuClock;
use faults::FaultList;
use persist::StateFile;
use protocol::{Shared, lock};
use rate_limit::RateLimiter;
use state::{Accounts, Settings, World};

/// The secret id the emulator accepts when no credential is configured.
pub const DEMO_SECRET_ID: &str = "AKIDLOCALEMULATOR0000000000000000000";
/// The secret key that goes with [`DEMO_SECRET_ID`]. Not a secret: it only opens the
/// local emulator.
pub const DEMO_SECRET_KEY: &str = "local-emulator-demo-secret-key00";

/// The default account's id (UIN) unless [`account`](EmulatorBuilder::account) sets one.
pub const DEFAULT_ACCOUNT: &str = "100000000001";
/// A second account for demos of restoring from another account (`tccbs --local` holds
/// it): its id, secret id and key. Not secrets: they only open the local emulator.
pub const DEMO_RECOVERY_ACCOUNT: &str = "100000000002";
/// The secret id of [`DEMO_RECOVERY_ACCOUNT`].
pub const DEMO_RECOVERY_SECRET_ID: &str = "AKIDLOCALRECOVERY000000000000000000";
/// The secret key of [`DEMO_RECOVERY_ACCOUNT`].
pub const DEMO_RECOVERY_SECRET_KEY: &str = "local-emulator-recovery-key00000";

/// Entry point: `Emulator::builder()`.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// Settings for a new emulator, starting from the defaults.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

/// Why an emulator could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The socket could not be bound.
    Bind(std::io::Error),
    /// The state file cannot be used.
    State(StateFileError),
    /// The TLS certificate could not be made or written.
    Tls(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Bind(e) => write!(f, "cannot listen: {e}"),
            StartError::State(e) => e.fmt(f),
            StartError::Tls(e) => write!(f, "cannot set up TLS: {e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Bind(e) => Some(e),
            StartError::State(e) => Some(e),
            StartError::Tls(_) => None,
        }
    }
}

/// Settings for an emulator.
#[derive(Debug)]
pub struct EmulatorBuilder {
    bind: SocketAddr,
    credentials: Vec<(Credentials, Option<u64>)>,
    accounts: Vec<(String, Credentials)>,
    seed_demo: bool,
    settings: Settings,
    rate_limit: u32,
    rate_limit_per_account: bool,
    faults: Vec<Fault>,
    time_scale: f64,
    state_file: Option<PathBuf>,
    instances: Vec<(String, String, String)>,
    tls_certificate: Option<PathBuf>,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            credentials: Vec::new(),
            accounts: Vec::new(),
            seed_demo: false,
            settings: Settings::default(),
            rate_limit: 20,
            rate_limit_per_account: false,
            faults: Vec::new(),
            time_scale: 1.0,
            state_file: None,
            instances: Vec::new(),
            tls_certificate: None,
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

    /// Adds another account, `uin`, reached with this secret id and key (repeatable).
    /// Each account has its own disks, snapshots, policies and quotas, and calls signed
    /// with its credential have their own rate limits; the default account (the one
    /// [`credential`](Self::credential) and the demo credential act as, see
    /// [`account`](Self::account)) can share snapshots with it, and the other way
    /// round. Only the default account gets [demo data](Self::seed_demo).
    pub fn account_credential(
        mut self,
        uin: impl Into<String>,
        secret_id: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        self.accounts
            .push((uin.into(), Credentials::new(secret_id, secret_key)));
        self
    }

    /// Accepts temporary credentials: requests must carry `token` (`X-TC-Token`, or the
    /// `Token` parameter of a v1 request), and fail with `AuthFailure.TokenFailure` from
    /// `expires_unix` on.
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

    /// Starts with demo data: disks and `NORMAL` snapshots in several regions (among them
    /// `snap-demo0001` in `ap-guangzhou`), instances to attach disks to in `ap-guangzhou`,
    /// `ap-shanghai` and `ap-beijing`, and a small production fleet (`prod-db-1`,
    /// `prod-db-2`, `prod-web-1` in `ap-guangzhou`) with snapshots of several ages.
    pub fn seed_demo(mut self, seed: bool) -> Self {
        self.seed_demo = seed;
        self
    }

    /// Knows an instance, `id` in `zone` of `region`, that disks can attach to.
    pub fn instance(
        mut self,
        region: impl Into<String>,
        zone: impl Into<String>,
        id: impl Into<String>,
    ) -> Self {
        self.instances.push((region.into(), zone.into(), id.into()));
        self
    }

    /// How long, in emulated time, a cross-region copy of a 100 GB snapshot takes
    /// (10 s by default); copies of other sizes take proportionally longer or shorter.
    pub fn copy_duration(mut self, duration: Duration) -> Self {
        self.settings.copy_ms_per_100gb = duration.as_millis() as u64;
        self
    }

    /// How long, in emulated time, a 100 GB disk made from a snapshot takes to become
    /// usable (zero by default: at once), proportional to size. Meanwhile it shows as
    /// the drill and the restore wait for it: `Rollbacking` with a `RollbackPercent`.
    /// The API documents no such time (the data of a disk made from a snapshot is
    /// loaded in the background); set it to rehearse a recovery that takes hours.
    pub fn restore_duration(mut self, duration: Duration) -> Self {
        self.settings.restore_ms_per_100gb = duration.as_millis() as u64;
        self
    }

    /// How long, in emulated time, creating a snapshot of a 100 GB disk takes (5 s by
    /// default; zero: at once), proportional to size like copies.
    pub fn create_duration(mut self, duration: Duration) -> Self {
        self.settings.create_ms_per_100gb = duration.as_millis() as u64;
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

    /// Requests per second per credential and action before `RequestLimitExceeded`
    /// (20 by default, as the service documents; 0 turns the limit off).
    pub fn rate_limit(mut self, per_second: u32) -> Self {
        self.rate_limit = per_second;
        self
    }

    /// Counts the rate limit per account and action instead of per credential: every
    /// credential of an account (sub-users, roles) then shares one budget. The API
    /// pages give the figure, not whether it is counted per credential or per account,
    /// so both can be tried.
    pub fn rate_limit_per_account(mut self, per_account: bool) -> Self {
        self.rate_limit_per_account = per_account;
        self
    }

    /// How many snapshots a region may hold before `InsufficientSnapshotQuota`, instead
    /// of the published default of 64 plus 64 per disk in the region (accounts can have
    /// theirs raised, and the API has no call that reports it).
    pub fn snapshot_quota(mut self, quota: usize) -> Self {
        self.settings.snapshot_quota = Some(quota);
        self
    }

    /// Lets the owner delete a snapshot that is shared: it disappears for every account
    /// it was shared with. By default the emulator refuses, as the error catalogue
    /// describes `UnsupportedOperation.SnapHasShared` ("cancel the sharing first"); the
    /// API reference does not say whether every console or API path refuses, so this
    /// switch lets a test assume the worse case: shares gone with the snapshot.
    pub fn delete_shared(mut self, allow: bool) -> Self {
        self.settings.delete_shared = allow;
        self
    }

    /// How long a `ClientToken` makes a repeated `CreateDisks` return the disks the
    /// first one made (emulated time; 24 hours by default). The API reference says a
    /// token makes a request idempotent and names no window; a window is what a tool
    /// must not count on beyond, hence this switch.
    pub fn client_token_window(mut self, window: Duration) -> Self {
        self.settings.client_token_window_ms = window.as_millis().min(u64::MAX as u128) as u64;
        self
    }

    /// Sells `disk_type` out in `zone` from the start: `DescribeDiskConfigQuota` says
    /// it is not available there and `CreateDisks` refuses it with
    /// `ResourceInsufficient` (see [`EmulatorHandle::sell_out`]).
    pub fn sold_out(mut self, zone: impl Into<String>, disk_type: impl Into<String>) -> Self {
        self.settings.sold_out.push((zone.into(), disk_type.into()));
        self
    }

    /// Lets a cross-region copy carry its source snapshot's tags. By default it does
    /// not: `CopySnapshotCrossRegions` takes no tags and its reference does not say
    /// that the source's are copied (nor that they are not), so the emulator takes the
    /// reading a tool must cope with; this switch takes the other.
    pub fn copy_tags(mut self, copy: bool) -> Self {
        self.settings.copy_tags = copy;
        self
    }

    /// Adds an availability zone the built-in table lacks, such as `ap-guangzhou-8`
    /// (the service opens zones over time). A name that is not a known region, a dash
    /// and a number is ignored; [`is_zone_name`] tells which are accepted.
    pub fn zone(mut self, zone: impl Into<String>) -> Self {
        let zone = zone.into();
        if is_zone_name(&zone) {
            self.settings.extra_zones.push(zone);
        }
        self
    }

    /// The account id (UIN) the credentials belong to.
    pub fn account(mut self, uin: impl Into<String>) -> Self {
        self.settings.account = uin.into();
        self
    }

    /// Keeps the state in `path`: loaded at start if the file exists (a file that cannot
    /// be read is refused, not overwritten), saved atomically after every change.
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// Serves HTTPS with a self-signed certificate for `127.0.0.1` and `localhost`,
    /// written (PEM) to `certificate`, for clients that only speak HTTPS.
    pub fn tls(mut self, certificate: impl Into<PathBuf>) -> Self {
        self.tls_certificate = Some(certificate.into());
        self
    }

    /// Injects a fault from the start.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// Binds the socket and starts serving on the current Tokio runtime. The handle's
    /// [`transport`](EmulatorHandle::transport) reaches the same emulator in process.
    pub async fn start(self) -> Result<EmulatorHandle, StartError> {
        let listener = TcpListener::bind(self.bind)
            .await
            .map_err(StartError::Bind)?;
        let addr = listener.local_addr().map_err(StartError::Bind)?;
        let tls = match &self.tls_certificate {
            Some(path) => Some(tls::acceptor(path).map_err(StartError::Tls)?),
            None => None,
        };
        let shared = self.into_shared()?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(server::serve(
            listener,
            tls.clone(),
            shared.clone(),
            stopped,
        ));
        Ok(EmulatorHandle {
            addr: Some(addr),
            tls: tls.is_some(),
            shared,
            stop,
            task: Some(task),
        })
    }

    /// Starts the emulator in process only, without a socket: reach it with the
    /// handle's [`transport`](EmulatorHandle::transport).
    pub fn start_in_process(self) -> Result<EmulatorHandle, StartError> {
        let (stop, _) = watch::channel(false);
        Ok(EmulatorHandle {
            addr: None,
            tls: false,
            shared: self.into_shared()?,
            stop,
            task: None,
        })
    }

    fn into_shared(self) -> Result<Arc<Shared>, StartError> {
        let mut store = CredentialStore::default();
        let default_account = self.settings.account.clone();
        if self.credentials.is_empty() {
            store.add(
                Credentials::new(DEMO_SECRET_ID, DEMO_SECRET_KEY),
                None,
                &default_account,
            );
        }
        for (credentials, expiry) in self.credentials {
            store.add(credentials, expiry, &default_account);
        }
        for (uin, credentials) in &self.accounts {
            store.add(credentials.clone(), None, uin);
        }
        let state_file = self.state_file.map(StateFile::new);
        let restored = match &state_file {
            Some(file) => file.load().map_err(StartError::State)?,
            None => None,
        };
        let mut clock = EmuClock::new(self.time_scale);
        let (world, others) = match restored {
            Some((mut world, others)) => {
                // Emulated time goes on from where the saved state left it.
                clock = clock.resume_at(world.now_ms);
                world.settings = self.settings;
                (world, others)
            }
            None => {
                let mut world = World::new(self.settings);
                world.now_ms = clock.now_ms();
                if self.seed_demo {
                    world.seed_demo();
                }
                (world, Default::default())
            }
        };
        let mut world = world;
        for (region, zone, id) in &self.instances {
            world.add_instance(region, zone, id);
        }
        let mut accounts = Accounts::new(world);
        for (uin, other) in others {
            accounts.restore(uin, other);
        }
        let uins: Vec<String> = accounts
            .others()
            .map(|(uin, _)| uin.clone())
            .chain(self.accounts.iter().map(|(uin, _)| uin.clone()))
            .collect();
        for uin in uins {
            accounts.ensure(&uin);
        }
        if let Some(file) = &state_file {
            file.save(&accounts)
                .map_err(|e| StartError::State(persist_error(file, e)))?;
        }
        let mut faults = FaultList::default();
        for fault in self.faults {
            faults.push(fault);
        }
        Ok(Arc::new(Shared {
            accounts: Mutex::new(accounts),
            credentials: RwLock::new(store),
            faults: Mutex::new(faults),
            limiter: Mutex::new(RateLimiter::new(
                self.rate_limit,
                self.rate_limit_per_account,
            )),
            verifier: Verifier::new(cbs_model::SERVICE),
            tag_verifier: Verifier::new("tag"),
            clock,
            state_file,
        }))
    }
}

fn persist_error(file: &StateFile, e: std::io::Error) -> StateFileError {
    file.error(e.to_string())
}

/// A running emulator. Dropping it stops the server; [`shutdown`](Self::shutdown) also
/// waits for open exchanges to finish.
#[derive(Debug)]
pub struct EmulatorHandle {
    addr: Option<SocketAddr>,
    tls: bool,
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
    /// The disk it was taken of.
    pub disk_id: String,
    /// The source snapshot, for a cross-region copy.
    pub copied_from: Option<String>,
    /// The accounts it is shared with, in order.
    pub shared_with: Vec<String>,
    /// Its tags, `(key, value)` in the order they were bound.
    pub tags: Vec<(String, String)>,
}

/// A disk as the emulator holds it, for tests to inspect.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DiskInfo {
    /// The disk id.
    pub id: String,
    /// Its region.
    pub region: String,
    /// Its zone.
    pub zone: String,
    /// Its name.
    pub name: String,
    /// Its size in GB.
    pub size_gb: u64,
    /// The instance it is attached to.
    pub instance_id: Option<String>,
    /// Its tags, `(key, value)` in the order they were bound.
    pub tags: Vec<(String, String)>,
}

impl EmulatorHandle {
    /// The address it listens on; `None` when it runs in process only.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// The endpoint URL, `http://IP:PORT` (or `https://` with TLS); in process only, a
    /// loopback URL the [`transport`](Self::transport) ignores.
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.host())
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

    /// Accepts another credential of the default account from now on.
    pub fn add_credential(&self, secret_id: &str, secret_key: &str) {
        let account = lock(&self.shared.accounts).default_account().to_owned();
        self.shared
            .credentials
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .add(Credentials::new(secret_id, secret_key), None, account);
    }

    /// The default account's id (UIN).
    pub fn default_account(&self) -> String {
        lock(&self.shared.accounts).default_account().to_owned()
    }

    /// Knows another instance from now on.
    pub fn add_instance(&self, region: &str, zone: &str, id: &str) {
        self.shared
            .change(|world| world.add_instance(region, zone, id));
    }

    /// Every snapshot of the default account in `region`, oldest first, as of now.
    pub fn snapshots(&self, region: &str) -> Vec<SnapshotInfo> {
        self.snapshots_of(&self.default_account(), region)
    }

    /// Every snapshot `account` owns in `region`, oldest first, as of now (none for an
    /// account the emulator does not hold).
    pub fn snapshots_of(&self, account: &str, region: &str) -> Vec<SnapshotInfo> {
        self.shared.change_accounts(|accounts| {
            let Some(world) = accounts.world(account) else {
                return Vec::new();
            };
            let mut records: Vec<_> = world.snapshots_in(region).collect();
            records.sort_by_key(|s| (s.created_ms, s.seq));
            records
                .into_iter()
                .map(|s| {
                    let view = world.snapshot_view(s);
                    SnapshotInfo {
                        id: s.id.clone(),
                        region: s.region.clone(),
                        name: s.name.clone(),
                        state: view
                            .snapshot_state
                            .map(|v| v.as_str().to_owned())
                            .unwrap_or_default(),
                        percent: view.percent.unwrap_or(0),
                        disk_id: s.disk_id.clone(),
                        copied_from: s.copied_from.as_ref().map(|(id, _)| id.clone()),
                        shared_with: s.shared_with.iter().map(|(a, _)| a.clone()).collect(),
                        tags: s.tags.clone(),
                    }
                })
                .collect()
        })
    }

    /// Every disk of the default account in `region` (those in the recycle bin
    /// aside), oldest first.
    pub fn disks(&self, region: &str) -> Vec<DiskInfo> {
        self.disks_of(&self.default_account(), region)
    }

    /// Every disk `account` has in `region` (those in the recycle bin aside), oldest
    /// first.
    pub fn disks_of(&self, account: &str, region: &str) -> Vec<DiskInfo> {
        self.shared.change_accounts(|accounts| {
            let Some(world) = accounts.world(account) else {
                return Vec::new();
            };
            let mut records: Vec<_> = world.disks_in(region).filter(|d| !d.recycled).collect();
            records.sort_by_key(|d| d.seq);
            records
                .into_iter()
                .map(|d| DiskInfo {
                    id: d.id.clone(),
                    region: d.region.clone(),
                    zone: d.zone.clone(),
                    name: d.name.clone(),
                    size_gb: d.size_gb,
                    instance_id: d.instance_id.clone(),
                    tags: d.tags.clone(),
                })
                .collect()
        })
    }

    /// Adds `count` `NORMAL` snapshots to `region` directly (no API calls, no rate
    /// limit, no quota), of one new 50 GB disk; returns their ids.
    pub fn add_snapshots(&self, region: &str, count: usize) -> Vec<String> {
        self.shared.change(|world| {
            let zone = state::default_zone(region);
            let disk_id = world.add_disk(region, &zone, "bulk", 50, "CLOUD_PREMIUM");
            let disk = world.disks[&disk_id].clone();
            (0..count)
                .map(|i| world.add_snapshot_of(&disk, &format!("bulk-{i:04}"), 0))
                .collect()
        })
    }

    /// Adds `count` disks named `{prefix}-0000`, `{prefix}-0001`, … to `region`, each
    /// with one `NORMAL` snapshot, directly (no API calls, no rate limit, no quota), as
    /// a fleet to replicate; returns the disk ids.
    pub fn add_fleet(&self, region: &str, prefix: &str, count: usize, size_gb: u64) -> Vec<String> {
        self.shared.change(|world| {
            let zone = state::default_zone(region);
            (0..count)
                .map(|i| {
                    let name = format!("{prefix}-{i:04}");
                    let disk_id = world.add_disk(region, &zone, &name, size_gb, "CLOUD_SSD");
                    let disk = world.disks[&disk_id].clone();
                    world.add_snapshot_of(&disk, &format!("{name} nightly"), 0);
                    disk_id
                })
                .collect()
        })
    }

    /// Adds a system disk named `name` to `region` with one `NORMAL` snapshot, directly;
    /// returns the disk id (a system disk's snapshots cannot be shared).
    pub fn add_system_disk(&self, region: &str, name: &str, size_gb: u64) -> String {
        self.shared.change(|world| {
            let zone = state::default_zone(region);
            let disk_id = world.add_disk(region, &zone, name, size_gb, "CLOUD_PREMIUM");
            let disk = world.disks.get_mut(&disk_id).expect("just added");
            disk.usage = "SYSTEM_DISK".to_owned();
            let disk = disk.clone();
            world.add_snapshot_of(&disk, &format!("{name} nightly"), 0);
            disk_id
        })
    }

    /// Adds a `NORMAL` copy of `snapshot_id` (of the default account) to `destination`
    /// named `name`, directly (no API calls, no rate limit, no quota, no tags), as if
    /// copied earlier; returns its id, or `None` when there is no such snapshot or
    /// region.
    pub fn add_copy(&self, snapshot_id: &str, destination: &str, name: &str) -> Option<String> {
        self.shared.change(|world| {
            if !state::is_region(destination) {
                return None;
            }
            let source = world.snapshots.get(snapshot_id)?.clone();
            let id = world.new_id("snap");
            let seq = world.next_seq();
            let now = world.now_ms;
            let mut copy = source.clone();
            copy.id = id.clone();
            copy.region = destination.to_owned();
            copy.zone = state::default_zone(destination);
            copy.name = name.to_owned();
            copy.permanent = true;
            copy.deadline_ms = None;
            copy.created_ms = now;
            copy.modified_ms = now;
            copy.progress = None;
            copy.copied_from = Some((source.id.clone(), source.region.clone()));
            copy.policy_id = None;
            copy.group_id = None;
            copy.shared_with = Vec::new();
            copy.tags = Vec::new();
            copy.seq = seq;
            world.snapshots.insert(id.clone(), copy);
            Some(id)
        })
    }

    /// Sells `disk_type` out in `zone` from now on (for every account), as a zone
    /// running out of a type does.
    pub fn sell_out(&self, zone: &str, disk_type: &str) {
        self.shared.change_accounts(|accounts| {
            accounts.for_each_world(|world| {
                world
                    .settings
                    .sold_out
                    .push((zone.to_owned(), disk_type.to_owned()))
            })
        });
    }

    /// Binds `tags` to a disk of the default account directly (no API calls, no
    /// limits checked), replacing what it had; `false` when there is no such disk.
    pub fn set_disk_tags(&self, disk_id: &str, tags: Vec<(String, String)>) -> bool {
        self.shared
            .change(|world| match world.disks.get_mut(disk_id) {
                Some(disk) => {
                    disk.tags = tags;
                    true
                }
                None => false,
            })
    }

    /// Binds `tags` to a snapshot of the default account directly (no API calls, no
    /// limits checked), replacing what it had; `false` when there is no such snapshot.
    pub fn set_snapshot_tags(&self, snapshot_id: &str, tags: Vec<(String, String)>) -> bool {
        self.shared
            .change(|world| match world.snapshots.get_mut(snapshot_id) {
                Some(snapshot) => {
                    snapshot.tags = tags;
                    true
                }
                None => false,
            })
    }

    /// Removes a snapshot directly, as if someone deleted it elsewhere; `false` when
    /// there was none.
    pub fn remove_snapshot(&self, snapshot_id: &str) -> bool {
        self.shared
            .change(|world| world.snapshots.remove(snapshot_id).is_some())
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
