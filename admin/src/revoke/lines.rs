//! Splitting a streamed body into lines, sans-io and in bounded memory: bytes come in pieces of
//! any size (socket reads, chunks); whole lines are handed out as slices of the piece when they
//! lie in it, and only a line cut by a piece boundary is carried over (at most `max_line`
//! bytes). Lines end with `\n` or `\r\n`; blank (all-whitespace) lines are skipped; the last
//! line needs no newline.

/// A line longer than the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a line is longer than {max} bytes")]
pub struct LineTooLong {
    /// The limit.
    pub max: usize,
}

/// Splits pieces of a body into lines.
#[derive(Debug)]
pub struct LineSplitter {
    carry: Vec<u8>,
    max_line: usize,
}

impl LineSplitter {
    /// A splitter refusing lines longer than `max_line` bytes.
    pub fn new(max_line: usize) -> LineSplitter {
        LineSplitter {
            carry: Vec::new(),
            max_line,
        }
    }

    /// Hands every line completed by `piece` to `on_line` (without its line ending), keeping a
    /// trailing partial line for the next call.
    pub fn feed(
        &mut self,
        mut piece: &[u8],
        mut on_line: impl FnMut(&[u8]),
    ) -> Result<(), LineTooLong> {
        let too_long = LineTooLong { max: self.max_line };
        while let Some(end) = memchr::memchr(b'\n', piece) {
            let (head, rest) = (&piece[..end], &piece[end + 1..]);
            if self.carry.is_empty() {
                if head.len() > self.max_line + 1 {
                    return Err(too_long);
                }
                emit(head, &mut on_line, self.max_line)?;
            } else {
                if self.carry.len() + head.len() > self.max_line + 1 {
                    return Err(too_long);
                }
                self.carry.extend_from_slice(head);
                let line = std::mem::take(&mut self.carry);
                emit(&line, &mut on_line, self.max_line)?;
                self.carry = line;
                self.carry.clear();
            }
            piece = rest;
        }
        // `+ 1`: room for a `\r` whose `\n` is in the next piece.
        if self.carry.len() + piece.len() > self.max_line + 1 {
            return Err(too_long);
        }
        self.carry.extend_from_slice(piece);
        Ok(())
    }

    /// The body ended: hands out the last line if it had no newline.
    pub fn finish(&mut self, mut on_line: impl FnMut(&[u8])) -> Result<(), LineTooLong> {
        let line = std::mem::take(&mut self.carry);
        emit(&line, &mut on_line, self.max_line)
    }
}

/// Strips a final `\r`, skips blank lines, bounds the length.
fn emit(line: &[u8], on_line: &mut impl FnMut(&[u8]), max: usize) -> Result<(), LineTooLong> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > max {
        return Err(LineTooLong { max });
    }
    if !line.iter().all(u8::is_ascii_whitespace) {
        on_line(line);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
