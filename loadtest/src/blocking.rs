//! A small blocking keep-alive HTTP/1.1 client on std sockets, for the steps before the run
//! (revoking tokens, polling the target). Shares the response parser with the load path.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::http::{ParseError, ResponseParser, Step};

/// A request that got no response.
#[derive(Debug, thiserror::Error)]
pub enum BlockingError {
    /// Connect, read or write failed (a timeout included).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The server's bytes are not a response.
    #[error("{0}")]
    Parse(#[from] ParseError),
}

/// One keep-alive connection, reopened when the server closes it.
#[derive(Debug)]
pub struct BlockingConn {
    addr: SocketAddr,
    timeout: Duration,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    parser: ResponseParser,
}

impl BlockingConn {
    /// A connection to `addr` (opened on first use); every connect, read and write is bounded
    /// by `timeout`.
    pub fn new(addr: SocketAddr, timeout: Duration) -> BlockingConn {
        BlockingConn {
            addr,
            timeout,
            stream: None,
            buf: Vec::with_capacity(16 * 1024),
            parser: ResponseParser::new("POST"),
        }
    }

    /// Sends `request` (complete bytes) and returns the response's status. A reused connection
    /// that turns out closed before any byte of the answer is retried once on a fresh one.
    pub fn send(&mut self, request: &[u8]) -> Result<u16, BlockingError> {
        let reused = self.stream.is_some();
        match self.try_send(request) {
            Err(BlockingError::Io(e)) if reused && is_stale(&e) => {
                self.stream = None;
                self.try_send(request)
            }
            other => other,
        }
    }

    fn try_send(&mut self, request: &[u8]) -> Result<u16, BlockingError> {
        let result = self.exchange(request);
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    fn exchange(&mut self, request: &[u8]) -> Result<u16, BlockingError> {
        let stream = match &mut self.stream {
            Some(s) => s,
            None => {
                let s = TcpStream::connect_timeout(&self.addr, self.timeout)?;
                s.set_read_timeout(Some(self.timeout))?;
                s.set_write_timeout(Some(self.timeout))?;
                s.set_nodelay(true)?;
                self.buf.clear();
                self.parser.reset();
                self.stream.insert(s)
            }
        };
        stream.write_all(request)?;
        let mut chunk = [0u8; 8192];
        loop {
            // Drain what is buffered first: a response may already be complete.
            loop {
                match self.parser.feed(&self.buf)? {
                    Step::Consumed(0) => break,
                    Step::Consumed(n) => {
                        self.buf.drain(..n);
                    }
                    Step::Done(n, response) => {
                        self.buf.drain(..n);
                        if response.close {
                            self.stream = None;
                        }
                        return Ok(response.status);
                    }
                }
            }
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return match self.parser.eof()? {
                    Some(response) => {
                        self.stream = None;
                        Ok(response.status)
                    }
                    None => Err(BlockingError::Io(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed before a response",
                    ))),
                };
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Whether `e` is what a keep-alive connection closed by the server looks like.
fn is_stale(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}
