//! One instance's pending pushes, in bounded memory: shared batches (`Rc`, one copy for every
//! instance) with a byte budget. When a slow or unreachable instance would exceed it, the queue
//! is dropped and the caller marks the instance for a full sync instead: a snapshot repairs any
//! number of missed revocations in bounded space.

use std::collections::VecDeque;
use std::rc::Rc;

/// What [`PushQueue::push`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// The batch waits in the queue.
    Queued,
    /// The budget was exceeded: the queue is now empty and the instance needs a full sync.
    Overflowed,
}

/// Batches waiting for one instance, oldest first.
#[derive(Debug)]
pub struct PushQueue<T> {
    items: VecDeque<(Rc<T>, usize)>,
    bytes: usize,
    cap: usize,
}

impl<T> PushQueue<T> {
    /// An empty queue holding at most `cap` bytes (as weighed by the caller).
    pub fn new(cap: usize) -> PushQueue<T> {
        PushQueue {
            items: VecDeque::new(),
            bytes: 0,
            cap,
        }
    }

    /// Appends a batch weighing `bytes`; past the budget, drops everything instead.
    pub fn push(&mut self, item: Rc<T>, bytes: usize) -> Enqueued {
        if self.bytes + bytes > self.cap {
            self.clear();
            return Enqueued::Overflowed;
        }
        self.bytes += bytes;
        self.items.push_back((item, bytes));
        Enqueued::Queued
    }

    /// Takes the oldest batches: at least one, then more while their total stays within
    /// `max_bytes`.
    pub fn take(&mut self, max_bytes: usize) -> Vec<Rc<T>> {
        let mut taken = Vec::new();
        let mut total = 0;
        while let Some((_, bytes)) = self.items.front() {
            if !taken.is_empty() && total + bytes > max_bytes {
                break;
            }
            total += bytes;
            if let Some((item, bytes)) = self.items.pop_front() {
                self.bytes -= bytes;
                taken.push(item);
            }
        }
        taken
    }

    /// Drops everything (a full sync replaces it).
    pub fn clear(&mut self) {
        self.items.clear();
        self.bytes = 0;
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Bytes waiting.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests;
