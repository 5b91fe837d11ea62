//! Cooperative scheduling: a task gets a budget of socket calls each time it is polled, and a
//! call that would overrun it yields first. Without it, a connection whose peer always has data
//! ready (a large upload over loopback, a pipelining client) would complete call after call
//! without ever returning `Pending`, and every other connection on the core would wait for its
//! socket buffers to run dry. With it, such a task gives way every [`CALLS_PER_POLL`] calls.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Socket calls a task may make in one poll.
pub const CALLS_PER_POLL: u32 = 128;

thread_local! {
    static LEFT: Cell<u32> = const { Cell::new(CALLS_PER_POLL) };
}

/// Gives the task about to be polled its budget.
pub(crate) fn refill() {
    LEFT.with(|l| l.set(CALLS_PER_POLL));
}

/// Spends one call of the current task's budget, yielding first if it is spent.
pub(crate) fn spend() -> Spend {
    Spend { yielded: false }
}

/// The future of [`spend`].
pub(crate) struct Spend {
    yielded: bool,
}

impl Future for Spend {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let left = LEFT.with(Cell::get);
        if left > 0 {
            LEFT.with(|l| l.set(left - 1));
            return Poll::Ready(());
        }
        if self.yielded {
            // Polled again without a refill (a `block_on` future, say): carry on.
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
