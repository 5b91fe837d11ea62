//! The revocation check (CONTRACT.md "Revocation"): is any `token_keys` claim in the filter?
//!
//! For each claim name `k` in `token_keys`, in order, at the top level of the claims
//! (case-sensitive, no dotted paths, as KrakenD):
//! - a string `v` is looked up as the bytes `k-v` (`jti-43b7a832-...`), exactly as KrakenD;
//! - an integer as `k-<decimal>` (a number written `42.0` is the integer 42);
//! - an array: each string element separately;
//! - anything else (absent, other numbers, booleans, objects) is not looked up.
//!
//! The first hit decides. Keys are assembled in a stack buffer; only a claim value longer
//! than that spills into the caller's reused buffer. Nothing allocates in steady state.

use bloom::Revocations;

use super::json::{Json, Object};

#[cfg(test)]
mod tests;

/// Keys up to this many bytes are built on the stack.
const STACK_KEY: usize = 512;

/// The claims checked and the filter they are checked against.
#[derive(Debug, Clone, Copy)]
pub struct RevocationCheck<'r> {
    /// The shared filter (read with relaxed loads).
    pub filter: &'r Revocations,
    /// `auth/revoker.token_keys`, in order.
    pub token_keys: &'r [Box<str>],
}

impl RevocationCheck<'_> {
    /// Whether the token whose claims are `claims` is revoked. `spill` is reused scratch for
    /// keys longer than the stack buffer.
    pub fn is_revoked(&self, claims: &Object<'_, '_>, spill: &mut Vec<u8>) -> bool {
        self.token_keys.iter().any(|name| {
            let Some(value) = claims.get(name) else {
                return false;
            };
            let mut digits = [0u8; 20];
            match value {
                Json::Str(v) => self.lookup(name, v.as_bytes(), spill),
                Json::Int(i) => self.lookup(name, decimal(i, &mut digits), spill),
                Json::UInt(u) => self.lookup(name, decimal_u64(u, &mut digits), spill),
                Json::Float(f) => match integral(f) {
                    Some(i) => self.lookup(name, decimal(i, &mut digits), spill),
                    None => false,
                },
                Json::Array(items) => items.iter().any(|item| match item {
                    Json::Str(v) => self.lookup(name, v.as_bytes(), spill),
                    _ => false,
                }),
                Json::Bool(_) | Json::Null | Json::Object(_) => false,
            }
        })
    }

    /// Looks up `name-value`.
    fn lookup(&self, name: &str, value: &[u8], spill: &mut Vec<u8>) -> bool {
        let len = name.len() + 1 + value.len();
        if len <= STACK_KEY {
            let mut buf = [0u8; STACK_KEY];
            let key = write_key(&mut buf, name.as_bytes(), value);
            self.filter.contains(key)
        } else {
            spill.clear();
            spill.extend_from_slice(name.as_bytes());
            spill.push(b'-');
            spill.extend_from_slice(value);
            self.filter.contains(spill)
        }
    }
}

/// Writes `name-value` into `buf` (which must be large enough) and returns the key.
fn write_key<'b>(buf: &'b mut [u8], name: &[u8], value: &[u8]) -> &'b [u8] {
    let mut at = 0;
    for part in [name, b"-", value] {
        if let Some(dst) = buf.get_mut(at..at + part.len()) {
            dst.copy_from_slice(part);
        }
        at += part.len();
    }
    buf.get(..at).unwrap_or(&[])
}

/// The key a revocation of claim `name` with text value `value` must insert (`name-value`):
/// what the Revoke Server API builds from `POST /tokens/{name}/{value}`.
pub fn revocation_key(name: &str, value: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 1 + value.len());
    key.extend_from_slice(name.as_bytes());
    key.push(b'-');
    key.extend_from_slice(value.as_bytes());
    key
}

/// `f` as an integer, if it is one that fits an `i64`.
fn integral(f: f64) -> Option<i64> {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    (f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f)).then_some(f as i64)
}

/// The decimal text of `i`.
fn decimal(i: i64, buf: &mut [u8; 20]) -> &[u8] {
    if i >= 0 {
        return decimal_u64(i.unsigned_abs(), buf);
    }
    // 19 digits at most for |i64::MIN|, plus the sign.
    let digits = decimal_u64(i.unsigned_abs(), buf).len();
    let start = 20 - digits - 1;
    buf[start] = b'-';
    &buf[start..]
}

/// The decimal text of `u`, right-aligned in `buf`.
fn decimal_u64(mut u: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    &buf[at..]
}
