//! Request heads: parsing with `httparse` in place, plus the request-smuggling defences.
//!
//! [`parse_request`] parses a complete head from the start of a buffer, or says more bytes are
//! needed; [`RequestParser`] wraps it with a [`HeadScanner`] so a head arriving in many small
//! reads is parsed once. A parsed [`RequestHead`] borrows the buffer; nothing is allocated.
//!
//! Every rule below is a [`HeadError`], and every `HeadError` closes the connection
//! ([`HeadError::must_close`]): once a head is doubtful, so is where the next one starts.
//!
//! | input | error | status |
//! |---|---|---|
//! | incomplete head of `max_header_bytes` or more, complete head over it | `HeaderTooLarge` | 431 |
//! | more than [`MAX_HEADERS`](super::MAX_HEADERS) fields | `HeaderTooLarge` | 431 |
//! | bad request line, bad field name (whitespace before `:`, obs-fold), bad value (NUL, CTL), CR without LF | `BadRequest` | 400 |
//! | a line ended by LF alone (bloomgate is strict where RFC 9112 §2.2 allows leniency) | `BadRequest(BareLf)` | 400 |
//! | `HTTP/<digit>...` other than 1.0/1.1 (`HTTP/2.0`, `HTTP/1.2`, the h2c preface) | `VersionNotSupported` | 505 |
//! | any other version token | `BadRequest(InvalidVersion)` | 400 |
//! | `CONNECT` | `MethodNotAllowed` | 405 |
//! | target neither `/...` nor `http(s)://authority/...`; `*`; non-ASCII; `#`; userinfo | `BadRequest(InvalidTarget)` | 400 |
//! | HTTP/1.1 without `Host`; two `Host`; a `Host` with bytes outside an authority | `BadRequest` | 400 |
//! | `Content-Length` not `1*DIGIT` or over `u64`; several that differ | `BadRequest` | 400 |
//! | `Content-Length` and `Transfer-Encoding`; two `Transfer-Encoding`; TE in HTTP/1.0 | `BadRequest` | 400 |
//! | TE whose final coding is not `chunked`, or `chunked` twice | `BadRequest(ChunkedNotFinal)` | 400 |
//! | TE `x, chunked` with any other coding `x` before the final `chunked` | `NotImplemented` | 501 |
//! | `Expect` other than `100-continue` (HTTP/1.1) | `ExpectationFailed` | 417 |
//!
//! Several identical `Content-Length` values are accepted as one, as Go (KrakenD) and HAProxy
//! do (nginx refuses any duplicate).

#[cfg(test)]
mod tests;

use super::body::BodyFraming;
use super::headers::{Header, HeaderSlots, Headers, list_elements, trim_ows};
use super::method::{Method, Version};
use super::num::parse_decimal;
use super::scan::HeadScanner;
use crate::reject::{BadRequestReason, Reject};

/// A parsed request head, borrowing the buffer it was parsed from.
#[derive(Clone, Debug)]
pub struct RequestHead<'buf> {
    method: Method,
    method_bytes: &'buf [u8],
    target: &'buf [u8],
    path: &'buf [u8],
    query: Option<&'buf [u8]>,
    version: Version,
    headers: Headers<'buf>,
    head_len: usize,
    framing: BodyFraming,
    keep_alive: bool,
    host: Option<&'buf [u8]>,
    expect_continue: bool,
}

impl<'buf> RequestHead<'buf> {
    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The method token as sent (for [`Method::Other`]).
    pub fn method_bytes(&self) -> &'buf [u8] {
        self.method_bytes
    }

    /// The request target as sent (origin-form or absolute-form).
    pub fn target(&self) -> &'buf [u8] {
        self.target
    }

    /// The path: the target up to `?`, starting with `/`; for an absolute-form target, the part
    /// after the authority (`/` when empty). Raw: not percent-decoded, not normalised.
    pub fn path(&self) -> &'buf [u8] {
        self.path
    }

    /// The query: the bytes after the first `?` (possibly empty), or `None` without `?`.
    pub fn query(&self) -> Option<&'buf [u8]> {
        self.query
    }

    /// HTTP/1.0 or HTTP/1.1.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The header fields, in order.
    pub fn headers(&self) -> &Headers<'buf> {
        &self.headers
    }

    /// Iterates the header fields.
    pub fn header_iter(&self) -> std::slice::Iter<'_, Header<'buf>> {
        self.headers.iter()
    }

    /// Bytes the head took at the start of the buffer (request line, fields, blank line, and
    /// any empty lines before the request line). The body starts here.
    pub fn head_len(&self) -> usize {
        self.head_len
    }

    /// How the body is delimited.
    pub fn framing(&self) -> BodyFraming {
        self.framing
    }

    /// Whether the client wants the connection kept after the response: HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// The authority the client addressed: the absolute-form target's, else the `Host` field
    /// (RFC 9112 §3.2.2). `None` only for an HTTP/1.0 request without `Host`.
    pub fn host(&self) -> Option<&'buf [u8]> {
        self.host
    }

    /// Whether an HTTP/1.1 client sent `Expect: 100-continue` and waits for `100 Continue`
    /// before sending its body.
    pub fn expect_continue(&self) -> bool {
        self.expect_continue
    }
}

/// Why a request head was refused. The connection always closes afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    /// 400.
    #[error("bad request: {0:?}")]
    BadRequest(BadRequestReason),
    /// 431: the head is over `max_header_bytes`, or has too many fields.
    #[error("request head too large")]
    HeaderTooLarge,
    /// 405: `CONNECT` (bloomgate is not a tunnel).
    #[error("CONNECT is not supported")]
    MethodNotAllowed,
    /// 501: a transfer coding other than `chunked`.
    #[error("unsupported transfer coding")]
    NotImplemented,
    /// 505: a well-formed version other than HTTP/1.0 and HTTP/1.1.
    #[error("unsupported HTTP version")]
    VersionNotSupported,
    /// 417: an expectation other than `100-continue`.
    #[error("unsupported expectation")]
    ExpectationFailed,
}

impl HeadError {
    /// Always true: after a refused head the byte stream cannot be trusted.
    pub fn must_close(&self) -> bool {
        true
    }

    /// The [`Reject`] that answers it.
    pub fn reject(&self) -> Reject {
        match *self {
            HeadError::BadRequest(r) => Reject::BadRequest(r),
            HeadError::HeaderTooLarge => Reject::HeaderTooLarge,
            HeadError::MethodNotAllowed => Reject::MethodNotAllowed,
            HeadError::NotImplemented => Reject::NotImplemented,
            HeadError::VersionNotSupported => Reject::VersionNotSupported,
            HeadError::ExpectationFailed => Reject::ExpectationFailed,
        }
    }
}

impl From<HeadError> for Reject {
    fn from(e: HeadError) -> Self {
        e.reject()
    }
}

impl From<BadRequestReason> for HeadError {
    fn from(r: BadRequestReason) -> Self {
        HeadError::BadRequest(r)
    }
}

/// Parses requests from a connection's read buffer, running the full parser only once a blank
/// line has arrived (see [`HeadScanner`]). One per connection; reusable across requests.
#[derive(Clone, Debug)]
pub struct RequestParser {
    scanner: HeadScanner,
    max_header_bytes: usize,
}

impl RequestParser {
    /// A parser refusing heads larger than `max_header_bytes` (config `max_header_bytes`).
    pub fn new(max_header_bytes: usize) -> Self {
        RequestParser {
            scanner: HeadScanner::new(),
            max_header_bytes,
        }
    }

    /// Parses the head at the start of `buf`, the unconsumed bytes read so far. `Ok(None)`:
    /// read more and call again with the grown buffer (its start unchanged; else call
    /// [`RequestParser::reset`]). After `Ok(Some(_))` or `Err(_)` the parser is ready for the
    /// next head, which starts after the current request's body.
    pub fn parse<'buf>(
        &mut self,
        buf: &'buf [u8],
        slots: &'buf mut HeaderSlots<'buf>,
    ) -> Result<Option<RequestHead<'buf>>, HeadError> {
        if !self.scanner.find_end(buf) {
            if buf.len() >= self.max_header_bytes {
                self.scanner.reset();
                return Err(HeadError::HeaderTooLarge);
            }
            return Ok(None);
        }
        let parsed = parse_request(buf, self.max_header_bytes, slots);
        if !matches!(parsed, Ok(None)) {
            self.scanner.reset();
        }
        parsed
    }

    /// Forgets a partially scanned head (call when the unparsed bytes move in the buffer).
    pub fn reset(&mut self) {
        self.scanner.reset();
    }
}

/// Parses one request head from the start of `buf`, its fields into `slots`.
///
/// `Ok(None)`: the head is incomplete (and shorter than `max_header_bytes`). `Ok(Some(head))`:
/// the head took `head.head_len()` bytes. Stateless: prefer [`RequestParser`] on a socket.
pub fn parse_request<'buf>(
    buf: &'buf [u8],
    max_header_bytes: usize,
    slots: &'buf mut HeaderSlots<'buf>,
) -> Result<Option<RequestHead<'buf>>, HeadError> {
    let mut req = httparse::Request::new(&mut []);
    let (head_len, method_str, target_str, minor) =
        match req.parse_with_uninit_headers(buf, &mut slots.0) {
            Ok(httparse::Status::Complete(n)) => (
                n,
                req.method.unwrap_or(""),
                req.path.unwrap_or(""),
                req.version.unwrap_or(1),
            ),
            Ok(httparse::Status::Partial) => {
                return if buf.len() >= max_header_bytes {
                    Err(HeadError::HeaderTooLarge)
                } else {
                    Ok(None)
                };
            }
            Err(e) => return Err(map_parse_error(e, buf)),
        };
    let headers = Headers::new(req.headers);
    if head_len > max_header_bytes {
        return Err(HeadError::HeaderTooLarge);
    }
    reject_bare_lf(buf.get(..head_len).unwrap_or(&[]))?;

    let version = Version::from_minor(minor);
    let method_bytes = method_str.as_bytes();
    let method = Method::from_bytes(method_bytes);
    if method == Method::Connect {
        return Err(HeadError::MethodNotAllowed);
    }
    let target = target_str.as_bytes();
    let Target {
        path,
        query,
        authority,
    } = split_target(target)?;

    let fields = scan_fields(&headers, version)?;
    let framing = match (fields.transfer_encoding, fields.content_length) {
        (Some(_), _) if version == Version::Http10 => {
            return Err(BadRequestReason::TransferEncodingInHttp10.into());
        }
        (Some(_), Some(_)) => {
            return Err(BadRequestReason::ContentLengthWithTransferEncoding.into());
        }
        (Some(te), None) => {
            check_transfer_encoding(te)?;
            BodyFraming::Chunked
        }
        (None, Some(n)) => BodyFraming::Length(n),
        (None, None) => BodyFraming::None,
    };
    if version == Version::Http11 && fields.host.is_none() {
        return Err(BadRequestReason::MissingHost.into());
    }
    let keep_alive = !fields.close && (version == Version::Http11 || fields.keep_alive);

    Ok(Some(RequestHead {
        method,
        method_bytes,
        target,
        path,
        query,
        version,
        headers,
        head_len,
        framing,
        keep_alive,
        host: authority.or(fields.host),
        expect_continue: fields.expect_continue,
    }))
}

/// What the fields say about framing, connection and host.
struct Fields<'buf> {
    host: Option<&'buf [u8]>,
    content_length: Option<u64>,
    transfer_encoding: Option<&'buf [u8]>,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
}

/// One pass over the fields: duplicates and values of the framing-relevant ones.
fn scan_fields<'buf>(headers: &Headers<'buf>, version: Version) -> Result<Fields<'buf>, HeadError> {
    let mut f = Fields {
        host: None,
        content_length: None,
        transfer_encoding: None,
        close: false,
        keep_alive: false,
        expect_continue: false,
    };
    for h in headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("host") {
            if f.host.is_some() {
                return Err(BadRequestReason::DuplicateHost.into());
            }
            if !is_valid_authority(h.value) {
                return Err(BadRequestReason::InvalidHost.into());
            }
            f.host = Some(h.value);
        } else if name.eq_ignore_ascii_case("content-length") {
            let n = parse_decimal(h.value).ok_or(BadRequestReason::InvalidContentLength)?;
            match f.content_length {
                Some(prev) if prev != n => {
                    return Err(BadRequestReason::ConflictingContentLength.into());
                }
                _ => f.content_length = Some(n),
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if f.transfer_encoding.is_some() {
                return Err(BadRequestReason::DuplicateTransferEncoding.into());
            }
            f.transfer_encoding = Some(h.value);
        } else if name.eq_ignore_ascii_case("connection") {
            for token in list_elements(h.value) {
                f.close |= token.eq_ignore_ascii_case(b"close");
                f.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case("expect") && version == Version::Http11 {
            // RFC 9110 §10.1.1: an HTTP/1.0 request's expectation is ignored.
            if trim_ows(h.value).eq_ignore_ascii_case(b"100-continue") {
                f.expect_continue = true;
            } else {
                return Err(HeadError::ExpectationFailed);
            }
        }
    }
    Ok(f)
}

/// Accepts exactly a transfer-coding list whose final (and only `chunked`) element is `chunked`;
/// other codings before it are understood but not implemented (501).
pub(crate) fn check_transfer_encoding(value: &[u8]) -> Result<(), HeadError> {
    let mut chunked = false;
    let mut other = false;
    for coding in list_elements(value) {
        if chunked {
            // Anything after `chunked`, including a second `chunked`.
            return Err(BadRequestReason::ChunkedNotFinal.into());
        }
        if coding.eq_ignore_ascii_case(b"chunked") {
            chunked = true;
        } else {
            other = true;
        }
    }
    if !chunked {
        return Err(BadRequestReason::ChunkedNotFinal.into());
    }
    if other {
        return Err(HeadError::NotImplemented);
    }
    Ok(())
}

/// The parts of a request target.
struct Target<'buf> {
    path: &'buf [u8],
    query: Option<&'buf [u8]>,
    authority: Option<&'buf [u8]>,
}

/// Splits an origin-form (`/p?q`) or absolute-form (`http://a/p?q`) target.
fn split_target(target: &[u8]) -> Result<Target<'_>, HeadError> {
    const BAD: HeadError = HeadError::BadRequest(BadRequestReason::InvalidTarget);
    if !target.is_ascii() || target.contains(&b'#') {
        return Err(BAD);
    }
    let (authority, path_and_query) = if target.first() == Some(&b'/') {
        (None, target)
    } else {
        let rest = strip_prefix_ignore_case(target, b"http://")
            .or_else(|| strip_prefix_ignore_case(target, b"https://"))
            .ok_or(BAD)?;
        let end = rest
            .iter()
            .position(|&b| b == b'/' || b == b'?')
            .unwrap_or(rest.len());
        let (authority, pq) = rest.split_at(end);
        if authority.is_empty() || authority.contains(&b'@') || !is_valid_authority(authority) {
            return Err(BAD);
        }
        (Some(authority), pq)
    };
    let (path, query) = match path_and_query.iter().position(|&b| b == b'?') {
        Some(q) => (
            path_and_query.get(..q).unwrap_or(&[]),
            path_and_query.get(q + 1..),
        ),
        None => (path_and_query, None),
    };
    let path: &[u8] = if path.is_empty() { b"/" } else { path };
    Ok(Target {
        path,
        query,
        authority,
    })
}

fn strip_prefix_ignore_case<'a>(s: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

/// Bytes that may appear in a `Host` / authority: RFC 3986 reg-name, IP-literal and port
/// characters (unreserved, sub-delims, `:`, `[`, `]`, `%`).
pub(crate) fn is_valid_authority(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:[]%".contains(&b))
}

/// Refuses a head with a line feed not preceded by a carriage return.
fn reject_bare_lf(head: &[u8]) -> Result<(), HeadError> {
    for lf in memchr::memchr_iter(b'\n', head) {
        if lf == 0 || head.get(lf - 1) != Some(&b'\r') {
            return Err(BadRequestReason::BareLf.into());
        }
    }
    Ok(())
}

/// Maps an `httparse` error to a [`HeadError`]; a version error is 505 if the token is
/// `HTTP/<digit>...`, else 400.
fn map_parse_error(e: httparse::Error, buf: &[u8]) -> HeadError {
    match e {
        httparse::Error::TooManyHeaders => HeadError::HeaderTooLarge,
        httparse::Error::HeaderName => BadRequestReason::InvalidHeaderName.into(),
        httparse::Error::HeaderValue => BadRequestReason::InvalidHeaderValue.into(),
        httparse::Error::NewLine => BadRequestReason::InvalidNewLine.into(),
        httparse::Error::Version => {
            if looks_like_http_version(request_line_version(buf)) {
                HeadError::VersionNotSupported
            } else {
                BadRequestReason::InvalidVersion.into()
            }
        }
        httparse::Error::Token | httparse::Error::Status => {
            BadRequestReason::MalformedRequestLine.into()
        }
    }
}

/// What follows the second space of the first non-empty line of `buf` (the version token,
/// if the line has the `method SP target SP version` shape).
fn request_line_version(buf: &[u8]) -> &[u8] {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let line = buf.get(start..).unwrap_or(&[]);
    let line = match memchr::memchr(b'\n', line) {
        Some(end) => line.get(..end).unwrap_or(&[]),
        None => line,
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.splitn(3, |&b| b == b' ').nth(2).unwrap_or(&[])
}

/// `HTTP/` followed by a digit (`HTTP/2`, `HTTP/2.0`, `HTTP/1.2`): a version, just not ours.
/// Only the first digit is looked at, so the answer does not depend on how much of the line
/// has arrived.
fn looks_like_http_version(token: &[u8]) -> bool {
    token
        .strip_prefix(b"HTTP/")
        .and_then(|rest| rest.first())
        .is_some_and(u8::is_ascii_digit)
}
