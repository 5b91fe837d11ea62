//! A small real HTTP/1.1 backend on 127.0.0.1, in plain std threads (one per connection). It
//! records every request it receives, so tests can assert what reached it (and what never did),
//! and counts the TCP connections it accepted.
//!
//! What it answers depends on the request path (the "mode"):
//!
//! | path | answer |
//! |---|---|
//! | `/fixed` | 200 `fixed`, with extra fields, hop-by-hop ones among them |
//! | `/status/{code}` | `{code}` with body `status {code}` |
//! | `/slow/{ms}` | sleeps `{ms}`, then 200 `slow` |
//! | `/stall` | never answers (holds the connection until the backend stops) |
//! | `/stall-once` | the first time like `/stall`, then 200 `recovered` |
//! | `/close` | closes the connection without a word |
//! | `/chunked/{n}` | 200, `{n}` bytes of [`pattern`], chunked (varied sizes, an extension, a trailer) |
//! | `/huge/{n}` | 200, `{n}` bytes of [`pattern`], with `Content-Length` |
//! | `/sink` | 200, body `{len} {checksum}` of the request body |
//! | anything else | echo: 200, the request body, `X-Echo-Target` and `X-Echo-Method` |

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a backend connection waits for a request before giving up.
const IDLE: Duration = Duration::from_secs(30);
/// How often blocked threads look at the stop flag.
const POLL: Duration = Duration::from_millis(50);

/// One request as the backend received it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// The request target as received (path and query).
    pub target: String,
    pub version: String,
    /// Header fields in order, names as received.
    pub headers: Vec<(String, String)>,
    /// Body bytes received.
    pub body_len: usize,
    /// [`checksum`] of the body bytes received.
    pub body_sum: u64,
    /// Whether the body was complete (false: the connection ended first).
    pub complete: bool,
    /// Which accepted connection (0-based) it came on.
    pub conn: usize,
}

impl Seen {
    /// The first value of `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether a field called `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.header(name).is_some()
    }
}

#[derive(Debug, Default)]
struct State {
    seen: Mutex<Vec<Seen>>,
    accepted: AtomicUsize,
    stop: AtomicBool,
    stalled_once: AtomicBool,
}

/// A running backend; stops (and closes every connection) when dropped.
#[derive(Debug)]
pub struct Backend {
    addr: SocketAddr,
    state: Arc<State>,
    acceptor: Option<JoinHandle<()>>,
}

impl Backend {
    /// A backend on a free port.
    pub fn start() -> Backend {
        Backend::start_on(0)
    }

    /// A backend on `port` of 127.0.0.1 (0: any free port).
    pub fn start_on(port: u16) -> Backend {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("backend bind 127.0.0.1:{port}: {e}"));
        let addr = listener.local_addr().expect("backend address");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let state = Arc::new(State::default());
        let shared = Arc::clone(&state);
        let acceptor = std::thread::spawn(move || accept_loop(&listener, &shared));
        Backend {
            addr,
            state,
            acceptor: Some(acceptor),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT`, for a config's `host`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Seen> {
        self.state
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// TCP connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// Waits up to `limit` until at least `n` requests were received; returns them all.
    pub fn wait_for_requests(&self, n: usize, limit: Duration) -> Vec<Seen> {
        let deadline = Instant::now() + limit;
        loop {
            let seen = self.requests();
            if seen.len() >= n || Instant::now() > deadline {
                return seen;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, state: &Arc<State>) {
    let mut connections = Vec::new();
    while !state.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let id = state.accepted.fetch_add(1, Ordering::SeqCst);
                let state = Arc::clone(state);
                connections.push(std::thread::spawn(move || serve(stream, id, &state)));
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2))
            }
            Err(_) => std::thread::sleep(POLL),
        }
        connections.retain(|c: &JoinHandle<()>| !c.is_finished());
    }
    // Every connection closes before the backend counts as stopped (so a test can restart one
    // on the same port and find the gateway's pooled connections dead).
    for c in connections {
        let _ = c.join();
    }
}

/// A connection's reader: bytes read and not yet consumed.
struct Conn<'s> {
    stream: TcpStream,
    buf: Vec<u8>,
    state: &'s State,
}

enum Got {
    Ok,
    Closed,
    Stopped,
}

impl Conn<'_> {
    /// Reads more (at most [`IDLE`]); checks the stop flag every [`POLL`].
    fn fill(&mut self) -> Got {
        let deadline = Instant::now() + IDLE;
        let mut chunk = [0u8; 64 * 1024];
        loop {
            if self.state.stop.load(Ordering::SeqCst) {
                return Got::Stopped;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Got::Closed,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Got::Ok;
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if Instant::now() > deadline {
                        return Got::Closed;
                    }
                }
                Err(_) => return Got::Closed,
            }
        }
    }

    fn line(&mut self) -> Option<String> {
        loop {
            if let Some(at) = crate::client::find(&self.buf, b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..at]).into_owned();
                self.buf.drain(..at + 2);
                return Some(line);
            }
            if !matches!(self.fill(), Got::Ok) {
                return None;
            }
        }
    }

    /// Sleeps `d`, or less if the backend stops.
    fn sleep(&self, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until && !self.state.stop.load(Ordering::SeqCst) {
            std::thread::sleep(POLL.min(until.saturating_duration_since(Instant::now())));
        }
    }
}

fn serve(stream: TcpStream, id: usize, state: &State) {
    let _ = stream.set_read_timeout(Some(POLL));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(20)));
    let _ = stream.set_nodelay(true);
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
        state,
    };
    while let Some(request) = read_request(&mut conn, id) {
        if !answer(&mut conn, &request) {
            return;
        }
    }
}

/// A request read to the end of its body (`body` kept for echo), or `None` when the
/// connection ended before a complete head. A request whose body was cut off is recorded too.
struct Request {
    seen: Seen,
    body: Vec<u8>,
}

fn read_request(conn: &mut Conn<'_>, id: usize) -> Option<Request> {
    let head_end = loop {
        if let Some(at) = crate::client::find(&conn.buf, b"\r\n\r\n") {
            break at + 4;
        }
        if !matches!(conn.fill(), Got::Ok) {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&conn.buf[..head_end]).into_owned();
    conn.buf.drain(..head_end);
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or("").splitn(3, ' ');
    let method = request_line.next().unwrap_or("").to_owned();
    let target = request_line.next().unwrap_or("").to_owned();
    let version = request_line.next().unwrap_or("").to_owned();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_owned(), v.trim().to_owned()))
        .collect();
    let mut seen = Seen {
        method,
        target,
        version,
        headers,
        body_len: 0,
        body_sum: checksum(&[]),
        complete: true,
        conn: id,
    };
    let mut body = Vec::new();
    let chunked = seen
        .header("transfer-encoding")
        .is_some_and(|te| te.eq_ignore_ascii_case("chunked"));
    let length: usize = seen
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    seen.complete = if chunked {
        read_chunked(conn, &mut body)
    } else {
        read_length(conn, length, &mut body)
    };
    seen.body_len = body.len();
    seen.body_sum = checksum(&body);
    let complete = seen.complete;
    state_push(conn.state, seen.clone());
    complete.then_some(Request { seen, body })
}

fn state_push(state: &State, seen: Seen) {
    state
        .seen
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(seen);
}

fn read_length(conn: &mut Conn<'_>, n: usize, body: &mut Vec<u8>) -> bool {
    while conn.buf.len() < n {
        if !matches!(conn.fill(), Got::Ok) {
            body.append(&mut conn.buf);
            return false;
        }
    }
    let rest = conn.buf.split_off(n);
    *body = std::mem::replace(&mut conn.buf, rest);
    true
}

fn read_chunked(conn: &mut Conn<'_>, body: &mut Vec<u8>) -> bool {
    loop {
        let Some(line) = conn.line() else {
            return false;
        };
        let Ok(size) = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
        else {
            return false;
        };
        if size == 0 {
            loop {
                match conn.line() {
                    Some(l) if l.is_empty() => return true,
                    Some(_) => {}
                    None => return false,
                }
            }
        }
        while conn.buf.len() < size + 2 {
            if !matches!(conn.fill(), Got::Ok) {
                return false;
            }
        }
        body.extend_from_slice(&conn.buf[..size]);
        conn.buf.drain(..size + 2);
    }
}

/// Answers one request; false: close the connection.
fn answer(conn: &mut Conn<'_>, request: &Request) -> bool {
    let target = request.seen.target.as_str();
    let path = target.split('?').next().unwrap_or("");
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let mode = parts.next().unwrap_or("");
    let arg = parts.next().unwrap_or("");
    let number = || arg.parse::<usize>().unwrap_or(0);
    let stream = &mut conn.stream;
    let written = match mode {
        "fixed" => stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Custom: yes\r\nSet-Cookie: a=b\r\n\
              Connection: x-hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\nUpgrade: foo/1\r\n\
              Proxy-Authenticate: Basic\r\nProxy-Connection: keep-alive\r\n\
              Content-Length: 5\r\n\r\nfixed",
        ),
        "status" => {
            let body = format!("status {arg}");
            stream.write_all(
                format!(
                    "HTTP/1.1 {arg} Whatever\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
        }
        "slow" => {
            conn.sleep(Duration::from_millis(number() as u64));
            conn.stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow")
        }
        "stall" => {
            conn.sleep(IDLE);
            return false;
        }
        "stall-once" => {
            if !conn.state.stalled_once.swap(true, Ordering::SeqCst) {
                conn.sleep(IDLE);
                return false;
            }
            stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nrecovered")
        }
        "close" => return false,
        "chunked" => write_chunked(stream, &pattern(number())),
        "huge" => {
            let body = pattern(number());
            stream
                .write_all(
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(),
                )
                .and_then(|()| stream.write_all(&body))
        }
        "sink" => {
            let body = format!("{} {}", request.seen.body_len, request.seen.body_sum);
            stream.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
        }
        _ => {
            let content_type = request
                .seen
                .header("content-type")
                .unwrap_or("application/octet-stream");
            stream
                .write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nX-Echo-Target: {target}\r\n\
                         X-Echo-Method: {}\r\nContent-Length: {}\r\n\r\n",
                        request.seen.method,
                        request.body.len()
                    )
                    .as_bytes(),
                )
                .and_then(|()| stream.write_all(&request.body))
        }
    };
    written.is_ok()
}

/// A chunked response carrying `body` in chunks of varied sizes, one with an extension, and
/// a trailer field.
fn write_chunked(stream: &mut TcpStream, body: &[u8]) -> std::io::Result<()> {
    const SIZES: [usize; 6] = [1, 10, 4096, 100_000, 65_536, 300_000];
    stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n")?;
    let mut rest = body;
    let mut i = 0;
    let mut out = Vec::with_capacity(400_000);
    while !rest.is_empty() {
        let n = SIZES[i % SIZES.len()].min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        out.clear();
        if i == 1 {
            out.extend_from_slice(format!("{n:x};name=value\r\n").as_bytes());
        } else {
            out.extend_from_slice(format!("{n:X}\r\n").as_bytes());
        }
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
        stream.write_all(&out)?;
        rest = tail;
        i += 1;
    }
    stream.write_all(b"0\r\nX-Trailer: t\r\n\r\n")
}

/// `n` deterministic, non-repeating-looking bytes.
pub fn pattern(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// FNV-1a, 64 bits: a deterministic checksum of a body.
pub fn checksum(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
