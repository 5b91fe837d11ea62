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

/// Reads into `buf` (non-empty), waiting until `deadline` at the latest.
pub async fn read_by(stream: &mut Stream, buf: &mut [u8], deadline: Instant) -> Read {
    if deadline <= event::now() {
        return Read::TimedOut;
    }
    match stream.read_by(buf, Some(deadline)).await {
        Ok(0) => Read::Eof,
        Ok(n) => Read::Data(n),
        Err(e) if e.kind() == io::ErrorKind::TimedOut => Read::TimedOut,
        Err(e) => Read::Failed(e),
    }
}

/// Writes all of `data`, failing if the peer does not take it within `limit`.
pub async fn write_all_within(stream: &mut Stream, data: &[u8], limit: Duration) -> io::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    stream
        .write_all_by(
            data,
            Some(event::now() + limit.max(Duration::from_millis(1))),
        )
        .await
}
