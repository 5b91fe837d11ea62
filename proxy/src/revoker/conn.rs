//! One REST connection: heads parsed with the data plane's sans-io codec (`crate::http`),
//! bodies decoded with its [`BodyDecoder`], the calls answered by [`admin::revoke::Service`].
//! Keep-alive, every wait bounded: the next request within [`IDLE_TIMEOUT`], a head within
//! [`HEAD_TIMEOUT`] of its first byte, each body read within [`BODY_READ_TIMEOUT`].
//!
//! Order of checks: `GET /__health` needs no key; everything else is refused with 401 before
//! routing, then routed (404/405/400), then its size checked (413, before reading when the
//! length is known), then `100 Continue` if asked, then the body read and the call made.

use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use admin::revoke::{ApiError, Reply, Route, Service};
use event::net::Stream;

use crate::http::write::CONTINUE_100;
use crate::http::{BodyDecoder, BodyFraming, HeaderSlots, RequestParser};
use crate::server::io::{Read, read_by, write_all_within};

/// Waiting for the next request on a kept-alive connection.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// A request head must arrive within this of its first byte.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Each read of a body must complete within this.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Writing a response must complete within this.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request head.
pub const MAX_HEAD: usize = 64 * 1024;
/// The largest body of a JSON call (`POST /instances`); others' bodies are ignored up to this.
pub const MAX_SMALL_BODY: usize = 64 * 1024;
/// The largest batch body (`POST /tokens/{key}`).
pub const MAX_BATCH_BODY: u64 = 64 << 20;
/// Read buffer size.
const BUFFER: usize = 64 * 1024;

/// Serves one connection until it closes, fails, idles out or the server stops.
pub async fn serve(service: Rc<Service>, stream: Stream, stopping: impl Fn() -> bool) {
    let peer = stream.peer_addr().ok().map(|a| a.ip());
    let _ = stream.set_nodelay(true);
    let mut conn = Conn {
        service,
        stream,
        peer,
        buf: vec![0; BUFFER],
        start: 0,
        filled: 0,
        parser: RequestParser::new(MAX_HEAD),
        out: Vec::with_capacity(1024),
    };
    while !stopping() {
        match conn.one().await {
            Next::Continue => {}
            Next::Close => return,
        }
    }
}

enum Next {
    Continue,
    Close,
}

/// What a head said, owned (the head borrows the buffer the body then reuses).
struct Head {
    method: Vec<u8>,
    path: Vec<u8>,
    authorization: Option<Vec<u8>>,
    framing: BodyFraming,
    keep_alive: bool,
    expect_continue: bool,
}

struct Conn {
    service: Rc<Service>,
    stream: Stream,
    peer: Option<IpAddr>,
    /// `buf[start..filled]`: read, not consumed.
    buf: Vec<u8>,
    start: usize,
    filled: usize,
    parser: RequestParser,
    out: Vec<u8>,
}

impl Conn {
    /// One request: read, answer. Says whether the connection goes on.
    async fn one(&mut self) -> Next {
        self.compact();
        let Some(head) = self.read_head().await else {
            return Next::Close;
        };
        let (reply, body_consumed) = self.answer(&head).await;
        let keep = head.keep_alive && body_consumed;
        let mut reply = reply;
        if head.method == b"HEAD" {
            // The head says how long the body would be; the body is not sent.
            let len = reply.json.take().map_or(0, |j| j.len());
            self.out.clear();
            write_head_with_len(&mut self.out, reply.status, len, keep);
            let _ = write_all_within(&mut self.stream, &self.out, WRITE_TIMEOUT).await;
            return if keep { Next::Continue } else { Next::Close };
        }
        self.write_reply(&reply, keep).await;
        if keep { Next::Continue } else { Next::Close }
    }

    /// Decides and performs the call. Returns the reply and whether the request's body was read
    /// to its end (else the connection must close: the next request's start is unknown).
    async fn answer(&mut self, head: &Head) -> (Reply, bool) {
        let no_body = head.framing == BodyFraming::None || head.framing == BodyFraming::Length(0);
        let health = head.path == b"/__health";
        if !health && !self.service.authorize(head.authorization.as_deref()) {
            return (ApiError::Unauthorized.into(), no_body);
        }
        let route = match admin::revoke::api::route(&head.method, &head.path) {
            Ok(route) => route,
            Err(e) => return (e.into(), no_body),
        };
        match route {
            Route::RevokeBatch { key } => self.batch(head, key).await,
            route => {
                let limit = MAX_SMALL_BODY;
                if let BodyFraming::Length(n) = head.framing
                    && n > limit as u64
                {
                    return (too_large(limit as u64).into(), false);
                }
                if head.expect_continue && !no_body && !self.send_continue().await {
                    return (Reply::empty(400), false);
                }
                let mut body = Vec::new();
                if let Err(reply) = self.read_body(head.framing, limit, &mut body).await {
                    return (reply, false);
                }
                if !route.takes_body() {
                    body.clear();
                }
                (self.service.handle(route, &body, self.peer).await, true)
            }
        }
    }

    /// `POST /tokens/{key}`: the body streamed into the batch, never held whole.
    async fn batch(&mut self, head: &Head, key: Vec<u8>) -> (Reply, bool) {
        if let BodyFraming::Length(n) = head.framing
            && n > MAX_BATCH_BODY
        {
            return (too_large(MAX_BATCH_BODY).into(), false);
        }
        if head.expect_continue && head.framing != BodyFraming::None && !self.send_continue().await
        {
            return (Reply::empty(400), false);
        }
        let mut batch = self.service.batch(key);
        let mut decoder = BodyDecoder::for_request(head.framing);
        let mut total = 0u64;
        loop {
            while self.start < self.filled && !decoder.is_done() {
                let step = match decoder.decode(&self.buf[self.start..self.filled]) {
                    Ok(step) => step,
                    Err(e) => return (bad_body(&e.to_string()), false),
                };
                // A step's data always ends where its consumed bytes end.
                let len = step.data.len();
                let data_start = self.start + step.consumed - len;
                self.start += step.consumed;
                total += len as u64;
                if total > MAX_BATCH_BODY {
                    return (too_large(MAX_BATCH_BODY).into(), false);
                }
                if len > 0 {
                    let piece = &self.buf[data_start..data_start + len];
                    if let Err(e) = batch.feed(piece).await {
                        return (e.into(), false);
                    }
                }
                if step.consumed == 0 {
                    break;
                }
            }
            if decoder.is_done() {
                break;
            }
            if !self.read_more(BODY_READ_TIMEOUT).await {
                return (bad_body("the body ended early or stalled"), false);
            }
        }
        match batch.finish().await {
            Ok(_) => (Reply::empty(201), true),
            Err(e) => (e.into(), true),
        }
    }

    /// Reads a whole body of at most `limit` bytes into `out`.
    async fn read_body(
        &mut self,
        framing: BodyFraming,
        limit: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), Reply> {
        let mut decoder = BodyDecoder::for_request(framing);
        loop {
            while self.start < self.filled && !decoder.is_done() {
                let step = decoder
                    .decode(&self.buf[self.start..self.filled])
                    .map_err(|e| bad_body(&e.to_string()))?;
                if out.len() + step.data.len() > limit {
                    return Err(too_large(limit as u64).into());
                }
                out.extend_from_slice(step.data);
                self.start += step.consumed;
                if step.consumed == 0 {
                    break;
                }
            }
            if decoder.is_done() {
                return Ok(());
            }
            if !self.read_more(BODY_READ_TIMEOUT).await {
                return Err(bad_body("the body ended early or stalled"));
            }
        }
    }

    /// Moves unconsumed bytes to the front.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
            self.parser.reset();
        }
    }

    /// Reads more bytes (compacting first when the buffer is full). False on EOF, error or
    /// timeout.
    async fn read_more(&mut self, limit: Duration) -> bool {
        if self.filled == self.buf.len() {
            if self.start == 0 {
                return false;
            }
            self.compact();
        }
        let deadline = Instant::now() + limit;
        match read_by(&mut self.stream, &mut self.buf[self.filled..], deadline).await {
            Read::Data(n) => {
                self.filled += n;
                true
            }
            _ => false,
        }
    }

    /// Reads and parses the next head. `None`: close (idle, EOF, slow, or answered an error).
    async fn read_head(&mut self) -> Option<Head> {
        let idle = Instant::now() + IDLE_TIMEOUT;
        let mut deadline = idle;
        loop {
            if self.filled > 0 {
                deadline = deadline.min(Instant::now() + HEAD_TIMEOUT);
                let mut slots = HeaderSlots::new();
                match self.parser.parse(&self.buf[..self.filled], &mut slots) {
                    Ok(Some(head)) => {
                        self.start = head.head_len();
                        return Some(Head {
                            method: head.method_bytes().to_vec(),
                            path: head.path().to_vec(),
                            authorization: head.headers().get("authorization").map(<[u8]>::to_vec),
                            framing: head.framing(),
                            keep_alive: head.keep_alive(),
                            expect_continue: head.expect_continue(),
                        });
                    }
                    Ok(None) => {}
                    Err(e) => {
                        let status = e.reject().status();
                        let message = match status {
                            431 => "request head too large",
                            405 => "method not allowed",
                            _ => "malformed request",
                        };
                        let reply = Reply::json(status, admin::revoke::json::error(message));
                        self.write_reply(&reply, false).await;
                        return None;
                    }
                }
            }
            let wait = if self.filled == 0 { idle } else { deadline };
            if self.filled == self.buf.len() {
                return None;
            }
            match read_by(&mut self.stream, &mut self.buf[self.filled..], wait).await {
                Read::Data(n) => self.filled += n,
                _ => return None,
            }
        }
    }

    async fn send_continue(&mut self) -> bool {
        write_all_within(&mut self.stream, CONTINUE_100, WRITE_TIMEOUT)
            .await
            .is_ok()
    }

    async fn write_reply(&mut self, reply: &Reply, keep_alive: bool) {
        self.out.clear();
        write_head(&mut self.out, reply, keep_alive);
        if let Some(json) = &reply.json {
            self.out.extend_from_slice(json.as_bytes());
        }
        let _ = write_all_within(&mut self.stream, &self.out, WRITE_TIMEOUT).await;
    }
}

fn too_large(limit: u64) -> ApiError {
    ApiError::PayloadTooLarge(format!("the body is larger than {limit} bytes"))
}

fn bad_body(why: &str) -> Reply {
    ApiError::BadRequest(format!("bad request body: {why}")).into()
}

/// The response head.
fn write_head(out: &mut Vec<u8>, reply: &Reply, keep_alive: bool) {
    write_head_with_len(
        out,
        reply.status,
        reply.json.as_ref().map_or(0, String::len),
        keep_alive,
    );
}

/// A response head for a JSON body of `len` bytes (none when 0).
fn write_head_with_len(out: &mut Vec<u8>, status: u16, len: usize, keep_alive: bool) {
    use std::io::Write as _;
    let _ = write!(out, "HTTP/1.1 {} {}\r\n", status, reason(status));
    if len > 0 {
        out.extend_from_slice(b"Content-Type: application/json; charset=utf-8\r\n");
    }
    let _ = write!(out, "Content-Length: {len}\r\n");
    if status == 401 {
        out.extend_from_slice(b"WWW-Authenticate: Bearer\r\n");
    }
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}
