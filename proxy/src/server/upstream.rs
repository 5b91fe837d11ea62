//! Per-core keep-alive pools of backend connections, one idle list per backend host.
//!
//! A pooled connection may have been closed by the backend while idle (a keep-alive timeout, a
//! restart). [`Pool::get`] skips those it can see are closed; for the rest (a close racing the
//! request) the exchange in `conn.rs` retries an idempotent request without a body once on a
//! fresh connection when a reused one fails before any response byte.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use event::net::Stream;

/// Idle connections kept per backend host and core.
const MAX_IDLE_PER_UPSTREAM: usize = 64;

/// A connection to a backend, and whether it came from the pool.
#[derive(Debug)]
pub struct Upstream {
    /// The socket.
    pub stream: Stream,
    /// It served a request before (and so may be stale).
    pub reused: bool,
    /// Which upstream it belongs to.
    pub id: usize,
}

/// Idle connections, by upstream id. Owned by one core (`RefCell`, never shared).
#[derive(Debug)]
pub struct Pool {
    idle: RefCell<Vec<Vec<Stream>>>,
}

impl Pool {
    /// An empty pool for `upstreams` backend hosts.
    pub fn new(upstreams: usize) -> Pool {
        Pool {
            idle: RefCell::new((0..upstreams).map(|_| Vec::new()).collect()),
        }
    }

    /// An idle connection to `id` that still looks open if there is one, else a new one
    /// (connect within `timeout`).
    pub async fn get(
        &self,
        id: usize,
        addr: SocketAddr,
        timeout: Duration,
    ) -> io::Result<Upstream> {
        loop {
            let pooled = self.idle.borrow_mut().get_mut(id).and_then(Vec::pop);
            let Some(mut stream) = pooled else { break };
            if still_open(&mut stream) {
                return Ok(Upstream {
                    stream,
                    reused: true,
                    id,
                });
            }
        }
        self.connect(id, addr, timeout).await
    }

    /// A new connection to `id`.
    pub async fn connect(
        &self,
        id: usize,
        addr: SocketAddr,
        timeout: Duration,
    ) -> io::Result<Upstream> {
        let stream = Stream::connect(addr, timeout.max(Duration::from_millis(1))).await?;
        // Small writes (heads) must not wait for Nagle.
        let _ = stream.set_nodelay(true);
        Ok(Upstream {
            stream,
            reused: false,
            id,
        })
    }

    /// Keeps `upstream` for the next request to the same host (dropped if the pool is full).
    pub fn put(&self, upstream: Upstream) {
        if let Some(list) = self.idle.borrow_mut().get_mut(upstream.id)
            && list.len() < MAX_IDLE_PER_UPSTREAM
        {
            list.push(upstream.stream);
        }
    }

    /// Closes every idle connection (shutdown).
    pub fn clear(&self) {
        for list in self.idle.borrow_mut().iter_mut() {
            list.clear();
        }
    }
}

/// Whether an idle connection is still usable. If no readiness arrived on it since its last
/// read drained it, nothing did (no end of stream, no stray bytes): usable, without a call.
/// Otherwise a read that cannot wait must find nothing: an end of stream or an error means the
/// backend closed it; bytes nobody asked for mean it is out of step. Either way it is dropped.
/// (A close whose readiness is not reaped yet races the request like any close in flight; the
/// exchange retries an idempotent request once for that.)
fn still_open(stream: &mut Stream) -> bool {
    if !stream.may_have_input() {
        return true;
    }
    let mut byte = [0u8; 1];
    matches!(stream.try_read(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}
