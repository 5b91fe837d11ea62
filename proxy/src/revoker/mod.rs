//! The Revoke Server's HTTP glue: an `event` accept loop and connections speaking HTTP/1.1 with
//! the data plane's sans-io codec, in front of [`admin::revoke::Service`] (which holds all the
//! REST logic, the registry and the fan-out).
//!
//! This is wiring, not data plane: it may import `admin` (the data-plane modules `server`,
//! `http`, `jwt`, `router` never do). Two users:
//! - `bloomgate revoker` ([`run`]): one runtime with the server's own filter, rotated on the
//!   gateways' epochs, its REST listener, registry expiry and push workers;
//! - a gateway with `bloomgate/admin` (one-node mode, `crate::runtime`): [`serve`] on the admin
//!   core's runtime, writing the gateway's own filter.

pub mod conn;

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use admin::revoke::Service;
use event::memlock;
use event::net::Listener;

use crate::config::Config;
use crate::runtime::{RING_MEMLOCK, RuntimeError, ThreadStart, unix_now};

/// Connections served at once; more are closed on accept.
pub const MAX_CONNECTIONS: usize = 1024;
/// How often a waiting accept looks at the shutdown flag.
const SHUTDOWN_POLL: Duration = Duration::from_millis(100);

/// Binds the REST listener.
pub fn bind(addr: SocketAddr) -> std::io::Result<Listener> {
    Listener::bind_exclusive(addr).map_err(|e| {
        std::io::Error::other(format!("cannot listen for the revoke API on {addr}: {e}"))
    })
}

/// Starts the Revoke Server's background tasks (registry expiry) and serves REST connections on
/// `listener` until `shutdown`. Call on the runtime that owns `service`.
pub async fn serve(listener: Listener, service: Rc<Service>, shutdown: Arc<AtomicBool>) {
    drop(event::spawn(Rc::clone(&service).expire_until_shutdown()));
    let active = Rc::new(Cell::new(0usize));
    loop {
        let accepted = futures_lite::future::or(async { Some(listener.accept().await) }, async {
            while !shutdown.load(Ordering::Relaxed) {
                event::sleep(SHUTDOWN_POLL).await;
            }
            None
        })
        .await;
        let Some(accepted) = accepted else { return };
        let stream = match accepted {
            Ok(stream) => stream,
            Err(e) => {
                eprintln!("bloomgate: revoke API: accept failed: {e}");
                event::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if active.get() >= MAX_CONNECTIONS {
            continue;
        }
        active.set(active.get() + 1);
        let (service, active, shutdown) = (
            Rc::clone(&service),
            Rc::clone(&active),
            Arc::clone(&shutdown),
        );
        drop(event::spawn(async move {
            conn::serve(service, stream, || shutdown.load(Ordering::Relaxed)).await;
            active.set(active.get() - 1);
        }));
    }
}

/// `bloomgate revoker`: serves the REST API on `config`'s port until SIGTERM/SIGINT.
pub fn run(config: Config) -> Result<(), RuntimeError> {
    let Some(settings) = config.revoker.clone() else {
        return Err(RuntimeError::Filter(
            "the revoke server needs this section".into(),
        ));
    };
    let memlock = memlock::raise(RING_MEMLOCK);
    let shutdown = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&shutdown))
            .map_err(RuntimeError::Signals)?;
    }
    // Recovered (with persistence) before the REST port is bound.
    let (shared, writer, persistence) =
        crate::runtime::filter(&settings, config.persistence.as_ref())?;
    drop(shared);
    let addr = config.listen_addr();
    let (ready_tx, ready_rx) = mpsc::channel::<Result<SocketAddr, ThreadStart>>();
    let stop = Arc::clone(&shutdown);
    let summary = format!(
        "N={} P={} TTL={}s, {} push worker(s), ping interval {:?}",
        settings.n(),
        settings.p(),
        settings.ttl_secs(),
        settings.max_workers,
        settings.ping_interval
    );
    let executor = std::thread::Builder::new()
        .name("bloomgate-revoker".into())
        .spawn(move || {
            let runtime = match event::Runtime::new() {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready_tx.send(Err(ThreadStart::Ring(e.to_string())));
                    return;
                }
            };
            runtime.block_on(async move {
                let listener = match bind(addr) {
                    Ok(listener) => listener,
                    Err(e) => {
                        let _ = ready_tx.send(Err(ThreadStart::Listen(e.to_string())));
                        return;
                    }
                };
                let writer = Rc::new(RefCell::new(writer));
                let store = match persistence {
                    None => None,
                    Some(p) => match p.start(&writer, &stop).await {
                        Ok(store) => Some(store),
                        Err(e) => {
                            let _ = ready_tx.send(Err(ThreadStart::Listen(format!(
                                "bloomgate/persistence: {e}"
                            ))));
                            return;
                        }
                    },
                };
                let _ = ready_tx.send(
                    listener
                        .local_addr()
                        .map_err(|e| ThreadStart::Listen(e.to_string())),
                );
                let service = Service::new(
                    Rc::clone(&writer),
                    settings,
                    unix_now,
                    Arc::clone(&stop),
                    store.clone(),
                );
                let rotation = Rc::clone(&writer);
                let rotation_stop = Arc::clone(&stop);
                drop(event::spawn(async move {
                    admin::core::rotate_until(&rotation, &rotation_stop).await;
                }));
                serve(listener, service, stop).await;
                admin::core::close_store(store, &writer).await;
            });
        })
        .map_err(|e| RuntimeError::Executor {
            reason: e.to_string(),
            memlock,
        })?;
    match ready_rx.recv() {
        Ok(Ok(bound)) => eprintln!("bloomgate: revoke server listening on {bound} ({summary})"),
        Ok(Err(failed)) => {
            let _ = executor.join();
            return Err(failed.into_error(memlock));
        }
        Err(_) => {}
    }
    let _ = executor.join();
    eprintln!("bloomgate: stopped");
    Ok(())
}
