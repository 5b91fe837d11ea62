//! Strict base64url (RFC 4648 §5) without padding, decoded into a caller's buffer.
//!
//! Strict means one text per byte string: no `=` padding, no whitespace, no standard-alphabet
//! `+`/`/`, no length that leaves a lone sextet (`len % 4 == 1`), and the unused low bits of the
//! last sextet must be zero (so `QQ` decodes, `QR` does not). JWS compact tokens must be exactly
//! this (RFC 7515 §2); accepting anything looser would let two different token strings carry
//! the same signature.

#[cfg(test)]
mod tests;

/// Why a base64url text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Base64Error {
    /// A byte outside `A-Z a-z 0-9 - _`.
    #[error("invalid base64url byte")]
    InvalidByte,
    /// `len % 4 == 1`: a lone sextet cannot encode a byte.
    #[error("invalid base64url length")]
    InvalidLength,
    /// The unused low bits of the last sextet are not zero.
    #[error("non-canonical base64url trailing bits")]
    NonCanonical,
    /// The output buffer is too small.
    #[error("base64url output does not fit")]
    TooLong,
}

/// Marks a byte that is not in the alphabet.
const BAD: u8 = 0xFF;

/// Sextet value of each byte, `BAD` for bytes outside the base64url alphabet.
const DECODE: [u8; 256] = {
    let mut table = [BAD; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut i = 0;
    while i < alphabet.len() {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// The alphabet, by sextet value (for [`encode`]).
const ENCODE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// How many bytes `encoded_len` base64url characters decode to (`None`: impossible length).
pub fn decoded_len(encoded_len: usize) -> Option<usize> {
    match encoded_len % 4 {
        1 => None,
        rem => Some(encoded_len / 4 * 3 + rem.saturating_sub(1)),
    }
}

/// Decodes `input` into the front of `out`; returns the decoded length.
pub fn decode(input: &[u8], out: &mut [u8]) -> Result<usize, Base64Error> {
    let len = decoded_len(input.len()).ok_or(Base64Error::InvalidLength)?;
    let out = out.get_mut(..len).ok_or(Base64Error::TooLong)?;
    let mut chunks = input.chunks_exact(4);
    let mut written = 0;
    for (chunk, dst) in chunks.by_ref().zip(out.chunks_exact_mut(3)) {
        let (a, b, c, d) = (
            DECODE[usize::from(chunk[0])],
            DECODE[usize::from(chunk[1])],
            DECODE[usize::from(chunk[2])],
            DECODE[usize::from(chunk[3])],
        );
        // Sextets are < 64; `BAD` has the two high bits set.
        if (a | b | c | d) & 0xC0 != 0 {
            return Err(Base64Error::InvalidByte);
        }
        let n = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
        dst[0] = (n >> 16) as u8;
        dst[1] = (n >> 8) as u8;
        dst[2] = n as u8;
        written += 3;
    }
    let tail = chunks.remainder();
    let mut sextets = [0u8; 3];
    for (s, &byte) in sextets.iter_mut().zip(tail) {
        *s = DECODE[usize::from(byte)];
        if *s == BAD {
            return Err(Base64Error::InvalidByte);
        }
    }
    let rest = out.get_mut(written..).unwrap_or(&mut []);
    match (tail.len(), rest) {
        (0, _) => {}
        (2, [x, ..]) => {
            if sextets[1] & 0x0F != 0 {
                return Err(Base64Error::NonCanonical);
            }
            *x = sextets[0] << 2 | sextets[1] >> 4;
        }
        (3, [x, y, ..]) => {
            if sextets[2] & 0x03 != 0 {
                return Err(Base64Error::NonCanonical);
            }
            *x = sextets[0] << 2 | sextets[1] >> 4;
            *y = sextets[1] << 4 | sextets[2] >> 2;
        }
        // `decoded_len` refused length 1 and sized `out` for the tail.
        _ => return Err(Base64Error::InvalidLength),
    }
    Ok(len)
}

/// Appends the base64url text (no padding) of `input` to `out`. For JWK thumbprints, tests and
/// tools; the request path only decodes.
pub fn encode(input: &[u8], out: &mut Vec<u8>) {
    let mut chunks = input.chunks_exact(3);
    for c in chunks.by_ref() {
        let n = u32::from(c[0]) << 16 | u32::from(c[1]) << 8 | u32::from(c[2]);
        for shift in [18, 12, 6, 0] {
            out.push(ENCODE[(n >> shift & 63) as usize]);
        }
    }
    match *chunks.remainder() {
        [a] => {
            out.push(ENCODE[usize::from(a >> 2)]);
            out.push(ENCODE[usize::from((a & 3) << 4)]);
        }
        [a, b] => {
            out.push(ENCODE[usize::from(a >> 2)]);
            out.push(ENCODE[usize::from((a & 3) << 4 | b >> 4)]);
            out.push(ENCODE[usize::from((b & 15) << 2)]);
        }
        _ => {}
    }
}
