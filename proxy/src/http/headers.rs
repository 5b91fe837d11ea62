//! Header fields borrowed from a parsed head, list-value helpers, and the hop-by-hop rule.
//!
//! Nothing here allocates: a [`Headers`] is a slice of `httparse` fields in caller-provided
//! [`HeaderSlots`], borrowing the read buffer, and token lists are walked in place.

#[cfg(test)]
mod tests;

use std::fmt;
use std::mem::MaybeUninit;

/// One header field: `name` as sent (case preserved), `value` with surrounding whitespace
/// removed. Both borrow the read buffer.
pub use httparse::Header;

/// The most header fields a head may carry. More: a request gets 431, a response is a 502.
pub const MAX_HEADERS: usize = 96;

/// Room for the fields of one head: [`MAX_HEADERS`] slots, uninitialised (free to make), that a
/// parse fills from the start. The caller keeps it beside the buffer for as long as the parsed
/// head lives: the head borrows both, so nothing the size of the array is ever moved.
pub struct HeaderSlots<'buf>(pub(crate) [MaybeUninit<Header<'buf>>; MAX_HEADERS]);

impl HeaderSlots<'_> {
    /// Empty slots.
    pub fn new() -> Self {
        HeaderSlots([const { MaybeUninit::uninit() }; MAX_HEADERS])
    }
}

impl fmt::Debug for HeaderSlots<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeaderSlots").finish_non_exhaustive()
    }
}

impl Default for HeaderSlots<'_> {
    fn default() -> Self {
        HeaderSlots::new()
    }
}

/// The header fields of one parsed head, in order, borrowing the buffer they were parsed from
/// (and the [`HeaderSlots`] they were parsed into). Two words: copy it freely.
#[derive(Clone, Copy)]
pub struct Headers<'buf> {
    fields: &'buf [Header<'buf>],
}

impl<'buf> Headers<'buf> {
    pub(crate) fn new(fields: &'buf [Header<'buf>]) -> Self {
        Headers { fields }
    }

    /// The fields, in the order they were received.
    pub fn as_slice(&self) -> &'buf [Header<'buf>] {
        self.fields
    }

    /// Iterates the fields in order.
    pub fn iter(&self) -> std::slice::Iter<'buf, Header<'buf>> {
        self.fields.iter()
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The value of the first field named `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&'buf [u8]> {
        self.get_all(name).next()
    }

    /// The values of every field named `name` (ASCII case-insensitive), in order.
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'buf [u8]> + 's {
        self.iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }

    /// Whether `name` is hop-by-hop for this message: one of the fixed names
    /// ([`is_hop_by_hop_name`]) or a token listed in this message's own `Connection` field(s)
    /// (RFC 9110 §7.6.1).
    pub fn is_hop_by_hop(&self, name: &[u8]) -> bool {
        is_hop_by_hop_name(name) || self.connection_lists(name)
    }

    /// Whether a `Connection` field of this message lists `token` (ASCII case-insensitive).
    pub fn connection_lists(&self, token: &[u8]) -> bool {
        self.get_all("connection")
            .any(|value| list_contains(value, token))
    }
}

impl fmt::Debug for Headers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.iter()
                    .map(|h| (h.name, String::from_utf8_lossy(h.value))),
            )
            .finish()
    }
}

/// Whether a field name is hop-by-hop whatever the message says: `Connection`, `Keep-Alive`,
/// `Proxy-Connection`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`, `Proxy-Authenticate`,
/// `Proxy-Authorization` (ASCII case-insensitive). Such fields are never forwarded.
pub fn is_hop_by_hop_name(name: &[u8]) -> bool {
    const NAMES: [&[u8]; 9] = [
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authenticate",
        b"proxy-authorization",
    ];
    NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// The elements of a comma-separated field value (RFC 9110 §5.6.1), optional whitespace
/// trimmed, empty elements skipped.
pub fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// Whether a comma-separated field value has an element equal to `token`, ASCII
/// case-insensitively.
pub fn list_contains(value: &[u8], token: &[u8]) -> bool {
    list_elements(value).any(|e| e.eq_ignore_ascii_case(token))
}

/// `value` without leading and trailing spaces and tabs.
pub fn trim_ows(value: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    value.get(start..end).unwrap_or(&[])
}

/// Whether `value` may be written as a field value: no CR, LF, NUL or other control byte
/// except horizontal tab (RFC 9110 §5.5). Used on values the gateway did not parse itself.
pub fn is_valid_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// Whether `name` is a valid field name (a non-empty RFC 9110 token).
pub fn is_valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| is_tchar(b))
}

/// An RFC 9110 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Slots for a test helper that returns the parsed head itself (leaked: 3 KiB a call, tests
/// only; a test that keeps the head local uses a `HeaderSlots` of its own).
#[cfg(test)]
pub(crate) fn leaked_slots<'b>() -> &'b mut HeaderSlots<'b> {
    Box::leak(Box::new(HeaderSlots::new()))
}
