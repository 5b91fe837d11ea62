//! A raw HTTP/1.1 client over `std::net::TcpStream`: it sends exactly the bytes a test gives
//! (so tests can send malformed and ambiguous requests) and reads responses with deadlines.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The default bound on reading one response.
pub const READ_LIMIT: Duration = Duration::from_secs(10);

/// One response as the client received it.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// Whether the body came chunked.
    pub chunked: bool,
}

impl Response {
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

    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A client connection.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    /// Read and not yet consumed.
    buf: Vec<u8>,
}

impl Client {
    /// Connects to `addr` (within 5 s).
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        let _ = stream.set_nodelay(true);
        stream
            .set_write_timeout(Some(Duration::from_secs(20)))
            .expect("set write timeout");
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    /// Writes all of `bytes`.
    /// The socket, to write from another thread while this one reads.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to the gateway");
    }

    /// Sends `bytes` and reads one response (panics on a read error or timeout).
    pub fn request(&mut self, bytes: &[u8]) -> Response {
        self.send(bytes);
        self.response()
    }

    /// Reads one response within [`READ_LIMIT`], panicking if there is none.
    pub fn response(&mut self) -> Response {
        self.read_response(READ_LIMIT)
            .unwrap_or_else(|e| panic!("reading a response: {e}"))
    }

    /// Reads one response within `limit`.
    pub fn read_response(&mut self, limit: Duration) -> Result<Response, String> {
        let deadline = Instant::now() + limit;
        let head_end = loop {
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                break at + 4;
            }
            if self.buf.len() > 256 * 1024 {
                return Err("response head over 256 KiB".into());
            }
            self.fill(deadline)?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        self.buf.drain(..head_end);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let status: u16 = status_line
            .strip_prefix("HTTP/1.1 ")
            .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| format!("bad status line {status_line:?}"))?;
        let mut headers = Vec::new();
        for line in lines.filter(|l| !l.is_empty()) {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| format!("bad header line {line:?}"))?;
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
            chunked: false,
        };
        if (100..200).contains(&status) {
            // An interim response: the final one follows.
            return self.read_response(deadline.saturating_duration_since(Instant::now()));
        }
        if status == 204 || status == 304 {
            return Ok(response);
        }
        let te = response.header("transfer-encoding").map(str::to_owned);
        let cl = response.header("content-length").map(str::to_owned);
        if let Some(te) = te {
            if !te.eq_ignore_ascii_case("chunked") {
                return Err(format!("unexpected Transfer-Encoding {te:?}"));
            }
            response.chunked = true;
            response.body = self.read_chunked(deadline)?;
        } else if let Some(cl) = cl {
            let n: usize = cl
                .parse()
                .map_err(|_| format!("bad Content-Length {cl:?}"))?;
            response.body = self.read_exact_body(n, deadline)?;
        } else {
            response.body = self.read_until_close(deadline)?;
        }
        Ok(response)
    }

    /// Reads a response to `HEAD` (no body whatever the head says).
    pub fn read_head_response(&mut self, limit: Duration) -> Result<Response, String> {
        let deadline = Instant::now() + limit;
        let head_end = loop {
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                break at + 4;
            }
            self.fill(deadline)?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        self.buf.drain(..head_end);
        let status = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad head {head:?}"))?;
        let headers = head
            .split("\r\n")
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.to_owned(), v.trim().to_owned()))
            .collect();
        Ok(Response {
            status,
            headers,
            body: Vec::new(),
            chunked: false,
        })
    }

    /// Waits up to `limit` for the gateway to close the connection (EOF or reset), discarding
    /// anything it sends. True if it closed.
    pub fn closed_within(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            match self.fill(deadline) {
                Ok(_) => self.buf.clear(),
                Err(e) => return e != TIMED_OUT,
            }
        }
    }

    /// Half-closes the connection (the gateway sees EOF).
    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
    }

    /// Reads once more into the buffer before `deadline`. `Err("closed")` at EOF,
    /// `Err(TIMED_OUT)` on timeout, another message on a socket error.
    fn fill(&mut self, deadline: Instant) -> Result<usize, String> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(TIMED_OUT.into());
        }
        self.stream
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        let mut chunk = [0u8; 64 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(CLOSED.into()),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(n)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(TIMED_OUT.into())
            }
            Err(e) => Err(format!("read failed: {e}")),
        }
    }

    fn read_exact_body(&mut self, n: usize, deadline: Instant) -> Result<Vec<u8>, String> {
        while self.buf.len() < n {
            self.fill(deadline)
                .map_err(|e| format!("body: {e} after {} of {n} bytes", self.buf.len()))?;
        }
        let rest = self.buf.split_off(n);
        Ok(std::mem::replace(&mut self.buf, rest))
    }

    fn read_until_close(&mut self, deadline: Instant) -> Result<Vec<u8>, String> {
        loop {
            match self.fill(deadline) {
                Ok(_) => {}
                Err(e) if e == CLOSED => return Ok(std::mem::take(&mut self.buf)),
                Err(e) => return Err(format!("until-close body: {e}")),
            }
        }
    }

    fn read_chunked(&mut self, deadline: Instant) -> Result<Vec<u8>, String> {
        let mut body = Vec::new();
        loop {
            let line = self.line(deadline)?;
            let size = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| format!("bad chunk size line {line:?}"))?;
            if size == 0 {
                // Trailers, up to the blank line.
                while !self.line(deadline)?.is_empty() {}
                return Ok(body);
            }
            while self.buf.len() < size + 2 {
                self.fill(deadline)
                    .map_err(|e| format!("chunk data: {e} after {} bytes", body.len()))?;
            }
            body.extend_from_slice(&self.buf[..size]);
            if &self.buf[size..size + 2] != b"\r\n" {
                return Err("chunk data not followed by CRLF".into());
            }
            self.buf.drain(..size + 2);
        }
    }

    fn line(&mut self, deadline: Instant) -> Result<String, String> {
        loop {
            if let Some(at) = find(&self.buf, b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..at]).into_owned();
                self.buf.drain(..at + 2);
                return Ok(line);
            }
            self.fill(deadline)?;
        }
    }
}

const TIMED_OUT: &str = "timed out";
const CLOSED: &str = "closed";

/// `GET path` on a new connection (with `Connection: close`), one response.
pub fn get(addr: SocketAddr, path: &str) -> Response {
    let mut client = Client::connect(addr);
    client
        .request(format!("GET {path} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n").as_bytes())
}

/// The first position of `needle` in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
