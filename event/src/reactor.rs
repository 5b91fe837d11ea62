//! The ring, the registered sources (sockets, and deadline-only sources for sleeps), their
//! readiness and waiters, and the ordered set of deadlines.
//!
//! A source's readiness flags are hints that a readiness completion arrived since the flag was
//! last cleared; the socket calls decide. The caller's protocol (see `net.rs`): try the call;
//! on `WouldBlock` clear the flag and wait for it. A completion that raced the call only makes
//! one extra attempt.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::future::Future;
use std::io;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use io_uring::{IoUring, cqueue, opcode, squeue, types};

/// Submission queue entries; a pass queues one entry per newly registered or closed socket.
const SQ_ENTRIES: u32 = 256;
/// Completion queue entries: one per readiness change since the last pass, per socket.
const CQ_ENTRIES: u32 = 8192;
/// `user_data` of entries whose completion nobody waits for (poll removals).
const IGNORED: u64 = u64::MAX;

/// Readiness that wakes a reader: data, the peer's end of stream, an error.
const READ_EVENTS: u32 = (libc::POLLIN | libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) as u32;
/// Readiness after which a read never blocks again.
const HANG_UP_EVENTS: u32 = (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) as u32;
/// Readiness that wakes a writer.
const WRITE_EVENTS: u32 = (libc::POLLOUT | libc::POLLHUP | libc::POLLERR) as u32;

/// The ring could not be created.
#[derive(Debug, thiserror::Error)]
#[error("cannot create an io_uring: {0}")]
pub struct RingError(#[from] pub io::Error);

/// Which side of a source a wait is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Readiness {
    /// A readiness completion arrived: try the call again.
    Ready,
    /// The deadline passed first.
    TimedOut,
}

/// A source's identity: slot and generation (a reused slot gets a new generation, so a late
/// completion for a closed socket is recognised and dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    slot: u32,
    generation: u32,
}

impl Key {
    fn user_data(self) -> u64 {
        u64::from(self.slot) | (u64::from(self.generation) << 32)
    }

    fn from_user_data(data: u64) -> Key {
        Key {
            slot: data as u32,
            generation: (data >> 32) as u32,
        }
    }
}

#[derive(Debug, Default)]
struct Waiter {
    waker: Option<Waker>,
    deadline: Option<Instant>,
}

#[derive(Debug)]
struct Source {
    generation: u32,
    /// The socket, or `None` for a deadline-only source.
    fd: Option<RawFd>,
    /// A multishot poll is live in the kernel for this source.
    armed: bool,
    readable: bool,
    writable: bool,
    /// A completion reported the peer's end of stream, a hang-up or an error: a read will not
    /// block again, so a short read does not clear `readable` (sticky; see
    /// [`Reactor::drained`]).
    hung_up: bool,
    reader: Waiter,
    writer: Waiter,
    /// The deadline under which this source sits in `Reactor::deadlines`.
    scheduled: Option<Instant>,
}

/// The reactor of one data core (never shared across threads).
pub(crate) struct Reactor {
    ring: RefCell<IoUring>,
    sources: RefCell<Vec<Option<Source>>>,
    free: RefCell<Vec<u32>>,
    next_generation: Cell<u32>,
    deadlines: RefCell<BTreeSet<(Instant, Key)>>,
}

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor")
            .field("sources", &self.sources.borrow().len())
            .field("deadlines", &self.deadlines.borrow().len())
            .finish()
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Reactor>>> = const { RefCell::new(None) };
}

/// The reactor of the runtime running on this thread, if one is.
pub(crate) fn try_current() -> Option<Rc<Reactor>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// The reactor of the runtime running on this thread.
///
/// Panics outside a runtime (`sleep` has no error to return; sockets use [`try_current`]).
pub(crate) fn current() -> Rc<Reactor> {
    try_current().expect("event::sleep called outside an event::Runtime")
}

impl Reactor {
    /// A ring with deferred task running where the kernel has it (6.1+), else cooperative
    /// (5.19+), else plain.
    pub(crate) fn new() -> Result<Reactor, RingError> {
        let attempts: [fn(&mut io_uring::Builder); 3] = [
            |b| {
                b.setup_single_issuer()
                    .setup_defer_taskrun()
                    .setup_taskrun_flag();
            },
            |b| {
                b.setup_coop_taskrun().setup_taskrun_flag();
            },
            |_| {},
        ];
        let mut last = None;
        for setup in attempts {
            let mut builder = IoUring::builder();
            builder.setup_cqsize(CQ_ENTRIES).setup_clamp();
            setup(&mut builder);
            match builder.build(SQ_ENTRIES) {
                Ok(ring) => {
                    return Ok(Reactor {
                        ring: RefCell::new(ring),
                        sources: RefCell::new(Vec::new()),
                        free: RefCell::new(Vec::new()),
                        next_generation: Cell::new(0),
                        deadlines: RefCell::new(BTreeSet::new()),
                    });
                }
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last = Some(e),
                Err(e) => return Err(RingError(e)),
            }
        }
        Err(RingError(last.unwrap_or_else(|| {
            io::Error::other("no ring setup accepted")
        })))
    }

    /// Makes `reactor` this thread's current one (until [`Reactor::leave`]).
    pub(crate) fn make_current(reactor: &Rc<Reactor>) {
        CURRENT.with(|c| *c.borrow_mut() = Some(Rc::clone(reactor)));
    }

    /// Clears this thread's current reactor.
    pub(crate) fn leave() {
        CURRENT.with(|c| *c.borrow_mut() = None);
    }

    /// Registers a socket: its multishot poll is queued for the next pass.
    pub(crate) fn register(&self, fd: RawFd) -> Key {
        let key = self.insert(Some(fd));
        self.arm(key);
        key
    }

    /// A source with no socket, for a deadline alone.
    pub(crate) fn register_deadline(&self) -> Key {
        self.insert(None)
    }

    fn insert(&self, fd: Option<RawFd>) -> Key {
        let generation = self.next_generation.get().wrapping_add(1);
        self.next_generation.set(generation);
        let source = Source {
            generation,
            fd,
            armed: false,
            // A socket's first call is tried; a deadline-only source is never ready.
            readable: fd.is_some(),
            writable: fd.is_some(),
            hung_up: false,
            reader: Waiter::default(),
            writer: Waiter::default(),
            scheduled: None,
        };
        let mut sources = self.sources.borrow_mut();
        let slot = match self.free.borrow_mut().pop() {
            Some(slot) => {
                sources[slot as usize] = Some(source);
                slot
            }
            None => {
                sources.push(Some(source));
                (sources.len() - 1) as u32
            }
        };
        Key { slot, generation }
    }

    /// Forgets a source; its poll is removed at the next pass. Call before closing the socket
    /// (the poll holds its own reference to the file, so the close completes with the removal).
    pub(crate) fn deregister(&self, key: Key) {
        let Some(source) = self.take(key) else { return };
        if let Some(at) = source.scheduled {
            self.deadlines.borrow_mut().remove(&(at, key));
        }
        if source.armed {
            self.push(
                opcode::PollRemove::new(key.user_data())
                    .build()
                    .user_data(IGNORED),
            );
        }
        self.free.borrow_mut().push(key.slot);
    }

    fn take(&self, key: Key) -> Option<Source> {
        let mut sources = self.sources.borrow_mut();
        let entry = sources.get_mut(key.slot as usize)?;
        if entry.as_ref()?.generation != key.generation {
            return None;
        }
        entry.take()
    }

    fn with<R>(&self, key: Key, f: impl FnOnce(&mut Source) -> R) -> Option<R> {
        let mut sources = self.sources.borrow_mut();
        let source = sources.get_mut(key.slot as usize)?.as_mut()?;
        (source.generation == key.generation).then(|| f(source))
    }

    /// Queues the multishot poll of `key`'s socket.
    fn arm(&self, key: Key) {
        let Some(Some(fd)) = self.with(key, |s| {
            let fd = if s.armed { None } else { s.fd };
            if fd.is_some() {
                s.armed = true;
            }
            fd
        }) else {
            return;
        };
        let events = READ_EVENTS | WRITE_EVENTS;
        self.push(
            opcode::PollAdd::new(types::Fd(fd), events)
                .multi(true)
                .build()
                .user_data(key.user_data()),
        );
    }

    #[allow(unsafe_code)]
    fn push(&self, entry: squeue::Entry) {
        let mut ring = self.ring.borrow_mut();
        for _ in 0..3 {
            // SAFETY: the entries pushed here are POLL_ADD and POLL_REMOVE, which carry no
            // buffer or pointer for the kernel to use after this call: a file descriptor (kept
            // open until its removal is queued, see `deregister`), an event mask, a user_data.
            if unsafe { ring.submission().push(&entry) }.is_ok() {
                return;
            }
            // The submission queue is full: hand it to the kernel and try again.
            if let Err(e) = ring.submit() {
                eprintln!("bloomgate: io_uring submit failed: {e}");
            }
        }
        // Never seen: a queue the kernel will not take. A lost poll leaves its socket's waits to
        // their deadlines; a lost removal keeps a socket open until the ring closes.
        eprintln!("bloomgate: io_uring submission queue stuck; an entry was dropped");
    }

    /// Whether a readiness completion for `direction` arrived since the last [`Reactor::clear`]
    /// (a new source counts as ready: its first call is tried).
    pub(crate) fn is_ready(&self, key: Key, direction: Direction) -> bool {
        self.with(key, |s| match direction {
            Direction::Read => s.readable,
            Direction::Write => s.writable,
        })
        .unwrap_or(true)
    }

    /// Forgets that `key` was ready in `direction` (its call would block).
    pub(crate) fn clear(&self, key: Key, direction: Direction) {
        self.with(key, |s| match direction {
            Direction::Read => s.readable = false,
            Direction::Write => s.writable = false,
        });
    }

    /// A read returned less than it asked for: the socket is drained, so the next read waits
    /// for a readiness completion — unless the peer's end of stream (or an error) was reported
    /// already. Then the short read took the data that came before the end, the completion
    /// announcing the end was consumed with the data's, and no other will come: the next read
    /// must be tried, and returns the end at once.
    pub(crate) fn drained(&self, key: Key) {
        self.with(key, |s| s.readable = s.hung_up);
    }

    /// One poll of a wait for readiness in `direction` until `deadline`.
    pub(crate) fn poll_ready(
        &self,
        key: Key,
        direction: Direction,
        deadline: Option<Instant>,
        cx: &mut Context<'_>,
    ) -> Poll<Readiness> {
        let Some(waiting) = self.with(key, |s| {
            let ready = match direction {
                Direction::Read => s.readable,
                Direction::Write => s.writable,
            };
            if ready {
                return Some(Readiness::Ready);
            }
            if deadline.is_some_and(|d| d <= super::clock::now()) {
                return Some(Readiness::TimedOut);
            }
            let waiter = match direction {
                Direction::Read => &mut s.reader,
                Direction::Write => &mut s.writer,
            };
            match &mut waiter.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            }
            waiter.deadline = deadline;
            None
        }) else {
            // The source is gone (a bug in the caller): let the call report it.
            return Poll::Ready(Readiness::Ready);
        };
        if let Some(readiness) = waiting {
            return Poll::Ready(readiness);
        }
        if let Some(deadline) = deadline {
            self.schedule(key, deadline);
        }
        self.arm(key);
        Poll::Pending
    }

    /// A wait ended or was dropped: forget its waker and deadline.
    pub(crate) fn forget_waiter(&self, key: Key, direction: Direction) {
        self.with(key, |s| {
            let waiter = match direction {
                Direction::Read => &mut s.reader,
                Direction::Write => &mut s.writer,
            };
            waiter.waker = None;
            waiter.deadline = None;
        });
    }

    /// Makes sure `key` sits in the deadline map no later than `deadline` (one entry a
    /// source; a later deadline is found when the earlier entry fires).
    fn schedule(&self, key: Key, deadline: Instant) {
        let earlier = self.with(key, |s| match s.scheduled {
            Some(at) if at <= deadline => None,
            old => {
                s.scheduled = Some(deadline);
                Some(old)
            }
        });
        if let Some(Some(old)) = earlier {
            let mut deadlines = self.deadlines.borrow_mut();
            if let Some(old) = old {
                deadlines.remove(&(old, key));
            }
            deadlines.insert((deadline, key));
        }
    }

    /// The earliest scheduled deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.borrow().first().map(|(at, _)| *at)
    }

    /// Wakes every waiter whose deadline is not after `now`; sources with later deadlines are
    /// scheduled again under the earliest of them.
    pub(crate) fn fire_deadlines(&self, now: Instant) {
        loop {
            let due = {
                let mut deadlines = self.deadlines.borrow_mut();
                match deadlines.first() {
                    Some(&(at, key)) if at <= now => {
                        deadlines.remove(&(at, key));
                        key
                    }
                    _ => return,
                }
            };
            let later = self.with(due, |s| {
                s.scheduled = None;
                let mut later: Option<Instant> = None;
                for waiter in [&mut s.reader, &mut s.writer] {
                    match waiter.deadline {
                        Some(d) if d <= now => {
                            if let Some(w) = waiter.waker.take() {
                                w.wake();
                            }
                        }
                        Some(d) => later = Some(later.map_or(d, |l| l.min(d))),
                        None => {}
                    }
                }
                later
            });
            if let Some(Some(later)) = later {
                self.schedule(due, later);
            }
        }
    }

    /// Submits what is queued and gets the kernel to produce what is ready. With `wait`,
    /// blocks until a completion arrives or `wait` passes (`None`: no limit); without it, does
    /// not block. [`Reactor::reap`] then wakes the waiters of what completed.
    pub(crate) fn enter(&self, wait: Option<Option<Duration>>) -> io::Result<()> {
        {
            let mut ring = self.ring.borrow_mut();
            let (submitter, mut queue, _) = ring.split();
            queue.sync();
            let idle = queue.is_empty() && !queue.taskrun() && !queue.cq_overflow();
            let result = match wait {
                // Nothing to submit and no completion waiting to be produced: no syscall.
                None if idle => Ok(0),
                None => submitter.submit(),
                Some(None) => submitter.submit_and_wait(1),
                Some(Some(limit)) => {
                    let ts = types::Timespec::from(limit);
                    let args = types::SubmitArgs::new().timespec(&ts);
                    submitter.submit_with_args(1, &args)
                }
            };
            match result {
                Ok(_) => {}
                Err(e) if matches!(e.raw_os_error(), Some(libc::ETIME | libc::EINTR)) => {}
                // The completion queue is full, or the kernel is short of memory for a
                // moment: reap what is there; the submissions stay queued for the next pass.
                Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::EAGAIN)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Takes every completion and wakes the waiters it readies.
    pub(crate) fn reap(&self) {
        let mut ring = self.ring.borrow_mut();
        for cqe in ring.completion() {
            let data = cqe.user_data();
            if data == IGNORED {
                continue;
            }
            let key = Key::from_user_data(data);
            let result = cqe.result();
            let more = cqueue::more(cqe.flags());
            self.with(key, |s| {
                if !more {
                    // The poll ended (cancelled, failed, or the kernel gave up on it): the next
                    // wait on this source arms a new one.
                    s.armed = false;
                }
                let events = if result < 0 {
                    if result == -libc::ECANCELED {
                        return;
                    }
                    // A failed poll: let both sides try their calls and see the error.
                    READ_EVENTS | WRITE_EVENTS
                } else {
                    result as u32
                };
                if events & HANG_UP_EVENTS != 0 {
                    s.hung_up = true;
                }
                if events & READ_EVENTS != 0 {
                    s.readable = true;
                    if let Some(w) = s.reader.waker.take() {
                        w.wake();
                    }
                }
                if events & WRITE_EVENTS != 0 {
                    s.writable = true;
                    if let Some(w) = s.writer.waker.take() {
                        w.wake();
                    }
                }
            });
        }
    }
}

/// Waits for readiness of `key` in `direction` until `deadline`; forgets its waiter when
/// dropped.
pub(crate) struct Ready<'r> {
    pub(crate) reactor: &'r Reactor,
    pub(crate) key: Key,
    pub(crate) direction: Direction,
    pub(crate) deadline: Option<Instant>,
}

impl Future for Ready<'_> {
    type Output = Readiness;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Readiness> {
        self.reactor
            .poll_ready(self.key, self.direction, self.deadline, cx)
    }
}

impl Drop for Ready<'_> {
    fn drop(&mut self) {
        self.reactor.forget_waiter(self.key, self.direction);
    }
}

/// Waits `duration` from now (by the clock itself, not the pass's cached time).
pub async fn sleep(duration: Duration) {
    sleep_until(Instant::now() + duration).await;
}

/// Waits until `deadline`.
pub async fn sleep_until(deadline: Instant) {
    let reactor = current();
    let key = reactor.register_deadline();
    let _source = DeadlineSource {
        reactor: &reactor,
        key,
    };
    Ready {
        reactor: &reactor,
        key,
        direction: Direction::Read,
        deadline: Some(deadline),
    }
    .await;
}

struct DeadlineSource<'r> {
    reactor: &'r Reactor,
    key: Key,
}

impl Drop for DeadlineSource<'_> {
    fn drop(&mut self) {
        self.reactor.deregister(self.key);
    }
}
