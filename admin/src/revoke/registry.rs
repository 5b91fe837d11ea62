//! The instances a Revoke Server pushes to, sans-io: registration (idempotent, keyed by the
//! instance's RPC address `ip:port`), expiry after missed pings, and each instance's sync state
//! and push queue. Time is a parameter (`now`), so tests move it by hand.
//!
//! An instance's life:
//!
//! ```text
//! register ─▶ needs_sync ─(worker: snapshot, Sync)─▶ synced: listed, pushes drained from its queue
//!                 ▲   │ sync fails                      │ queue overflows: needs_sync again
//!                 │   ▼                                 │ a push fails (after retries)
//!             next ping ◀── parked (nothing queued) ◀───┘
//! ```
//!
//! A new `instance_id` at the same address (the gateway restarted, its filter is empty) means
//! a full sync again. An instance not heard from for three ping intervals is dropped.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::queue::{Enqueued, PushQueue};
use super::signal::Signal;

/// Pings an instance may miss before it is dropped.
pub const MISSED_PINGS: u32 = 3;

/// One registered instance.
#[derive(Debug)]
pub struct Entry<T> {
    /// Which registration this is: a worker serves one generation and stops when the entry is
    /// gone or belongs to a newer one.
    pub generation: u64,
    /// `instance_id` of the last registration.
    pub instance_id: Option<String>,
    /// `cluster_id`, informational.
    pub cluster_id: Option<String>,
    /// `cn`, informational.
    pub cn: Option<String>,
    /// When it last registered.
    pub last_seen: Instant,
    /// A full sync is due (new, restarted, or lost pushes).
    pub needs_sync: bool,
    /// A full sync is being sent now.
    pub syncing: bool,
    /// It has had a full sync (listed unless something is pending).
    pub synced: bool,
    /// Pushes failed: nothing is queued or sent until its next ping.
    pub parked: bool,
    /// Revocations waiting to be pushed.
    pub queue: PushQueue<T>,
    /// Wakes its worker.
    pub wake: Rc<Signal>,
}

impl<T> Entry<T> {
    /// Registered and fully synced, with no repair pending: what `GET /instances` lists.
    pub fn is_listed(&self) -> bool {
        self.synced && !self.needs_sync && !self.parked
    }

    /// Marks it for a full sync: what was queued is covered by the snapshot.
    pub fn require_sync(&mut self) {
        self.needs_sync = true;
        self.queue.clear();
    }

    /// Pushes failed: park it until its next ping, which starts a full sync.
    pub fn park(&mut self) {
        self.parked = true;
        self.require_sync();
    }
}

/// What a registration did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// A new instance: start a worker for this generation.
    New(u64),
    /// Known; its last-seen time refreshed (and a full sync started if it was parked or had
    /// restarted): wake its worker.
    Known,
}

/// The registered instances.
#[derive(Debug)]
pub struct Registry<T> {
    entries: BTreeMap<SocketAddr, Entry<T>>,
    next_generation: u64,
    queue_cap: usize,
}

impl<T> Registry<T> {
    /// An empty registry whose instances queue at most `queue_cap` bytes each.
    pub fn new(queue_cap: usize) -> Registry<T> {
        Registry {
            entries: BTreeMap::new(),
            next_generation: 1,
            queue_cap,
        }
    }

    /// Registers `addr`, or refreshes it.
    pub fn register(
        &mut self,
        addr: SocketAddr,
        instance_id: Option<String>,
        cluster_id: Option<String>,
        cn: Option<String>,
        now: Instant,
    ) -> Registered {
        if let Some(entry) = self.entries.get_mut(&addr) {
            entry.last_seen = now;
            let restarted = instance_id.is_some() && instance_id != entry.instance_id;
            if restarted {
                entry.synced = false;
                entry.require_sync();
                entry.instance_id = instance_id;
            }
            entry.parked = false;
            entry.cluster_id = cluster_id;
            entry.cn = cn;
            return Registered::Known;
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        self.entries.insert(
            addr,
            Entry {
                generation,
                instance_id,
                cluster_id,
                cn,
                last_seen: now,
                needs_sync: true,
                syncing: false,
                synced: false,
                parked: false,
                queue: PushQueue::new(self.queue_cap),
                wake: Rc::new(Signal::default()),
            },
        );
        Registered::New(generation)
    }

    /// Unregisters `addr`; false if it was not registered.
    pub fn remove(&mut self, addr: &SocketAddr) -> bool {
        match self.entries.remove(addr) {
            Some(entry) => {
                entry.wake.notify();
                true
            }
            None => false,
        }
    }

    /// Drops the instances not seen for [`MISSED_PINGS`] intervals; returns them.
    pub fn expire(&mut self, now: Instant, ping_interval: Duration) -> Vec<SocketAddr> {
        let max_age = ping_interval * MISSED_PINGS;
        let gone: Vec<SocketAddr> = self
            .entries
            .iter()
            .filter(|(_, e)| now.saturating_duration_since(e.last_seen) > max_age)
            .map(|(addr, _)| *addr)
            .collect();
        for addr in &gone {
            self.remove(addr);
        }
        gone
    }

    /// Queues a batch for every instance that will not get it through a sync; returns the
    /// instances whose queue overflowed (now due for a full sync).
    pub fn enqueue_all(&mut self, item: &Rc<T>, bytes: usize) -> Vec<SocketAddr> {
        let mut overflowed = Vec::new();
        for (addr, entry) in &mut self.entries {
            // Parked: repaired by a sync at its next ping. Waiting for a sync that has not
            // started: the snapshot will hold it.
            if entry.parked || (entry.needs_sync && !entry.syncing) {
                continue;
            }
            if entry.queue.push(Rc::clone(item), bytes) == Enqueued::Overflowed {
                entry.require_sync();
                overflowed.push(*addr);
            }
            entry.wake.notify();
        }
        overflowed
    }

    /// The instance at `addr`, if it is still registration `generation`.
    pub fn get_mut(&mut self, addr: &SocketAddr, generation: u64) -> Option<&mut Entry<T>> {
        self.entries
            .get_mut(addr)
            .filter(|e| e.generation == generation)
    }

    /// The instance at `addr`.
    pub fn get(&self, addr: &SocketAddr) -> Option<&Entry<T>> {
        self.entries.get(addr)
    }

    /// What `GET /instances` lists: registered and fully synced, in address order.
    pub fn listed(&self) -> Vec<SocketAddr> {
        self.entries
            .iter()
            .filter(|(_, e)| e.is_listed())
            .map(|(a, _)| *a)
            .collect()
    }

    /// Every registered instance, in address order.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.entries.keys().copied().collect()
    }

    /// The most bytes waiting for one instance that is being pushed to.
    pub fn max_queued_bytes(&self) -> usize {
        self.entries
            .values()
            .filter(|e| !e.parked)
            .map(|e| e.queue.bytes())
            .max()
            .unwrap_or(0)
    }

    /// How many are registered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests;
