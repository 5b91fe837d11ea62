//! Socket reads and writes with deadlines, as the connection loop needs them: every wait on a
//! peer is bounded (slowloris, a silent backend), and a timeout is a value, not an error string.

use std::io;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;

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
pub async fn read_by(stream: &mut TcpStream, buf: &mut [u8], deadline: Instant) -> Read {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Read::TimedOut;
    }
    if let Err(e) = stream.set_read_timeout(Some(left.max(Duration::from_millis(1)))) {
        return Read::Failed(io::Error::other(e.to_string()));
    }
    match stream.read(buf).await {
        Ok(0) => Read::Eof,
        Ok(n) => Read::Data(n),
        Err(e) if e.kind() == io::ErrorKind::TimedOut => Read::TimedOut,
        Err(e) => Read::Failed(e),
    }
}

/// Writes all of `data`, failing if the peer does not take it within `limit`.
pub async fn write_all_within(
    stream: &mut TcpStream,
    data: &[u8],
    limit: Duration,
) -> io::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    stream
        .set_write_timeout(Some(limit.max(Duration::from_millis(1))))
        .map_err(|e| io::Error::other(e.to_string()))?;
    stream.write_all(data).await
}
