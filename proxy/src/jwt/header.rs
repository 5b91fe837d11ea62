//! The JOSE header of a token: `alg` and `kid`, read from the tape, nothing copied; and the
//! per-core memo of the last header that found a key.

use std::sync::Arc;

use super::json::Json;
use super::keys::KeySet;
use crate::config::Alg;
use crate::reject::AuthReason;

#[cfg(test)]
mod tests;

/// The header fields bloomgate acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoseHeader<'a> {
    /// `alg`, as written.
    pub alg: &'a str,
    /// `kid`; `None` when absent, `null` or empty.
    pub kid: Option<&'a str>,
}

/// Reads the header object. Refused: not an object, `alg` missing or not a string, `kid` not a
/// string, and any `crit` (RFC 7515 §4.1.11: bloomgate understands no extension, so a token that
/// says one is critical must not be accepted; this also refuses RFC 7797 unencoded payloads).
/// Repeated keys are refused before this is called.
pub fn parse<'a>(root: Option<Json<'_, 'a>>) -> Result<JoseHeader<'a>, AuthReason> {
    let header = root
        .and_then(|r| r.as_object())
        .ok_or(AuthReason::Malformed)?;
    let mut alg = None;
    let mut kid = None;
    for (key, value) in header.iter() {
        match key {
            "alg" => alg = Some(value.as_str().ok_or(AuthReason::Malformed)?),
            "kid" => match value {
                Json::Str("") | Json::Null => {}
                Json::Str(s) => kid = Some(s),
                _ => return Err(AuthReason::Malformed),
            },
            "crit" => return Err(AuthReason::Malformed),
            _ => {}
        }
    }
    Ok(JoseHeader {
        alg: alg.ok_or(AuthReason::Malformed)?,
        kid,
    })
}

/// Longest header segment (base64url, as sent) the memo keeps.
pub const MEMO_BYTES: usize = 256;

/// The last header segment that found a key, on one core. Tokens from one issuer carry the same
/// header byte for byte (`{"alg":..,"typ":"JWT","kid":..}`), so the next token whose header
/// segment is identical, checked for the same `alg` against the same key set, has the same key:
/// its header is not decoded or parsed again. What is compared is everything the key depends
/// on — the segment's bytes, the validator's `alg`, and the key set by identity (a refresh
/// installs a new set; the memo holds the old one alive, so its address cannot be reused).
/// Only successes are kept, and the signature is verified every time as before.
#[derive(Debug)]
pub struct HeaderMemo {
    segment: [u8; MEMO_BYTES],
    len: usize,
    alg: Option<Alg>,
    keys: Option<Arc<KeySet>>,
    index: usize,
}

impl Default for HeaderMemo {
    fn default() -> Self {
        HeaderMemo {
            segment: [0; MEMO_BYTES],
            len: 0,
            alg: None,
            keys: None,
            index: 0,
        }
    }
}

impl HeaderMemo {
    /// The key's index in `keys` if `segment` is the remembered header, for `alg`, in this set.
    pub fn lookup(&self, segment: &[u8], alg: Alg, keys: &Arc<KeySet>) -> Option<usize> {
        let same = self.alg == Some(alg)
            && self.keys.as_ref().is_some_and(|k| Arc::ptr_eq(k, keys))
            && self.segment.get(..self.len) == Some(segment);
        same.then_some(self.index)
    }

    /// Remembers that `segment`, for `alg`, found the key at `index` of `keys` (a segment over
    /// [`MEMO_BYTES`] is not kept).
    pub fn remember(&mut self, segment: &[u8], alg: Alg, keys: &Arc<KeySet>, index: usize) {
        let Some(slot) = self.segment.get_mut(..segment.len()) else {
            return;
        };
        slot.copy_from_slice(segment);
        self.len = segment.len();
        self.alg = Some(alg);
        self.index = index;
        if !self.keys.as_ref().is_some_and(|k| Arc::ptr_eq(k, keys)) {
            self.keys = Some(Arc::clone(keys));
        }
    }
}
