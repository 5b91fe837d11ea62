//! Groups formed by the sync thread itself (`PROBE_GROUPS=sync-cohort`): after a sync it
//! waits until as many records are buffered as that sync acknowledged, at most as long as the
//! sync took, then takes them; the loop only appends and acknowledges.

use std::cell::RefCell;
use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Poll, Waker};

use super::{lock, preallocated};

/// Group commit through a sync thread that forms the groups itself.
pub struct Journal {
    shared: Arc<Shared>,
    /// Revocations waiting for their ticket to be durable (on the loop).
    waiters: RefCell<Vec<(u64, Waker)>>,
}

/// Between the loop and the sync thread.
struct Shared {
    pending: Mutex<Pending>,
    /// The sync thread waits on it for records.
    work: Condvar,
    /// Every ticket up to this one is on disk.
    durable: AtomicU64,
    /// The loop's acknowledging task, woken after each sync.
    acker: Mutex<Option<Waker>>,
}

#[derive(Default)]
struct Pending {
    buffer: Vec<u8>,
    /// Records in `buffer`.
    records: u64,
    /// Tickets handed out.
    appended: u64,
    /// The sync thread waits on `work`.
    sleeping: bool,
    /// Wake the sync thread when this many records are buffered (and at the first one, so
    /// that its wait for the rest is bounded).
    target: u64,
}

impl Journal {
    /// A journal in a new preallocated file at `path`, with its sync thread started.
    pub fn open(path: PathBuf) -> Result<Rc<Journal>, String> {
        let file = preallocated(&path)?;
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending {
                target: 1,
                ..Pending::default()
            }),
            work: Condvar::new(),
            durable: AtomicU64::new(0),
            acker: Mutex::new(None),
        });
        let theirs = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("probe-sync".into())
            .spawn(move || sync_loop(&theirs, &file))
            .map_err(|e| e.to_string())?;
        Ok(Rc::new(Journal {
            shared,
            waiters: RefCell::new(Vec::new()),
        }))
    }

    /// Buffers a record of `key` (length, key, checksum) and returns its ticket.
    pub fn append(&self, key: &[u8]) -> u64 {
        let len = u16::try_from(key.len()).unwrap_or(u16::MAX);
        let sum = xxhash_rust::xxh3::xxh3_64(key) as u32;
        let mut p = lock(&self.shared.pending);
        p.buffer.extend_from_slice(&len.to_le_bytes());
        p.buffer.extend_from_slice(&key[..usize::from(len)]);
        p.buffer.extend_from_slice(&sum.to_le_bytes());
        p.appended += 1;
        p.records += 1;
        let ticket = p.appended;
        if p.sleeping && (p.records >= p.target || p.records == 1) {
            p.sleeping = false;
            drop(p);
            self.shared.work.notify_one();
        }
        ticket
    }

    /// Waits until `ticket` is on disk.
    pub async fn durable(&self, ticket: u64) {
        std::future::poll_fn(|cx| {
            if self.shared.durable.load(Ordering::Acquire) >= ticket {
                return Poll::Ready(());
            }
            self.waiters.borrow_mut().push((ticket, cx.waker().clone()));
            Poll::Pending
        })
        .await;
    }

    /// On the loop: wakes the revocations each sync covered.
    pub async fn flush_loop(self: Rc<Journal>) {
        let mut seen = 0;
        loop {
            let durable = std::future::poll_fn(|cx| {
                let d = self.shared.durable.load(Ordering::Acquire);
                if d > seen {
                    return Poll::Ready(d);
                }
                *lock(&self.shared.acker) = Some(cx.waker().clone());
                let d = self.shared.durable.load(Ordering::Acquire);
                if d > seen {
                    Poll::Ready(d)
                } else {
                    Poll::Pending
                }
            })
            .await;
            seen = durable;
            let woken: Vec<Waker> = self
                .waiters
                .borrow_mut()
                .extract_if(.., |(t, _)| *t <= durable)
                .map(|(_, w)| w)
                .collect();
            woken.into_iter().for_each(Waker::wake);
        }
    }
}

/// The sync thread: waits for the next group (see the module doc), writes and syncs it,
/// publishes its ticket and wakes the loop.
fn sync_loop(shared: &Shared, file: &File) {
    let mut pos = 0u64;
    let mut group: Vec<u8> = Vec::new();
    let mut last = std::time::Duration::from_micros(200);
    let mut acked = 1u64;
    let mut last_ticket = 0u64;
    loop {
        let ticket = {
            let mut p = lock(&shared.pending);
            let deadline = std::time::Instant::now() + last;
            p.target = acked.max(1);
            loop {
                if p.records >= p.target {
                    break;
                }
                let now = std::time::Instant::now();
                if p.records > 0 && now >= deadline {
                    break;
                }
                p.sleeping = true;
                p = if p.records == 0 {
                    shared.work.wait(p).unwrap_or_else(|e| e.into_inner())
                } else {
                    shared
                        .work
                        .wait_timeout(p, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                };
                p.sleeping = false;
            }
            group.clear();
            std::mem::swap(&mut group, &mut p.buffer);
            p.records = 0;
            p.appended
        };
        let began = std::time::Instant::now();
        if file
            .write_all_at(&group, pos)
            .and_then(|()| file.sync_data())
            .is_err()
        {
            eprintln!("revoker_probe: sync failed");
            std::process::exit(1);
        }
        last = began.elapsed();
        pos += group.len() as u64;
        shared.durable.store(ticket, Ordering::Release);
        if let Some(w) = lock(&shared.acker).take() {
            w.wake();
        }
        acked = ticket - last_ticket;
        last_ticket = ticket;
    }
}
