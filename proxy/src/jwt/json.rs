//! Read-only views over a simd-json tape, and the duplicate-key check.
//!
//! A token's header and payload are parsed with `simd_json::fill_tape_padded` into a reused
//! [`Tape`](simd_json::Tape): a flat list of nodes whose strings borrow the (unescaped in place)
//! scratch buffer. Nothing is copied into a `String` and, once the per-core buffers have grown
//! to their high-water mark, nothing is allocated. (`simd_json::to_borrowed_value` would build a
//! hash map per object and a `Vec` per array on every request, and a map keeps only one value of
//! a repeated key.)
//!
//! The views never index out of bounds: a tape that does not have the shape simd-json promises
//! reads as missing values, never as a panic.

use simd_json::{Node, StaticNode};

#[cfg(test)]
mod tests;

/// One JSON value on the tape.
#[derive(Clone, Copy, Debug)]
pub enum Json<'t, 'a> {
    /// A string (unescaped).
    Str(&'a str),
    /// An integer that fits an `i64`.
    Int(i64),
    /// An integer above `i64::MAX`.
    UInt(u64),
    /// Any other number.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// An array.
    Array(Array<'t, 'a>),
    /// An object.
    Object(Object<'t, 'a>),
}

/// An array's elements.
#[derive(Clone, Copy, Debug)]
pub struct Array<'t, 'a> {
    /// The nodes after the array's own node.
    nodes: &'t [Node<'a>],
    len: usize,
}

/// An object's members, in document order (repeats included).
#[derive(Clone, Copy, Debug)]
pub struct Object<'t, 'a> {
    /// The nodes after the object's own node: key, value, key, value...
    nodes: &'t [Node<'a>],
    len: usize,
}

/// How many nodes the value starting at `nodes[0]` takes.
fn span(nodes: &[Node<'_>]) -> usize {
    match nodes.first() {
        Some(Node::Object { count, .. } | Node::Array { count, .. }) => count.saturating_add(1),
        _ => 1,
    }
}

impl<'t, 'a> Json<'t, 'a> {
    /// The value at the start of `nodes` (the root of a tape: `tape.0.as_slice()`).
    pub fn root(nodes: &'t [Node<'a>]) -> Option<Json<'t, 'a>> {
        let value = match *nodes.first()? {
            Node::String(s) => Json::Str(s),
            Node::Object { len, count } => Json::Object(Object {
                nodes: nodes.get(1..count.checked_add(1)?)?,
                len,
            }),
            Node::Array { len, count } => Json::Array(Array {
                nodes: nodes.get(1..count.checked_add(1)?)?,
                len,
            }),
            Node::Static(s) => match s {
                StaticNode::I64(i) => Json::Int(i),
                StaticNode::U64(u) => match i64::try_from(u) {
                    Ok(i) => Json::Int(i),
                    Err(_) => Json::UInt(u),
                },
                StaticNode::F64(f) => Json::Float(f),
                StaticNode::Bool(b) => Json::Bool(b),
                StaticNode::Null => Json::Null,
                // Wider integers exist only behind simd-json's `128bit` feature.
                #[allow(unreachable_patterns)]
                _ => Json::Float(f64::NAN),
            },
        };
        Some(value)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&'a str> {
        match *self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<Object<'t, 'a>> {
        match *self {
            Json::Object(o) => Some(o),
            _ => None,
        }
    }
}

impl<'t, 'a> Array<'t, 'a> {
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The elements in order.
    pub fn iter(&self) -> impl Iterator<Item = Json<'t, 'a>> + use<'t, 'a> {
        let mut rest = self.nodes;
        (0..self.len).map_while(move |_| {
            let value = Json::root(rest)?;
            rest = rest.get(span(rest)..).unwrap_or(&[]);
            Some(value)
        })
    }
}

impl<'t, 'a> Object<'t, 'a> {
    /// The number of members (repeated keys counted each time).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The members in document order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, Json<'t, 'a>)> + use<'t, 'a> {
        let mut rest = self.nodes;
        (0..self.len).map_while(move |_| {
            let Node::String(key) = *rest.first()? else {
                return None;
            };
            let value_nodes = rest.get(1..)?;
            let value = Json::root(value_nodes)?;
            rest = value_nodes.get(span(value_nodes)..).unwrap_or(&[]);
            Some((key, value))
        })
    }

    /// The value of the first member named `key`.
    pub fn get(&self, key: &str) -> Option<Json<'t, 'a>> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The value at a dotted path (`realm_access.roles`): each segment but the last must name
    /// an object.
    pub fn get_path(&self, path: &str) -> Option<Json<'t, 'a>> {
        let mut segments = path.split('.');
        let mut value = self.get(segments.next()?)?;
        for segment in segments {
            value = value.as_object()?.get(segment)?;
        }
        Some(value)
    }
}

/// Objects with at most this many members are checked pairwise; larger ones by sorting hashes.
const PAIRWISE_MAX: usize = 16;

/// Whether any object anywhere in the tape repeats a key (after unescaping: `"a"` and
/// `"\u0061"` are the same key). `hashes` is reused scratch for large objects.
///
/// Go's decoder (KrakenD) keeps the last of repeated keys, most others the first: a gateway and
/// a backend that disagree on which `jti` or `sub` a token carries is a revocation bypass, so a
/// token that repeats a key is refused outright.
pub fn has_duplicate_keys(nodes: &[Node<'_>], hashes: &mut Vec<(u64, u32)>) -> bool {
    nodes.iter().enumerate().any(|(i, node)| match *node {
        Node::Object { len, count } if len > 1 => {
            let members = nodes.get(i + 1..i.saturating_add(count).saturating_add(1));
            members.is_some_and(|members| object_repeats(members, len, hashes))
        }
        _ => false,
    })
}

fn object_repeats(members: &[Node<'_>], len: usize, hashes: &mut Vec<(u64, u32)>) -> bool {
    let object = Object {
        nodes: members,
        len,
    };
    if len <= PAIRWISE_MAX {
        let mut keys = [""; PAIRWISE_MAX];
        for (slot, (key, _)) in keys.iter_mut().zip(object.iter()) {
            *slot = key;
        }
        let keys = keys.get(..len).unwrap_or(&[]);
        return keys
            .iter()
            .enumerate()
            .any(|(i, a)| keys.get(i + 1..).unwrap_or(&[]).contains(a));
    }
    // Larger objects: (hash, index of the key node), sorted by hash then key text so that
    // equal keys end up next to each other whatever the hash collisions.
    hashes.clear();
    let mut at = 0usize;
    for _ in 0..len {
        let Some(Node::String(key)) = members.get(at) else {
            break;
        };
        hashes.push((fnv1a(key.as_bytes()), at as u32));
        at = at
            .saturating_add(1)
            .saturating_add(span(members.get(at + 1..).unwrap_or(&[])));
    }
    let key_at = |i: u32| match members.get(i as usize) {
        Some(Node::String(key)) => *key,
        _ => "",
    };
    hashes.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| key_at(a.1).cmp(key_at(b.1))));
    hashes
        .windows(2)
        .any(|pair| pair[0].0 == pair[1].0 && key_at(pair[0].1) == key_at(pair[1].1))
}

/// FNV-1a: a fast, good-enough spread for short keys (equal hashes are compared for real).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
