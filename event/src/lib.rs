//! bloomgate's thread-per-core event loop: a single-threaded executor over one io_uring used as
//! a readiness queue, with deadlines, TCP streams and listeners, and a pool of threads for
//! blocking file work. Every bloomgate thread that does I/O runs on it, one `Runtime` per
//! thread: the gateway's data cores (`proxy::server`), its admin core (`admin::core`), the
//! Revoke Server (`proxy::revoker`) and the load generator (`loadtest`).
//!
//! What it is not: a general-purpose runtime. No work stealing, no cross-thread spawning, no
//! file I/O on the ring (files go to [`blocking`] threads: a buffered write or an `fdatasync`
//! through io_uring is handed to a kernel worker thread anyway), no preemption (a task runs
//! until it awaits, and gives way after a budget of socket calls), no TLS. It needs Linux 5.13 or later (multishot polls); 6.1 or later for
//! `DEFER_TASKRUN`.
//!
//! Why not glommio on the data cores (`docs/PROFILING.md`): glommio 0.9 sets up its rings
//! without `COOP_TASKRUN`/`DEFER_TASKRUN`, so every poll completed by another CPU interrupts the
//! running core with an IPI (a VM exit on both sides in a guest), and each scheduler pass
//! re-arms preemption timers and flushes three rings, calling `membarrier` before it sleeps.
//! Profiled, that was 3 `io_uring_enter`s and 1.2 IPIs per proxied request — most of the gap to
//! HAProxy and nginx. This loop is what a readiness-driven proxy needs and nothing more:
//!
//! - **One ring, `SINGLE_ISSUER | DEFER_TASKRUN`** (falling back to `COOP_TASKRUN`, then to no
//!   flags, on older kernels): completions are produced when this thread asks for them, so a
//!   packet arriving from another CPU never interrupts the core.
//! - **One multishot `POLL_ADD` per socket**, armed once when the socket is registered: it posts
//!   a completion each time the socket becomes ready, like an edge-triggered epoll. Reads and
//!   writes are plain non-blocking `recv`/`send` calls, tried first; only a call that would
//!   block waits for the next readiness completion. The kernel never holds a buffer of ours, so
//!   dropping a future mid-wait is always safe.
//! - **Deadlines on sources, not timer operations**: a wait carries a deadline; each source has
//!   at most one entry in an ordered set of deadlines, moved only when a deadline comes earlier.
//!   The loop's wait is bounded by the earliest entry. No `TIMEOUT` or `ASYNC_CANCEL` per read.
//! - **A pass**: poll every woken task, fire due deadlines, then one `io_uring_enter` that
//!   submits what is queued and reaps what is ready — without waiting when tasks are runnable,
//!   waiting for the first completion or deadline otherwise.
//!
//! Wakers may be woken from any thread (they are `Arc`s onto a mutex-guarded queue). On a data
//! core every wake comes from its own thread (a readiness completion or a deadline); on the
//! admin core and the revoker a [`blocking`] job's thread wakes the task that waits for it. A
//! wake from another thread that finds the loop asleep writes a byte to a socket pair whose
//! other end the ring polls, so the sleep ends at once.

// Unsafe only where entries are pushed on the ring (`reactor.rs`), allowed there alone.
#![deny(unsafe_code)]

mod blocking;
mod budget;
mod clock;
mod executor;
pub mod memlock;
pub mod net;
mod reactor;
pub mod sync;

pub use blocking::{Blocking, blocking};
pub use budget::CALLS_PER_POLL;
pub use clock::now;
pub use executor::{JoinHandle, Runtime, spawn};
pub use reactor::{RingError, sleep, sleep_until};

#[cfg(test)]
mod tests;
