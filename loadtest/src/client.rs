//! One keep-alive connection driving load (event-loop glue around the sans-io codec): sends when
//! the schedule says (open loop) or as soon as an answer is in (closed loop), keeps up to
//! `--pipeline` requests in flight, parses answers, checks statuses, reconnects when the server
//! closes, and bounds every connect, write and read by `--timeout`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use event::net::Stream;
use hdrhistogram::Histogram;

use crate::http::{MAX_HEAD, RequestTemplate, Response, ResponseParser, Step};
use crate::mix::{Expect, Kind, MixCursor};
use crate::progress::LiveCore;
use crate::report::{CoreStats, Failure, micros};
use crate::schedule::{Budget, Schedule, Window};
use crate::tokens::CorePool;

/// What every connection of one core shares (one per core, behind an `Rc`).
#[derive(Debug)]
pub struct CoreCtx {
    /// The target's address.
    pub addr: SocketAddr,
    /// Bound on connects, writes and reads.
    pub timeout: Duration,
    /// Requests in flight per connection.
    pub pipeline: usize,
    /// The request method (a `HEAD` answer has no body).
    pub method: String,
    /// A rendered request per kind, indexed by [`Kind::index`].
    pub templates: [RequestTemplate; 5],
    /// This core's tokens.
    pub pool: CorePool,
    /// One cycle of the mix.
    pub cycle: Rc<[Kind]>,
    /// Expected statuses.
    pub expect: Expect,
    /// Open loop: requests/s in total; `None` for closed loop.
    pub rate: Option<f64>,
    /// The run's start (schedules count from it).
    pub start: Instant,
    /// Warm-up and end.
    pub window: Window,
    /// Connections over all cores (the schedule interleaves them).
    pub connections: usize,
    /// The `--requests` cap, shared by all cores.
    pub budget: Arc<Budget>,
    /// This core's measurements. Borrowed only between awaits.
    pub stats: RefCell<CoreStats>,
    /// This core's live counters.
    pub live: Arc<crate::progress::Live>,
    /// This core's index (into `live`).
    pub core: usize,
    /// Last second's corrected latencies, for the progress line (`None`: no progress line).
    pub interval: Option<RefCell<Histogram<u64>>>,
}

impl CoreCtx {
    fn live(&self) -> Option<&LiveCore> {
        self.live.cores.get(self.core)
    }
}

/// A request sent and not yet answered.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    kind: Kind,
    intended: Instant,
    sent_at: Instant,
    measured: bool,
}

/// The read buffer: bytes `start..end` are received and not yet parsed.
struct ReadBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    fn new() -> ReadBuf {
        // Room for the largest head the parser accepts, plus a read's worth.
        ReadBuf {
            buf: vec![0; MAX_HEAD + 16 * 1024],
            start: 0,
            end: 0,
        }
    }

    fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Free space at the end, moving unparsed bytes to the front when needed.
    fn space(&mut self) -> &mut [u8] {
        if self.end == self.buf.len() && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        &mut self.buf[self.end..]
    }

    fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }
}

/// Opens a connection to `addr` (within `timeout`) with `TCP_NODELAY` set.
pub async fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<Stream> {
    let stream = Stream::connect(addr, timeout).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

fn classify(e: &io::Error) -> Failure {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Failure::Timeout,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => Failure::Closed,
        _ => Failure::Io,
    }
}

async fn sleep_until(t: Instant) {
    if t > Instant::now() {
        event::sleep_until(t).await;
    }
}

enum Wake {
    Read(io::Result<usize>),
    Due,
}

/// The state of one connection's loop.
struct Conn {
    ctx: Rc<CoreCtx>,
    schedule: Option<Schedule>,
    mix: MixCursor,
    /// Next token per kind (round robin over the core's pool).
    token_at: [usize; 5],
    stream: Option<Stream>,
    parser: ResponseParser,
    rbuf: ReadBuf,
    wbuf: Vec<u8>,
    inflight: VecDeque<InFlight>,
    /// Requests the server will not answer (it said `Connection: close` first): sent again
    /// on the next connection, keeping their intended times.
    resend: VecDeque<InFlight>,
    sending: bool,
}

/// Drives connection `global` (numbered over all cores; `local` within this core) until the
/// run ends, then drains what is in flight. `first` is a connection opened before the start.
pub async fn drive(ctx: Rc<CoreCtx>, global: usize, local: usize, first: Option<Stream>) {
    let schedule = ctx
        .rate
        .map(|rate| Schedule::new(ctx.start, rate, ctx.connections, global));
    let mix = MixCursor::new(Rc::clone(&ctx.cycle), global, ctx.connections);
    let method = ctx.method.clone();
    let pipeline = ctx.pipeline;
    let mut conn = Conn {
        ctx,
        schedule,
        mix,
        token_at: [local; 5],
        stream: first,
        parser: ResponseParser::new(&method),
        rbuf: ReadBuf::new(),
        wbuf: Vec::with_capacity(1024 * pipeline),
        inflight: VecDeque::with_capacity(pipeline),
        resend: VecDeque::new(),
        sending: true,
    };
    conn.run().await;
}

impl Conn {
    async fn run(&mut self) {
        let mut failing_since: Option<Instant> = None;
        loop {
            if !self.sending && self.inflight.is_empty() && self.resend.is_empty() {
                return;
            }
            if self.stream.is_none() {
                debug_assert!(self.inflight.is_empty());
                match connect(self.ctx.addr, self.ctx.timeout).await {
                    Ok(stream) => {
                        self.stream = Some(stream);
                        self.parser.reset();
                        self.rbuf.clear();
                        failing_since = None;
                    }
                    Err(_) => {
                        let now = Instant::now();
                        self.ctx.stats.borrow_mut().errors.add(Failure::Connect);
                        let since = *failing_since.get_or_insert(now);
                        let hopeless = self.ctx.window.end.is_none()
                            && now.duration_since(since) >= self.ctx.timeout;
                        if hopeless || self.ctx.window.over(now) || self.ctx.budget.exhausted() {
                            self.sending = false;
                            let lost: Vec<InFlight> = self.resend.drain(..).collect();
                            for req in lost {
                                self.fail(req, Failure::Closed, now);
                            }
                        } else {
                            event::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
                continue;
            }
            if let Err(e) = self.send_due().await {
                self.drop_connection(classify(&e));
                continue;
            }
            if self.inflight.is_empty() {
                if self.sending
                    && let Some(s) = &self.schedule
                {
                    let due = s.peek();
                    if self.ctx.window.over(due) {
                        self.sending = false;
                    } else {
                        sleep_until(due).await;
                    }
                }
                continue;
            }
            self.receive().await;
        }
    }

    /// Queues every request that is due (and fits the pipeline), then writes them at once.
    async fn send_due(&mut self) -> io::Result<()> {
        self.wbuf.clear();
        let now = Instant::now();
        let ctx = Rc::clone(&self.ctx);
        let mut sent_measured = 0u64;
        if self.sending && ctx.window.end.is_some_and(|end| now >= end + ctx.timeout) {
            self.abandon_overdue(now);
        }
        while self.inflight.len() < ctx.pipeline {
            if let Some(mut req) = self.resend.pop_front() {
                self.render(req.kind);
                req.sent_at = now;
                self.inflight.push_back(req);
                continue;
            }
            if !self.sending {
                break;
            }
            let intended = match &self.schedule {
                Some(s) => s.peek(),
                None => now,
            };
            if ctx.window.over(intended) {
                self.sending = false;
                break;
            }
            if intended > now {
                break; // open loop: not due yet
            }
            let measured = ctx.window.measured(intended);
            if measured && !ctx.budget.claim() {
                self.sending = false;
                break;
            }
            if let Some(s) = &mut self.schedule {
                s.advance();
            }
            let kind = self.mix.next_kind();
            self.render(kind);
            sent_measured += u64::from(measured);
            self.inflight.push_back(InFlight {
                kind,
                intended,
                sent_at: now,
                measured,
            });
        }
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(io::Error::from(io::ErrorKind::NotConnected));
        };
        let result = stream
            .write_all_by(&self.wbuf, Some(event::now() + ctx.timeout))
            .await;
        let mut stats = ctx.stats.borrow_mut();
        stats.sent += sent_measured;
        if result.is_ok() {
            stats.bytes_out += self.wbuf.len() as u64;
        }
        result
    }

    /// Open loop, `--timeout` past the end, with requests still due (the target fell behind):
    /// those that were never sent count as timeouts instead of stretching the run further.
    fn abandon_overdue(&mut self, now: Instant) {
        self.sending = false;
        let ctx = Rc::clone(&self.ctx);
        let Some(schedule) = &mut self.schedule else {
            return;
        };
        loop {
            let intended = schedule.peek();
            if ctx.window.over(intended) {
                return;
            }
            let measured = ctx.window.measured(intended);
            if measured && !ctx.budget.claim() {
                return;
            }
            schedule.advance();
            let kind = self.mix.next_kind();
            if measured {
                ctx.stats.borrow_mut().sent += 1;
                record_failure(
                    &ctx,
                    InFlight {
                        kind,
                        intended,
                        sent_at: now,
                        measured,
                    },
                    Failure::Timeout,
                    now,
                );
            }
        }
    }

    /// Appends a request of `kind` to the write buffer.
    fn render(&mut self, kind: Kind) {
        let tokens = self.ctx.pool.tokens(kind);
        let token: &str = if tokens.is_empty() {
            ""
        } else {
            let at = &mut self.token_at[kind.index()];
            *at %= tokens.len();
            let t = &tokens[*at];
            *at += 1;
            t
        };
        self.ctx.templates[kind.index()].render(token, &mut self.wbuf);
    }

    /// Reads until at least one response completes, the connection fails, or (open loop with
    /// room in the pipeline) the next request falls due.
    async fn receive(&mut self) {
        let due = match &self.schedule {
            Some(s) if self.sending && self.inflight.len() < self.ctx.pipeline => Some(s.peek()),
            _ => None,
        };
        if self.rbuf.space().is_empty() {
            // The parser bounds heads and lines below the buffer size; defensive only.
            self.drop_connection(Failure::Parse);
            return;
        }
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        let space = self.rbuf.space();
        let deadline = Some(event::now() + self.ctx.timeout);
        let wake = match due {
            None => Wake::Read(stream.read_by(space, deadline).await),
            Some(due) => {
                futures_lite::future::or(
                    async { Wake::Read(stream.read_by(space, deadline).await) },
                    async {
                        sleep_until(due).await;
                        Wake::Due
                    },
                )
                .await
            }
        };
        match wake {
            Wake::Due => {}
            Wake::Read(Ok(0)) => {
                let now = Instant::now();
                match self.parser.eof() {
                    // A close-delimited body: complete, and nothing more comes on this
                    // connection, so the rest goes again.
                    Ok(Some(response)) => {
                        self.answer(response, now);
                        self.resend.extend(self.inflight.drain(..));
                        self.drop_connection(Failure::Closed);
                    }
                    Ok(None) | Err(_) => self.drop_connection(Failure::Closed),
                }
            }
            Wake::Read(Ok(n)) => {
                self.rbuf.filled(n);
                self.ctx.stats.borrow_mut().bytes_in += n as u64;
                self.parse();
            }
            Wake::Read(Err(e)) => self.drop_connection(classify(&e)),
        }
    }

    /// Parses every complete response in the buffer.
    fn parse(&mut self) {
        loop {
            match self.parser.feed(self.rbuf.data()) {
                Ok(Step::Consumed(0)) => return,
                Ok(Step::Consumed(n)) => self.rbuf.consume(n),
                Ok(Step::Done(n, response)) => {
                    self.rbuf.consume(n);
                    let now = Instant::now();
                    if !self.answer(response, now) {
                        self.drop_connection(Failure::Parse);
                        return;
                    }
                    if response.close {
                        // The server answers nothing more here: what is in flight goes again
                        // on a new connection.
                        self.resend.extend(self.inflight.drain(..));
                        self.stream = None;
                        return;
                    }
                }
                Err(_) => {
                    self.drop_connection(Failure::Parse);
                    return;
                }
            }
        }
    }

    /// Matches `response` to the oldest request in flight and records it; false when nothing
    /// was in flight (an unsolicited response).
    fn answer(&mut self, response: Response, now: Instant) -> bool {
        let Some(req) = self.inflight.pop_front() else {
            return false;
        };
        if !req.measured {
            return true;
        }
        let ctx = &self.ctx;
        let wrong = ctx.stats.borrow_mut().response(
            req.kind,
            response.status,
            &ctx.expect,
            req.intended,
            req.sent_at,
            now,
        );
        if let Some(live) = ctx.live() {
            live.responses.fetch_add(1, Ordering::Relaxed);
            if wrong {
                live.wrong.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Some(interval) = &ctx.interval {
            interval
                .borrow_mut()
                .saturating_record(micros(req.intended, now));
        }
        true
    }

    /// Records a request that got no answer.
    fn fail(&self, req: InFlight, failure: Failure, now: Instant) {
        record_failure(&self.ctx, req, failure, now);
    }

    /// Drops the connection; every request in flight fails with `failure`.
    fn drop_connection(&mut self, failure: Failure) {
        self.stream = None;
        self.parser.reset();
        self.rbuf.clear();
        let now = Instant::now();
        let lost: Vec<InFlight> = self.inflight.drain(..).collect();
        for req in lost {
            self.fail(req, failure, now);
        }
    }
}

/// Records a measured request that got no answer.
fn record_failure(ctx: &CoreCtx, req: InFlight, failure: Failure, now: Instant) {
    if !req.measured {
        return;
    }
    ctx.stats.borrow_mut().failure(req.kind, failure, now);
    if let Some(live) = ctx.live() {
        live.failures.fetch_add(1, Ordering::Relaxed);
    }
}
