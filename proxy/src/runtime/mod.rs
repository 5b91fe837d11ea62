//! Start-up and shutdown of a gateway: locked memory, the data cores (one pinned thread each
//! running an `event::Runtime`, its own `SO_REUSEPORT` listener), the admin core (a thread with
//! an `event::Runtime` of its own), signals and the drain.

pub mod cores;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

use event::memlock;

use crate::config::{Config, ConfigError};
use crate::jwt::Validators;
use crate::server::{self, Core, Guard, Routes};

/// Locked memory asked for per runtime: its ring (about 200 KiB of queues, charged to
/// `RLIMIT_MEMLOCK` on kernels before 5.12) with room to spare; every runtime fits the default
/// 8 MiB limit.
pub const RING_MEMLOCK: u64 = 1 << 20;

/// What `bloomgate run` needs besides the config.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `--cores`: data cores (default: all CPUs but one).
    pub cores: Option<usize>,
    /// Told the bound addresses once the gateway serves (`bloomgate demo` prints its
    /// instructions then).
    pub ready: Option<mpsc::Sender<Ready>>,
}

/// Where a started gateway listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ready {
    /// The data cores' address.
    pub listen: SocketAddr,
    /// The admin core's RPC address, if any.
    pub rpc: Option<SocketAddr>,
    /// The Revoke Server REST API (`bloomgate/admin`, one-node mode), if any.
    pub rest: Option<SocketAddr>,
}

/// Why the gateway could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// `--cores` does not fit this machine.
    #[error(transparent)]
    Cores(#[from] cores::PlanError),
    /// Building the routes failed.
    #[error(transparent)]
    Routes(#[from] server::RoutesError),
    /// An executor (an io_uring) could not be created.
    #[error(
        "cannot start an io_uring executor: {reason} ({memlock}); raise the locked-memory limit (`ulimit -l`, LimitMEMLOCK= in systemd) or run with CAP_IPC_LOCK"
    )]
    Executor {
        /// The kernel's (or the thread spawn's) error.
        reason: String,
        /// The locked-memory limits in force.
        memlock: memlock::Memlock,
    },
    /// The listen socket could not be bound (port in use, no permission).
    #[error("{0}")]
    Listen(String),
    /// A signal handler could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    /// The bloom filter could not be built.
    #[error("extra_config.auth/revoker: {0}")]
    Filter(String),
    /// `bloomgate/persistence`: the kept state could not be recovered.
    #[error("bloomgate/persistence: {0}")]
    Persistence(String),
    /// Something the config names cannot be used (a JWK file without a usable key...). Prints
    /// as `config error: <field>: <why>`, like any config error.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Why the admin core's (or the Revoke Server's) thread did not start.
#[derive(Debug)]
pub(crate) enum ThreadStart {
    /// Its ring could not be created.
    Ring(String),
    /// A listener could not be bound, or persistence could not be opened.
    Listen(String),
}

impl ThreadStart {
    /// The error `run` returns for it.
    pub(crate) fn into_error(self, memlock: memlock::Memlock) -> RuntimeError {
        match self {
            ThreadStart::Ring(reason) => RuntimeError::Executor { reason, memlock },
            ThreadStart::Listen(e) => RuntimeError::Listen(e),
        }
    }
}

/// Why a data core did not start.
#[derive(Debug)]
enum CoreStart {
    /// Its ring could not be created.
    Ring(String),
    /// Its listener could not be bound.
    Listen(String),
}

/// Runs the gateway until SIGTERM/SIGINT, then drains and returns.
pub fn run(config: Config, options: &RunOptions) -> Result<(), RuntimeError> {
    let plan = cores::plan(&cores::available(), options.cores)?;
    let memlock = memlock::raise(RING_MEMLOCK * (plan.data.len() as u64 + 1));
    let config = Arc::new(config);
    let routes = Routes::build(&config)?;
    let shutdown = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&shutdown))
            .map_err(RuntimeError::Signals)?;
    }
    // With persistence, the filter is recovered before any listener is bound: a restarted
    // gateway rejects revoked tokens from its first request.
    let mut persistence = None;
    let revocations = match &config.revoker {
        Some(settings) => {
            let (shared, writer, kept) = filter(settings, config.persistence.as_ref())?;
            persistence = kept;
            Some((shared, writer))
        }
        None => None,
    };
    // JWT validators: key files read, key URLs fetched, once for all cores.
    let (validators, notes) = Validators::build(&config)?;
    for warning in &notes.warnings {
        eprintln!("bloomgate: {warning}");
    }
    let validators = Arc::new(validators);
    let token_keys: Arc<[Box<str>]> = config
        .revoker
        .as_ref()
        .map(|r| r.token_keys.iter().map(|k| Box::from(k.as_str())).collect())
        .unwrap_or_default();
    let addr = config.listen_addr();

    // Each data core binds its own listener, then reports; a bind error stops everything.
    let (ready_tx, ready_rx) = mpsc::channel::<Result<SocketAddr, CoreStart>>();
    let mut handles = Vec::new();
    for (index, &cpu) in plan.data.iter().enumerate() {
        let (config, routes, shutdown, ready) = (
            Arc::clone(&config),
            Arc::clone(&routes),
            Arc::clone(&shutdown),
            ready_tx.clone(),
        );
        let (validators, filter, token_keys) = (
            Arc::clone(&validators),
            revocations.as_ref().map(|(shared, _)| Arc::clone(shared)),
            Arc::clone(&token_keys),
        );
        let handle = std::thread::Builder::new()
            .name(format!("bloomgate-data-{index}"))
            .spawn(move || {
                cores::pin_current_thread(cpu);
                let runtime = match event::Runtime::new() {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready.send(Err(CoreStart::Ring(e.to_string())));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let listener = match server::bind(addr) {
                        Ok(listener) => listener,
                        Err(e) => {
                            let _ = ready.send(Err(CoreStart::Listen(e.to_string())));
                            return;
                        }
                    };
                    let _ = ready.send(
                        listener
                            .local_addr()
                            .map_err(|e| CoreStart::Listen(e.to_string())),
                    );
                    drop(ready);
                    let guard = Guard::new(validators, filter, token_keys);
                    let core =
                        std::rc::Rc::new(Core::new(config, routes, shutdown).with_guard(guard));
                    server::serve(core, listener).await;
                });
            })
            .map_err(|e| RuntimeError::Executor {
                reason: e.to_string(),
                memlock,
            })?;
        handles.push(handle);
    }
    drop(ready_tx);
    let mut bound = None;
    for _ in 0..plan.data.len() {
        let failed = match ready_rx.recv() {
            Ok(Ok(local)) => {
                bound = Some(local);
                continue;
            }
            Ok(Err(CoreStart::Listen(e))) => RuntimeError::Listen(e),
            Ok(Err(CoreStart::Ring(reason))) => RuntimeError::Executor { reason, memlock },
            Err(_) => break,
        };
        shutdown.store(true, Ordering::Relaxed);
        for handle in handles {
            let _ = handle.join();
        }
        return Err(failed);
    }

    let rpc_ip = config.admin.as_ref().and_then(|a| a.rpc_listen_ip);
    let rpc_addr = config
        .revoker
        .as_ref()
        .and_then(|r| r.rpc_port)
        .map(|port| SocketAddr::new(rpc_ip.unwrap_or(IpAddr::from([0, 0, 0, 0])), port));
    let admin_core = match (revocations, &config.revoker) {
        (Some((_, writer)), Some(settings)) => Some(admin::core::AdminCore {
            writer,
            settings: settings.clone(),
            advertise_ip: rpc_ip,
            shutdown: Arc::clone(&shutdown),
            persistence,
        }),
        _ => None,
    };
    let rest_addr = config
        .admin
        .as_ref()
        .map(|a| SocketAddr::new(addr.ip(), a.port));
    let rest_settings = config.revoker.clone();
    let rest_shutdown = Arc::clone(&shutdown);
    type Bound = (Option<SocketAddr>, Option<SocketAddr>);
    let (rpc_tx, rpc_rx) = mpsc::channel::<Result<Bound, ThreadStart>>();
    let admin = std::thread::Builder::new()
        .name("bloomgate-admin".into())
        .spawn(move || {
            cores::pin_current_thread(plan.admin);
            let runtime = match event::Runtime::new() {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = rpc_tx.send(Err(ThreadStart::Ring(e.to_string())));
                    return Ok(());
                }
            };
            runtime.block_on(async move {
                let bound = rpc_addr
                    .map(admin::core::bind_rpc)
                    .transpose()
                    .and_then(|rpc| Ok((rpc, rest_addr.map(crate::revoker::bind).transpose()?)));
                let (listener, rest) = match bound {
                    Ok(listeners) => listeners,
                    Err(e) => {
                        let _ = rpc_tx.send(Err(ThreadStart::Listen(e.to_string())));
                        return Ok(());
                    }
                };
                let local = |l: &event::net::Listener| l.local_addr().ok();
                let _ = rpc_tx.send(Ok((
                    listener.as_ref().and_then(local),
                    rest.as_ref().and_then(local),
                )));
                let Some(core) = admin_core else {
                    return Ok(());
                };
                admin::core::run_with(core, listener, |writer, store| {
                    if let (Some(rest), Some(settings)) = (rest, rest_settings) {
                        let service = admin::revoke::Service::new(
                            std::rc::Rc::clone(writer),
                            settings,
                            unix_now,
                            Arc::clone(&rest_shutdown),
                            store.cloned(),
                        );
                        drop(event::spawn(crate::revoker::serve(
                            rest,
                            service,
                            rest_shutdown,
                        )));
                    }
                })
                .await
            })
        })
        .map_err(|e| RuntimeError::Executor {
            reason: e.to_string(),
            memlock,
        })?;
    let (rpc_bound, rest_bound) = match rpc_rx.recv() {
        Ok(Ok(bound)) => bound,
        Ok(Err(failed)) => {
            shutdown.store(true, Ordering::Relaxed);
            for handle in handles {
                let _ = handle.join();
            }
            let _ = admin.join();
            return Err(failed.into_error(memlock));
        }
        Err(_) => (None, None),
    };

    let listen = bound.map_or_else(|| addr.to_string(), |a| a.to_string());
    eprintln!(
        "bloomgate: listening on {listen} with {} data core(s) on CPUs {:?}, admin core on CPU {}, {} endpoint(s){}{}",
        plan.data.len(),
        plan.data,
        plan.admin,
        config.endpoints.len(),
        rpc_bound.map_or_else(String::new, |a| format!(", rpc on {a}")),
        rest_bound.map_or_else(String::new, |a| format!(", revoke API on {a}"))
    );
    if let (Some(ready), Some(listen)) = (&options.ready, bound) {
        let _ = ready.send(Ready {
            listen,
            rpc: rpc_bound,
            rest: rest_bound,
        });
    }
    for handle in handles {
        let _ = handle.join();
    }
    shutdown.store(true, Ordering::Relaxed);
    // The admin core failing (its persistence store could not be opened) stopped everything;
    // the process exits non-zero with the reason.
    if let Ok(Err(e)) = admin.join() {
        return Err(RuntimeError::Persistence(e));
    }
    eprintln!("bloomgate: stopped");
    Ok(())
}

/// The persistence directory locks this process holds: released by the kernel when it exits.
static HELD_DIR_LOCKS: std::sync::Mutex<Vec<admin::persist::lock::DirLock>> =
    std::sync::Mutex::new(Vec::new());

/// The filter of `settings`: recovered from `persistence` when configured (logging what was
/// done), else empty; the persistence directory is locked first (another process holding it
/// is an error). Returns where persistence continues.
pub fn filter(
    settings: &admin::settings::RevokerSettings,
    persistence: Option<&admin::settings::PersistenceSettings>,
) -> Result<
    (
        Arc<bloom::Revocations>,
        bloom::Writer,
        Option<admin::core::Persistence>,
    ),
    RuntimeError,
> {
    let now = unix_now();
    let Some(p) = persistence else {
        let (shared, writer) = bloom::Revocations::new(settings.geometry, settings.ttl_secs(), now)
            .map_err(|e| RuntimeError::Filter(e.to_string()))?;
        return Ok((shared, writer, None));
    };
    // Before recovery touches anything: one process per directory, for the process's life.
    let lock = admin::persist::lock::DirLock::acquire(&p.dir)
        .map_err(|e| RuntimeError::Persistence(e.to_string()))?;
    HELD_DIR_LOCKS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(lock);
    let began = std::time::Instant::now();
    let options = admin::persist::RecoverOptions {
        geometry: settings.geometry,
        ttl: settings.ttl_secs(),
        now,
        ignore_corrupt: p.ignore_corrupt,
    };
    let recovered = admin::persist::recover::recover(&p.dir, &options)
        .map_err(|e| RuntimeError::Persistence(e.to_string()))?;
    for note in &recovered.report.notes {
        eprintln!("bloomgate: persistence: warning: {note}");
    }
    eprintln!(
        "bloomgate: persistence: recovered {} in {} ms from {}",
        recovered.report,
        began.elapsed().as_millis(),
        p.dir.display()
    );
    let kept = admin::core::Persistence {
        dir: p.dir.clone(),
        layout: recovered.layout,
        policy: admin::persist::store::Policy::default(),
        snapshot_now: recovered.report.corrupt_ignored,
    };
    Ok((recovered.shared, recovered.writer, Some(kept)))
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
