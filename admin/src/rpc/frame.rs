//! RPC framing: an 8-byte header, then an rkyv archive.
//!
//! ```text
//! 0..4   payload length L, u32 little-endian (<= MAX_PAYLOAD)
//! 4      protocol version (VERSION)
//! 5..8   zero
//! 8..8+L the payload: an rkyv archive of a `Request` or a `Response`
//! ```
//!
//! The header is 8 bytes so that a payload read into an 8-aligned buffer right after its header
//! stays aligned for the archive. Decoding is sans-io: [`decode_header`] says how many bytes a
//! frame needs; nothing is trusted before the length is bounded and the version checked.

/// Bytes before the payload.
pub const HEADER_LEN: usize = 8;
/// The protocol version this build speaks.
pub const VERSION: u8 = 1;
/// The largest payload accepted: a frame is a bounded unit of work; big batches and snapshots
/// travel in many frames.
pub const MAX_PAYLOAD: usize = 1 << 20;

/// Why a frame header is refused (the connection is closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The length exceeds [`MAX_PAYLOAD`].
    #[error("frame of {0} bytes exceeds the limit of {MAX_PAYLOAD}")]
    TooLarge(u32),
    /// Another protocol version, or non-zero reserved bytes.
    #[error("unsupported frame version {0}")]
    Version(u8),
}

/// What the bytes read so far hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// Not a whole header yet, or not the whole payload: read more.
    Incomplete,
    /// A whole frame: its payload is `buf[HEADER_LEN..HEADER_LEN + len]`.
    Frame {
        /// Payload length.
        len: usize,
    },
}

/// Looks at the start of `buf`: an incomplete frame, a whole one, or an invalid header.
pub fn decode_header(buf: &[u8]) -> Result<Decoded, FrameError> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(Decoded::Incomplete);
    };
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    if header[4] != VERSION || header[5..8] != [0, 0, 0] {
        return Err(FrameError::Version(header[4]));
    }
    if len as usize > MAX_PAYLOAD {
        return Err(FrameError::TooLarge(len));
    }
    if buf.len() < HEADER_LEN + len as usize {
        return Ok(Decoded::Incomplete);
    }
    Ok(Decoded::Frame { len: len as usize })
}

/// The header of a frame carrying `len` payload bytes.
pub fn header(len: usize) -> [u8; HEADER_LEN] {
    let len = u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes();
    [len[0], len[1], len[2], len[3], VERSION, 0, 0, 0]
}

#[cfg(test)]
mod tests;
