//! The admin core: the one thread that writes the shared filter. It serves the RPC port,
//! rotates the generations at each TTL epoch (an incremental sweep, yielding between chunks),
//! and registers the gateway with its Revoke Server. Runs on its own `event` runtime.

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bloom::{SweepProgress, Writer};
use event::net::Listener;

use crate::persist::store::Policy;
use crate::persist::{Store, recover::Layout};
use crate::register;
use crate::rpc::server::{self, RpcState};
use crate::settings::RevokerSettings;

/// Blocks cleared per sweep step before yielding (4096 blocks of up to 512 bytes: <= 2 MiB).
const SWEEP_STEP_BLOCKS: usize = 4096;
/// How often the rotation looks at the clock.
const ROTATION_TICK: Duration = Duration::from_millis(100);

/// Everything the admin core owns.
#[derive(Debug)]
pub struct AdminCore {
    /// The filter's one writer.
    pub writer: Writer,
    /// `auth/revoker`.
    pub settings: RevokerSettings,
    /// The address registration reports (`rpc_listen_ip`); `None`: the local address of the
    /// connection to the revoker.
    pub advertise_ip: Option<IpAddr>,
    /// Set on SIGTERM/SIGINT.
    pub shutdown: Arc<AtomicBool>,
    /// `bloomgate/persistence`, after recovery: where to continue the journal.
    pub persistence: Option<Persistence>,
}

/// Where persistence continues after recovery (plain data: it crosses to the admin thread).
#[derive(Debug, Clone)]
pub struct Persistence {
    /// The directory.
    pub dir: std::path::PathBuf,
    /// What recovery left on disk.
    pub layout: Layout,
    /// When snapshots are taken.
    pub policy: Policy,
    /// Take a snapshot at once (recovery passed over damage; supersede it).
    pub snapshot_now: bool,
}

impl Persistence {
    /// Opens the journal on the current runtime for `writer`, starts the snapshot task, and
    /// takes the first snapshot if asked to.
    pub async fn start(
        self,
        writer: &Rc<RefCell<Writer>>,
        shutdown: &Arc<AtomicBool>,
    ) -> Result<Rc<Store>, crate::persist::PersistError> {
        let epoch = writer.borrow().current_epoch();
        let store = Store::open(&self.dir, self.layout, epoch, self.policy).await?;
        if self.snapshot_now {
            store.snapshot(writer).await?;
        }
        drop(event::spawn(
            Rc::clone(&store).snapshot_until(Rc::clone(writer), Arc::clone(shutdown)),
        ));
        Ok(store)
    }
}

/// Flushes persistence at shutdown, logging a failure.
pub async fn close_store(store: Option<Rc<Store>>, writer: &RefCell<Writer>) {
    if let Some(store) = store
        && let Err(e) = store.close(writer).await
    {
        eprintln!("bloomgate: persistence: error at shutdown: {e}");
    }
}

/// Binds the RPC listener (call on the admin core's runtime).
pub fn bind_rpc(addr: SocketAddr) -> std::io::Result<Listener> {
    Listener::bind_exclusive(addr)
        .map_err(|e| std::io::Error::other(format!("cannot listen for RPC on {addr}: {e}")))
}

/// Runs the admin core until shutdown.
///
/// # Errors
/// As [`run_with`].
pub async fn run(core: AdminCore, rpc: Option<Listener>) -> Result<(), String> {
    run_with(core, rpc, |_, _| {}).await
}

/// Runs the admin core until shutdown; `also` is called once on the admin core's runtime with
/// the filter's writer, to start more tasks that write through it (one-node mode: the Revoke
/// Server REST API, `crate::revoke`).
///
/// # Errors
/// The persistence store could not be opened: the whole process is asked to stop (the shutdown
/// flag is set) and the reason returned, so that the gateway exits non-zero.
pub async fn run_with(
    core: AdminCore,
    rpc: Option<Listener>,
    also: impl FnOnce(&Rc<RefCell<Writer>>, Option<&Rc<Store>>),
) -> Result<(), String> {
    let AdminCore {
        writer,
        settings,
        advertise_ip,
        shutdown,
        persistence,
    } = core;
    let writer = Rc::new(RefCell::new(writer));
    let store = match persistence {
        None => None,
        Some(p) => match p.start(&writer, &shutdown).await {
            Ok(store) => Some(store),
            Err(e) => {
                shutdown.store(true, Ordering::Relaxed);
                return Err(e.to_string());
            }
        },
    };
    let rpc_port = rpc
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map(|a| a.port());
    if let Some(listener) = rpc {
        let api_key = settings
            .api_key
            .as_ref()
            .map(|k| k.expose().as_bytes().to_vec());
        let state =
            Rc::new(RpcState::new(Rc::clone(&writer), api_key, unix_now).with_store(store.clone()));
        drop(event::spawn(server::serve(
            listener,
            state,
            Arc::clone(&shutdown),
        )));
    }
    if let (Some(url), Some(port)) = (settings.ping_url.clone(), rpc_port) {
        drop(event::spawn(register::run(
            settings.clone(),
            url,
            advertise_ip,
            port,
            Arc::clone(&shutdown),
        )));
    }
    also(&writer, store.as_ref());
    rotate_until(&writer, &shutdown).await;
    close_store(store, &writer).await;
    Ok(())
}

/// Keeps the generations rotated: at each epoch boundary, sweeps the one that left the window
/// in bounded steps, yielding between them so RPC inserts go on meanwhile.
pub async fn rotate_until(writer: &RefCell<Writer>, shutdown: &AtomicBool) {
    while !shutdown.load(Ordering::Relaxed) {
        let pending = writer.borrow_mut().advance(unix_now());
        if pending {
            while writer.borrow_mut().sweep_step(SWEEP_STEP_BLOCKS) == SweepProgress::Pending {
                event::sync::yield_now().await;
            }
        }
        event::sleep(ROTATION_TICK).await;
    }
}

/// Seconds since the Unix epoch (0 before it).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
