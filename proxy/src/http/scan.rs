//! Incremental search for the end of a head, so that a head trickling in one byte per read
//! costs linear time, not quadratic.
//!
//! Parsing a head with `httparse` starts from its first byte every time. Calling it after each
//! read of a slow (or hostile) client would re-scan up to `max_header_bytes` per read. The
//! parsers in this module only run `httparse` once [`HeadScanner`] has seen a blank line, and
//! the scanner looks at each byte once.

#[cfg(test)]
mod tests;

/// Remembers how far a buffer has been searched for the blank line that ends a head.
///
/// Empty lines before the start line are skipped first (as `httparse` skips them), so a blank
/// line is only reported once the start line has begun: a reported end is then always the end
/// of the head (or of garbage), never a false start, and the outcome of parsing does not depend
/// on how the bytes were split across reads.
///
/// Contract: between calls the buffer may only grow at its end; its first byte stays the first
/// byte of the head. If the caller moves the unparsed bytes, it calls [`HeadScanner::reset`].
#[derive(Clone, Debug, Default)]
pub struct HeadScanner {
    /// Bytes before this offset contain no head terminator that was not already reported.
    scanned: usize,
    /// Whether the leading empty lines are behind `scanned`.
    started: bool,
}

impl HeadScanner {
    /// A scanner for a new head.
    pub fn new() -> Self {
        HeadScanner {
            scanned: 0,
            started: false,
        }
    }

    /// Forgets what was scanned (after a head was taken, or the buffer was moved).
    pub fn reset(&mut self) {
        *self = HeadScanner::new();
    }

    /// Whether `buf` holds, after the start of its first non-empty line, a line feed followed
    /// by an empty line (`\n\r\n`, or `\n\n`, which the request parser then rejects as a bare
    /// LF) that was not reported before. Each byte is examined a bounded number of times over
    /// all calls.
    pub fn find_end(&mut self, buf: &[u8]) -> bool {
        let mut start = self.scanned.min(buf.len());
        if !self.started {
            let tail = buf.get(start..).unwrap_or(&[]);
            match tail.iter().position(|&b| b != b'\r' && b != b'\n') {
                Some(first) => {
                    self.started = true;
                    start += first;
                }
                None => {
                    self.scanned = buf.len();
                    return false;
                }
            }
        }
        let tail = buf.get(start..).unwrap_or(&[]);
        for rel in memchr::memchr_iter(b'\n', tail) {
            let lf = start + rel;
            match (buf.get(lf + 1), buf.get(lf + 2)) {
                (Some(b'\n'), _) | (Some(b'\r'), Some(b'\n')) => {
                    self.scanned = lf + 1;
                    return true;
                }
                // Undecided: the bytes after this LF have not arrived yet.
                (None, _) | (Some(b'\r'), None) => {
                    self.scanned = lf;
                    return false;
                }
                _ => {}
            }
        }
        self.scanned = buf.len();
        false
    }
}
