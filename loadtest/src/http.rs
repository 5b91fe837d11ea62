//! The HTTP/1.1 client codec, sans I/O: requests pre-rendered once per kind (only the token is
//! spliced in per request), and an incremental response parser that frames bodies by
//! `Content-Length`, chunked encoding or connection close, discarding them as they stream by.

use crate::target::Target;

/// One request header (`--header 'Name: value'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Header name, as given.
    pub name: String,
    /// Header value; the token header's value holds `{token}`.
    pub value: String,
}

impl Header {
    /// Parses `Name: value`. The name must be a token; the value must not hold CR or LF.
    pub fn parse(text: &str) -> Option<Header> {
        let (name, value) = text.split_once(':')?;
        let name = name.trim();
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        let value = value.trim();
        if !valid_name || value.bytes().any(|b| b == b'\r' || b == b'\n') {
            return None;
        }
        Some(Header {
            name: name.to_owned(),
            value: value.to_owned(),
        })
    }

    /// Whether this header's name is `name` (case-insensitive).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// The placeholder the token header's value carries.
pub const TOKEN_PLACEHOLDER: &str = "{token}";

/// A request rendered up to the token: `prefix` + token + `suffix` is the whole request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTemplate {
    prefix: Vec<u8>,
    suffix: Vec<u8>,
}

impl RequestTemplate {
    /// Renders `method target` with `headers`, then the token header (when given: its value
    /// has `{token}` where the token goes), then `body` with its `Content-Length`.
    pub fn new(
        method: &str,
        target: &Target,
        headers: &[Header],
        token_header: Option<&Header>,
        body: Option<&[u8]>,
    ) -> RequestTemplate {
        let mut head = format!("{method} {} HTTP/1.1\r\n", target.path);
        if !headers.iter().any(|h| h.is("host")) {
            head.push_str("Host: ");
            head.push_str(&target.authority);
            head.push_str("\r\n");
        }
        for h in headers {
            head.push_str(&h.name);
            head.push_str(": ");
            head.push_str(&h.value);
            head.push_str("\r\n");
        }
        if !headers.iter().any(|h| h.is("content-length")) {
            match body {
                Some(body) => head.push_str(&format!("Content-Length: {}\r\n", body.len())),
                None if matches!(method, "POST" | "PUT" | "PATCH") => {
                    head.push_str("Content-Length: 0\r\n");
                }
                None => {}
            }
        }
        let mut prefix = head.into_bytes();
        let mut suffix = Vec::new();
        let tail = match token_header {
            Some(h) => {
                let (before, after) = h
                    .value
                    .split_once(TOKEN_PLACEHOLDER)
                    .unwrap_or((h.value.as_str(), ""));
                prefix.extend_from_slice(h.name.as_bytes());
                prefix.extend_from_slice(b": ");
                prefix.extend_from_slice(before.as_bytes());
                suffix.extend_from_slice(after.as_bytes());
                suffix.extend_from_slice(b"\r\n\r\n");
                &mut suffix
            }
            None => {
                prefix.extend_from_slice(b"\r\n");
                &mut prefix
            }
        };
        if let Some(body) = body {
            tail.extend_from_slice(body);
        }
        RequestTemplate { prefix, suffix }
    }

    /// Appends the request carrying `token` to `out` (`token` is ignored by a template made
    /// without a token header).
    pub fn render(&self, token: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.prefix);
        if !self.suffix.is_empty() {
            out.extend_from_slice(token.as_bytes());
            out.extend_from_slice(&self.suffix);
        }
    }
}

/// The longest response head accepted.
pub const MAX_HEAD: usize = 64 * 1024;
/// The most response headers accepted.
const MAX_HEADERS: usize = 64;
/// The longest chunk-size or trailer line accepted.
const MAX_LINE: usize = 4096;

/// A complete response, as far as the load generator cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Whether the server closes the connection after it (`Connection: close`, HTTP/1.0
    /// without keep-alive, or a body delimited by the close).
    pub close: bool,
}

/// The server's bytes are not a valid HTTP/1.1 response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// httparse refused the head.
    #[error("malformed response head: {0}")]
    Head(String),
    /// The head is over [`MAX_HEAD`] or has too many headers.
    #[error("response head too large")]
    HeadTooLarge,
    /// A bad or conflicting `Content-Length`.
    #[error("bad Content-Length")]
    ContentLength,
    /// A bad chunk size line, chunk terminator or trailer.
    #[error("bad chunked encoding")]
    Chunked,
    /// `101 Switching Protocols`: the load generator does not upgrade.
    #[error("unexpected 101 Switching Protocols")]
    Upgrade,
    /// The connection closed in the middle of a response.
    #[error("connection closed mid-response")]
    Truncated,
}

/// What one call to [`ResponseParser::feed`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `n` bytes were consumed and no response completed; `0` means more input is needed.
    Consumed(usize),
    /// `n` bytes were consumed and they completed a response.
    Done(usize, Response),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    Trailer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Body { remaining: u64, response: Response },
    Chunked { at: Chunk, response: Response },
    UntilClose { response: Response },
}

/// Incremental response parser. Feed it the unconsumed bytes of the read buffer; drop what it
/// reports consumed; repeat until it needs more.
#[derive(Debug, Clone)]
pub struct ResponseParser {
    state: State,
    /// Responses to `HEAD` carry no body whatever their headers say.
    head_request: bool,
}

impl ResponseParser {
    /// A parser for responses to `method` requests.
    pub fn new(method: &str) -> ResponseParser {
        ResponseParser {
            state: State::Head,
            head_request: method.eq_ignore_ascii_case("HEAD"),
        }
    }

    /// Whether the parser is between responses (nothing of the next one seen yet).
    pub fn idle(&self) -> bool {
        self.state == State::Head
    }

    /// Forgets any partial response (after the connection is dropped).
    pub fn reset(&mut self) {
        self.state = State::Head;
    }

    /// Consumes what it can of `buf`.
    pub fn feed(&mut self, buf: &[u8]) -> Result<Step, ParseError> {
        match self.state {
            State::Head => self.feed_head(buf),
            State::Body {
                remaining,
                response,
            } => {
                let take = remaining.min(buf.len() as u64);
                // `take` <= buf.len(), so it fits a usize.
                let n = take as usize;
                if take == remaining {
                    self.state = State::Head;
                    Ok(Step::Done(n, response))
                } else {
                    self.state = State::Body {
                        remaining: remaining - take,
                        response,
                    };
                    Ok(Step::Consumed(n))
                }
            }
            State::Chunked { at, response } => self.feed_chunked(at, response, buf),
            State::UntilClose { .. } => Ok(Step::Consumed(buf.len())),
        }
    }

    /// The connection reached end of file: completes a close-delimited body, else reports
    /// whether a response was cut short.
    pub fn eof(&mut self) -> Result<Option<Response>, ParseError> {
        let state = std::mem::replace(&mut self.state, State::Head);
        match state {
            State::Head => Ok(None),
            State::UntilClose { response } => Ok(Some(response)),
            State::Body { .. } | State::Chunked { .. } => Err(ParseError::Truncated),
        }
    }

    fn feed_head(&mut self, buf: &[u8]) -> Result<Step, ParseError> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut headers);
        let head_len = match parsed.parse(buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD => {
                return Err(ParseError::HeadTooLarge);
            }
            Ok(httparse::Status::Partial) => return Ok(Step::Consumed(0)),
            Err(httparse::Error::TooManyHeaders) => return Err(ParseError::HeadTooLarge),
            Err(e) => return Err(ParseError::Head(e.to_string())),
        };
        let status = parsed.code.unwrap_or(0);
        if status == 101 {
            return Err(ParseError::Upgrade);
        }
        if (100..200).contains(&status) {
            return Ok(Step::Consumed(head_len)); // interim response: the real one follows
        }
        let http10 = parsed.version == Some(0);
        let mut close = http10;
        let mut chunked = false;
        let mut length: Option<u64> = None;
        for h in parsed.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let v = std::str::from_utf8(h.value)
                    .ok()
                    .map(str::trim)
                    .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or(ParseError::ContentLength)?;
                if length.is_some_and(|l| l != v) {
                    return Err(ParseError::ContentLength);
                }
                length = Some(v);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                // Chunked applies when it is the last coding listed.
                chunked = h
                    .value
                    .rsplit(|&b| b == b',')
                    .next()
                    .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            } else if h.name.eq_ignore_ascii_case("connection") {
                for token in h.value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") && http10 {
                        close = false;
                    }
                }
            }
        }
        let no_body = self.head_request || status == 204 || status == 304;
        let response = Response { status, close };
        if no_body {
            return Ok(Step::Done(head_len, response));
        }
        if chunked {
            // With both headers present the framing is chunked and the connection cannot be
            // trusted afterwards (RFC 9112 §6.3).
            let response = Response {
                close: close || length.is_some(),
                ..response
            };
            self.state = State::Chunked {
                at: Chunk::Size,
                response,
            };
            return Ok(Step::Consumed(head_len));
        }
        match length {
            Some(0) => Ok(Step::Done(head_len, response)),
            Some(remaining) => {
                self.state = State::Body {
                    remaining,
                    response,
                };
                Ok(Step::Consumed(head_len))
            }
            None => {
                self.state = State::UntilClose {
                    response: Response {
                        close: true,
                        ..response
                    },
                };
                Ok(Step::Consumed(head_len))
            }
        }
    }

    fn feed_chunked(
        &mut self,
        at: Chunk,
        response: Response,
        buf: &[u8],
    ) -> Result<Step, ParseError> {
        let set = |state: &mut State, at| *state = State::Chunked { at, response };
        match at {
            Chunk::Size => {
                let Some(line_end) = memchr::memchr(b'\n', buf) else {
                    return needs_line(buf);
                };
                let line = buf[..line_end]
                    .strip_suffix(b"\r")
                    .unwrap_or(&buf[..line_end]);
                let digits = line
                    .split(|&b| b == b';')
                    .next()
                    .map(<[u8]>::trim_ascii)
                    .unwrap_or_default();
                let size = parse_hex(digits).ok_or(ParseError::Chunked)?;
                let next = if size == 0 {
                    Chunk::Trailer
                } else {
                    Chunk::Data(size)
                };
                set(&mut self.state, next);
                Ok(Step::Consumed(line_end + 1))
            }
            Chunk::Data(remaining) => {
                let take = remaining.min(buf.len() as u64);
                let next = if take == remaining {
                    Chunk::DataEnd
                } else {
                    Chunk::Data(remaining - take)
                };
                set(&mut self.state, next);
                Ok(Step::Consumed(take as usize))
            }
            Chunk::DataEnd => match buf {
                [b'\r', b'\n', ..] => {
                    set(&mut self.state, Chunk::Size);
                    Ok(Step::Consumed(2))
                }
                [b'\n', ..] => {
                    set(&mut self.state, Chunk::Size);
                    Ok(Step::Consumed(1))
                }
                [] | [b'\r'] => Ok(Step::Consumed(0)),
                _ => Err(ParseError::Chunked),
            },
            Chunk::Trailer => {
                let Some(line_end) = memchr::memchr(b'\n', buf) else {
                    return needs_line(buf);
                };
                let line = buf[..line_end]
                    .strip_suffix(b"\r")
                    .unwrap_or(&buf[..line_end]);
                if line.is_empty() {
                    self.state = State::Head;
                    Ok(Step::Done(line_end + 1, response))
                } else {
                    Ok(Step::Consumed(line_end + 1)) // a trailer field, skipped
                }
            }
        }
    }
}

fn needs_line(buf: &[u8]) -> Result<Step, ParseError> {
    if buf.len() > MAX_LINE {
        Err(ParseError::Chunked)
    } else {
        Ok(Step::Consumed(0))
    }
}

fn parse_hex(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 15 {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        let d = (b as char).to_digit(16)?;
        Some(acc * 16 + u64::from(d))
    })
}

#[cfg(test)]
mod tests;
