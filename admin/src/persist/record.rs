//! The journal's record: one revoked key and the time it was revoked, self-checking.
//!
//! Layout (little-endian): `[u32 len][u32 check][u64 unix_seconds][len key bytes]`, where
//! `check` is the low 32 bits of the xxh3-64 of `len`, the time and the key. A record is
//! [`HEADER_LEN`] + `len` bytes; `len` is at most [`MAX_KEY`]. Sans-io: encoding appends to a
//! buffer, decoding reads a slice and never trusts a length before it is bounded.

use xxhash_rust::xxh3::xxh3_64;

/// Bytes before the key.
pub const HEADER_LEN: usize = 16;
/// The longest key a record holds (an RPC frame is at most 1 MiB).
pub const MAX_KEY: usize = 1 << 20;

/// Appends the record of `key` revoked at `time` to `out`.
///
/// # Panics
/// Never: a key longer than [`MAX_KEY`] is a caller bug caught by `debug_assert!`; in release
/// it is written with its length and refused on read (the journal never gets one: RPC frames
/// and REST lines are bounded well below).
pub fn encode(out: &mut Vec<u8>, time: u64, key: &[u8]) {
    debug_assert!(key.len() <= MAX_KEY, "record key of {} bytes", key.len());
    let len = u32::try_from(key.len()).unwrap_or(u32::MAX);
    out.reserve(HEADER_LEN + key.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&check(len, time, key).to_le_bytes());
    out.extend_from_slice(&time.to_le_bytes());
    out.extend_from_slice(key);
}

/// The size of a record for a key of `key_len` bytes.
pub const fn size(key_len: usize) -> usize {
    HEADER_LEN + key_len
}

fn check(len: u32, time: u64, key: &[u8]) -> u32 {
    let mut head = [0u8; 12];
    head[..4].copy_from_slice(&len.to_le_bytes());
    head[4..].copy_from_slice(&time.to_le_bytes());
    // Two hashes combined: no allocation, and the header is covered too.
    let h = xxh3_64(&head) ^ xxh3_64(key).rotate_left(17);
    h as u32
}

/// One record read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Unix seconds of the revocation.
    pub time: u64,
    /// The filter key (`claim-value`).
    pub key: &'a [u8],
}

/// What is at the front of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A whole, valid record of `size` bytes.
    Record(Record<'a>, usize),
    /// The buffer ends inside a record (a cut write).
    Incomplete,
    /// The bytes are not a record.
    Invalid(Invalid),
}

/// Why bytes are not a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// The length field is over [`MAX_KEY`].
    #[error("record length {0} exceeds the limit")]
    Length(u32),
    /// The checksum does not match.
    #[error("record checksum mismatch")]
    Checksum,
}

/// Decodes the record at the front of `buf`.
pub fn decode(buf: &[u8]) -> Decoded<'_> {
    let Some(head) = buf.get(..HEADER_LEN) else {
        return Decoded::Incomplete;
    };
    let u32_at =
        |at: usize| u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    let (len, stored) = (u32_at(0), u32_at(4));
    let mut time = [0u8; 8];
    time.copy_from_slice(&head[8..16]);
    let time = u64::from_le_bytes(time);
    if len as usize > MAX_KEY {
        return Decoded::Invalid(Invalid::Length(len));
    }
    let size = HEADER_LEN + len as usize;
    let Some(key) = buf.get(HEADER_LEN..size) else {
        return Decoded::Incomplete;
    };
    if check(len, time, key) != stored {
        return Decoded::Invalid(Invalid::Checksum);
    }
    Decoded::Record(Record { time, key }, size)
}

/// How a run of records ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Every byte was a whole valid record.
    Clean,
    /// The bytes from `offset` on are a cut record.
    Incomplete {
        /// Where the cut record starts.
        offset: usize,
    },
    /// The record at `offset` is invalid.
    Invalid {
        /// Where it starts.
        offset: usize,
        /// Why.
        reason: Invalid,
    },
}

impl End {
    /// The offset of the first byte not part of a valid record (the buffer's length if clean).
    pub fn valid_len(&self, total: usize) -> usize {
        match *self {
            End::Clean => total,
            End::Incomplete { offset } | End::Invalid { offset, .. } => offset,
        }
    }
}

/// Calls `each` for every valid record from the start of `buf`, in order, and says how the
/// run ended.
pub fn scan<'a>(buf: &'a [u8], mut each: impl FnMut(Record<'a>)) -> End {
    let mut offset = 0;
    while offset < buf.len() {
        match decode(&buf[offset..]) {
            Decoded::Record(record, size) => {
                each(record);
                offset += size;
            }
            Decoded::Incomplete => return End::Incomplete { offset },
            Decoded::Invalid(reason) => return End::Invalid { offset, reason },
        }
    }
    End::Clean
}

#[cfg(test)]
mod tests;
