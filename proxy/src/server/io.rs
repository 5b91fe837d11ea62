//! Socket reads and writes with deadlines, as the connection loops need them: every wait on a
//! peer is bounded (slowloris, a silent backend), and a timeout is a value, not an error string.

use std::io;
use std::time::{Duration, Instant};

use event::net::Stream;

/// What one read gave.
#[derive(Debug)]
pub enum Read {
    /// This many bytes (> 0).
    Data(usize),
    /// The peer closed its side.
    Eof,
    /// The deadline passed first.
    TimedOut,
    /// Reset or another socket error.
    Failed(io::Error),
}

/// A stream socket whose reads and writes can wait until a deadline.
pub trait DeadlineIo {
    /// Reads into `buf` (non-empty) by `deadline`: `Ok(0)` at end of stream, `TimedOut` late.
    fn read_until(
        &mut self,
        buf: &mut [u8],
        deadline: Instant,
    ) -> impl Future<Output = io::Result<usize>>;

    /// Writes all of `data` (non-empty) by `deadline` (`TimedOut` late).
    fn write_all_until(
        &mut self,
        data: &[u8],
        deadline: Instant,
    ) -> impl Future<Output = io::Result<()>>;
}

impl DeadlineIo for Stream {
    fn read_until(
        &mut self,
        buf: &mut [u8],
        deadline: Instant,
    ) -> impl Future<Output = io::Result<usize>> {
        self.read_by(buf, Some(deadline))
    }

    fn write_all_until(
        &mut self,
        data: &[u8],
        deadline: Instant,
    ) -> impl Future<Output = io::Result<()>> {
        self.write_all_by(data, Some(deadline))
    }
}

/// Reads into `buf` (non-empty), waiting until `deadline` at the latest.
pub async fn read_by(stream: &mut impl DeadlineIo, buf: &mut [u8], deadline: Instant) -> Read {
    if deadline <= event::now() {
        return Read::TimedOut;
    }
    match stream.read_until(buf, deadline).await {
        Ok(0) => Read::Eof,
        Ok(n) => Read::Data(n),
        Err(e) if e.kind() == io::ErrorKind::TimedOut => Read::TimedOut,
        Err(e) => Read::Failed(e),
    }
}

/// Writes all of `data`, failing if the peer does not take it within `limit`.
pub async fn write_all_within(
    stream: &mut impl DeadlineIo,
    data: &[u8],
    limit: Duration,
) -> io::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    stream
        .write_all_until(data, event::now() + limit.max(Duration::from_millis(1)))
        .await
}
