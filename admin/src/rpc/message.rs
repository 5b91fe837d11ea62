//! The RPC messages, archived with rkyv and validated with bytecheck before use.
//!
//! A connection starts with the server's [`Response::Challenge`]; the client answers
//! [`Request::Hello`] with an HMAC of the nonce under the API key ([`super::auth`]); then any
//! number of requests, each with an `id` the response repeats, answered in order (so a client
//! may pipeline).

use rkyv::rancor;
use rkyv::util::AlignedVec;

use super::frame::{self, HEADER_LEN};

/// What a client sends.
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum Request {
    /// The answer to the challenge: `HMAC-SHA256(api_key, context || nonce)`.
    Hello {
        /// The MAC.
        mac: [u8; 32],
    },
    /// Revoke these keys (`claim-value` bytes, e.g. `jti-1234`).
    Add {
        /// Request id, repeated in the response.
        id: u64,
        /// The keys.
        keys: Vec<Vec<u8>>,
    },
    /// Are these keys revoked?
    Check {
        /// Request id.
        id: u64,
        /// The keys.
        keys: Vec<Vec<u8>>,
    },
    /// One piece of a snapshot of a revoke server's filter, merged by epoch once complete
    /// (a newly registered gateway catching up). Pieces come in order.
    Sync {
        /// Request id (the same for every piece of one snapshot).
        id: u64,
        /// The whole snapshot's size.
        total: u64,
        /// Where this piece starts.
        offset: u64,
        /// The piece.
        bytes: Vec<u8>,
    },
    /// Geometry, epochs and fill of the filter.
    Status {
        /// Request id.
        id: u64,
    },
}

/// What a server sends.
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum Response {
    /// The first frame of a connection: a fresh random nonce to authenticate with.
    Challenge {
        /// The nonce.
        nonce: [u8; 32],
    },
    /// Authentication succeeded.
    Welcome,
    /// The keys of an `Add` are in the filter (and, with persistence, on disk).
    Added {
        /// Request id.
        id: u64,
        /// Keys received.
        count: u64,
        /// Keys that set at least one new bit.
        new: u64,
    },
    /// One answer per key of a `Check`, in order.
    Checked {
        /// Request id.
        id: u64,
        /// Whether each key is revoked.
        hits: Vec<bool>,
    },
    /// A `Sync` piece was stored; more are expected.
    SyncPending {
        /// Request id.
        id: u64,
        /// Bytes received so far.
        received: u64,
    },
    /// The whole snapshot was merged.
    Synced {
        /// Request id.
        id: u64,
        /// Generations merged.
        kept: u32,
        /// Generations dropped as older than the window.
        dropped: u32,
    },
    /// The filter's status.
    Status(Status),
    /// The request failed; nothing was changed.
    Error {
        /// Request id (0 if it could not be read).
        id: u64,
        /// Why.
        message: String,
    },
}

/// The answer to [`Request::Status`].
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct Status {
    /// Request id.
    pub id: u64,
    /// `N`.
    pub n: u64,
    /// `P`.
    pub p: f64,
    /// `TTL` in seconds.
    pub ttl: u64,
    /// Hash seed.
    pub seed: u64,
    /// How a key's bits are placed in its block ([`bloom::Placement::code`]).
    pub placement: u8,
    /// Bits per block.
    pub block_bits: u32,
    /// Bits per key.
    pub k: u32,
    /// Epochs of the generations, newest first.
    pub epochs: [u64; 2],
    /// Insertions per generation, newest first.
    pub inserted: [u64; 2],
    /// Fill ratio per generation, newest first.
    pub fill: [f64; 2],
    /// `inserted / N` of the current generation, 0–100.
    pub percentage_consumed: f64,
}

/// A message that could not be read: the connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid message: {0}")]
pub struct InvalidMessage(pub String);

/// Appends one frame carrying `message` to `out` (which should be empty or hold whole frames,
/// so that the payload starts 8-aligned).
pub fn encode<M>(message: &M, out: &mut AlignedVec<16>)
where
    M: for<'a> rkyv::Serialize<
            rkyv::api::high::HighSerializer<
                AlignedVec<16>,
                rkyv::ser::allocator::ArenaHandle<'a>,
                rancor::Panic,
            >,
        >,
{
    let start = out.len();
    out.extend_from_slice(&[0u8; HEADER_LEN]);
    let buffer = std::mem::take(out);
    // Serialising into memory cannot fail.
    let mut buffer = match rkyv::api::high::to_bytes_in::<_, rancor::Panic>(message, buffer) {
        Ok(buffer) => buffer,
        Err(never) => match never {},
    };
    let len = buffer.len() - start - HEADER_LEN;
    buffer[start..start + HEADER_LEN].copy_from_slice(&frame::header(len));
    *out = buffer;
}

/// Validates a request payload (8-aligned) and gives its archived form.
pub fn read_request(payload: &[u8]) -> Result<&ArchivedRequest, InvalidMessage> {
    rkyv::access::<ArchivedRequest, rancor::Error>(payload)
        .map_err(|e| InvalidMessage(e.to_string()))
}

/// Validates a response payload (8-aligned) and gives its archived form.
pub fn read_response(payload: &[u8]) -> Result<&ArchivedResponse, InvalidMessage> {
    rkyv::access::<ArchivedResponse, rancor::Error>(payload)
        .map_err(|e| InvalidMessage(e.to_string()))
}

#[cfg(test)]
mod tests;
