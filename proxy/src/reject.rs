//! Every status the data plane chooses itself, in one place (DESIGN invariant 5).
//!
//! A [`Reject`] is why a request does not reach its backend (or why the backend's answer cannot
//! be relayed). [`Reject::status`] is the only mapping from a reason to a status code, so the
//! statuses cannot drift from CONTRACT.md; [`Reject::write_response`] writes the complete canned
//! response. Reasons ([`BadRequestReason`], [`AuthReason`]) are for logs and metrics: they are
//! never sent to the client.
//!
//! Nothing here allocates: responses are assembled from static bytes into the caller's reused
//! write buffer.

#[cfg(test)]
mod tests;

use crate::http::ChunkedError;
use crate::http::num::write_u64;

/// Why a request is refused or cannot be answered by its backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    /// 400: a malformed or ambiguous request. The connection closes.
    BadRequest(BadRequestReason),
    /// 401: no valid, unrevoked token. Carries `WWW-Authenticate: Bearer error="invalid_token"`.
    Unauthorized(AuthReason),
    /// 403: a valid token that lacks the required roles or scopes.
    Forbidden,
    /// 404: no endpoint has this path.
    NotFound,
    /// 405: an endpoint has this path, but not with this method (also `CONNECT`).
    MethodNotAllowed,
    /// 408: the head did not arrive within `read_header_timeout` (the glue may also just close).
    RequestTimeout,
    /// 413: a body over its limit. The connection closes.
    PayloadTooLarge,
    /// 417: an `Expect` other than `100-continue`. The connection closes.
    ExpectationFailed,
    /// 431: a head over `max_header_bytes`, or more than [`crate::http::MAX_HEADERS`] fields.
    /// The connection closes.
    HeaderTooLarge,
    /// 501: a transfer coding other than `chunked`. The connection closes.
    NotImplemented,
    /// 502: the backend refused, reset, or sent a malformed response.
    BadGateway,
    /// 504: no response head from the backend within the endpoint's `timeout`.
    GatewayTimeout,
    /// 505: a well-formed HTTP version other than 1.0 and 1.1. The connection closes.
    VersionNotSupported,
}

/// Why a request is a 400. For logs only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadRequestReason {
    /// The request line is not `method SP target SP version CRLF`.
    MalformedRequestLine,
    /// The version is not `HTTP/<digit>.<digit>`.
    InvalidVersion,
    /// A bad byte in a field name: whitespace before the colon, obs-fold, a non-token byte.
    InvalidHeaderName,
    /// A bad byte in a field value: NUL or another control byte.
    InvalidHeaderValue,
    /// A CR not followed by LF.
    InvalidNewLine,
    /// A line ended by LF without CR.
    BareLf,
    /// The target is not origin-form (`/...`) or absolute-form (`http://authority/...`), or
    /// has a non-ASCII byte, `#`, or userinfo.
    InvalidTarget,
    /// An HTTP/1.1 request without `Host`.
    MissingHost,
    /// More than one `Host` field.
    DuplicateHost,
    /// A `Host` value with bytes that cannot be in an authority.
    InvalidHost,
    /// A `Content-Length` that is not `1*DIGIT` or does not fit a `u64`.
    InvalidContentLength,
    /// Several `Content-Length` values that differ.
    ConflictingContentLength,
    /// `Content-Length` and `Transfer-Encoding` together (a smuggling attempt).
    ContentLengthWithTransferEncoding,
    /// More than one `Transfer-Encoding` field.
    DuplicateTransferEncoding,
    /// `chunked` is not the final transfer coding, or appears twice.
    ChunkedNotFinal,
    /// `Transfer-Encoding` in an HTTP/1.0 request.
    TransferEncodingInHttp10,
    /// Bad chunked framing in the body.
    BadChunk(ChunkedError),
    /// The client closed before the end of its body.
    TruncatedBody,
}

/// Why a request is a 401. For logs only; all of them look the same to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthReason {
    /// No `Authorization` header and no cookie.
    NoToken,
    /// Not a compact JWS, bad base64url, bad JSON.
    Malformed,
    /// The signature does not verify.
    BadSignature,
    /// The header `alg` differs from the configured one (`none` included).
    AlgMismatch,
    /// No key with the token's `kid`.
    UnknownKid,
    /// The key set could not be obtained.
    KeyUnavailable,
    /// `exp` is past (with leeway).
    Expired,
    /// `nbf` is in the future (with leeway).
    NotYetValid,
    /// `iat` is in the future (with leeway).
    IssuedInFuture,
    /// `iss` differs from the configured issuer.
    WrongIssuer,
    /// A configured audience is not in `aud`, or `aud` is missing.
    WrongAudience,
    /// A registered claim has the wrong type.
    BadClaim,
    /// A `token_keys` value is in the revocation filter.
    Revoked,
    /// The token is larger than the 16 KiB bound.
    TooLarge,
    /// The header or claims repeat a JSON key.
    DuplicateClaim,
    /// The endpoint's validator could not be set up (KrakenD answers 401 too).
    Misconfigured,
}

impl Reject {
    /// The status code. The one place a reason becomes a status.
    pub fn status(&self) -> u16 {
        match self {
            Reject::BadRequest(_) => 400,
            Reject::Unauthorized(_) => 401,
            Reject::Forbidden => 403,
            Reject::NotFound => 404,
            Reject::MethodNotAllowed => 405,
            Reject::RequestTimeout => 408,
            Reject::PayloadTooLarge => 413,
            Reject::ExpectationFailed => 417,
            Reject::HeaderTooLarge => 431,
            Reject::NotImplemented => 501,
            Reject::BadGateway => 502,
            Reject::GatewayTimeout => 504,
            Reject::VersionNotSupported => 505,
        }
    }

    /// Whether the connection must close after this response whatever the client asked: the
    /// request's framing cannot be trusted or its body was not read. For the others the glue
    /// may keep the connection if the request body was fully consumed (or there was none).
    pub fn must_close(&self) -> bool {
        matches!(
            self,
            Reject::BadRequest(_)
                | Reject::RequestTimeout
                | Reject::PayloadTooLarge
                | Reject::ExpectationFailed
                | Reject::HeaderTooLarge
                | Reject::NotImplemented
                | Reject::VersionNotSupported
        )
    }

    /// Appends the complete response (head and body) to `out`. The connection is kept only if
    /// `keep_alive` (the client's wish and the body state, decided by the glue) and not
    /// [`Reject::must_close`]; otherwise the response says `Connection: close`. Returns whether
    /// the connection stays open.
    pub fn write_response(&self, out: &mut Vec<u8>, keep_alive: bool) -> bool {
        self.write(out, keep_alive, true)
    }

    /// Like [`Reject::write_response`], for a `HEAD` request: the same head, no body.
    pub fn write_head_response(&self, out: &mut Vec<u8>, keep_alive: bool) -> bool {
        self.write(out, keep_alive, false)
    }

    fn write(&self, out: &mut Vec<u8>, keep_alive: bool, with_body: bool) -> bool {
        let canned = self.canned();
        let keep = keep_alive && !self.must_close();
        out.extend_from_slice(canned.status_line);
        out.extend_from_slice(canned.headers);
        out.extend_from_slice(b"Content-Length: ");
        write_u64(out, canned.body.len() as u64);
        out.extend_from_slice(b"\r\n");
        if !keep {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if with_body {
            out.extend_from_slice(canned.body);
        }
        keep
    }

    fn canned(&self) -> Canned {
        const TEXT: &[u8] = b"Content-Type: text/plain; charset=utf-8\r\n";
        // gin's exact 404/405 (KrakenD's router): `text/plain`, no charset.
        const GIN_TEXT: &[u8] = b"Content-Type: text/plain\r\n";
        let (status_line, headers, body): (&[u8], &[u8], &[u8]) = match self {
            Reject::BadRequest(_) => (b"HTTP/1.1 400 Bad Request\r\n", TEXT, b"400 Bad Request"),
            Reject::Unauthorized(_) => (
                b"HTTP/1.1 401 Unauthorized\r\n",
                b"WWW-Authenticate: Bearer error=\"invalid_token\"\r\n",
                b"",
            ),
            Reject::Forbidden => (b"HTTP/1.1 403 Forbidden\r\n", b"", b""),
            Reject::NotFound => (
                b"HTTP/1.1 404 Not Found\r\n",
                GIN_TEXT,
                b"404 page not found",
            ),
            Reject::MethodNotAllowed => (
                b"HTTP/1.1 405 Method Not Allowed\r\n",
                GIN_TEXT,
                b"405 method not allowed",
            ),
            Reject::RequestTimeout => (
                b"HTTP/1.1 408 Request Timeout\r\n",
                TEXT,
                b"408 Request Timeout",
            ),
            Reject::PayloadTooLarge => (
                b"HTTP/1.1 413 Content Too Large\r\n",
                TEXT,
                b"413 Content Too Large",
            ),
            Reject::ExpectationFailed => (
                b"HTTP/1.1 417 Expectation Failed\r\n",
                TEXT,
                b"417 Expectation Failed",
            ),
            Reject::HeaderTooLarge => (
                b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
                TEXT,
                b"431 Request Header Fields Too Large",
            ),
            Reject::NotImplemented => (
                b"HTTP/1.1 501 Not Implemented\r\n",
                TEXT,
                b"501 Not Implemented",
            ),
            Reject::BadGateway => (b"HTTP/1.1 502 Bad Gateway\r\n", b"", b""),
            Reject::GatewayTimeout => (b"HTTP/1.1 504 Gateway Timeout\r\n", b"", b""),
            Reject::VersionNotSupported => (
                b"HTTP/1.1 505 HTTP Version Not Supported\r\n",
                TEXT,
                b"505 HTTP Version Not Supported",
            ),
        };
        Canned {
            status_line,
            headers,
            body,
        }
    }
}

/// The static parts of a canned response.
struct Canned {
    status_line: &'static [u8],
    /// Zero or more complete header lines (each ending CRLF), before `Content-Length`.
    headers: &'static [u8],
    body: &'static [u8],
}

impl From<ChunkedError> for BadRequestReason {
    fn from(e: ChunkedError) -> Self {
        BadRequestReason::BadChunk(e)
    }
}

impl AuthReason {
    /// A short stable name for logs and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            AuthReason::NoToken => "no_token",
            AuthReason::Malformed => "malformed",
            AuthReason::BadSignature => "bad_signature",
            AuthReason::AlgMismatch => "alg_mismatch",
            AuthReason::UnknownKid => "unknown_kid",
            AuthReason::KeyUnavailable => "key_unavailable",
            AuthReason::Expired => "expired",
            AuthReason::NotYetValid => "not_yet_valid",
            AuthReason::IssuedInFuture => "issued_in_future",
            AuthReason::WrongIssuer => "wrong_issuer",
            AuthReason::WrongAudience => "wrong_audience",
            AuthReason::BadClaim => "bad_claim",
            AuthReason::Revoked => "revoked",
            AuthReason::TooLarge => "too_large",
            AuthReason::DuplicateClaim => "duplicate_claim",
            AuthReason::Misconfigured => "misconfigured",
        }
    }
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reject::BadRequest(r) => write!(f, "400 bad request: {r:?}"),
            Reject::Unauthorized(r) => write!(f, "401 unauthorized: {}", r.as_str()),
            other => write!(f, "{} {other:?}", other.status()),
        }
    }
}
