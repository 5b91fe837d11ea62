//! The receiving side of a connection, sans-io: a growable, 16-aligned read buffer that the
//! caller's socket fills ([`FrameReader::space`], [`FrameReader::filled`]) and that yields whole
//! response frames, validated, one at a time. Shared by the blocking client (tools) and the async
//! client (the Revoke Server's pushes), so both read frames the same way.
//!
//! Frames are consumed from the front and the rest moved down, so every payload starts at
//! offset [`HEADER_LEN`], 8-aligned as rkyv needs.

use rkyv::util::AlignedVec;

use super::frame::{self, Decoded, FrameError, HEADER_LEN, MAX_PAYLOAD};
use super::message::{self, ArchivedResponse, InvalidMessage};

/// The buffer's size before it grows for a large frame.
const INITIAL: usize = 64 * 1024;

/// Why the bytes received are not the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// A bad frame header.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A payload that is not a valid response.
    #[error(transparent)]
    Message(#[from] InvalidMessage),
}

/// Bytes read from a server, split into response frames.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: AlignedVec<16>,
    filled: usize,
}

impl FrameReader {
    /// An empty reader.
    pub fn new() -> FrameReader {
        FrameReader::default()
    }

    /// Forgets everything buffered (a new connection).
    pub fn clear(&mut self) {
        self.filled = 0;
    }

    /// The length of the whole frame at the front, if it is all there.
    pub fn ready(&self) -> Result<Option<usize>, FrameError> {
        match frame::decode_header(&self.buf[..self.filled])? {
            Decoded::Frame { len } => Ok(Some(len)),
            Decoded::Incomplete => Ok(None),
        }
    }

    /// Free space to read into (grown when full, up to one maximal frame).
    pub fn space(&mut self) -> &mut [u8] {
        if self.filled == self.buf.len() {
            let grown = (self.buf.len() * 2).clamp(INITIAL, HEADER_LEN + MAX_PAYLOAD);
            self.buf.resize(grown, 0);
        }
        &mut self.buf[self.filled..]
    }

    /// Records that `n` bytes were read into [`FrameReader::space`].
    pub fn filled(&mut self, n: usize) {
        self.filled = (self.filled + n).min(self.buf.len());
    }

    /// Hands the validated response at the front (whose payload is `len` bytes, as
    /// [`FrameReader::ready`] said) to `handle`, then drops the frame.
    pub fn take<T>(
        &mut self,
        len: usize,
        handle: impl FnOnce(&ArchivedResponse) -> T,
    ) -> Result<T, ReadError> {
        let end = HEADER_LEN + len;
        if end > self.filled {
            return Err(FrameError::TooLarge(u32::try_from(len).unwrap_or(u32::MAX)).into());
        }
        let result = message::read_response(&self.buf[HEADER_LEN..end]).map(handle);
        self.buf.copy_within(end..self.filled, 0);
        self.filled -= end;
        Ok(result?)
    }
}

/// The name of a response, for "unexpected response" errors.
pub fn response_name(response: &ArchivedResponse) -> &'static str {
    match response {
        ArchivedResponse::Challenge { .. } => "challenge",
        ArchivedResponse::Welcome => "welcome",
        ArchivedResponse::Added { .. } => "added",
        ArchivedResponse::Checked { .. } => "checked",
        ArchivedResponse::SyncPending { .. } => "sync-pending",
        ArchivedResponse::Synced { .. } => "synced",
        ArchivedResponse::Status(_) => "status",
        ArchivedResponse::Error { .. } => "error",
    }
}

/// Groups `keys` into runs whose bytes (with per-key overhead) fit one `Add`/`Check` frame; a
/// single key larger than that is a run of its own (the server refuses its frame).
pub fn key_runs<'k, K: AsRef<[u8]>>(keys: &'k [K]) -> impl Iterator<Item = &'k [K]> + 'k {
    let mut rest = keys;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0;
        let take = rest
            .iter()
            .take_while(|k| {
                bytes += k.as_ref().len() + KEY_OVERHEAD;
                bytes <= KEYS_BYTES_PER_FRAME
            })
            .count()
            .max(1);
        let (run, tail) = rest.split_at(take.min(rest.len()));
        rest = tail;
        Some(run)
    })
}

/// Key bytes per `Add`/`Check` frame (the frame limit minus room for the archive's overhead).
pub const KEYS_BYTES_PER_FRAME: usize = MAX_PAYLOAD / 2;
/// What one key costs in an archive besides its bytes (its vector header, alignment).
pub const KEY_OVERHEAD: usize = 16;
/// Snapshot bytes per `Sync` frame.
pub const SYNC_PIECE: usize = MAX_PAYLOAD / 2;

#[cfg(test)]
mod tests;
