//! Tasks of one data core: a slab of boxed futures, a queue of woken task ids, and the loop
//! that alternates between polling woken tasks and turning the reactor.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use super::budget;
use super::clock;
use super::reactor::{Reactor, RingError};

type Boxed = Pin<Box<dyn Future<Output = ()>>>;

/// Task ids woken since the executor last looked (a mutex so that a waker may be `Send`; on a
/// data core it is only ever taken by its own thread, uncontended), and the way a wake from
/// another thread interrupts the loop's sleep.
#[derive(Debug)]
struct Woken {
    ids: Mutex<VecDeque<TaskId>>,
    /// Set (SeqCst) while the loop blocks in the kernel, or is about to.
    sleeping: AtomicBool,
    /// Written to by a wake that finds the loop sleeping; the loop polls the other end.
    alarm: UnixStream,
}

impl Woken {
    fn push(&self, id: TaskId) {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(id);
        self.alarm_if_sleeping();
    }

    /// A wake from another thread while the loop sleeps: make its wait return. (The loop's own
    /// thread never finds it sleeping.) Pairs with [`Woken::may_sleep`]: each side publishes
    /// its write, then a SeqCst fence, then reads the other's, so one of them sees the other.
    fn alarm_if_sleeping(&self) {
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) {
            // Non-blocking: a full buffer means an alarm is pending already.
            let _ = (&self.alarm).write(&[1]);
        }
    }

    /// Announces that the loop will sleep unless something was woken meanwhile: true if it
    /// may. Call [`Woken::awake`] after the wait.
    fn may_sleep(&self, main: &MainWaker) -> bool {
        self.sleeping.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let idle = self.is_empty() && !main.woken.load(Ordering::SeqCst);
        if !idle {
            self.sleeping.store(false, Ordering::SeqCst);
        }
        idle
    }

    fn awake(&self) {
        self.sleeping.store(false, Ordering::SeqCst);
    }

    /// Moves every woken id into `into` (one lock for the batch).
    fn drain_into(&self, into: &mut VecDeque<TaskId>) {
        let mut ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        into.append(&mut ids);
    }

    fn is_empty(&self) -> bool {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TaskId {
    slot: usize,
    generation: u64,
}

/// The waker of one task: queues its id once until the task is polled again.
#[derive(Debug)]
struct TaskWaker {
    id: TaskId,
    queued: AtomicBool,
    woken: Arc<Woken>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Acquire/release pairs with the `store(false)` before each poll: a wake that comes
        // after the poll began queues the task again.
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.woken.push(self.id);
        }
    }
}

struct Task {
    generation: u64,
    future: Boxed,
    waker: Arc<TaskWaker>,
}

struct Executor {
    tasks: RefCell<Vec<Option<Task>>>,
    free: RefCell<Vec<usize>>,
    next_generation: Cell<u64>,
    woken: Arc<Woken>,
}

thread_local! {
    static EXECUTOR: RefCell<Option<Rc<Executor>>> = const { RefCell::new(None) };
}

/// Runs `future` as a task of the runtime on this thread. The handle yields its output;
/// dropping the handle detaches the task (it runs on, and is dropped with the runtime if it
/// has not finished).
///
/// Panics outside a runtime: only code running on a `Runtime` calls this.
pub fn spawn<T: 'static>(future: impl Future<Output = T> + 'static) -> JoinHandle<T> {
    let executor = EXECUTOR
        .with(|e| e.borrow().clone())
        .expect("event::spawn called outside an event::Runtime");
    let state = Rc::new(JoinState {
        output: Cell::new(None),
        waiter: Cell::new(None),
    });
    let filled = Rc::clone(&state);
    executor.spawn(Box::pin(async move {
        filled.output.set(Some(future.await));
        if let Some(waker) = filled.waiter.take() {
            waker.wake();
        }
    }));
    JoinHandle { state }
}

struct JoinState<T> {
    output: Cell<Option<T>>,
    waiter: Cell<Option<Waker>>,
}

/// The output of a spawned task, once it has finished.
pub struct JoinHandle<T> {
    state: Rc<JoinState<T>>,
}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinHandle").finish_non_exhaustive()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.state.output.take() {
            Some(output) => Poll::Ready(output),
            None => {
                self.state.waiter.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        }
    }
}

impl Executor {
    fn spawn(&self, future: Boxed) {
        let generation = self.next_generation.get() + 1;
        self.next_generation.set(generation);
        let mut tasks = self.tasks.borrow_mut();
        let slot = self.free.borrow_mut().pop().unwrap_or_else(|| {
            tasks.push(None);
            tasks.len() - 1
        });
        let id = TaskId { slot, generation };
        let waker = Arc::new(TaskWaker {
            id,
            queued: AtomicBool::new(true),
            woken: Arc::clone(&self.woken),
        });
        tasks[slot] = Some(Task {
            generation,
            future,
            waker,
        });
        self.woken.push(id);
    }

    /// Polls each task in `batch` once (tasks woken meanwhile wait for the next batch).
    fn poll_batch(&self, batch: &mut VecDeque<TaskId>) {
        while let Some(id) = batch.pop_front() {
            // The task is taken out of its slot while polled, so that it can spawn.
            let taken = {
                let mut tasks = self.tasks.borrow_mut();
                match tasks.get_mut(id.slot) {
                    Some(slot) if slot.as_ref().is_some_and(|t| t.generation == id.generation) => {
                        slot.take()
                    }
                    _ => None,
                }
            };
            let Some(mut task) = taken else { continue };
            task.waker.queued.store(false, Ordering::Release);
            budget::refill();
            let waker = Waker::from(Arc::clone(&task.waker));
            let mut cx = Context::from_waker(&waker);
            match task.future.as_mut().poll(&mut cx) {
                Poll::Ready(()) => self.free.borrow_mut().push(id.slot),
                Poll::Pending => self.tasks.borrow_mut()[id.slot] = Some(task),
            }
        }
    }
}

/// One data core's runtime: its executor and reactor, used from the thread that made it.
pub struct Runtime {
    executor: Rc<Executor>,
    reactor: Rc<Reactor>,
    /// The waker of the future `block_on` runs.
    main: Arc<MainWaker>,
    /// The ids polled in one pass (kept for the next `block_on`).
    batch: RefCell<VecDeque<TaskId>>,
    /// The other end of `Woken::alarm`, registered with the reactor.
    alarm: RefCell<crate::net::Stream>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("tasks", &self.executor.tasks.borrow().len())
            .field("reactor", &self.reactor)
            .finish()
    }
}

impl Runtime {
    /// A runtime with its own ring. Fails if the kernel refuses the ring (io_uring disabled,
    /// or the locked-memory limit on kernels that charge rings to it).
    pub fn new() -> Result<Runtime, RingError> {
        let (alarm_tx, alarm_rx) = UnixStream::pair()?;
        alarm_tx.set_nonblocking(true)?;
        let woken = Arc::new(Woken {
            ids: Mutex::new(VecDeque::new()),
            sleeping: AtomicBool::new(false),
            alarm: alarm_tx,
        });
        let reactor = Rc::new(Reactor::new()?);
        Reactor::make_current(&reactor);
        let alarm = crate::net::Stream::from_fd(OwnedFd::from(alarm_rx));
        Reactor::leave();
        Ok(Runtime {
            executor: Rc::new(Executor {
                tasks: RefCell::new(Vec::new()),
                free: RefCell::new(Vec::new()),
                next_generation: Cell::new(0),
                woken: Arc::clone(&woken),
            }),
            reactor,
            main: Arc::new(MainWaker {
                woken: AtomicBool::new(false),
                tasks: woken,
            }),
            batch: RefCell::new(VecDeque::new()),
            alarm: RefCell::new(alarm?),
        })
    }

    /// Reads away the bytes of alarms that woke a sleep (nothing to read, no call made).
    fn silence_alarm(&self) {
        let mut buf = [0u8; 64];
        let mut alarm = self.alarm.borrow_mut();
        while alarm.may_have_input() {
            match alarm.try_read(&mut buf) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
    }

    /// Runs `future` to completion on this thread, with every task spawned meanwhile (they
    /// stay, and run again at the next `block_on`).
    ///
    /// Panics if the ring fails in a way no retry can fix (the ring's file descriptor gone),
    /// which no peer can cause.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        EXECUTOR.with(|e| *e.borrow_mut() = Some(Rc::clone(&self.executor)));
        Reactor::make_current(&self.reactor);
        let mut future = std::pin::pin!(future);
        let main = Arc::clone(&self.main);
        main.woken.store(true, Ordering::Release);
        let main_waker = Waker::from(Arc::clone(&main));
        // Reused across calls, so that a `block_on` per request (as the benches do) allocates
        // nothing either.
        let mut batch = std::mem::take(&mut *self.batch.borrow_mut());
        let output = loop {
            clock::set(Instant::now());
            if main.woken.swap(false, Ordering::AcqRel) {
                budget::refill();
                if let Poll::Ready(output) =
                    future.as_mut().poll(&mut Context::from_waker(&main_waker))
                {
                    break output;
                }
            }
            self.executor.woken.drain_into(&mut batch);
            self.executor.poll_batch(&mut batch);
            let now = Instant::now();
            clock::set(now);
            self.reactor.fire_deadlines(now);
            let woken = &self.executor.woken;
            let sleep = woken.may_sleep(&main);
            let wait = sleep.then(|| {
                self.reactor
                    .next_deadline()
                    .map(|at| at.saturating_duration_since(now))
            });
            let entered = self.reactor.enter(wait);
            if sleep {
                // Before the wakes of what completed: they come from this thread, and must not
                // sound the alarm.
                woken.awake();
            }
            if let Err(e) = entered {
                panic!("the data core's io_uring failed: {e}");
            }
            self.reactor.reap();
            if sleep {
                self.silence_alarm();
            }
        };
        Reactor::leave();
        EXECUTOR.with(|e| *e.borrow_mut() = None);
        clock::clear();
        *self.batch.borrow_mut() = batch;
        output
    }
}

/// The waker of the future `block_on` runs (polled in place, not as a task).
#[derive(Debug)]
struct MainWaker {
    woken: AtomicBool,
    tasks: Arc<Woken>,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.tasks.alarm_if_sleeping();
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Tasks hold sockets whose drop deregisters them from the reactor: drop them while it
        // is still this thread's current one.
        Reactor::make_current(&self.reactor);
        let tasks = std::mem::take(&mut *self.executor.tasks.borrow_mut());
        drop(tasks);
        Reactor::leave();
    }
}
