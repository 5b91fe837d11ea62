//! JWT validation and the revocation check, on the data plane, zero-copy.
//!
//! What it is: sans-io functions over the request's bytes. A token is found in the head
//! ([`token::extract`]), split on its two dots ([`token::split`]), its header and payload decoded
//! by strict base64url ([`base64url`]) into per-core scratch buffers and parsed there by
//! simd-json into a reused tape ([`json`]); strings are borrowed from the scratch, never copied.
//! The signature is verified with ring over the original `header.payload` bytes, with keys
//! prepared at start ([`keys`], shared through [`store::KeyStore`]); a core remembers the last
//! header that found a key ([`header::HeaderMemo`]) and the tokens it verified
//! ([`verified`]: the same bytes, alg and key set skip the signature check, never the claims).
//! Then the claims ([`claims`]), the revocation filter ([`revocation`]), roles and scopes, and
//! the `propagate_claims` headers ([`propagate`]).
//!
//! What it is not: no I/O on the request path (keys are fetched by [`store`]'s own thread via
//! [`fetch`]), no statuses (only [`Reject`] values, mapped in `crate::reject`), no allocation
//! per request once the scratch buffers have grown (RSA verification inside ring excepted: its
//! API parses the modulus on each call).
//!
//! Order of checks (KrakenD's, KRAKEND.md d.2), first failure wins:
//! size and shape → header (`alg` equal to the configured one, so `none` and algorithm confusion
//! fail) → key by `kid` → signature → claim types, `exp`/`nbf`/`iat` with leeway, `iss`, `aud`
//! (all 401) → revocation (401) → roles, scopes (403) → propagated headers.

pub mod base64url;
pub mod claims;
pub mod fetch;
pub mod header;
pub mod json;
pub mod keys;
pub mod propagate;
pub mod revocation;
pub mod setup;
pub mod store;
pub mod token;
pub mod verified;

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::OnceLock;

use simd_json::{Buffers, INPUT_PADDING, Node, Tape};

use crate::config::{Alg, ValidatorSettings};
use crate::reject::{AuthReason, Reject};
use claims::{Registered, Roles, Scopes};
use json::{Json, has_duplicate_keys};
use keys::LookupError;
pub use propagate::Propagated;
pub use revocation::RevocationCheck;
pub use setup::Validators;
use store::KeyStore;

/// The largest decoded header or payload: what [`token::MAX_TOKEN_BYTES`] of base64url holds.
pub const MAX_PART_BYTES: usize = token::MAX_TOKEN_BYTES / 4 * 3;
/// The largest signature: RSA-8192.
pub const MAX_SIGNATURE_BYTES: usize = 1024;

/// One endpoint's `auth/validator`, compiled: what a token must be to pass.
#[derive(Debug)]
pub struct Validator {
    /// `alg`: the token's header `alg` must equal it.
    pub alg: Alg,
    /// The JWK source's keys.
    pub keys: Arc<KeyStore>,
    /// `iss`, `aud`, leeway.
    pub registered: Registered,
    /// `roles_key` / `roles` (`None`: no role check).
    pub roles: Option<Roles>,
    /// `scopes_key` / `scopes` (`None`: no scope check).
    pub scopes: Option<Scopes>,
    /// `propagate_claims`, in order.
    pub propagate: Box<[Propagate]>,
    /// `cookie_key`.
    pub cookie_key: Box<[u8]>,
}

/// One `propagate_claims` pair.
#[derive(Debug, Clone)]
pub struct Propagate {
    /// The claim (exact name, else a dotted path).
    pub claim: Box<str>,
    /// The request header it sets.
    pub header: Box<[u8]>,
}

/// Per-core buffers for validation, grown once and reused by every request on the core.
pub struct Scratch {
    /// The decoded header, then simd-json's padding.
    header: Box<[u8]>,
    /// The decoded payload, then simd-json's padding.
    payload: Box<[u8]>,
    /// The reused tape; `'static` only while empty (see [`with_tape`]).
    tape: Tape<'static>,
    buffers: Buffers,
    /// For the duplicate-key check of large objects.
    hashes: Vec<(u64, u32)>,
    /// For revocation keys longer than the stack buffer.
    spill: Vec<u8>,
    /// The last header that found a key (see [`header::HeaderMemo`]).
    memo: header::HeaderMemo,
    /// Tokens whose signature verified on this core (see [`verified`]).
    verified: verified::Verified,
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch").finish_non_exhaustive()
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch::new()
    }
}

impl Scratch {
    /// Buffers for the largest token (about 60 KiB) and the verified-token table (768 KiB).
    pub fn new() -> Scratch {
        Scratch {
            header: vec![0; MAX_PART_BYTES + INPUT_PADDING].into(),
            payload: vec![0; MAX_PART_BYTES + INPUT_PADDING].into(),
            tape: Tape(Vec::with_capacity(64)),
            buffers: Buffers::new(MAX_PART_BYTES),
            hashes: Vec::new(),
            spill: Vec::new(),
            memo: header::HeaderMemo::default(),
            verified: verified::Verified::new(),
        }
    }

    /// The same, without the verified-token table: every signature is checked (what a token
    /// costs the first time a core sees it).
    pub fn without_verified_tokens() -> Scratch {
        Scratch {
            verified: verified::Verified::disabled(),
            ..Scratch::new()
        }
    }
}

impl Validator {
    /// Compiles `settings` with the keys of its source.
    pub fn new(settings: &ValidatorSettings, keys: Arc<KeyStore>) -> Validator {
        let boxed = |v: &[String]| v.iter().map(|s| Box::from(s.as_str())).collect();
        let roles = (!settings.roles.is_empty()).then(|| Roles {
            key: settings.roles_key.as_str().into(),
            nested: settings.roles_key_is_nested,
            required: boxed(&settings.roles),
        });
        let scopes = match &settings.scopes_key {
            Some(key) if !settings.scopes.is_empty() => Some(Scopes {
                key: key.as_str().into(),
                required: boxed(&settings.scopes),
                matcher: settings.scopes_matcher,
            }),
            _ => None,
        };
        Validator {
            alg: settings.alg,
            keys,
            registered: Registered {
                issuer: settings.issuer.as_deref().map(Box::from),
                audience: boxed(&settings.audience),
                leeway: settings.leeway.as_secs().max(1),
            },
            roles,
            scopes,
            propagate: settings
                .propagate_claims
                .iter()
                .map(|p| Propagate {
                    claim: p.claim.as_str().into(),
                    header: p.header.as_bytes().into(),
                })
                .collect(),
            cookie_key: settings.cookie_key.as_bytes().into(),
        }
    }

    /// Validates `token` at `now` (Unix seconds): the whole chain, see the module doc. On
    /// success `out` holds the `propagate_claims` values, in order.
    pub fn validate(
        &self,
        token: &[u8],
        now: u64,
        revocation: Option<RevocationCheck<'_>>,
        scratch: &mut Scratch,
        out: &mut Propagated,
    ) -> Result<(), Reject> {
        out.clear();
        let parts = token::split(token).map_err(Reject::Unauthorized)?;
        let Scratch {
            header,
            payload,
            tape,
            buffers,
            hashes,
            spill,
            memo,
            verified,
        } = scratch;

        // The header: alg and kid, then the key (unless this core just saw the same header).
        let keys = self.keys.current();
        let index = match memo.lookup(parts.header, self.alg, &keys) {
            Some(index) => index,
            None => {
                let header_len = decode_part(parts.header, header)?;
                let index = with_tape(tape, buffers, header, header_len, |nodes| {
                    if has_duplicate_keys(nodes, hashes) {
                        return Err(AuthReason::DuplicateClaim);
                    }
                    let jose = header::parse(Json::root(nodes))?;
                    if jose.alg != self.alg.as_str() {
                        return Err(AuthReason::AlgMismatch);
                    }
                    keys.position(self.alg, jose.kid).map_err(|e| match e {
                        LookupError::UnknownKid => {
                            self.keys.unknown_kid(now);
                            AuthReason::UnknownKid
                        }
                        LookupError::Empty => AuthReason::KeyUnavailable,
                    })
                })
                .map_err(|e| Reject::Unauthorized(e.unwrap_or(AuthReason::Malformed)))?;
                memo.remember(parts.header, self.alg, &keys, index);
                index
            }
        };
        let jwk = keys
            .key(index)
            .ok_or(Reject::Unauthorized(AuthReason::KeyUnavailable))?;

        // The signature, over the bytes as sent — unless this core verified these very bytes,
        // for this alg, with this key set (see [`verified`]).
        if !verified.contains(token, self.alg, &keys) {
            let mut signature = [0u8; MAX_SIGNATURE_BYTES];
            let sig_len = base64url::decode(parts.signature, &mut signature)
                .map_err(|_| Reject::Unauthorized(AuthReason::Malformed))?;
            let sig = signature.get(..sig_len).unwrap_or(&[]);
            jwk.verify(self.alg, parts.signing_input, sig)
                .map_err(|_| Reject::Unauthorized(AuthReason::BadSignature))?;
            verified.insert(token, self.alg, &keys);
        }

        // The claims.
        let payload_len = decode_part(parts.payload, payload)?;
        with_tape(tape, buffers, payload, payload_len, |nodes| {
            if has_duplicate_keys(nodes, hashes) {
                return Err(Reject::Unauthorized(AuthReason::DuplicateClaim));
            }
            let claims = Json::root(nodes)
                .and_then(|r| r.as_object())
                .ok_or(Reject::Unauthorized(AuthReason::Malformed))?;
            self.registered
                .check(&claims, now)
                .map_err(Reject::Unauthorized)?;
            if revocation.is_some_and(|r| r.is_revoked(&claims, spill)) {
                return Err(Reject::Unauthorized(AuthReason::Revoked));
            }
            if self.roles.as_ref().is_some_and(|r| !r.allows(&claims)) {
                return Err(Reject::Forbidden);
            }
            if self.scopes.as_ref().is_some_and(|s| !s.allows(&claims)) {
                return Err(Reject::Forbidden);
            }
            for p in &self.propagate {
                out.push_claim(&claims, &p.claim);
            }
            Ok(())
        })
        .map_err(|e| e.unwrap_or(Reject::Unauthorized(AuthReason::Malformed)))
    }
}

/// Decodes one base64url part into the front of `buf` (which keeps simd-json's padding after
/// [`MAX_PART_BYTES`]).
fn decode_part(part: &[u8], buf: &mut [u8]) -> Result<usize, Reject> {
    let room = buf.get_mut(..MAX_PART_BYTES).unwrap_or(&mut []);
    base64url::decode(part, room).map_err(|_| Reject::Unauthorized(AuthReason::Malformed))
}

/// Parses `buf[..len]` as JSON into the reused tape and runs `f` on its nodes. The tape is
/// lent out with the buffer's lifetime and handed back empty, so its memory is reused.
/// `Err(None)`: not JSON.
fn with_tape<R, E>(
    slot: &mut Tape<'static>,
    buffers: &mut Buffers,
    buf: &mut [u8],
    len: usize,
    f: impl FnOnce(&[Node<'_>]) -> Result<R, E>,
) -> Result<R, Option<E>> {
    let mut tape = std::mem::replace(slot, Tape(Vec::new())).reset();
    let result = match simd_json::fill_tape_padded(buf, len, buffers, &mut tape) {
        Ok(()) => f(&tape.0).map_err(Some),
        Err(_) => Err(None),
    };
    *slot = tape.reset();
    result
}

/// Whether `BLOOMGATE_LOG=debug`: rejections are then logged with their reason (never sent).
pub fn debug_enabled() -> bool {
    static DEBUG: OnceLock<bool> = OnceLock::new();
    *DEBUG.get_or_init(|| {
        std::env::var("BLOOMGATE_LOG").is_ok_and(|v| v.eq_ignore_ascii_case("debug"))
    })
}
