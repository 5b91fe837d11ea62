//! How a body is delimited, and one incremental decoder for every framing.

#[cfg(test)]
mod tests;

use super::chunked::{ChunkedDecoder, ChunkedError};

/// How a request body is delimited (RFC 9112 §6.3). A request never runs until close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body (no `Content-Length`, no `Transfer-Encoding`).
    None,
    /// Exactly this many bytes (`Content-Length`; `Length(0)` is kept distinct from `None` so
    /// that it is re-sent).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// How a response body is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseFraming {
    /// No body: a response to HEAD, a 1xx, 204 or 304.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Neither length nor chunking: the body runs until the backend closes the connection.
    UntilClose,
}

impl From<BodyFraming> for ResponseFraming {
    fn from(f: BodyFraming) -> Self {
        match f {
            BodyFraming::None => ResponseFraming::None,
            BodyFraming::Length(n) => ResponseFraming::Length(n),
            BodyFraming::Chunked => ResponseFraming::Chunked,
        }
    }
}

/// One step of body decoding: see [`BodyDecoder::decode`] and [`ChunkedDecoder::decode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step<'a> {
    /// Body data found, a subslice of the input (possibly empty).
    pub data: &'a [u8],
    /// Bytes of the input consumed, `data` included; the rest is not part of this step.
    pub consumed: usize,
    /// Whether the body is complete; bytes after `consumed` belong to the next message.
    pub done: bool,
}

/// Why a body could not be read to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Bad chunked framing.
    #[error(transparent)]
    Chunked(#[from] ChunkedError),
    /// The peer closed the connection before the body was complete.
    #[error("connection closed before the end of the body")]
    Truncated,
}

/// Decodes one body of any framing, incrementally, without copying.
#[derive(Clone, Debug)]
pub struct BodyDecoder {
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    Length { remaining: u64 },
    Chunked(ChunkedDecoder),
    UntilClose { closed: bool },
}

impl BodyDecoder {
    /// A decoder for a request body.
    pub fn for_request(framing: BodyFraming) -> Self {
        BodyDecoder::for_response(framing.into())
    }

    /// A decoder for a response body.
    pub fn for_response(framing: ResponseFraming) -> Self {
        let kind = match framing {
            ResponseFraming::None => Kind::Length { remaining: 0 },
            ResponseFraming::Length(n) => Kind::Length { remaining: n },
            ResponseFraming::Chunked => Kind::Chunked(ChunkedDecoder::new()),
            ResponseFraming::UntilClose => Kind::UntilClose { closed: false },
        };
        BodyDecoder { kind }
    }

    /// Whether the whole body has been consumed.
    pub fn is_done(&self) -> bool {
        match &self.kind {
            Kind::Length { remaining } => *remaining == 0,
            Kind::Chunked(d) => d.is_done(),
            Kind::UntilClose { closed } => *closed,
        }
    }

    /// Decodes from `input`, the next unconsumed bytes after the head. Returns at most one run
    /// of data per call; call again with `&input[step.consumed..]` while `!step.done` and bytes
    /// remain. A body that is already done consumes nothing.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<Step<'a>, BodyError> {
        match &mut self.kind {
            Kind::Length { remaining } => {
                let take = (*remaining).min(input.len() as u64);
                *remaining -= take;
                // `take <= input.len()`.
                let take = take as usize;
                Ok(Step {
                    data: input.get(..take).unwrap_or(&[]),
                    consumed: take,
                    done: *remaining == 0,
                })
            }
            Kind::Chunked(d) => Ok(d.decode(input)?),
            Kind::UntilClose { closed } => Ok(Step {
                data: if *closed { &[] } else { input },
                consumed: if *closed { 0 } else { input.len() },
                done: *closed,
            }),
        }
    }

    /// Tells the decoder the peer closed the connection (read returned 0). The end of an
    /// until-close body; [`BodyError::Truncated`] for any other body not yet complete.
    pub fn eof(&mut self) -> Result<(), BodyError> {
        if let Kind::UntilClose { closed } = &mut self.kind {
            *closed = true;
        }
        if self.is_done() {
            Ok(())
        } else {
            Err(BodyError::Truncated)
        }
    }
}
