//! The REST surface, sans-io: which call a request is ([`route`]), whether it carries the API
//! key ([`ApiKeyCheck`]), and the one mapping from a failure to a status and a JSON body
//! ([`ApiError`]). The socket glue (in the `proxy` crate, which owns the HTTP codec) calls these
//! and writes what they return.
//!
//! | method, path | call |
//! |---|---|
//! | `GET /__health` | [`Route::Health`] (no key needed) |
//! | `POST`/`GET /tokens/{key}/{value...}` | [`Route::Revoke`] / [`Route::Check`] |
//! | `POST /tokens/{key}` | [`Route::RevokeBatch`] |
//! | `GET`/`POST /instances` | [`Route::Instances`] / [`Route::Register`] |
//! | `DELETE /instances/{ip:port}` | [`Route::Unregister`] |
//! | `GET /status` | [`Route::Status`] |
//!
//! `{key}` is one path segment and `{value}` the rest of the path (it may contain `/`), each
//! percent-decoded once. Any other path is 404; a known path with another method is 405.

use std::fmt;
use std::net::SocketAddr;

use ring::hmac;
use ring::rand::SystemRandom;

/// A request the REST API understands, with its path parameters decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /__health`.
    Health,
    /// `POST /tokens/{key}/{value}`: revoke `key-value`.
    Revoke {
        /// The claim name (`jti`, `sub`).
        key: Vec<u8>,
        /// The claim value.
        value: Vec<u8>,
    },
    /// `GET /tokens/{key}/{value}`: who has `key-value`.
    Check {
        /// The claim name.
        key: Vec<u8>,
        /// The claim value.
        value: Vec<u8>,
    },
    /// `POST /tokens/{key}`: revoke every line of the body.
    RevokeBatch {
        /// The claim name.
        key: Vec<u8>,
    },
    /// `GET /instances`.
    Instances,
    /// `POST /instances`: a gateway registers (or pings).
    Register,
    /// `DELETE /instances/{ip:port}`.
    Unregister(SocketAddr),
    /// `GET /status`.
    Status,
}

impl Route {
    /// Whether the call reads a request body; the others ignore (but drain) one.
    pub fn takes_body(&self) -> bool {
        matches!(self, Route::RevokeBatch { .. } | Route::Register)
    }
}

/// The filter key a gateway checks for claim `key` with value `value`: `key-value`.
pub fn filter_key(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 1 + value.len());
    out.extend_from_slice(key);
    out.push(b'-');
    out.extend_from_slice(value);
    out
}

/// Why a request failed. Nothing was changed. [`ApiError::status`] is the only place a REST
/// failure gets its status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400: malformed JSON, a missing field, a bad path parameter, a bad body.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no `Authorization: bearer <revoke_server_api_key>`, or another key.
    #[error("missing or wrong API key")]
    Unauthorized,
    /// 404: no such path (or no such instance).
    #[error("{0}")]
    NotFound(String),
    /// 405: the path exists, not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: an instance whose filter geometry differs from the server's.
    #[error("{0}")]
    Conflict(String),
    /// 413: a body over its limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 503: the revocation could not be made durable (persistence failed: disk full, I/O
    /// error). Nothing is acknowledged.
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    /// The status code.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized => 401,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::Conflict(_) => 409,
            ApiError::PayloadTooLarge(_) => 413,
            ApiError::Unavailable(_) => 503,
        }
    }

    /// The JSON body: `{"error":"..."}`.
    pub fn body(&self) -> String {
        super::json::error(&self.to_string())
    }

    fn not_found() -> ApiError {
        ApiError::NotFound("no such path".into())
    }
}

/// An answer: a status and, for most, a JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// A JSON document, or `None` for an empty body.
    pub json: Option<String>,
}

impl Reply {
    /// `status` with an empty body.
    pub fn empty(status: u16) -> Reply {
        Reply { status, json: None }
    }

    /// `status` with a JSON body.
    pub fn json(status: u16, json: String) -> Reply {
        Reply {
            status,
            json: Some(json),
        }
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Reply {
        Reply::json(e.status(), e.body())
    }
}

/// Which call `method path` is. `path` is raw (no query), as sent.
pub fn route(method: &[u8], path: &[u8]) -> Result<Route, ApiError> {
    let is = |m: &[u8]| method == m;
    let rest = |prefix: &[u8]| path.strip_prefix(prefix);
    if path == b"/__health" {
        return if is(b"GET") || is(b"HEAD") {
            Ok(Route::Health)
        } else {
            Err(ApiError::MethodNotAllowed)
        };
    }
    if path == b"/status" {
        return if is(b"GET") {
            Ok(Route::Status)
        } else {
            Err(ApiError::MethodNotAllowed)
        };
    }
    if path == b"/instances" {
        return match method {
            b"GET" => Ok(Route::Instances),
            b"POST" => Ok(Route::Register),
            _ => Err(ApiError::MethodNotAllowed),
        };
    }
    if let Some(addr) = rest(b"/instances/").filter(|a| !a.is_empty()) {
        if !is(b"DELETE") {
            return Err(ApiError::MethodNotAllowed);
        }
        let text = percent_decode(addr)?;
        let addr = std::str::from_utf8(&text)
            .ok()
            .and_then(|t| t.parse::<SocketAddr>().ok())
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "{:?} is not an instance address (ip:port)",
                    String::from_utf8_lossy(&text)
                ))
            })?;
        return Ok(Route::Unregister(addr));
    }
    if let Some(tail) = rest(b"/tokens/") {
        let (key, value) = match memchr_slash(tail) {
            Some(i) => (&tail[..i], Some(&tail[i + 1..])),
            None => (tail, None),
        };
        if key.is_empty() {
            return Err(ApiError::not_found());
        }
        return match value {
            None => match method {
                b"POST" => Ok(Route::RevokeBatch {
                    key: decode_key(key)?,
                }),
                _ => Err(ApiError::MethodNotAllowed),
            },
            Some(value) => {
                if !(is(b"POST") || is(b"GET")) {
                    return Err(ApiError::MethodNotAllowed);
                }
                let key = decode_key(key)?;
                let value = percent_decode(value)?;
                if value.is_empty() {
                    return Err(ApiError::BadRequest("empty token value".into()));
                }
                Ok(if is(b"POST") {
                    Route::Revoke { key, value }
                } else {
                    Route::Check { key, value }
                })
            }
        };
    }
    Err(ApiError::not_found())
}

fn memchr_slash(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'/')
}

fn decode_key(raw: &[u8]) -> Result<Vec<u8>, ApiError> {
    let key = percent_decode(raw)?;
    if key.is_empty() {
        return Err(ApiError::BadRequest("empty token key".into()));
    }
    Ok(key)
}

/// Decodes `%XX` escapes once (`%252F` becomes `%2F`, not `/`). `+` stays `+` (a path is not a
/// form). A `%` not followed by two hex digits is a 400.
pub fn percent_decode(raw: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b != b'%' {
            out.push(b);
            i += 1;
            continue;
        }
        let hex = |at: usize| raw.get(at).and_then(|c| (*c as char).to_digit(16));
        match (hex(i + 1), hex(i + 2)) {
            (Some(hi), Some(lo)) => {
                // Two hex digits: at most 0xff.
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            _ => {
                return Err(ApiError::BadRequest(
                    "bad percent-encoding in the path".into(),
                ));
            }
        }
    }
    Ok(out)
}

/// Checks `Authorization: bearer <key>` in constant time: both the expected key and the one
/// presented are MACed under a random per-process key and the tags compared by ring, so neither
/// the key's bytes nor its length leak through timing.
pub struct ApiKeyCheck {
    mac_key: hmac::Key,
    tag: hmac::Tag,
}

impl ApiKeyCheck {
    /// A check for `api_key`.
    pub fn new(api_key: &[u8]) -> ApiKeyCheck {
        let rng = SystemRandom::new();
        let mac_key = hmac::Key::generate(hmac::HMAC_SHA256, &rng).unwrap_or_else(|_| {
            // No system randomness: a fixed key still compares in constant time.
            hmac::Key::new(hmac::HMAC_SHA256, b"bloomgate-rest-api-key-check")
        });
        let tag = hmac::sign(&mac_key, api_key);
        ApiKeyCheck { mac_key, tag }
    }

    /// Whether an `Authorization` value (`None`: no such header) carries the key, with the
    /// scheme `bearer` in any case.
    pub fn allows(&self, authorization: Option<&[u8]>) -> bool {
        let Some(value) = authorization else {
            return false;
        };
        let value = trim(value);
        let Some((scheme, rest)) = value.split_at_checked(6) else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case(b"bearer")
            || !rest.first().is_some_and(|b| *b == b' ' || *b == b'\t')
        {
            return false;
        }
        let presented = trim(rest);
        hmac::verify(&self.mac_key, presented, self.tag.as_ref()).is_ok()
    }
}

impl fmt::Debug for ApiKeyCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeyCheck(<secret>)")
    }
}

fn trim(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

#[cfg(test)]
mod tests;
