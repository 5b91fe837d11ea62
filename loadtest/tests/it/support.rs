//! A small HTTP/1.1 test server on std threads (keep-alive, pipelining, optional chunked
//! answers), playing a plain backend, a JWT gateway (HS256, expiry, revoked jtis) and a
//! Revoke Server that records every POST; plus helpers to run `loadtest` in-process or as a
//! binary.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use loadtest::cli::{self, Command, Options};
use loadtest::report::Summary;
use loadtest::run::{self, RunError, Ui};
use ring::hmac;
use simd_json::prelude::*;

/// Tests that start executors take this first: io_uring executors lock memory and the machine
/// has few cores, so they run one at a time.
static EXECUTORS: Mutex<()> = Mutex::new(());

/// Serialises tests that start executors (poisoning from a failed test is ignored).
pub fn executors() -> MutexGuard<'static, ()> {
    EXECUTORS.lock().unwrap_or_else(|e| e.into_inner())
}

/// The HS256 secret the test gateway verifies with.
pub const SECRET: &str = "loadtest-integration-secret";
/// The Revoke Server API key.
pub const API_KEY: &str = "test-api-key";

/// How the server answers requests that are not Revoke Server calls.
#[derive(Debug, Clone, Copy)]
pub enum Role {
    /// 200 to everything.
    Plain,
    /// Verifies `Authorization: Bearer` HS256 tokens: 401 for none, bad signature, expired
    /// or revoked (for the first `honour` requests only, then revoked tokens get 200: a
    /// gateway that forgets), else 200.
    Gateway {
        /// Requests during which revocations are honoured.
        honour: u64,
    },
}

/// One recorded Revoke Server call.
#[derive(Debug, Clone)]
pub struct Post {
    /// The request path.
    pub path: String,
    /// The `Authorization` header.
    pub auth: String,
    /// The body.
    pub body: String,
}

/// What the server has seen.
#[derive(Debug, Default)]
pub struct State {
    /// Non-revoke requests answered.
    pub requests: AtomicU64,
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Revoke Server POSTs, in arrival order.
    pub posts: Mutex<Vec<Post>>,
    /// Revoked jtis.
    pub revoked: Mutex<HashSet<String>>,
    /// When every handler stalls until (set once, by the request numbered `stall_at`).
    stall_until: Mutex<Option<Instant>>,
}

/// Server settings.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// How to answer.
    pub role: Role,
    /// Answer with chunked bodies instead of Content-Length.
    pub chunked: bool,
    /// Stall every connection for `.1` once request number `.0` arrives.
    pub stall: Option<(u64, Duration)>,
    /// Time taken by every request (a slow backend).
    pub delay: Option<Duration>,
    /// Answer every N-th request of a connection with `Connection: close`, then close it
    /// (requests pipelined behind it are dropped unanswered, as a server may).
    pub close_every: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            role: Role::Plain,
            chunked: false,
            stall: None,
            delay: None,
            close_every: None,
        }
    }
}

/// A running test server on 127.0.0.1.
pub struct Server {
    /// Its address.
    pub addr: SocketAddr,
    /// What it saw.
    pub state: Arc<State>,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Starts a server on a free port.
    pub fn start(config: Config) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (state2, stop2) = (Arc::clone(&state), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                state2.connections.fetch_add(1, Ordering::Relaxed);
                let state = Arc::clone(&state2);
                std::thread::spawn(move || serve(stream, &state, config));
            }
        });
        Server { addr, state, stop }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
    }
}

struct Request {
    method: String,
    path: String,
    auth: Option<String>,
    body: Vec<u8>,
}

/// Parses one request from the front of `buf`: `Some((request, length))` when complete.
fn parse_request(buf: &[u8]) -> Option<(Request, usize)> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(head) = req.parse(buf).ok()? else {
        return None;
    };
    let mut length = 0usize;
    let mut auth = None;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            length = std::str::from_utf8(h.value).ok()?.parse().ok()?;
        } else if h.name.eq_ignore_ascii_case("authorization") {
            auth = Some(String::from_utf8_lossy(h.value).into_owned());
        }
    }
    if buf.len() < head + length {
        return None;
    }
    Some((
        Request {
            method: req.method?.to_owned(),
            path: req.path?.to_owned(),
            auth,
            body: buf[head..head + length].to_vec(),
        },
        head + length,
    ))
}

fn serve(mut stream: TcpStream, state: &State, config: Config) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let mut served = 0u64;
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut out = Vec::new();
        let mut closing = false;
        while let Some((req, used)) = parse_request(&buf) {
            buf.drain(..used);
            let status = answer(&req, state, config);
            served += 1;
            closing = config.close_every.is_some_and(|n| served.is_multiple_of(n));
            respond(&mut out, status, config.chunked, closing);
            if closing {
                break;
            }
        }
        if !out.is_empty() && stream.write_all(&out).is_err() {
            return;
        }
        if closing {
            return;
        }
    }
}

fn respond(out: &mut Vec<u8>, status: u16, chunked: bool, close: bool) {
    let body = b"{\"ok\":true}";
    let connection = if close { "Connection: close\r\n" } else { "" };
    if status == 201 || status == 401 {
        out.extend_from_slice(
            format!("HTTP/1.1 {status} X\r\n{connection}Content-Length: 0\r\n\r\n").as_bytes(),
        );
    } else if chunked {
        out.extend_from_slice(
            format!("HTTP/1.1 {status} X\r\n{connection}Transfer-Encoding: chunked\r\n\r\n4\r\n{{\"ok\r\n7\r\n\":true}}\r\n0\r\n\r\n")
                .as_bytes(),
        );
    } else {
        out.extend_from_slice(
            format!(
                "HTTP/1.1 {status} X\r\n{connection}Content-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(body);
    }
}

fn answer(req: &Request, state: &State, config: Config) -> u16 {
    if req.method == "POST" && req.path.starts_with("/tokens/jti") {
        let auth = req.auth.clone().unwrap_or_default();
        state.posts.lock().unwrap().push(Post {
            path: req.path.clone(),
            auth: auth.clone(),
            body: String::from_utf8_lossy(&req.body).into_owned(),
        });
        if !auth.eq_ignore_ascii_case(&format!("bearer {API_KEY}")) {
            return 401;
        }
        let mut revoked = state.revoked.lock().unwrap();
        match req.path.strip_prefix("/tokens/jti/") {
            Some(jti) => {
                revoked.insert(jti.to_owned());
            }
            None => {
                for line in String::from_utf8_lossy(&req.body).lines() {
                    if !line.is_empty() {
                        revoked.insert(line.to_owned());
                    }
                }
            }
        }
        return 201;
    }
    let number = state.requests.fetch_add(1, Ordering::Relaxed) + 1;
    if let Some((at, pause)) = config.stall {
        let until = {
            let mut stall = state.stall_until.lock().unwrap();
            if number == at {
                *stall = Some(Instant::now() + pause);
            }
            *stall
        };
        if let Some(until) = until {
            let now = Instant::now();
            if until > now {
                std::thread::sleep(until - now);
            }
        }
    }
    if let Some(delay) = config.delay {
        std::thread::sleep(delay);
    }
    match config.role {
        Role::Plain => 200,
        Role::Gateway { honour } => gateway(req, state, number <= honour),
    }
}

/// The gateway's decision for one request.
fn gateway(req: &Request, state: &State, honour_revocations: bool) -> u16 {
    let Some(token) = req.auth.as_deref().and_then(|a| a.strip_prefix("Bearer ")) else {
        return 401;
    };
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return 401;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET.as_bytes());
    let Ok(signature) = loadtest::base64::decode(signature.as_bytes()) else {
        return 401;
    };
    if hmac::verify(&key, format!("{header}.{payload}").as_bytes(), &signature).is_err() {
        return 401;
    }
    let Ok(mut claims) = loadtest::base64::decode(payload.as_bytes()) else {
        return 401;
    };
    let Ok(claims) = simd_json::to_owned_value(&mut claims) else {
        return 401;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let exp = claims.get("exp").and_then(|v| v.cast_f64()).unwrap_or(0.0);
    if exp <= now as f64 {
        return 401;
    }
    let jti = claims.get("jti").and_then(|v| v.as_str()).unwrap_or("");
    if honour_revocations && state.revoked.lock().unwrap().contains(jti) {
        return 401;
    }
    200
}

/// Parses a `loadtest` command line.
pub fn options(line: &[&str]) -> Options {
    match cli::parse(line.iter().map(|s| (*s).to_owned())) {
        Ok(Command::Run(o)) => *o,
        other => panic!("{line:?}: {other:?}"),
    }
}

/// Runs `loadtest` in-process (executors serialised).
pub fn run(line: &[&str]) -> Result<Summary, RunError> {
    let options = options(line);
    let _guard = executors();
    run::run(&options, Ui::default())
}

/// Runs the `loadtest` binary; returns (exit code, stdout, stderr).
pub fn binary(line: &[&str]) -> (i32, String, String) {
    let _guard = executors();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loadtest"))
        .args(line)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
