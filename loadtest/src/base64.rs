//! Base64 for JWTs (URL-safe alphabet, no padding) and for PEM and JWK input (either alphabet,
//! padding and line breaks tolerated). Small and dependency-free; not on any timed path.

/// The input is not base64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid base64 at byte {0}")]
pub struct Base64Error(pub usize);

const URL_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Encodes `input` as URL-safe base64 without padding, appending to `out`.
pub fn encode_url_into(input: &[u8], out: &mut String) {
    out.reserve(input.len().div_ceil(3) * 4);
    let sextet = |v: u32, shift: u32| char::from(URL_ALPHABET[((v >> shift) & 63) as usize]);
    let mut chunks = input.chunks_exact(3);
    for c in &mut chunks {
        let v = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        out.extend([sextet(v, 18), sextet(v, 12), sextet(v, 6), sextet(v, 0)]);
    }
    match *chunks.remainder() {
        [a] => {
            let v = u32::from(a) << 16;
            out.extend([sextet(v, 18), sextet(v, 12)]);
        }
        [a, b] => {
            let v = (u32::from(a) << 16) | (u32::from(b) << 8);
            out.extend([sextet(v, 18), sextet(v, 12), sextet(v, 6)]);
        }
        _ => {}
    }
}

/// Encodes `input` as URL-safe base64 without padding.
pub fn encode_url(input: &[u8]) -> String {
    let mut out = String::new();
    encode_url_into(input, &mut out);
    out
}

/// Decodes base64 in either alphabet (`+/` or `-_`), ignoring ASCII whitespace and trailing
/// `=` padding.
pub fn decode(input: &[u8]) -> Result<Vec<u8>, Base64Error> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut padding = false;
    for (i, &b) in input.iter().enumerate() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                padding = true;
                continue;
            }
            b if b.is_ascii_whitespace() => continue,
            _ => return Err(Base64Error(i)),
        };
        if padding {
            return Err(Base64Error(i)); // data after padding
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 {
        return Err(Base64Error(input.len())); // one dangling character cannot be a byte
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
