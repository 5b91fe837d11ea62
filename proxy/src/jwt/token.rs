//! Finding the token in a request and splitting it into its compact-JWS parts, in place.
//!
//! Where the token comes from (KrakenD's rules, CONTRACT.md "Token extraction"):
//! `Authorization: Bearer <jwt>` (scheme case-insensitive), or a bare `Authorization: <jwt>`;
//! when there is no `Authorization` value, the cookie `cookie_key`. A malformed `Authorization`
//! value is a 401: there is no fallback to the cookie.
//!
//! What a token must be: at most [`MAX_TOKEN_BYTES`], exactly three non-empty dot-separated parts
//! (`header.payload.signature`). The JWS JSON serialization, JWE (five parts), unsecured tokens
//! (empty signature) and whitespace inside the token are refused here or by the strict
//! base64url decoding that follows.

use memchr::memchr;

use crate::http::RequestHead;
use crate::reject::AuthReason;

#[cfg(test)]
mod tests;

/// The largest token accepted.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// A compact JWS split into its base64url parts, borrowing the request buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compact<'t> {
    /// The protected header (base64url).
    pub header: &'t [u8],
    /// The payload (base64url).
    pub payload: &'t [u8],
    /// The signature (base64url).
    pub signature: &'t [u8],
    /// `header.payload`: the bytes the signature covers.
    pub signing_input: &'t [u8],
}

/// The token of a request: `Authorization` (with or without the `Bearer` scheme), else the
/// cookie named `cookie_key`.
pub fn extract<'b>(head: &RequestHead<'b>, cookie_key: &[u8]) -> Result<&'b [u8], AuthReason> {
    let headers = head.headers();
    if let Some(value) = headers.get("authorization").filter(|v| !v.is_empty()) {
        return Ok(strip_bearer(value));
    }
    headers
        .get_all("cookie")
        .find_map(|value| cookie(value, cookie_key))
        .filter(|token| !token.is_empty())
        .ok_or(AuthReason::NoToken)
}

/// `Bearer <token>` (any case, any run of spaces after the scheme) gives the token; any other
/// value is taken whole, as KrakenD does.
pub fn strip_bearer(value: &[u8]) -> &[u8] {
    match value.split_at_checked(7) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case(b"bearer ") && !rest.is_empty() => {
            let start = rest
                .iter()
                .position(|&b| b != b' ' && b != b'\t')
                .unwrap_or(rest.len());
            rest.get(start..).unwrap_or(&[])
        }
        _ => value,
    }
}

/// The value of cookie `name` in one `Cookie` field (`a=1; b="2"`), quotes removed.
pub fn cookie<'v>(field: &'v [u8], name: &[u8]) -> Option<&'v [u8]> {
    field.split(|&b| b == b';').find_map(|pair| {
        let pair = trim(pair);
        let eq = memchr(b'=', pair)?;
        let (key, value) = (pair.get(..eq)?, pair.get(eq + 1..)?);
        if key != name {
            return None;
        }
        Some(match value {
            [b'"', inner @ .., b'"'] => inner,
            other => other,
        })
    })
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |e| e + 1);
    bytes.get(start..end).unwrap_or(&[])
}

/// Splits a compact JWS: exactly two dots, three non-empty parts, at most [`MAX_TOKEN_BYTES`].
pub fn split(token: &[u8]) -> Result<Compact<'_>, AuthReason> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthReason::TooLarge);
    }
    let first = memchr(b'.', token).ok_or(AuthReason::Malformed)?;
    let rest = token.get(first + 1..).ok_or(AuthReason::Malformed)?;
    let second = first + 1 + memchr(b'.', rest).ok_or(AuthReason::Malformed)?;
    let (Some(header), Some(payload), Some(signature), Some(signing_input)) = (
        token.get(..first),
        token.get(first + 1..second),
        token.get(second + 1..),
        token.get(..second),
    ) else {
        return Err(AuthReason::Malformed);
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(AuthReason::Malformed);
    }
    if memchr(b'.', signature).is_some() {
        return Err(AuthReason::Malformed);
    }
    Ok(Compact {
        header,
        payload,
        signature,
        signing_input,
    })
}
