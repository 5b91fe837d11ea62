//! Request methods and protocol versions.

/// A request method. Methods are case-sensitive (RFC 9110 §9.1): `get` is [`Method::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
    /// `OPTIONS`
    Options,
    /// `CONNECT` (refused by the request parser: bloomgate is not a tunnel)
    Connect,
    /// `TRACE`
    Trace,
    /// Any other token; the raw bytes are in [`crate::http::RequestHead::method_bytes`].
    Other,
}

impl Method {
    /// Classifies a method token, case-sensitively.
    pub fn from_bytes(token: &[u8]) -> Method {
        match token {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"PATCH" => Method::Patch,
            b"DELETE" => Method::Delete,
            b"OPTIONS" => Method::Options,
            b"CONNECT" => Method::Connect,
            b"TRACE" => Method::Trace,
            _ => Method::Other,
        }
    }

    /// Classifies a method name from a config file, ignoring ASCII case (KrakenD upper-cases
    /// `"method"`). `None` for names that are not one of the known methods.
    pub fn from_config_name(name: &str) -> Option<Method> {
        let mut upper = [0u8; 8];
        let bytes = name.as_bytes();
        if bytes.len() > upper.len() {
            return None;
        }
        for (dst, src) in upper.iter_mut().zip(bytes) {
            *dst = src.to_ascii_uppercase();
        }
        match Method::from_bytes(&upper[..bytes.len()]) {
            Method::Other => None,
            m => Some(m),
        }
    }

    /// The canonical token, or `None` for [`Method::Other`].
    pub fn as_str(self) -> Option<&'static str> {
        Some(match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Connect => "CONNECT",
            Method::Trace => "TRACE",
            Method::Other => return None,
        })
    }

    /// Whether a request with this method is expected to carry content, so that an empty one is
    /// sent with `Content-Length: 0` (RFC 9110 §8.6; what Go's client does, and what some
    /// backends require to avoid 411).
    pub fn expects_content(self) -> bool {
        matches!(self, Method::Post | Method::Put | Method::Patch)
    }
}

/// The HTTP/1.x minor version of a message. Only 1.0 and 1.1 are parsed; anything else is 505
/// (a well-formed `HTTP/x.y`) or 400.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// `HTTP/1.0`: no chunked coding, persistent only with `Connection: keep-alive`.
    Http10,
    /// `HTTP/1.1`: persistent unless `Connection: close`.
    Http11,
}

impl Version {
    pub(crate) fn from_minor(minor: u8) -> Version {
        if minor == 0 {
            Version::Http10
        } else {
            Version::Http11
        }
    }

    /// The minor version digit: 0 or 1.
    pub fn minor(self) -> u8 {
        match self {
            Version::Http10 => 0,
            Version::Http11 => 1,
        }
    }
}
