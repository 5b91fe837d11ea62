//! One client connection: requests read, routed, guarded and forwarded in order (keep-alive and
//! pipelining: the answers go out in the order the requests came), each wait bounded.
//!
//! Buffers are per connection and reused for every request: the client read buffer, the
//! upstream read buffer, one output buffer and the upstream request head. A steady-state
//! request allocates nothing.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::Core;
use super::guard;
use super::io::{Read, read_by, write_all_within};
use super::upstream::Upstream;
use crate::http::chunked::{write_chunk, write_last_chunk};
use crate::http::write::{
    CONTINUE_100, IpText, OutFraming, UpstreamRequest, client_framing, write_response_head,
    write_upstream_request,
};
use crate::http::{
    BodyDecoder, BodyFraming, HeaderSlots, Method, RequestParser, ResponseFraming, ResponseParser,
    Version,
};
use crate::jwt::Propagated;
use crate::reject::{BadRequestReason, Reject};
use crate::router::RouteMatch;
use event::net::Stream;

/// Initial size of each read buffer; the client's grows up to `max_header_bytes` for a head.
const BUFFER: usize = 16 * 1024;
/// Output is flushed when it reaches this much while streaming a body.
const FLUSH_AT: usize = 64 * 1024;
/// The most a response head from a backend may take.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

const HEALTH: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 27\r\n\r\n{\"status\":\"ok\",\"agents\":{}}";

/// Serves one client connection until it closes, fails, idles out, or shutdown.
pub async fn serve(core: &Core, stream: Stream) {
    let peer = stream.peer_addr().ok();
    let _ = stream.set_nodelay(true);
    let mut conn = Conn::new(core, stream, peer);
    conn.run().await;
    conn.linger().await;
}

/// How long a closing connection keeps reading what the client still sends.
const LINGER: Duration = Duration::from_secs(1);
/// The most a closing connection reads and discards.
const LINGER_BYTES: usize = 8 * 1024 * 1024;

/// What the head of a request decided, owned (the head itself borrows the read buffer, which the
/// body then reuses).
#[derive(Debug, Clone, Copy)]
enum Plan {
    /// Answer from the gateway itself.
    Answer {
        response: Answer,
        head_len: usize,
        framing: BodyFraming,
        keep_alive: bool,
        is_head: bool,
    },
    /// Forward to a backend; the upstream head is in `Conn::upstream_head`.
    Forward(Forward),
}

#[derive(Debug, Clone, Copy)]
enum Answer {
    Health,
    Reject(Reject),
}

#[derive(Debug, Clone, Copy)]
struct Forward {
    route: usize,
    upstream: usize,
    head_len: usize,
    framing: BodyFraming,
    keep_alive: bool,
    version: Version,
    is_head: bool,
    retryable: bool,
    expect_continue: bool,
}

/// How a request ended for the connection.
enum Next {
    /// Serve the next request (its bytes may already be in the buffer).
    Continue,
    /// Close the connection.
    Close,
}

struct Conn<'c> {
    core: &'c Core,
    client: Stream,
    ip: IpText,
    /// Client bytes: `buf[start..filled]` are read and not yet consumed.
    buf: Vec<u8>,
    start: usize,
    filled: usize,
    parser: RequestParser,
    upstream_head: Vec<u8>,
    out: Vec<u8>,
    ubuf: Vec<u8>,
    response_parser: ResponseParser,
    log: Vec<u8>,
    /// `propagate_claims` values of the current request (reused).
    claims: Propagated,
}

impl<'c> Conn<'c> {
    fn new(core: &'c Core, client: Stream, peer: Option<SocketAddr>) -> Conn<'c> {
        let ip = IpText::new(peer.map_or(std::net::IpAddr::from([0, 0, 0, 0]), |p| p.ip()));
        Conn {
            core,
            client,
            ip,
            buf: vec![0; BUFFER],
            start: 0,
            filled: 0,
            parser: RequestParser::new(core.config.max_header_bytes),
            upstream_head: Vec::with_capacity(2048),
            out: Vec::with_capacity(BUFFER),
            ubuf: vec![0; BUFFER],
            response_parser: ResponseParser::new(MAX_RESPONSE_HEAD),
            log: Vec::new(),
            claims: Propagated::default(),
        }
    }

    async fn run(&mut self) {
        loop {
            self.compact();
            if self.filled == 0 && !self.wait_for_request().await {
                return;
            }
            let Some(plan) = self.read_head().await else {
                return;
            };
            let began = event::now();
            let (status, next) = match plan {
                Plan::Answer {
                    response,
                    head_len,
                    framing,
                    keep_alive,
                    is_head,
                } => {
                    self.answer(response, head_len, framing, keep_alive, is_head)
                        .await
                }
                Plan::Forward(forward) => self.forward(forward).await,
            };
            self.access_log(status, began);
            if matches!(next, Next::Close) || self.core.stopping() {
                return;
            }
        }
    }

    /// A lingering close (as nginx does): stop sending, then read and discard what the client
    /// is still sending, for a bounded time and size. Closing with unread input would make the
    /// kernel answer RST, and the client could lose the response we just wrote (a 401 to a
    /// large upload, say). A client that already closed costs one read.
    async fn linger(&mut self) {
        if self.client.shutdown(std::net::Shutdown::Write).is_err() {
            return;
        }
        let deadline = event::now() + LINGER;
        let mut drained = 0;
        while drained < LINGER_BYTES && !self.core.stopping() {
            match read_by(&mut self.client, &mut self.buf, deadline).await {
                Read::Data(n) => drained += n,
                _ => return,
            }
        }
    }

    /// Moves unconsumed bytes (a pipelined request) to the front of the buffer.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
            self.parser.reset();
        }
    }

    /// Waits for the first byte of the next request, up to `idle_timeout`, giving up early on
    /// shutdown. False: close the connection.
    async fn wait_for_request(&mut self) -> bool {
        let idle_deadline = event::now() + self.core.config.idle_timeout;
        loop {
            if self.core.stopping() {
                return false;
            }
            let deadline = idle_deadline.min(event::now() + super::SHUTDOWN_POLL);
            match read_by(&mut self.client, &mut self.buf[self.filled..], deadline).await {
                Read::Data(n) => {
                    self.filled += n;
                    return true;
                }
                Read::TimedOut if event::now() < idle_deadline => continue,
                _ => return false,
            }
        }
    }

    /// Reads until a full head is there (within `read_header_timeout` from its first byte),
    /// then routes and guards it. `None`: close the connection (slowloris, reset, or an error
    /// already answered).
    async fn read_head(&mut self) -> Option<Plan> {
        let deadline = event::now() + self.core.config.read_header_timeout;
        loop {
            match self.plan() {
                Ok(Some(plan)) => return Some(plan),
                Ok(None) => {}
                Err(reject) => {
                    self.out.clear();
                    reject.write_response(&mut self.out, false);
                    let _ = self.send_to_client().await;
                    self.access_log(reject.status(), event::now());
                    return None;
                }
            }
            if self.filled == self.buf.len() {
                // Grow for a large head; the parser refuses past `max_header_bytes`.
                let grown = (self.buf.len() * 2).min(self.core.config.max_header_bytes + BUFFER);
                if grown <= self.buf.len() {
                    return None;
                }
                self.buf.resize(grown, 0);
            }
            match read_by(&mut self.client, &mut self.buf[self.filled..], deadline).await {
                Read::Data(n) => self.filled += n,
                // A head that does not finish in time: close without a word (as nginx does).
                Read::TimedOut | Read::Eof | Read::Failed(_) => return None,
            }
        }
    }

    /// Parses, routes and guards the head in the buffer; writes the upstream head. Synchronous:
    /// everything borrowed from the buffer is used here and dropped.
    fn plan(&mut self) -> Result<Option<Plan>, Reject> {
        let core = self.core;
        let mut slots = HeaderSlots::new();
        let head = match self.parser.parse(&self.buf[..self.filled], &mut slots) {
            Ok(Some(head)) => head,
            Ok(None) => return Ok(None),
            Err(e) => return Err(e.reject()),
        };
        let head_len = head.head_len();
        let framing = head.framing();
        let keep_alive = head.keep_alive();
        let method = head.method();
        let is_head = method == Method::Head;
        if core.config.access_log {
            self.log.clear();
            self.log.extend_from_slice(head.method_bytes());
            self.log.push(b' ');
            self.log.extend_from_slice(head.target());
        }
        let answer = |response| Plan::Answer {
            response,
            head_len,
            framing,
            keep_alive,
            is_head,
        };
        if head.path() == b"/__health" && matches!(method, Method::Get | Method::Head) {
            return Ok(Some(answer(Answer::Health)));
        }
        let (route, params) = match core.routes.router.find(method, head.path()) {
            RouteMatch::Found { route, params } => (route, params),
            RouteMatch::MethodNotAllowed => {
                return Ok(Some(answer(Answer::Reject(Reject::MethodNotAllowed))));
            }
            RouteMatch::NotFound => return Ok(Some(answer(Answer::Reject(Reject::NotFound)))),
        };
        let Some(spec) = core.routes.routes.get(route) else {
            return Ok(Some(answer(Answer::Reject(Reject::NotFound))));
        };
        let now = crate::runtime::unix_now();
        let pass = match guard::check(&core.guard, route, spec, &head, now, &mut self.claims) {
            Ok(pass) => pass,
            Err(reject) => return Ok(Some(answer(Answer::Reject(reject)))),
        };
        let Some(upstream) = core.pick_upstream(route) else {
            return Ok(Some(answer(Answer::Reject(Reject::BadGateway))));
        };
        let authority = core
            .routes
            .upstreams
            .get(upstream)
            .map_or(&b""[..], |u| &u.host_header);
        self.out.clear();
        spec.template
            .render(&params, head.query(), &spec.query, &mut self.out);
        self.upstream_head.clear();
        pass.with_headers(&self.claims, |extra| {
            write_upstream_request(
                &mut self.upstream_head,
                &UpstreamRequest {
                    method: &spec.backend_method,
                    path_and_query: &self.out,
                    authority,
                    client: &head,
                    filter: &spec.headers,
                    client_ip: self.ip.as_bytes(),
                    extra,
                    framing,
                    close: false,
                },
            );
        });
        let retryable = framing == BodyFraming::None && is_idempotent(method);
        Ok(Some(Plan::Forward(Forward {
            route,
            upstream,
            head_len,
            framing,
            keep_alive,
            version: head.version(),
            is_head,
            retryable,
            expect_continue: head.expect_continue(),
        })))
    }

    /// Answers from the gateway. The request body, if any, is skipped when it is all in the
    /// buffer; otherwise the connection closes after the answer.
    async fn answer(
        &mut self,
        response: Answer,
        head_len: usize,
        framing: BodyFraming,
        keep_alive: bool,
        is_head: bool,
    ) -> (u16, Next) {
        let body_end = match framing {
            BodyFraming::None => Some(head_len),
            BodyFraming::Length(n) => usize::try_from(n)
                .ok()
                .and_then(|n| head_len.checked_add(n)),
            BodyFraming::Chunked => None,
        };
        let skippable = body_end.filter(|&end| end <= self.filled);
        let keep = keep_alive && skippable.is_some();
        self.out.clear();
        let (status, kept) = match response {
            Answer::Health => {
                self.out.extend_from_slice(if is_head {
                    &HEALTH[..HEALTH.len() - 27]
                } else {
                    HEALTH
                });
                (200, keep)
            }
            Answer::Reject(reject) if is_head => (
                reject.status(),
                reject.write_head_response(&mut self.out, keep),
            ),
            Answer::Reject(reject) => (reject.status(), reject.write_response(&mut self.out, keep)),
        };
        if !kept && matches!(response, Answer::Health) {
            // Health keeps the connection when it can; otherwise say so in the head.
            self.out
                .truncate(self.out.len() - if is_head { 2 } else { 29 });
            self.out.extend_from_slice(b"Connection: close\r\n\r\n");
            if !is_head {
                self.out.extend_from_slice(&HEALTH[HEALTH.len() - 27..]);
            }
        }
        self.start = skippable.unwrap_or(self.filled);
        if self.send_to_client().await.is_err() || !kept {
            return (status, Next::Close);
        }
        (status, Next::Continue)
    }

    /// Sends the request to a backend and streams the answer back.
    async fn forward(&mut self, plan: Forward) -> (u16, Next) {
        let core = self.core;
        let timeout = core
            .routes
            .routes
            .get(plan.route)
            .map_or(core.config.timeout, |r| r.timeout);
        let Some(addr) = core
            .routes
            .upstreams
            .get(plan.upstream)
            .and_then(|u| u.addr)
        else {
            return self.fail(Reject::BadGateway, &plan).await;
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            // A retry (after a stale pooled connection) always gets a fresh connection.
            let upstream = if attempt == 1 {
                core.pool.get(plan.upstream, addr, timeout).await
            } else {
                core.pool.connect(plan.upstream, addr, timeout).await
            };
            let mut upstream = match upstream {
                Ok(u) => u,
                Err(_) => return self.fail(Reject::BadGateway, &plan).await,
            };
            if plan.expect_continue && plan.framing != BodyFraming::None && attempt == 1 {
                self.out.clear();
                self.out.extend_from_slice(CONTINUE_100);
                if self.send_to_client().await.is_err() {
                    return (0, Next::Close);
                }
            }
            match self.send_request(&mut upstream, &plan, timeout).await {
                Ok(()) => {}
                Err(SendError::Upstream) if upstream.reused && plan.retryable && attempt == 1 => {
                    continue;
                }
                Err(SendError::Upstream) => return self.fail(Reject::BadGateway, &plan).await,
                Err(SendError::ClientBody(reject)) => return self.fail(reject, &plan).await,
                Err(SendError::ClientGone) => return (0, Next::Close),
            }
            let sent = event::now();
            match self
                .relay_response(upstream, &plan, sent + timeout, timeout)
                .await
            {
                Relay::Done { status, keep } => {
                    return (status, if keep { Next::Continue } else { Next::Close });
                }
                Relay::Stale if attempt == 1 && plan.retryable => continue,
                Relay::Stale => return self.fail(Reject::BadGateway, &plan).await,
                Relay::NoHead(reject) => return self.fail(reject, &plan).await,
                Relay::Broken(status) => return (status, Next::Close),
            }
        }
    }

    /// Writes the upstream head, then the request body as it arrives (re-framed canonically).
    async fn send_request(
        &mut self,
        upstream: &mut Upstream,
        plan: &Forward,
        timeout: Duration,
    ) -> Result<(), SendError> {
        let write_limit = timeout.max(self.core.config.idle_timeout);
        let mut pos = plan.head_len;
        if plan.framing == BodyFraming::None {
            self.start = pos;
            return write_all_within(&mut upstream.stream, &self.upstream_head, write_limit)
                .await
                .map_err(|_| SendError::Upstream);
        }
        self.out.clear();
        self.out.extend_from_slice(&self.upstream_head);
        let chunked = plan.framing == BodyFraming::Chunked;
        let mut decoder = BodyDecoder::for_request(plan.framing);
        loop {
            while pos < self.filled && !decoder.is_done() {
                let step = decoder
                    .decode(&self.buf[pos..self.filled])
                    .map_err(|e| SendError::ClientBody(body_reject(e)))?;
                pos += step.consumed;
                if chunked {
                    write_chunk(&mut self.out, step.data);
                } else {
                    self.out.extend_from_slice(step.data);
                }
            }
            if decoder.is_done() {
                if chunked {
                    write_last_chunk(&mut self.out);
                }
                self.start = pos;
                return write_all_within(&mut upstream.stream, &self.out, write_limit)
                    .await
                    .map_err(|_| SendError::Upstream);
            }
            if self.out.len() >= FLUSH_AT || pos == self.filled {
                write_all_within(&mut upstream.stream, &self.out, write_limit)
                    .await
                    .map_err(|_| SendError::Upstream)?;
                self.out.clear();
            }
            // Everything read is consumed: read the next piece of the body from the start.
            self.start = 0;
            self.filled = 0;
            pos = 0;
            let deadline = event::now() + self.core.config.idle_timeout;
            match read_by(&mut self.client, &mut self.buf, deadline).await {
                Read::Data(n) => self.filled = n,
                Read::Eof | Read::Failed(_) | Read::TimedOut => return Err(SendError::ClientGone),
            }
        }
    }

    /// Reads the backend's response head (by `head_deadline`) and streams the response back.
    async fn relay_response(
        &mut self,
        mut upstream: Upstream,
        plan: &Forward,
        head_deadline: Instant,
        timeout: Duration,
    ) -> Relay {
        self.response_parser.reset();
        let mut filled = 0;
        let (status, framing, upstream_keep, mut pos) = loop {
            let mut slots = HeaderSlots::new();
            match self
                .response_parser
                .parse(&self.ubuf[..filled], plan.is_head, &mut slots)
            {
                Ok(Some(head)) if head.is_informational() => {
                    // 1xx: not for the client (we answered 100-continue ourselves); drop it.
                    let len = head.head_len();
                    self.ubuf.copy_within(len..filled, 0);
                    filled -= len;
                    continue;
                }
                Ok(Some(head)) => {
                    let framing = head.framing();
                    let out_framing = client_framing(framing, plan.version);
                    self.out.clear();
                    let keep = write_response_head(
                        &mut self.out,
                        &head,
                        out_framing,
                        plan.version,
                        plan.keep_alive,
                    );
                    break (
                        head.status(),
                        framing,
                        head.keep_alive() && keep,
                        head.head_len(),
                    );
                }
                Ok(None) => {}
                Err(_) => return Relay::NoHead(Reject::BadGateway),
            }
            if filled == self.ubuf.len() {
                if self.ubuf.len() >= MAX_RESPONSE_HEAD {
                    return Relay::NoHead(Reject::BadGateway);
                }
                let grown = self.ubuf.len() * 2;
                self.ubuf.resize(grown, 0);
            }
            match read_by(
                &mut upstream.stream,
                &mut self.ubuf[filled..],
                head_deadline,
            )
            .await
            {
                Read::Data(n) => filled += n,
                Read::TimedOut => return Relay::NoHead(Reject::GatewayTimeout),
                // A pooled connection the backend closed while it was idle.
                Read::Eof | Read::Failed(_) if upstream.reused && filled == 0 => {
                    return Relay::Stale;
                }
                Read::Eof | Read::Failed(_) => return Relay::NoHead(Reject::BadGateway),
            }
        };
        let out_framing = client_framing(framing, plan.version);
        let client_keep = plan.keep_alive && out_framing != OutFraming::Close;
        let mut decoder = BodyDecoder::for_response(framing);
        loop {
            while pos < filled && !decoder.is_done() {
                let Ok(step) = decoder.decode(&self.ubuf[pos..filled]) else {
                    // A malformed body after the head went out: cut the client off.
                    let _ = self.send_to_client().await;
                    return Relay::Broken(status);
                };
                pos += step.consumed;
                if out_framing == OutFraming::Chunked {
                    write_chunk(&mut self.out, step.data);
                } else {
                    self.out.extend_from_slice(step.data);
                }
            }
            if decoder.is_done() {
                break;
            }
            if !self.out.is_empty() && self.send_to_client().await.is_err() {
                return Relay::Broken(status);
            }
            self.out.clear();
            pos = 0;
            filled = 0;
            match read_by(&mut upstream.stream, &mut self.ubuf, event::now() + timeout).await {
                Read::Data(n) => filled = n,
                Read::Eof => {
                    if decoder.eof().is_err() {
                        return Relay::Broken(status);
                    }
                    break;
                }
                Read::TimedOut | Read::Failed(_) => return Relay::Broken(status),
            }
        }
        if out_framing == OutFraming::Chunked {
            write_last_chunk(&mut self.out);
        }
        if self.send_to_client().await.is_err() {
            return Relay::Broken(status);
        }
        let reusable = upstream_keep
            && pos == filled
            && framing != ResponseFraming::UntilClose
            && !self.core.stopping();
        if reusable {
            self.core.pool.put(upstream);
        }
        Relay::Done {
            status,
            keep: client_keep,
        }
    }

    /// Answers `reject` for a request that could not be forwarded; keeps the connection only
    /// if the request body was fully consumed.
    async fn fail(&mut self, reject: Reject, plan: &Forward) -> (u16, Next) {
        let consumed = plan.framing == BodyFraming::None || self.start != 0 || self.filled == 0;
        let keep = plan.keep_alive && consumed && plan.framing == BodyFraming::None;
        if plan.framing == BodyFraming::None {
            self.start = plan.head_len.min(self.filled);
        }
        self.out.clear();
        let kept = if plan.is_head {
            reject.write_head_response(&mut self.out, keep)
        } else {
            reject.write_response(&mut self.out, keep)
        };
        if self.send_to_client().await.is_err() || !kept {
            return (reject.status(), Next::Close);
        }
        (reject.status(), Next::Continue)
    }

    async fn send_to_client(&mut self) -> std::io::Result<()> {
        let limit = self.core.config.idle_timeout;
        let result = write_all_within(&mut self.client, &self.out, limit).await;
        self.out.clear();
        result
    }

    /// One access-log line, when enabled (`router.disable_access_log` turns it off; when off it
    /// costs one branch).
    fn access_log(&mut self, status: u16, began: Instant) {
        if !self.core.config.access_log {
            return;
        }
        let micros = began.elapsed().as_micros();
        let mut line = Vec::with_capacity(self.log.len() + 64);
        line.extend_from_slice(self.ip.as_bytes());
        line.push(b' ');
        line.extend_from_slice(&self.log);
        let _ = writeln!(line, " {status} {micros}us");
        let _ = std::io::stdout().lock().write_all(&line);
        self.log.clear();
    }
}

enum SendError {
    /// Writing to the backend failed.
    Upstream,
    /// The client's body framing is bad.
    ClientBody(Reject),
    /// The client went away mid-body.
    ClientGone,
}

enum Relay {
    /// Relayed completely.
    Done { status: u16, keep: bool },
    /// No (valid) response head: nothing was sent to the client yet.
    NoHead(Reject),
    /// A reused connection closed before the first response byte: nothing was sent to the
    /// client, and the backend most likely closed it while idle, so an idempotent request
    /// may be sent again. Never a timeout: a silent backend is a 504, not a second request.
    Stale,
    /// Failed after the head was sent: the client connection must close.
    Broken(u16),
}

fn body_reject(e: crate::http::BodyError) -> Reject {
    match e {
        crate::http::BodyError::Chunked(c) => Reject::BadRequest(BadRequestReason::from(c)),
        crate::http::BodyError::Truncated => Reject::BadRequest(BadRequestReason::TruncatedBody),
    }
}

/// Safe to send twice (RFC 9110 §9.2.2): a stale pooled connection may be retried.
fn is_idempotent(method: Method) -> bool {
    matches!(
        method,
        Method::Get | Method::Head | Method::Put | Method::Delete | Method::Options
    )
}
