//! A one-waiter wake-up flag for tasks on one executor: `notify` sets it (and wakes the waiter),
//! `wait` completes once it is set and clears it. Notifications before the wait are not lost.

use std::cell::Cell;
use std::future::poll_fn;
use std::task::{Poll, Waker};

/// A wake-up flag with at most one waiting task.
#[derive(Default)]
pub struct Signal {
    set: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

impl std::fmt::Debug for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signal")
            .field("set", &self.set.get())
            .finish()
    }
}

impl Signal {
    /// Sets the flag and wakes the waiter, if any.
    pub fn notify(&self) {
        self.set.set(true);
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    /// Waits until the flag is set, then clears it.
    pub async fn wait(&self) {
        poll_fn(|cx| {
            if self.set.replace(false) {
                Poll::Ready(())
            } else {
                self.waker.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        })
        .await
    }
}
