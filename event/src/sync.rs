//! Coordination between tasks of one runtime: a counting [`Semaphore`] and [`yield_now`].

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::task::{Poll, Waker};

/// A counting semaphore for tasks of one thread (`!Send`): at most `permits` holders at once.
///
/// Not fair: a released permit goes to whichever waiting task is polled first. A release wakes
/// every waiter (there are few: bloomgate bounds work with it, not connections), so a waiter
/// whose future was dropped can never swallow a wake-up meant for another.
#[derive(Debug)]
pub struct Semaphore {
    available: Cell<usize>,
    waiters: RefCell<Vec<Waker>>,
}

/// One permit of a [`Semaphore`], given back when dropped.
#[derive(Debug)]
pub struct Permit<'s> {
    semaphore: &'s Semaphore,
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            available: Cell::new(permits),
            waiters: RefCell::new(Vec::new()),
        }
    }

    /// Permits not held now.
    pub fn available(&self) -> usize {
        self.available.get()
    }

    /// Waits for a permit.
    pub async fn acquire(&self) -> Permit<'_> {
        poll_fn(|cx| {
            let available = self.available.get();
            if available > 0 {
                self.available.set(available - 1);
                Poll::Ready(Permit { semaphore: self })
            } else {
                // Polled again before a release (another wake-up): registered once.
                let mut waiters = self.waiters.borrow_mut();
                if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                    waiters.push(cx.waker().clone());
                }
                Poll::Pending
            }
        })
        .await
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let semaphore = self.semaphore;
        semaphore.available.set(semaphore.available.get() + 1);
        let waiters = std::mem::take(&mut *semaphore.waiters.borrow_mut());
        waiters.into_iter().for_each(Waker::wake);
    }
}

/// Lets the other runnable tasks run, then continues (a long computation cut into steps).
pub async fn yield_now() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}
