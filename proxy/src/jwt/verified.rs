//! The per-core memory of tokens whose signature verified: a client sends the same token with
//! every request of a session, and an RS256, ES256 or EdDSA signature costs 20–60 µs to check,
//! far more than everything else a request costs. A token found here skips only the signature
//! check; its claims are decoded, parsed and checked on every request as before (`exp`, `nbf`,
//! `iss`, `aud`, the revocation filter, roles, scopes, propagated headers).
//!
//! What makes a hit safe: a signature check is a pure function of the algorithm, the key and the
//! bytes signed, and the key is a function of the token's header (its `kid`) and the key set. So
//! a hit requires the same bytes — the whole token, compared in full, not a hash of it — the same
//! validator `alg`, and the same key set by identity (a refresh or rotation installs a new set,
//! and each entry holds its set alive, so an address is never reused while remembered). Only
//! verified tokens are entered; a forged or altered token never is, and costs a full check.
//!
//! A fixed table, allocated once: [`SLOTS`] entries of up to [`MAX_TOKEN`] bytes (larger tokens
//! are checked every time), one entry per slot, the slot chosen from the signature's last bytes
//! (random for a real signature; a client that picks its own signatures can only evict entries,
//! as any client sending many tokens can).

use std::sync::Arc;

use super::keys::KeySet;
use crate::config::Alg;

/// Entries per core.
pub const SLOTS: usize = 512;
/// The longest token remembered (bytes as sent).
pub const MAX_TOKEN: usize = 1536;

#[derive(Debug, Default)]
struct Entry {
    len: usize,
    alg: Option<Alg>,
    keys: Option<Arc<KeySet>>,
}

/// Tokens verified on this core (see the module doc).
#[derive(Debug)]
pub struct Verified {
    entries: Box<[Entry]>,
    bytes: Box<[u8]>,
}

impl Default for Verified {
    fn default() -> Self {
        Verified::new()
    }
}

impl Verified {
    /// An empty table (`SLOTS × MAX_TOKEN` bytes, about 768 KiB).
    pub fn new() -> Verified {
        Verified::with_slots(SLOTS)
    }

    /// A table that remembers nothing: every token's signature is checked (benches that time
    /// that check; tests).
    pub fn disabled() -> Verified {
        Verified::with_slots(0)
    }

    fn with_slots(slots: usize) -> Verified {
        Verified {
            entries: (0..slots).map(|_| Entry::default()).collect(),
            bytes: vec![0; slots * MAX_TOKEN].into(),
        }
    }

    fn slot(&self, token: &[u8]) -> usize {
        let mut tail = [0u8; 8];
        let from = token.len().saturating_sub(8);
        let end = token.get(from..).unwrap_or_default();
        if let Some(dst) = tail.get_mut(..end.len()) {
            dst.copy_from_slice(end);
        }
        let mixed = u64::from_le_bytes(tail).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> 32) as usize % self.entries.len().max(1)
    }

    fn stored(&self, slot: usize) -> &[u8] {
        let len = self.entries.get(slot).map_or(0, |e| e.len);
        self.bytes
            .get(slot * MAX_TOKEN..slot * MAX_TOKEN + len)
            .unwrap_or_default()
    }

    /// Whether `token` verified before for `alg` with a key of `keys`.
    pub fn contains(&self, token: &[u8], alg: Alg, keys: &Arc<KeySet>) -> bool {
        let slot = self.slot(token);
        let Some(entry) = self.entries.get(slot) else {
            return false;
        };
        entry.len == token.len()
            && entry.alg == Some(alg)
            && entry.keys.as_ref().is_some_and(|k| Arc::ptr_eq(k, keys))
            && self.stored(slot) == token
    }

    /// Remembers that `token` verified for `alg` with a key of `keys` (a token over
    /// [`MAX_TOKEN`] bytes is not kept).
    pub fn insert(&mut self, token: &[u8], alg: Alg, keys: &Arc<KeySet>) {
        if token.len() > MAX_TOKEN {
            return;
        }
        let slot = self.slot(token);
        let Some(dst) = self
            .bytes
            .get_mut(slot * MAX_TOKEN..slot * MAX_TOKEN + token.len())
        else {
            return;
        };
        dst.copy_from_slice(token);
        let Some(entry) = self.entries.get_mut(slot) else {
            return;
        };
        entry.len = token.len();
        entry.alg = Some(alg);
        if !entry.keys.as_ref().is_some_and(|k| Arc::ptr_eq(k, keys)) {
            entry.keys = Some(Arc::clone(keys));
        }
    }
}
