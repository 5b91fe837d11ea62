//! The chunked transfer coding (RFC 9112 §7.1): an incremental, strict decoder that yields
//! slices of its input, and a canonical encoder.
//!
//! The decoder accepts input split at any byte boundary (inside the size line, a CRLF, the
//! trailer section). It never copies data: [`ChunkedDecoder::decode`] returns the longest run of
//! chunk data available in the input it was given, as a subslice of that input.
//!
//! Strictness, each violation a [`ChunkedError`]:
//! - chunk size: 1 to [`MAX_SIZE_DIGITS`] hex digits (leading zeros count), so it always fits a
//!   `u64`; no sign, no `0x`, no whitespace unless an extension follows;
//! - extensions (`;name=value`, optional whitespace before `;`) are allowed, ignored, and bounded
//!   to [`MAX_EXTENSION_BYTES`] per size line; control bytes other than HTAB are rejected;
//! - every line ends with CRLF: a bare LF or a CR not followed by LF is an error;
//! - chunk data must be followed by exactly CRLF;
//! - the trailer section is bounded ([`ChunkedDecoder::with_max_trailer_bytes`], default
//!   [`DEFAULT_MAX_TRAILER_BYTES`]), checked for control bytes, and dropped.
//!
//! The proxy never forwards a client's or a backend's raw chunk framing: data slices are
//! re-encoded with [`write_chunk`] / [`write_chunk_header`] and ended with [`LAST_CHUNK`].

#[cfg(test)]
mod tests;

use std::num::NonZeroU64;

use super::body::Step;
use super::num::{hex_value, write_hex};

/// The most hex digits a chunk size may have (leading zeros included): 16 fit a `u64`.
pub const MAX_SIZE_DIGITS: u8 = 16;
/// The most bytes of chunk extension (everything after the size, up to CR) per size line.
pub const MAX_EXTENSION_BYTES: u16 = 1024;
/// The default bound on the whole trailer section (field lines and their CRLFs).
pub const DEFAULT_MAX_TRAILER_BYTES: usize = 8 * 1024;

/// `\r\n`: ends a chunk's data.
pub const CRLF: &[u8] = b"\r\n";
/// The last chunk and an empty trailer section: ends a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Why a chunked body was rejected (a request: 400; a response: 502).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChunkedError {
    /// The size line does not start with a hex digit, or has a bad byte after the digits.
    #[error("invalid chunk size")]
    InvalidSize,
    /// More than [`MAX_SIZE_DIGITS`] hex digits.
    #[error("chunk size too long")]
    SizeTooLong,
    /// A control byte in a chunk extension.
    #[error("invalid chunk extension")]
    InvalidExtension,
    /// More than [`MAX_EXTENSION_BYTES`] of extension.
    #[error("chunk extension too long")]
    ExtensionTooLong,
    /// A line ended with LF alone, or a CR was not followed by LF.
    #[error("chunk line not terminated by CRLF")]
    BadLineEnding,
    /// Chunk data was not followed by CRLF.
    #[error("chunk data not followed by CRLF")]
    MissingDataCrlf,
    /// A control byte in a trailer field line.
    #[error("invalid trailer field")]
    InvalidTrailer,
    /// The trailer section exceeds its bound.
    #[error("trailer section too large")]
    TrailerTooLarge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading hex digits of a chunk size.
    Size,
    /// Whitespace after the size digits: only `;` (an extension) may follow.
    SizeWhitespace,
    /// Inside a chunk extension, up to CR.
    Extension,
    /// Saw CR at the end of a size line; LF must follow.
    SizeLf,
    /// Inside chunk data: `remaining` bytes to go.
    Data,
    /// After chunk data: CR must follow.
    DataCr,
    /// After chunk data and CR: LF must follow.
    DataLf,
    /// At the start of a trailer line, or of the final empty line.
    TrailerStart,
    /// Inside a trailer field line, up to CR.
    TrailerLine,
    /// Saw CR at the end of a trailer line; LF must follow.
    TrailerLf,
    /// Saw CR of the final empty line; LF must follow.
    EndLf,
    /// The body is complete.
    Done,
    /// An error was reported; every later call reports it again.
    Failed(ChunkedError),
}

/// An incremental decoder for one chunked body. Create one per body; feed it the bytes after
/// the head, in order, as they arrive.
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: State,
    /// Size being read (in `Size`), or data bytes left (in `Data`).
    remaining: u64,
    /// Digits read of the current size.
    digits: u8,
    /// Extension bytes read on the current size line.
    extension: u16,
    /// Trailer bytes read so far.
    trailer: usize,
    max_trailer: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder::new()
    }
}

impl ChunkedDecoder {
    /// A decoder with the default trailer bound.
    pub fn new() -> Self {
        ChunkedDecoder::with_max_trailer_bytes(DEFAULT_MAX_TRAILER_BYTES)
    }

    /// A decoder whose trailer section may be at most `max` bytes (its final empty line not
    /// counted).
    pub fn with_max_trailer_bytes(max: usize) -> Self {
        ChunkedDecoder {
            state: State::Size,
            remaining: 0,
            digits: 0,
            extension: 0,
            trailer: 0,
            max_trailer: max,
        }
    }

    /// Whether the last chunk and the trailer section have been consumed.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input`, the next unconsumed bytes of the body.
    ///
    /// Consumes framing bytes until it reaches chunk data, the end of the body or the end of
    /// `input`. The returned [`Step`] says how many bytes of `input` were consumed (data
    /// included), the data found (a subslice of `input`, possibly empty; forward it before
    /// reusing the buffer), and whether the body is complete. If `consumed < input.len()` and
    /// the body is not done, call again with the rest; bytes after a done body belong to the
    /// next message.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<Step<'a>, ChunkedError> {
        let mut i = 0;
        while let Some(&b) = input.get(i) {
            match self.state {
                State::Data => {
                    let available = (input.len() - i) as u64;
                    let take = self.remaining.min(available);
                    self.remaining -= take;
                    if self.remaining == 0 {
                        self.state = State::DataCr;
                    }
                    // `take <= available`, which came from a `usize`.
                    let end = i + take as usize;
                    return Ok(Step {
                        data: input.get(i..end).unwrap_or(&[]),
                        consumed: end,
                        done: false,
                    });
                }
                State::Done => break,
                State::Failed(e) => return Err(e),
                _ => {
                    if let Err(e) = self.framing_byte(b) {
                        self.state = State::Failed(e);
                        return Err(e);
                    }
                    i += 1;
                }
            }
        }
        match self.state {
            State::Failed(e) => Err(e),
            state => Ok(Step {
                data: &[],
                consumed: i,
                done: state == State::Done,
            }),
        }
    }

    /// Advances over one framing byte (any state but `Data`, `Done`, `Failed`).
    fn framing_byte(&mut self, b: u8) -> Result<(), ChunkedError> {
        self.state = match self.state {
            State::Size => match hex_value(b) {
                Some(v) => {
                    if self.digits == MAX_SIZE_DIGITS {
                        return Err(ChunkedError::SizeTooLong);
                    }
                    self.digits += 1;
                    // At most 16 digits: never overflows.
                    self.remaining = (self.remaining << 4) | u64::from(v);
                    State::Size
                }
                None if self.digits == 0 => return Err(ChunkedError::InvalidSize),
                None => match b {
                    b';' => State::Extension,
                    b' ' | b'\t' => {
                        self.count_extension()?;
                        State::SizeWhitespace
                    }
                    b'\r' => State::SizeLf,
                    b'\n' => return Err(ChunkedError::BadLineEnding),
                    _ => return Err(ChunkedError::InvalidSize),
                },
            },
            State::SizeWhitespace => match b {
                b' ' | b'\t' => {
                    self.count_extension()?;
                    State::SizeWhitespace
                }
                b';' => State::Extension,
                _ => return Err(ChunkedError::InvalidSize),
            },
            State::Extension => match b {
                b'\r' => State::SizeLf,
                b'\n' => return Err(ChunkedError::BadLineEnding),
                _ if is_control(b) => return Err(ChunkedError::InvalidExtension),
                _ => {
                    self.count_extension()?;
                    State::Extension
                }
            },
            State::SizeLf => {
                if b != b'\n' {
                    return Err(ChunkedError::BadLineEnding);
                }
                self.digits = 0;
                self.extension = 0;
                if self.remaining == 0 {
                    State::TrailerStart
                } else {
                    State::Data
                }
            }
            State::DataCr => match b {
                b'\r' => State::DataLf,
                _ => return Err(ChunkedError::MissingDataCrlf),
            },
            State::DataLf => match b {
                b'\n' => State::Size,
                _ => return Err(ChunkedError::MissingDataCrlf),
            },
            State::TrailerStart => match b {
                b'\r' => State::EndLf,
                b'\n' => return Err(ChunkedError::BadLineEnding),
                _ => {
                    self.trailer_byte(b)?;
                    State::TrailerLine
                }
            },
            State::TrailerLine => match b {
                b'\r' => {
                    self.count_trailer()?;
                    State::TrailerLf
                }
                b'\n' => return Err(ChunkedError::BadLineEnding),
                _ => {
                    self.trailer_byte(b)?;
                    State::TrailerLine
                }
            },
            State::TrailerLf => match b {
                b'\n' => {
                    self.count_trailer()?;
                    State::TrailerStart
                }
                _ => return Err(ChunkedError::BadLineEnding),
            },
            State::EndLf => match b {
                b'\n' => State::Done,
                _ => return Err(ChunkedError::BadLineEnding),
            },
            // Not reached: `decode` handles these before calling here.
            s @ (State::Data | State::Done | State::Failed(_)) => s,
        };
        Ok(())
    }

    fn count_extension(&mut self) -> Result<(), ChunkedError> {
        if self.extension >= MAX_EXTENSION_BYTES {
            return Err(ChunkedError::ExtensionTooLong);
        }
        self.extension += 1;
        Ok(())
    }

    fn trailer_byte(&mut self, b: u8) -> Result<(), ChunkedError> {
        if is_control(b) {
            return Err(ChunkedError::InvalidTrailer);
        }
        self.count_trailer()
    }

    fn count_trailer(&mut self) -> Result<(), ChunkedError> {
        if self.trailer >= self.max_trailer {
            return Err(ChunkedError::TrailerTooLarge);
        }
        self.trailer += 1;
        Ok(())
    }
}

/// A control byte other than HTAB (CR and LF are handled before this is asked).
fn is_control(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

/// Appends a canonical chunk-size line, `{len:x}\r\n`. The caller then sends `len` bytes of
/// data and [`CRLF`]. `len` is non-zero by type: a zero-size chunk would end the body.
pub fn write_chunk_header(out: &mut Vec<u8>, len: NonZeroU64) {
    write_hex(out, len.get());
    out.extend_from_slice(CRLF);
}

/// Appends one whole chunk (size line, `data`, CRLF). Appends nothing for empty `data`, which
/// would otherwise end the body.
pub fn write_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if let Some(len) = NonZeroU64::new(data.len() as u64) {
        write_chunk_header(out, len);
        out.extend_from_slice(data);
        out.extend_from_slice(CRLF);
    }
}

/// Appends the end of a chunked body: the last chunk and an empty trailer section.
pub fn write_last_chunk(out: &mut Vec<u8>) {
    out.extend_from_slice(LAST_CHUNK);
}
