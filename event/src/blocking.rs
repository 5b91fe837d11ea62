//! Blocking work off the loop: file writes, `fdatasync`, renames — calls that may wait for a
//! disk and must never stall a core. [`blocking`] hands a closure to a process-wide pool of
//! threads and returns a future of its result; the thread that finishes it wakes the task
//! (a cross-thread wake, see the crate doc), so the loop spends nothing while the disk works.
//!
//! The pool grows on demand — a job that finds no idle thread gets a new one, up to
//! [`MAX_THREADS`] — and a thread idle for [`IDLE_EXIT`] exits. Jobs are few and short-lived
//! in bloomgate (a group commit's sync, a snapshot file, a segment made ahead of need), so the
//! pool stays at a thread or two. A job always runs to completion: dropping its future only
//! discards the result. A new thread inherits the CPU affinity of the thread whose job made it:
//! in a gateway only the admin core hands out file work, so it stays on the admin core's CPU,
//! off the data cores'.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// The most threads the pool runs at once; more jobs queue.
pub const MAX_THREADS: usize = 16;
/// An idle thread exits after this long without a job.
pub const IDLE_EXIT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Pool {
    state: Mutex<PoolState>,
    work: Condvar,
}

#[derive(Default)]
struct PoolState {
    jobs: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn pool() -> &'static Arc<Pool> {
    static POOL: OnceLock<Arc<Pool>> = OnceLock::new();
    POOL.get_or_init(|| Arc::new(Pool::default()))
}

impl Pool {
    fn submit(self: &Arc<Self>, job: Job) {
        let mut state = lock(&self.state);
        state.jobs.push_back(job);
        if state.jobs.len() > state.idle && state.threads < MAX_THREADS {
            state.threads += 1;
            let pool = Arc::clone(self);
            let spawned = std::thread::Builder::new()
                .name("bloomgate-blocking".into())
                .spawn(move || pool.work());
            if spawned.is_err() {
                state.threads -= 1;
                if state.threads == 0 {
                    // No thread at all (a process at its thread limit): run it here rather
                    // than never.
                    let job = state.jobs.pop_back();
                    drop(state);
                    if let Some(job) = job {
                        job();
                    }
                    return;
                }
            }
        }
        drop(state);
        self.work.notify_one();
    }

    fn work(&self) {
        let mut state = lock(&self.state);
        loop {
            if let Some(job) = state.jobs.pop_front() {
                drop(state);
                job();
                state = lock(&self.state);
                continue;
            }
            state.idle += 1;
            let (next, waited) = self
                .work
                .wait_timeout(state, IDLE_EXIT)
                .unwrap_or_else(PoisonError::into_inner);
            state = next;
            state.idle -= 1;
            if waited.timed_out() && state.jobs.is_empty() {
                state.threads -= 1;
                return;
            }
        }
    }
}

/// Where a job leaves its result for the task waiting on it.
struct Slot<T> {
    state: Mutex<(Option<T>, Option<Waker>)>,
}

/// The result of a [`blocking`] job, once it has run.
pub struct Blocking<T> {
    slot: Arc<Slot<T>>,
}

impl<T> std::fmt::Debug for Blocking<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blocking").finish_non_exhaustive()
    }
}

impl<T> Future for Blocking<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut state = lock(&self.slot.state);
        match state.0.take() {
            Some(output) => Poll::Ready(output),
            None => {
                state.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Runs `job` on a pool thread; the future completes with its result. Works from any thread
/// (inside a runtime or not): the waiting task is woken from the pool thread.
pub fn blocking<T, F>(job: F) -> Blocking<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let slot = Arc::new(Slot {
        state: Mutex::new((None, None)),
    });
    let filled = Arc::clone(&slot);
    pool().submit(Box::new(move || {
        let output = job();
        let waker = {
            let mut state = lock(&filled.state);
            state.0 = Some(output);
            state.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }));
    Blocking { slot }
}
