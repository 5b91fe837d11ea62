//! Head writers: the request toward the backend and the response toward the client, appended to
//! a caller-provided, reused `Vec<u8>` (the only memory touched; it grows to its high-water mark
//! once and is then reused, so steady state allocates nothing).
//!
//! Both writers drop hop-by-hop fields ([`Headers::is_hop_by_hop`]) and never copy the
//! incoming `Content-Length` / `Transfer-Encoding`: the framing the proxy chose is written
//! instead, so a peer's framing never reaches the other side.

#[cfg(test)]
mod tests;

use std::io::Write as _;
use std::net::IpAddr;

use super::body::{BodyFraming, ResponseFraming};
use super::headers::{Headers, is_valid_name, is_valid_value};
use super::method::{Method, Version};
use super::num::write_u64;
use super::request::RequestHead;
use super::response::ResponseHead;

/// Which client header fields reach the backend (`input_headers`). Hop-by-hop fields never do,
/// whatever the filter says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderFilter {
    /// `["*"]`: every field.
    All,
    /// These names only, stored lower-case, compared ASCII case-insensitively.
    Only(Box<[Box<[u8]>]>),
}

impl Default for HeaderFilter {
    /// KrakenD's default: `Content-Type` only.
    fn default() -> Self {
        HeaderFilter::from_names(["Content-Type"])
    }
}

impl HeaderFilter {
    /// Builds the filter from `input_headers` (built once at config time). `*` anywhere means
    /// all.
    pub fn from_names<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut only = Vec::new();
        for name in names {
            let name = name.as_ref();
            if name == "*" {
                return HeaderFilter::All;
            }
            only.push(name.to_ascii_lowercase().into_bytes().into_boxed_slice());
        }
        HeaderFilter::Only(only.into_boxed_slice())
    }

    /// Whether a field with this name passes.
    pub fn allows(&self, name: &[u8]) -> bool {
        match self {
            HeaderFilter::All => true,
            HeaderFilter::Only(names) => names.iter().any(|n| n.eq_ignore_ascii_case(name)),
        }
    }
}

/// An IP address as text in a fixed buffer, for `X-Forwarded-For`. Format it once per
/// connection. IPv4-mapped IPv6 addresses are shown as IPv4.
#[derive(Clone, Copy)]
pub struct IpText {
    buf: [u8; 48],
    len: usize,
}

impl IpText {
    /// Formats `ip` (canonicalised: `::ffff:1.2.3.4` becomes `1.2.3.4`).
    pub fn new(ip: IpAddr) -> Self {
        let mut buf = [0u8; 48];
        let mut cursor: &mut [u8] = &mut buf;
        // The longest IPv6 text is 45 bytes: the write cannot fail.
        let _ = write!(cursor, "{}", ip.to_canonical());
        let len = 48 - cursor.len();
        IpText { buf, len }
    }

    /// The text.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl std::fmt::Debug for IpText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

/// Everything the upstream request head is made from.
#[derive(Clone, Copy, Debug)]
pub struct UpstreamRequest<'a> {
    /// The backend method token (`backend.method`, default the endpoint's).
    pub method: &'a [u8],
    /// The backend path and query, as rendered by [`crate::router::UrlTemplate::render`].
    pub path_and_query: &'a [u8],
    /// The backend authority (`host:port`) for `Host`.
    pub authority: &'a [u8],
    /// The client's request head.
    pub client: &'a RequestHead<'a>,
    /// Which client fields to forward (`input_headers`).
    pub filter: &'a HeaderFilter,
    /// The client's address as text ([`IpText`]).
    pub client_ip: &'a [u8],
    /// Fields the gateway sets (JWT `propagate_claims`): always sent, replacing client fields
    /// of the same name. A pair with an invalid name or value (CR, LF, NUL, ...) is skipped.
    pub extra: &'a [(&'a [u8], &'a [u8])],
    /// How the proxy frames the body it sends (normally `client.framing()`).
    pub framing: BodyFraming,
    /// Ask the backend to close the connection after the response.
    pub close: bool,
}

/// Appends the upstream request head: request line, `Host`, the filtered client fields,
/// `X-Forwarded-For`, `X-Forwarded-Host`, the extra fields, the framing, and the blank line.
///
/// Client fields never forwarded: hop-by-hop ones (fixed or listed in `Connection`), `Host`,
/// `Content-Length`, `Transfer-Encoding`, `Expect` (the gateway answers `100-continue` itself),
/// `X-Forwarded-For` and `X-Forwarded-Host` (rewritten), and those named in `extra`.
pub fn write_upstream_request(out: &mut Vec<u8>, req: &UpstreamRequest<'_>) {
    const OWN: [&[u8]; 6] = [
        b"host",
        b"content-length",
        b"expect",
        b"x-forwarded-for",
        b"x-forwarded-host",
        b"transfer-encoding",
    ];
    let client = req.client;
    let headers = client.headers();

    out.extend_from_slice(req.method);
    out.push(b' ');
    out.extend_from_slice(req.path_and_query);
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(req.authority);
    out.extend_from_slice(b"\r\n");

    for h in headers.iter() {
        let name = h.name.as_bytes();
        if OWN.iter().any(|n| n.eq_ignore_ascii_case(name))
            || headers.is_hop_by_hop(name)
            || !req.filter.allows(name)
            || req.extra.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            continue;
        }
        write_field(out, name, h.value);
    }

    out.extend_from_slice(b"X-Forwarded-For: ");
    if *req.filter == HeaderFilter::All {
        for value in headers.get_all("x-forwarded-for").filter(|v| !v.is_empty()) {
            out.extend_from_slice(value);
            out.extend_from_slice(b", ");
        }
    }
    out.extend_from_slice(req.client_ip);
    out.extend_from_slice(b"\r\n");
    if let Some(host) = client.host() {
        write_field(out, b"X-Forwarded-Host", host);
    }

    for (name, value) in req.extra {
        if is_valid_name(name) && is_valid_value(value) {
            write_field(out, name, value);
        }
    }

    match req.framing {
        BodyFraming::Length(n) => write_content_length(out, n),
        BodyFraming::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        BodyFraming::None => {
            if Method::from_bytes(req.method).expects_content() {
                write_content_length(out, 0);
            }
        }
    }
    if req.close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// How the proxy frames the response body toward the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutFraming {
    /// No body.
    None,
    /// `Content-Length: n`; the bytes are relayed as they come.
    Length(u64),
    /// `Transfer-Encoding: chunked`, re-encoded by the proxy.
    Chunked,
    /// No length: the body runs until the proxy closes the client connection.
    Close,
}

/// The client framing for an upstream framing: lengths stay; chunked and until-close bodies
/// become chunked for an HTTP/1.1 client (so the client connection survives an until-close
/// backend) and until-close for an HTTP/1.0 client (which cannot read chunked).
pub fn client_framing(upstream: ResponseFraming, client: Version) -> OutFraming {
    match (upstream, client) {
        (ResponseFraming::None, _) => OutFraming::None,
        (ResponseFraming::Length(n), _) => OutFraming::Length(n),
        (ResponseFraming::Chunked | ResponseFraming::UntilClose, Version::Http11) => {
            OutFraming::Chunked
        }
        (ResponseFraming::Chunked | ResponseFraming::UntilClose, Version::Http10) => {
            OutFraming::Close
        }
    }
}

/// Appends the client response head for an upstream head: `HTTP/1.1 status reason`, the
/// upstream fields minus hop-by-hop ones and minus `Content-Length` / `Transfer-Encoding`, the
/// chosen framing, and the connection field. Returns whether the client connection stays open
/// (`keep_alive` and not [`OutFraming::Close`]); when it does not, the head says
/// `Connection: close`; an HTTP/1.0 client that stays is told `Connection: keep-alive`.
///
/// For a bodiless response that kept a valid `Content-Length` (to HEAD, a 304), that length is
/// repeated; a 1xx or 204 gets none.
pub fn write_response_head(
    out: &mut Vec<u8>,
    upstream: &ResponseHead<'_>,
    framing: OutFraming,
    client: Version,
    keep_alive: bool,
) -> bool {
    let status = upstream.status();
    out.extend_from_slice(b"HTTP/1.1 ");
    write_u64(out, u64::from(status));
    out.push(b' ');
    out.extend_from_slice(upstream.reason());
    out.extend_from_slice(b"\r\n");

    let headers: &Headers<'_> = upstream.headers();
    for h in headers.iter() {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length")
            || name.eq_ignore_ascii_case(b"transfer-encoding")
            || headers.is_hop_by_hop(name)
        {
            continue;
        }
        write_field(out, name, h.value);
    }

    match framing {
        OutFraming::Length(n) => write_content_length(out, n),
        OutFraming::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        OutFraming::None => {
            let may_have_length = status >= 200 && status != 204;
            if let (true, Some(n)) = (may_have_length, upstream.content_length()) {
                write_content_length(out, n);
            }
        }
        OutFraming::Close => {}
    }
    let keep = keep_alive && framing != OutFraming::Close;
    if !keep {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if client == Version::Http10 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    keep
}

/// `100 Continue`, sent to a client that asked for it ([`RequestHead::expect_continue`]) once
/// the request passed the guard and its body is wanted.
pub const CONTINUE_100: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

fn write_field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

fn write_content_length(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(b"Content-Length: ");
    write_u64(out, n);
    out.extend_from_slice(b"\r\n");
}
