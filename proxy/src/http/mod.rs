//! The sans-io HTTP/1.1 codec of the data plane.
//!
//! What it is: pure functions and small state machines over byte slices. Heads are parsed in
//! place with `httparse` and borrowed from the caller's read buffer ([`RequestHead`],
//! [`ResponseHead`]); bodies are decoded incrementally into slices of the input
//! ([`BodyDecoder`], [`ChunkedDecoder`]); heads and chunk framing are written into a
//! caller-provided, reused `Vec<u8>` ([`write`](mod@write)).
//!
//! What it is not: it does no I/O, knows no sockets, timers or async runtime, and allocates
//! nothing per request. The data core's glue (`server`, on the `event` loop) owns the buffers and calls in here.
//!
//! Typical use on a data core (the glue):
//!
//! 1. keep one [`RequestParser`] per connection; call [`RequestParser::parse`] on the bytes read
//!    so far. `Ok(None)`: read more. `Err(e)`: answer `Reject::from(e)` and close.
//!    `Ok(Some(head))`: the head took `head.head_len()` bytes; the body follows, framed by
//!    `head.framing()`.
//! 2. route `head.path()`, guard, pick a backend, write the upstream head with
//!    [`write::write_upstream_request`], stream the body through a [`BodyDecoder`] (re-encoding
//!    chunks canonically with [`chunked::write_chunk`]).
//! 3. parse the upstream head with a [`ResponseParser`], pick the client framing with
//!    [`write::client_framing`], write it with [`write::write_response_head`], stream the body.
//!
//! See `docs/request-lifecycle.md` for the phases and the status table.

pub mod body;
pub mod chunked;
pub mod headers;
pub mod method;
pub mod num;
pub mod request;
pub mod response;
pub mod scan;
pub mod write;

pub use body::{BodyDecoder, BodyError, BodyFraming, ResponseFraming, Step};
pub use chunked::{ChunkedDecoder, ChunkedError};
pub use headers::{Header, HeaderSlots, Headers, MAX_HEADERS, is_hop_by_hop_name};
pub use method::{Method, Version};
pub use request::{HeadError, RequestHead, RequestParser, parse_request};
pub use response::{ResponseError, ResponseHead, ResponseParser, parse_response};
pub use scan::HeadScanner;
