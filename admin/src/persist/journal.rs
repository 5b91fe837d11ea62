//! The revocation log with group commit, on the admin core's (or the revoker's) runtime.
//!
//! [`Journal::append`] encodes records into an in-memory buffer and returns a [`Ticket`] at
//! once; one flusher task writes what is buffered (at most [`MAX_WRITE`] bytes a write),
//! `fdatasync`s, and wakes every waiter whose records that covered. Revocations arriving while
//! a sync runs share the next one, and up to [`SYNCS_IN_FLIGHT`] syncs run at once: the next
//! group is written and its sync started while the previous sync still waits for the disk
//! (a sync that returns covers everything written before it started, so whichever finishes
//! makes every ticket up to its own durable).
//!
//! The write is a plain `pwrite` into the page cache on the loop (microseconds); the
//! `fdatasync` runs on a blocking thread ([`segment::Syncs`](super::segment::Syncs)), whose
//! return wakes the loop once per group, never once per revocation.
//!
//! **Gathering a group.** Clients that wait for their acknowledgement come back together: the
//! waiters a sync answered return as the next requests, one round trip later. Writing the
//! first of them at once would sync a group of one and make the rest wait a whole sync more.
//! So after a sync returns, the next group is written once as many waiters ([`Journal::durable`]
//! calls: a REST revocation, a batch, a round of pipelined RPC frames) wait on it as that sync
//! answered, or once [`GATHER_SYNCS`] times as long as the sync took has passed,
//! whichever comes first (a chunk already full, a queued switch or a closing journal never
//! wait). With no sync recently returned the wait has already expired: a lone revocation on an
//! idle journal is written at once, and a group that never fills costs its members at most
//! three syncs' time. The bound must outlast the cohort's way back (the acknowledgements
//! written, the clients' next requests read and applied), which grows with the group: bounded
//! by one sync's time, a group that missed a few members acknowledged fewer, so the next one
//! waited for fewer, and the clients stayed split into many small groups (with 64 clients:
//! groups of 20–30 against 50–63, 96–105k against 113–117k acknowledged revocations/s, and a
//! lower p50 and p99 too). Measured: `docs/BENCHMARKS.md`, persistence.
//!
//! **Failure policy:** a failed write or sync (disk full, I/O error) fails every waiter and
//! every later append: the journal refuses writes until the process restarts. After a failed
//! `fdatasync` the kernel may have dropped the dirty pages, so nothing written since the last
//! good sync can be trusted; a restart recovers from what is on disk (truncating the cut tail)
//! and starts a new segment.
//!
//! Segments: [`Journal::switch`] queues a new file; records appended before it go to the old
//! file, records after it to the new one (the snapshot taken at that instant covers the old).
//! The store keeps a *spare* segment, preallocated, ready ([`Journal::offer_spare`]): the
//! flusher moves to it by itself when the current segment is full or was never preallocated,
//! and a snapshot takes it ([`Journal::take_spare`]). A move waits for the old file's syncs to
//! return (a sync covers only its own file's writes).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use super::record;
use super::segment::Segment;

/// The most bytes written (then synced) in one go. A crash can only cut the writes whose syncs
/// had not returned (see [`TORN_LIMIT`]).
pub const MAX_WRITE: usize = 4 << 20;
/// The capacity a chunk's buffer starts with (reused, never shrunk below it).
const CHUNK_CAPACITY: usize = 64 * 1024;
/// Syncs running at once (each after its own write).
pub const SYNCS_IN_FLIGHT: usize = 2;
/// After a sync returns, the next group waits for the revocations it answered at most this
/// many times as long as that sync took (see the module doc).
pub const GATHER_SYNCS: u32 = 3;
/// Bytes at the end of the last segment that may be torn by a crash: the writes whose syncs had
/// not returned, each of [`MAX_WRITE`] plus one append that overflowed it.
pub const TORN_LIMIT: usize = SYNCS_IN_FLIGHT * (MAX_WRITE + 2 * record::size(record::MAX_KEY));

/// A position in the journal: durable once every record appended up to it is synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

/// Why the journal cannot take or keep a revocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    /// A write or a sync failed; nothing is accepted until a restart.
    #[error("persistence failed, revocations are refused until a restart: {0}")]
    Failed(String),
    /// The process is shutting down.
    #[error("shutting down: revocations are no longer accepted")]
    Closed,
    /// The store could not make the next segment (for a snapshot to switch to).
    #[error("no new log segment: {0}")]
    NoSegment(String),
}

enum Chunk {
    /// Encoded records; `last` is the ticket of the newest.
    Records { bytes: Vec<u8>, last: u64 },
    /// Continue in this (new, empty) file.
    Switch(Segment),
}

/// How the next group is gathered after a sync returned (see the module doc).
#[derive(Debug, Clone, Copy)]
struct Gather {
    /// Waiters (`durable` calls) the returned sync answered: wait for as many.
    waiters: u64,
    /// But no longer than this (the return plus [`GATHER_SYNCS`] times as long as it took).
    until: Instant,
}

#[derive(Default)]
struct Inner {
    chunks: VecDeque<Chunk>,
    /// Tickets handed out (one per append).
    appended: u64,
    /// Every ticket up to this one is synced.
    durable: u64,
    /// Records appended since the start.
    records: u64,
    failed: Option<String>,
    closing: bool,
    /// Syncs started and not yet returned.
    syncing: usize,
    /// The newest ticket taken for a write.
    written: u64,
    /// `durable` calls made for tickets not yet taken for a write: the group being gathered.
    unwritten_waiters: u64,
    /// Set when a sync returns, cleared when the next group is written.
    gather: Option<Gather>,
    flusher: Option<Waker>,
    /// The flusher gathers a group until this many `unwritten_waiters` (`None`: it waits for
    /// anything at all).
    gathering_for: Option<u64>,
    waiters: Vec<Waker>,
    /// The next segment, preallocated, if the store has one ready.
    spare: Option<Spare>,
    /// Why the store could not make the spare last time (cleared by the next offer).
    spare_failed: Option<String>,
    /// Tasks waiting for the spare to be offered or taken.
    spare_waiters: Vec<Waker>,
    /// Written chunks' buffers, emptied, for the next ones (not 64 KiB allocated and freed a group).
    free: Vec<Vec<u8>>,
}

/// A segment made ahead of need, with its number.
#[derive(Debug)]
pub struct Spare {
    /// Its number (`journal-<seq>.log`).
    pub seq: u64,
    /// The open file.
    pub file: Segment,
}

/// The log. Lives on one executor (`Rc`).
pub struct Journal {
    inner: RefCell<Inner>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.borrow();
        f.debug_struct("Journal")
            .field("appended", &inner.appended)
            .field("durable", &inner.durable)
            .field("failed", &inner.failed)
            .finish_non_exhaustive()
    }
}

impl Journal {
    /// A journal appending to `file` (empty), with its flusher task spawned on the current
    /// executor.
    pub fn start(file: Segment) -> Rc<Journal> {
        let journal = Rc::new(Journal {
            inner: RefCell::new(Inner::default()),
        });
        drop(event::spawn(flush_loop(Rc::clone(&journal), file)));
        journal
    }

    /// `Err` once the journal has failed, or is closing (shutdown).
    pub fn check(&self) -> Result<(), JournalError> {
        let inner = self.inner.borrow();
        match &inner.failed {
            Some(reason) => Err(JournalError::Failed(reason.clone())),
            None if inner.closing => Err(JournalError::Closed),
            None => Ok(()),
        }
    }

    /// Records appended since the start.
    pub fn records(&self) -> u64 {
        self.inner.borrow().records
    }

    /// Buffers the records of `keys` revoked at `time`; wait on the ticket with
    /// [`Journal::durable`] before acknowledging them.
    pub fn append<K: AsRef<[u8]>>(&self, keys: &[K], time: u64) -> Result<Ticket, JournalError> {
        self.check()?;
        let mut inner = self.inner.borrow_mut();
        if keys.is_empty() {
            return Ok(Ticket(inner.appended));
        }
        inner.appended += 1;
        inner.records += keys.len() as u64;
        let last = inner.appended;
        let size: usize = keys.iter().map(|k| record::size(k.as_ref().len())).sum();
        let fits = matches!(inner.chunks.back(), Some(Chunk::Records { bytes, .. }) if bytes.len() + size <= MAX_WRITE);
        if !fits {
            let mut bytes = inner.free.pop().unwrap_or_default();
            bytes.reserve(size.max(CHUNK_CAPACITY));
            inner.chunks.push_back(Chunk::Records { bytes, last });
        }
        if let Some(Chunk::Records {
            bytes,
            last: newest,
        }) = inner.chunks.back_mut()
        {
            for key in keys {
                record::encode(bytes, time, key.as_ref());
            }
            *newest = last;
        }
        // A gathering flusher waits for enough waiters, or for a second chunk (the first is
        // full: no reason to wait).
        let flusher = if inner.gathering_for.is_none() || !fits {
            inner.flusher.take()
        } else {
            None
        };
        drop(inner);
        if let Some(waker) = flusher {
            waker.wake();
        }
        Ok(Ticket(last))
    }

    /// Waits until every record up to `ticket` is on disk (synced).
    pub async fn durable(&self, ticket: Ticket) -> Result<(), JournalError> {
        let mut counted = false;
        futures_lite::future::poll_fn(|cx| {
            let mut inner = self.inner.borrow_mut();
            if inner.durable >= ticket.0 {
                return Poll::Ready(Ok(()));
            }
            if let Some(reason) = &inner.failed {
                return Poll::Ready(Err(JournalError::Failed(reason.clone())));
            }
            inner.waiters.push(cx.waker().clone());
            // A member of the group being gathered (counted once, however often polled).
            if !counted && ticket.0 > inner.written {
                counted = true;
                inner.unwritten_waiters += 1;
                if inner
                    .gathering_for
                    .is_some_and(|wanted| inner.unwritten_waiters >= wanted)
                    && let Some(flusher) = inner.flusher.take()
                {
                    drop(inner);
                    flusher.wake();
                }
            }
            Poll::Pending
        })
        .await
    }

    /// The ticket of the newest append.
    pub fn last(&self) -> Ticket {
        Ticket(self.inner.borrow().appended)
    }

    /// Records appended after this call go to `file` (a new, empty segment).
    pub fn switch(&self, file: Segment) -> Result<(), JournalError> {
        self.check()?;
        let mut inner = self.inner.borrow_mut();
        inner.chunks.push_back(Chunk::Switch(file));
        let flusher = inner.flusher.take();
        drop(inner);
        if let Some(waker) = flusher {
            waker.wake();
        }
        Ok(())
    }

    /// Hands the journal its next segment. The flusher moves to it when the current segment is
    /// full or was not preallocated; a snapshot takes it with [`Journal::take_spare`]. A
    /// journal that is closing or has failed hands it back (`Err`): it will not use it.
    pub fn offer_spare(&self, spare: Spare) -> Result<(), Spare> {
        let (flusher, waiters) = {
            let mut inner = self.inner.borrow_mut();
            if inner.closing || inner.failed.is_some() {
                return Err(spare);
            }
            inner.spare = Some(spare);
            inner.spare_failed = None;
            (
                inner.flusher.take(),
                std::mem::take(&mut inner.spare_waiters),
            )
        };
        flusher.into_iter().chain(waiters).for_each(Waker::wake);
        Ok(())
    }

    /// Whether a spare is waiting to be used.
    #[cfg(test)]
    pub(crate) fn has_spare(&self) -> bool {
        self.inner.borrow().spare.is_some()
    }

    /// The store could not make a spare: a snapshot waiting for one fails with `reason`.
    pub fn spare_failed(&self, reason: String) {
        let waiters = {
            let mut inner = self.inner.borrow_mut();
            inner.spare_failed = Some(reason);
            std::mem::take(&mut inner.spare_waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
    }

    /// Waits until the journal has no spare; `false` once it is closing or has failed.
    pub async fn spare_wanted(&self) -> bool {
        futures_lite::future::poll_fn(|cx| {
            let mut inner = self.inner.borrow_mut();
            if inner.closing || inner.failed.is_some() {
                Poll::Ready(false)
            } else if inner.spare.is_none() {
                Poll::Ready(true)
            } else {
                inner.spare_waiters.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }

    /// Waits for the spare and takes it (to [`Journal::switch`] to it); `Err` if the store
    /// could not make one, or if the journal has failed.
    pub async fn take_spare(&self) -> Result<Spare, JournalError> {
        futures_lite::future::poll_fn(|cx| {
            let mut inner = self.inner.borrow_mut();
            if let Some(reason) = &inner.failed {
                return Poll::Ready(Err(JournalError::Failed(reason.clone())));
            }
            if let Some(spare) = inner.spare.take() {
                let waiters = std::mem::take(&mut inner.spare_waiters);
                drop(inner);
                waiters.into_iter().for_each(Waker::wake);
                return Poll::Ready(Ok(spare));
            }
            if let Some(reason) = &inner.spare_failed {
                return Poll::Ready(Err(JournalError::NoSegment(reason.clone())));
            }
            inner.spare_waiters.push(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// Writes and syncs everything appended, then stops the flusher. A spare never used is cut
    /// to nothing (an empty segment).
    pub async fn close(&self) -> Result<(), JournalError> {
        let (last, wakers) = {
            let mut inner = self.inner.borrow_mut();
            inner.closing = true;
            let mut wakers = std::mem::take(&mut inner.spare_waiters);
            wakers.extend(inner.flusher.take());
            (inner.appended, wakers)
        };
        wakers.into_iter().for_each(Waker::wake);
        let result = self.durable(Ticket(last)).await;
        let unused = self.inner.borrow_mut().spare.take();
        if let Some(spare) = unused {
            spare.file.close(0).await;
        }
        result
    }

    fn fail(&self, reason: String) {
        let waiters = {
            let mut inner = self.inner.borrow_mut();
            inner.failed = Some(reason);
            inner.chunks.clear();
            let mut waiters = std::mem::take(&mut inner.waiters);
            waiters.append(&mut inner.spare_waiters);
            waiters
        };
        waiters.into_iter().for_each(Waker::wake);
    }

    /// A sync of the records up to ticket `last`, begun (with its write) at `began` for
    /// `waiters` waiters, returned `result`.
    fn sync_returned(&self, last: u64, began: Instant, waiters: u64, result: Result<(), String>) {
        let flusher = {
            let mut inner = self.inner.borrow_mut();
            inner.syncing -= 1;
            let now = Instant::now();
            inner.gather = Some(Gather {
                waiters,
                until: now + now.saturating_duration_since(began) * GATHER_SYNCS,
            });
            inner.flusher.take()
        };
        if let Some(flusher) = flusher {
            flusher.wake();
        }
        match result {
            Ok(()) => self.synced(last),
            Err(reason) => {
                eprintln!(
                    "bloomgate: persistence: error: {reason}; refusing revocations until a restart"
                );
                self.fail(reason);
            }
        }
    }

    fn synced(&self, last: u64) {
        let waiters = {
            let mut inner = self.inner.borrow_mut();
            // After a failure nothing more is acknowledged, even by a sync that returned.
            if inner.failed.is_some() {
                return;
            }
            inner.durable = inner.durable.max(last);
            std::mem::take(&mut inner.waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
    }
}

/// What the flusher does next.
enum Step {
    /// Write this chunk (moving to this spare first; its group has this many waiters so far),
    /// or stop (`None`).
    Ready(Option<(Chunk, Option<Spare>, u64)>),
    /// Nothing to do until woken.
    Wait,
    /// Gathering the next group: woken by appends, or go at this instant.
    GatherUntil(Instant),
}

impl Journal {
    /// Decides the flusher's next step; registers its waker when it must wait.
    fn next_step(&self, pos: u64, file: &Segment, cx: &mut Context<'_>) -> Step {
        let mut inner = self.inner.borrow_mut();
        let mut moving = false;
        let ready = match inner.chunks.front() {
            _ if inner.failed.is_some() => return Step::Ready(None),
            Some(Chunk::Records { bytes, .. }) => {
                let len = bytes.len() as u64;
                // Not while a snapshot's switch is queued: the spare made after the snapshot
                // took its own would put records from before it after it.
                moving = pos + len > file.preallocated()
                    && inner
                        .spare
                        .as_ref()
                        .is_some_and(|s| s.file.preallocated() >= len)
                    && !inner.chunks.iter().any(|c| matches!(c, Chunk::Switch(_)));
                let limit = if moving { 1 } else { SYNCS_IN_FLIGHT };
                inner.syncing < limit
            }
            Some(Chunk::Switch(_)) => inner.syncing == 0,
            None if inner.closing && inner.syncing == 0 => return Step::Ready(None),
            None => false,
        };
        if !ready {
            inner.flusher = Some(cx.waker().clone());
            inner.gathering_for = None;
            return Step::Wait;
        }
        // A lone group of records after a sync returned: wait for the cohort that sync
        // answered (unless closing, or a full chunk or a switch waits behind it).
        if let (Some(gather), Some(Chunk::Records { .. }), 1, false) = (
            inner.gather,
            inner.chunks.front(),
            inner.chunks.len(),
            inner.closing,
        ) && inner.unwritten_waiters < gather.waiters
            && Instant::now() < gather.until
        {
            inner.flusher = Some(cx.waker().clone());
            inner.gathering_for = Some(gather.waiters);
            return Step::GatherUntil(gather.until);
        }
        inner.gather = None;
        let spare = if moving { inner.spare.take() } else { None };
        let spare_waiters = if moving {
            std::mem::take(&mut inner.spare_waiters)
        } else {
            Vec::new()
        };
        let chunk = inner.chunks.pop_front();
        let mut waiters = 0;
        if let Some(Chunk::Records { last, .. }) = &chunk {
            inner.written = *last;
            waiters = std::mem::take(&mut inner.unwritten_waiters);
        }
        drop(inner);
        spare_waiters.into_iter().for_each(Waker::wake);
        Step::Ready(chunk.map(|chunk| (chunk, spare, waiters)))
    }
}

/// A sleep until some instant.
type Timer = Pin<Box<dyn Future<Output = ()>>>;

/// The flusher's timer for the end of a gathering (made again only when the end moves).
#[derive(Default)]
struct GatherTimer {
    armed: Option<(Instant, Timer)>,
}

impl GatherTimer {
    fn poll(&mut self, until: Instant, cx: &mut Context<'_>) -> Poll<()> {
        if self.armed.as_ref().is_none_or(|(at, _)| *at != until) {
            self.armed = Some((until, Box::pin(event::sleep_until(until))));
        }
        let Some((_, timer)) = self.armed.as_mut() else {
            return Poll::Ready(());
        };
        let done = timer.as_mut().poll(cx);
        if done.is_ready() {
            self.armed = None;
        }
        done
    }

    fn disarm(&mut self) {
        self.armed = None;
    }
}

/// The flusher: one chunk at a time, written, then its sync started as a task of its own
/// (at most [`SYNCS_IN_FLIGHT`] at once). A move to a new file (a switch, or the spare when
/// this one is full) waits for the old file's syncs.
async fn flush_loop(journal: Rc<Journal>, mut file: Segment) {
    let mut pos = 0u64;
    let mut gather_timer = GatherTimer::default();
    loop {
        let next = futures_lite::future::poll_fn(|cx| {
            loop {
                match journal.next_step(pos, &file, cx) {
                    Step::Ready(next) => {
                        gather_timer.disarm();
                        return Poll::Ready(next);
                    }
                    Step::Wait => return Poll::Pending,
                    Step::GatherUntil(until) => {
                        if gather_timer.poll(until, cx).is_pending() {
                            return Poll::Pending;
                        }
                        // Waited long enough: write what there is.
                        journal.inner.borrow_mut().gather = None;
                    }
                }
            }
        })
        .await;
        match next {
            None => {
                file.close(pos).await;
                return;
            }
            Some((Chunk::Records { mut bytes, last }, spare, waiters)) => {
                if let Some(spare) = spare {
                    std::mem::replace(&mut file, spare.file).close(pos).await;
                    pos = 0;
                }
                let began = Instant::now();
                if let Err(reason) = file.write_all(&bytes, pos) {
                    eprintln!(
                        "bloomgate: persistence: error: {reason}; refusing revocations until a restart"
                    );
                    journal.fail(reason);
                    file.close(pos).await;
                    return;
                }
                pos += bytes.len() as u64;
                let mut inner = journal.inner.borrow_mut();
                inner.syncing += 1;
                // Kept: at most one more than the chunks in flight (one being filled), small.
                if bytes.capacity() <= MAX_WRITE && inner.free.len() < SYNCS_IN_FLIGHT {
                    bytes.clear();
                    inner.free.push(bytes);
                }
                drop(inner);
                let (journal, sync) = (Rc::clone(&journal), file.syncs().fdatasync());
                drop(event::spawn(async move {
                    let result = sync.await;
                    journal.sync_returned(last, began, waiters, result);
                }));
            }
            Some((Chunk::Switch(next), _, _)) => {
                std::mem::replace(&mut file, next).close(pos).await;
                pos = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests;
