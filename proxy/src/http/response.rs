//! Upstream response heads: parsing with `httparse` in place, framing per RFC 9112 §6.3, and
//! the same refusal of ambiguous framing as for requests. Any [`ResponseError`] is a 502 for
//! the client and the upstream connection is dropped.
//!
//! Leniencies a backend gets that a client does not: a bare LF as line terminator (Go's client
//! accepts it too, and the head is re-serialised anyway). Strict: `Content-Length` with
//! `Transfer-Encoding`, differing `Content-Length`s, a transfer coding other than `chunked`,
//! `Transfer-Encoding` in HTTP/1.0, a status outside 100..=999, `101 Switching Protocols`
//! (bloomgate never asks to upgrade).

#[cfg(test)]
mod tests;

use super::body::ResponseFraming;
use super::headers::{Header, HeaderSlots, Headers, list_elements};
use super::method::Version;
use super::num::parse_decimal;
use super::request::check_transfer_encoding;
use super::scan::HeadScanner;
use crate::reject::Reject;

/// A reasonable bound on an upstream response head (Set-Cookie-heavy backends included).
pub const DEFAULT_MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// A parsed upstream response head, borrowing the buffer it was parsed from.
#[derive(Clone, Debug)]
pub struct ResponseHead<'buf> {
    version: Version,
    status: u16,
    reason: &'buf [u8],
    headers: Headers<'buf>,
    head_len: usize,
    framing: ResponseFraming,
    keep_alive: bool,
    content_length: Option<u64>,
}

impl<'buf> ResponseHead<'buf> {
    /// HTTP/1.0 or HTTP/1.1.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The status code, 100..=999.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase (possibly empty; empty too if it had non-ASCII bytes).
    pub fn reason(&self) -> &'buf [u8] {
        self.reason
    }

    /// The header fields, in order.
    pub fn headers(&self) -> &Headers<'buf> {
        &self.headers
    }

    /// Iterates the header fields.
    pub fn header_iter(&self) -> std::slice::Iter<'_, Header<'buf>> {
        self.headers.iter()
    }

    /// Bytes the head took; the body starts here.
    pub fn head_len(&self) -> usize {
        self.head_len
    }

    /// How the body is delimited.
    pub fn framing(&self) -> ResponseFraming {
        self.framing
    }

    /// Whether the upstream connection can be reused after this response's body: HTTP/1.1
    /// without `Connection: close`, or HTTP/1.0 with `keep-alive`, and not an until-close body.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// The `Content-Length` value, when valid, even where it does not frame a body (a response
    /// to HEAD, a 304): the client is told the same length.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// A 1xx (other than 101, which is an error): not the final response. The glue skips it
    /// (`head_len` bytes) and parses the next head.
    pub fn is_informational(&self) -> bool {
        (100..200).contains(&self.status)
    }
}

/// Why an upstream response head was refused (the client gets 502).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// Not a valid HTTP/1.x response head.
    #[error("malformed response head: {0}")]
    Malformed(httparse::Error),
    /// Over the head size bound, or more than [`super::MAX_HEADERS`] fields.
    #[error("response head too large")]
    TooLarge,
    /// A status outside 100..=999, or 101.
    #[error("unexpected status")]
    BadStatus,
    /// `Content-Length` not `1*DIGIT`, or several that differ.
    #[error("invalid Content-Length")]
    InvalidContentLength,
    /// `Content-Length` with `Transfer-Encoding`, several `Transfer-Encoding`, or TE in HTTP/1.0.
    #[error("ambiguous framing")]
    AmbiguousFraming,
    /// A transfer coding other than a single final `chunked`.
    #[error("unsupported transfer coding")]
    UnsupportedTransferCoding,
}

impl From<ResponseError> for Reject {
    fn from(_: ResponseError) -> Self {
        Reject::BadGateway
    }
}

/// Parses upstream responses from the upstream connection's read buffer, running the full
/// parser only once a blank line has arrived. One per upstream connection.
#[derive(Clone, Debug)]
pub struct ResponseParser {
    scanner: HeadScanner,
    max_head_bytes: usize,
}

impl ResponseParser {
    /// A parser refusing heads larger than `max_head_bytes`.
    pub fn new(max_head_bytes: usize) -> Self {
        ResponseParser {
            scanner: HeadScanner::new(),
            max_head_bytes,
        }
    }

    /// Parses the head at the start of `buf`. `request_was_head`: the request was `HEAD`, so the
    /// response has no body whatever it says. Same contract as
    /// [`super::RequestParser::parse`].
    pub fn parse<'buf>(
        &mut self,
        buf: &'buf [u8],
        request_was_head: bool,
        slots: &'buf mut HeaderSlots<'buf>,
    ) -> Result<Option<ResponseHead<'buf>>, ResponseError> {
        if !self.scanner.find_end(buf) {
            if buf.len() >= self.max_head_bytes {
                self.scanner.reset();
                return Err(ResponseError::TooLarge);
            }
            return Ok(None);
        }
        let parsed = parse_response(buf, request_was_head, self.max_head_bytes, slots);
        if !matches!(parsed, Ok(None)) {
            self.scanner.reset();
        }
        parsed
    }

    /// Forgets a partially scanned head.
    pub fn reset(&mut self) {
        self.scanner.reset();
    }
}

/// Parses one response head from the start of `buf`, its fields into `slots`. `Ok(None)`:
/// incomplete.
pub fn parse_response<'buf>(
    buf: &'buf [u8],
    request_was_head: bool,
    max_head_bytes: usize,
    slots: &'buf mut HeaderSlots<'buf>,
) -> Result<Option<ResponseHead<'buf>>, ResponseError> {
    let mut res = httparse::Response::new(&mut []);
    let (head_len, minor, status, reason) = match httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut res, buf, &mut slots.0)
    {
        Ok(httparse::Status::Complete(n)) => (
            n,
            res.version.unwrap_or(1),
            res.code.unwrap_or(0),
            res.reason.unwrap_or(""),
        ),
        Ok(httparse::Status::Partial) => {
            return if buf.len() >= max_head_bytes {
                Err(ResponseError::TooLarge)
            } else {
                Ok(None)
            };
        }
        Err(httparse::Error::TooManyHeaders) => return Err(ResponseError::TooLarge),
        Err(e) => return Err(ResponseError::Malformed(e)),
    };
    let headers = Headers::new(res.headers);
    if head_len > max_head_bytes {
        return Err(ResponseError::TooLarge);
    }
    if !(100..=999).contains(&status) || status == 101 {
        return Err(ResponseError::BadStatus);
    }
    let version = Version::from_minor(minor);

    let mut content_length: Option<u64> = None;
    let mut transfer_encoding: Option<&[u8]> = None;
    let mut close = false;
    let mut keep_alive_token = false;
    for h in headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("content-length") {
            let n = parse_decimal(h.value).ok_or(ResponseError::InvalidContentLength)?;
            match content_length {
                Some(prev) if prev != n => return Err(ResponseError::InvalidContentLength),
                _ => content_length = Some(n),
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if transfer_encoding.is_some() {
                return Err(ResponseError::AmbiguousFraming);
            }
            transfer_encoding = Some(h.value);
        } else if name.eq_ignore_ascii_case("connection") {
            for token in list_elements(h.value) {
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive_token |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        }
    }

    let bodiless = request_was_head || status < 200 || status == 204 || status == 304;
    let framing = match (transfer_encoding, content_length) {
        (Some(_), _) if version == Version::Http10 => return Err(ResponseError::AmbiguousFraming),
        (Some(_), Some(_)) => return Err(ResponseError::AmbiguousFraming),
        _ if bodiless => ResponseFraming::None,
        (Some(te), None) => {
            check_transfer_encoding(te).map_err(|_| ResponseError::UnsupportedTransferCoding)?;
            ResponseFraming::Chunked
        }
        (None, Some(n)) => ResponseFraming::Length(n),
        (None, None) => ResponseFraming::UntilClose,
    };
    let keep_alive = !close
        && (version == Version::Http11 || keep_alive_token)
        && framing != ResponseFraming::UntilClose;

    Ok(Some(ResponseHead {
        version,
        status,
        reason: reason.as_bytes(),
        headers,
        head_len,
        framing,
        keep_alive,
        content_length,
    }))
}
