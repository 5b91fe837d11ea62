//! A data core: one event loop (`crate::event`) pinned to a CPU, its own `SO_REUSEPORT` listener, its own
//! connections, upstream pool and buffers. Nothing here is shared with other cores but the
//! immutable [`Routes`], the config, and the revocation filter's words.
//!
//! This is the thin glue between sockets and the sans-io codec (`crate::http`), router and
//! guard: it owns the buffers, reads and writes with deadlines, and never blocks the core.

pub mod conn;
pub mod guard;
pub mod io;
pub mod routes;
pub mod upstream;

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::config::Config;
use event::net::Listener;
pub use guard::Guard;
pub use routes::{Route, Routes, RoutesError};
use upstream::Pool;

/// How often a waiting accept or an idle keep-alive connection looks at the shutdown flag.
pub const SHUTDOWN_POLL: Duration = Duration::from_millis(100);

/// The state of one data core.
#[derive(Debug)]
pub struct Core {
    /// The validated config (shared, immutable).
    pub config: Arc<Config>,
    /// Routes and upstream addresses (shared, immutable).
    pub routes: Arc<Routes>,
    /// Set by SIGTERM/SIGINT: stop accepting, finish in-flight requests, close idle ones.
    pub shutdown: Arc<AtomicBool>,
    /// This core's idle backend connections.
    pub pool: Pool,
    /// JWT validators, the revocation filter and this core's validation buffers.
    pub guard: Guard,
    /// Round-robin position per route.
    next_upstream: Box<[Cell<usize>]>,
    /// Connections open on this core (for the drain).
    active: Cell<usize>,
}

impl Core {
    /// A core serving `routes`. Its guard has no validators (protected endpoints answer 401)
    /// until [`Core::with_guard`].
    pub fn new(config: Arc<Config>, routes: Arc<Routes>, shutdown: Arc<AtomicBool>) -> Core {
        let pool = Pool::new(routes.upstreams.len());
        let next_upstream = (0..routes.routes.len()).map(|_| Cell::new(0)).collect();
        Core {
            config,
            routes,
            shutdown,
            pool,
            guard: Guard::closed(),
            next_upstream,
            active: Cell::new(0),
        }
    }

    /// The same core, guarding its protected endpoints with `guard`.
    pub fn with_guard(mut self, guard: Guard) -> Core {
        self.guard = guard;
        self
    }

    /// Whether shutdown was asked for.
    pub fn stopping(&self) -> bool {
        self.shutdown.load(Ordering::Relaxed)
    }

    /// The next upstream of `route`, round-robin on this core.
    pub fn pick_upstream(&self, route: usize) -> Option<usize> {
        let ids = &self.routes.routes.get(route)?.upstreams;
        let cell = self.next_upstream.get(route)?;
        let n = cell.get();
        cell.set(n.wrapping_add(1));
        ids.get(n % ids.len().max(1)).copied()
    }
}

/// Binds this core's listener (`SO_REUSEPORT`: every core binds the same address and the
/// kernel spreads connections).
pub fn bind(addr: SocketAddr) -> std::io::Result<Listener> {
    Listener::bind(addr).map_err(|e| std::io::Error::other(format!("cannot listen on {addr}: {e}")))
}

/// Accepts and serves connections until shutdown, then drains: in-flight requests finish
/// within `max_shutdown_wait_time`, idle connections close.
pub async fn serve(core: Rc<Core>, listener: Listener) {
    loop {
        let accepted = futures_lite::future::or(async { Some(listener.accept().await) }, async {
            while !core.stopping() {
                event::sleep(SHUTDOWN_POLL).await;
            }
            None
        })
        .await;
        let Some(accepted) = accepted else { break };
        let stream = match accepted {
            Ok(stream) => stream,
            Err(e) => {
                // EMFILE and friends: say so, back off a little, keep the core alive.
                eprintln!("bloomgate: accept failed: {e}");
                event::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let core = Rc::clone(&core);
        core.active.set(core.active.get() + 1);
        event::spawn(async move {
            conn::serve(&core, stream).await;
            core.active.set(core.active.get() - 1);
        });
    }
    drop(listener);
    let deadline = Instant::now() + core.config.max_shutdown_wait_time;
    while core.active.get() > 0 && Instant::now() < deadline {
        event::sleep(Duration::from_millis(20)).await;
    }
    core.pool.clear();
}
