//! `propagate_claims`: claim values rendered as request header values, into a reused buffer.
//!
//! The rendering is KrakenD's (KRAKEND.md d.5): a string as is; an integral number as integer
//! text; another number as Go's `%f` (six decimals); `true`/`false`; an array as its elements
//! joined with `,` (each element rendered the same way, nested arrays and objects as JSON); an
//! object as compact JSON (members in token order, where Go sorts them); a missing or `null`
//! claim as the empty string. A claim name is looked up exactly, then as a dotted path.
//!
//! A value that cannot be a header value (a string claim with a newline) is not sent, and the
//! client's header of that name is still dropped: the header writer refuses it, so a token
//! cannot inject header lines, and a client cannot pass its own value through.

use std::io::Write as _;

use super::claims::lookup;
use super::json::{Json, Object};
use crate::http::num::write_u64;

#[cfg(test)]
mod tests;

/// The rendered values of one request, in `propagate_claims` order. Reused per connection:
/// [`Propagated::clear`] keeps the memory.
#[derive(Debug, Default)]
pub struct Propagated {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Propagated {
    /// Empties it, keeping the memory.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    /// How many values there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `i`-th value.
    pub fn value(&self, i: usize) -> &[u8] {
        let start = match i.checked_sub(1) {
            Some(prev) => self.ends.get(prev).copied().unwrap_or(0),
            None => 0,
        };
        let end = self.ends.get(i).copied().unwrap_or(start);
        self.bytes.get(start..end).unwrap_or(&[])
    }

    /// Renders the claim `name` of `claims` as the next value.
    pub fn push_claim(&mut self, claims: &Object<'_, '_>, name: &str) {
        if let Some(value) = lookup(claims, name) {
            render(value, &mut self.bytes);
        }
        self.ends.push(self.bytes.len());
    }
}

/// Appends the header rendering of `value`.
fn render(value: Json<'_, '_>, out: &mut Vec<u8>) {
    match value {
        Json::Str(s) => out.extend_from_slice(s.as_bytes()),
        Json::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                match item {
                    Json::Array(_) | Json::Object(_) => write_json(item, out),
                    scalar => render(scalar, out),
                }
            }
        }
        Json::Object(_) => write_json(value, out),
        Json::Null => {}
        scalar => write_number_or_bool(scalar, out, true),
    }
}

/// Numbers and booleans. `go_f`: non-integral numbers as Go's `%f` (header rendering), else
/// the shortest round-trip text (JSON).
fn write_number_or_bool(value: Json<'_, '_>, out: &mut Vec<u8>, go_f: bool) {
    match value {
        Json::Int(i) => {
            if i < 0 {
                out.push(b'-');
            }
            write_u64(out, i.unsigned_abs());
        }
        Json::UInt(u) => write_u64(out, u),
        Json::Float(f) => {
            const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
            if f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f) {
                write_number_or_bool(Json::Int(f as i64), out, go_f);
            } else if go_f {
                let _ = write!(out, "{f:.6}");
            } else {
                let _ = write!(out, "{f}");
            }
        }
        Json::Bool(true) => out.extend_from_slice(b"true"),
        Json::Bool(false) => out.extend_from_slice(b"false"),
        _ => {}
    }
}

/// Compact JSON of `value`.
fn write_json(value: Json<'_, '_>, out: &mut Vec<u8>) {
    match value {
        Json::Str(s) => write_json_string(s, out),
        Json::Null => out.extend_from_slice(b"null"),
        Json::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(item, out);
            }
            out.push(b']');
        }
        Json::Object(members) => {
            out.push(b'{');
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_string(key, out);
                out.push(b':');
                write_json(item, out);
            }
            out.push(b'}');
        }
        scalar => write_number_or_bool(scalar, out, false),
    }
}

fn write_json_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..0x20 | 0x7f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 15)]);
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}
