//! The router: endpoint patterns built once into a segment trie, matched against raw request
//! paths without allocating; and the backend URL rewriter ([`UrlTemplate`]).
//!
//! Pattern syntax (KrakenD's): literal segments, `{name}` whole-segment parameters
//! (`[A-Za-z0-9_-]+`), an optional trailing `/*` catch-all. At most [`MAX_PARAMS`] parameters.
//!
//! Matching rules:
//! - segments are compared as raw bytes: no percent-decoding, no normalisation; parameters are
//!   returned raw (the rewriter copies them raw into the backend path);
//! - precedence at each segment: a literal beats a parameter, which beats a catch-all; a branch
//!   that fails further down is backtracked (like gin's per-method trees: `GET /a/new` and
//!   `GET /a/{id}` coexist, and `/a/new/x` may still match `/a/{id}/x`). Each trie node is
//!   visited at most once per lookup, so a lookup costs at most the size of the trie;
//! - precedence is decided per method: a request is matched against the routes of its own
//!   method first; only if none matches is the path tried against every route, giving 405
//!   (found with another method) or 404. `HEAD` is not mapped to `GET`;
//! - trailing slash matters: `/a/` does not match `/a`, and no redirect is sent;
//! - a parameter matches a non-empty segment other than `.` and `..` (also percent-encoded),
//!   so a parameter can never walk the backend path upwards;
//! - `/a/*` matches `/a/` and everything below it, not `/a`; the rest after `/a/` is
//!   [`Params::rest`]. `/*` matches every path.

#[cfg(test)]
mod tests;

mod pattern;
pub mod rewrite;

pub use rewrite::{QueryFilter, TemplateError, UrlTemplate, param_names};

use crate::http::Method;
use pattern::Segment;

/// The most parameters a route may have.
pub const MAX_PARAMS: usize = 16;

/// Why a route table could not be built. Config-time only.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The pattern does not follow the syntax.
    #[error("invalid endpoint {pattern:?}: {reason}")]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Two routes with the same method match exactly the same paths.
    #[error("duplicate endpoint {method} {pattern:?} (same as {other:?})")]
    Duplicate {
        /// The method.
        method: &'static str,
        /// The later pattern.
        pattern: String,
        /// The earlier, equivalent pattern.
        other: String,
    },
    /// A route method that cannot be routed ([`Method::Other`]).
    #[error("unsupported method for endpoint {pattern:?}")]
    UnsupportedMethod {
        /// The pattern.
        pattern: String,
    },
}

/// The parameter values of a match, by parameter index (order of appearance in the pattern),
/// borrowing the request path. A fixed array: no allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params<'path> {
    values: [&'path [u8]; MAX_PARAMS],
    len: usize,
    rest: Option<&'path [u8]>,
}

impl<'path> Params<'path> {
    /// No parameters.
    pub fn new() -> Self {
        Params {
            values: [&[]; MAX_PARAMS],
            len: 0,
            rest: None,
        }
    }

    /// Parameter `index`, raw.
    pub fn get(&self, index: usize) -> Option<&'path [u8]> {
        self.as_slice().get(index).copied()
    }

    /// All parameters in order.
    pub fn as_slice(&self) -> &[&'path [u8]] {
        self.values.get(..self.len).unwrap_or(&[])
    }

    /// How many parameters matched.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// For a catch-all route, the raw path after the prefix and its `/` (possibly empty).
    pub fn rest(&self) -> Option<&'path [u8]> {
        self.rest
    }

    fn push(&mut self, value: &'path [u8]) -> bool {
        match self.values.get_mut(self.len) {
            Some(slot) => {
                *slot = value;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
    }
}

impl Default for Params<'_> {
    fn default() -> Self {
        Params::new()
    }
}

/// The outcome of a lookup.
#[allow(
    clippy::large_enum_variant,
    reason = "returned by value on the stack; boxing the params would allocate per request"
)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteMatch<'path> {
    /// Route number `route` (its index in the table given to [`Router::new`]) matched.
    Found {
        /// The route index.
        route: usize,
        /// Its parameters.
        params: Params<'path>,
    },
    /// Some route has this path, none with this method: 405.
    MethodNotAllowed,
    /// No route has this path: 404.
    NotFound,
}

/// A route table, immutable once built; share it read-only between cores.
#[derive(Clone, Debug)]
pub struct Router {
    root: Node,
    routes: Vec<RouteInfo>,
}

#[derive(Clone, Debug)]
struct RouteInfo {
    pattern: Box<str>,
    params: Vec<Box<str>>,
}

#[derive(Clone, Debug, Default)]
struct Node {
    /// Literal children, sorted by segment.
    literals: Vec<(Box<[u8]>, Node)>,
    /// The parameter child.
    param: Option<Box<Node>>,
    /// Routes whose pattern ends at this node.
    ends: Vec<(Method, usize)>,
    /// Catch-all routes whose prefix ends at this node.
    catch_alls: Vec<(Method, usize)>,
}

/// Which routes a lookup accepts.
#[derive(Clone, Copy)]
enum Want {
    Method(Method),
    Any,
}

impl Want {
    fn pick(self, entries: &[(Method, usize)]) -> Option<usize> {
        entries
            .iter()
            .find(|(m, _)| match self {
                Want::Method(want) => *m == want,
                Want::Any => true,
            })
            .map(|&(_, route)| route)
    }
}

impl Router {
    /// Builds the table. Route `i` is `routes[i]`; [`RouteMatch::Found`] reports that index.
    /// Fails on a malformed pattern, a [`Method::Other`] method, or two routes of one method
    /// matching the same paths (`/a/{x}` and `/a/{y}` are the same).
    pub fn new(routes: &[(Method, &str)]) -> Result<Router, RouteError> {
        let mut root = Node::default();
        let mut infos = Vec::with_capacity(routes.len());
        for (index, &(method, text)) in routes.iter().enumerate() {
            let Some(method_name) = method.as_str() else {
                return Err(RouteError::UnsupportedMethod {
                    pattern: text.to_owned(),
                });
            };
            let parsed = pattern::parse(text)?;
            let mut node = &mut root;
            for segment in &parsed.segments {
                node = match segment {
                    Segment::Literal(lit) => node.literal_child(lit),
                    Segment::Param(_) => node.param.get_or_insert_with(Box::default),
                };
            }
            let slot = if parsed.catch_all {
                &mut node.catch_alls
            } else {
                &mut node.ends
            };
            if let Some(&(_, other)) = slot.iter().find(|(m, _)| *m == method) {
                let other = infos
                    .get(other)
                    .map_or_else(String::new, |i: &RouteInfo| i.pattern.to_string());
                return Err(RouteError::Duplicate {
                    method: method_name,
                    pattern: text.to_owned(),
                    other,
                });
            }
            slot.push((method, index));
            infos.push(RouteInfo {
                pattern: text.into(),
                params: parsed.param_names().map(Into::into).collect(),
            });
        }
        Ok(Router {
            root,
            routes: infos,
        })
    }

    /// Matches a raw request path (starting with `/`, without the query). Allocates nothing.
    pub fn find<'path>(&self, method: Method, path: &'path [u8]) -> RouteMatch<'path> {
        let Some(body) = path.strip_prefix(b"/") else {
            return RouteMatch::NotFound;
        };
        let mut params = Params::new();
        if let Some(route) = walk(&self.root, Some(body), Want::Method(method), &mut params) {
            return RouteMatch::Found { route, params };
        }
        let mut scratch = Params::new();
        if walk(&self.root, Some(body), Want::Any, &mut scratch).is_some() {
            RouteMatch::MethodNotAllowed
        } else {
            RouteMatch::NotFound
        }
    }

    /// How many routes the table has.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The pattern of route `route`.
    pub fn pattern(&self, route: usize) -> Option<&str> {
        self.routes.get(route).map(|r| &*r.pattern)
    }

    /// The parameter names of route `route`, by parameter index.
    pub fn param_names(&self, route: usize) -> &[Box<str>] {
        self.routes.get(route).map_or(&[], |r| &r.params)
    }
}

impl Node {
    fn literal_child(&mut self, lit: &[u8]) -> &mut Node {
        let at = match self.literals.binary_search_by(|(key, _)| (**key).cmp(lit)) {
            Ok(at) => at,
            Err(at) => {
                self.literals.insert(at, (lit.into(), Node::default()));
                at
            }
        };
        // `at` is in bounds: found, or just inserted there.
        &mut self.literals[at].1
    }

    fn find_literal(&self, seg: &[u8]) -> Option<&Node> {
        self.literals
            .binary_search_by(|(key, _)| (**key).cmp(seg))
            .ok()
            .and_then(|at| self.literals.get(at))
            .map(|(_, node)| node)
    }
}

/// Matches `rest` (the path after a `/`, or `None` once every segment is consumed) below
/// `node`, filling `params`; backtracks literal → param → catch-all. Recursion depth is bounded
/// by the trie depth (the longest pattern), not by the path.
fn walk<'path>(
    node: &Node,
    rest: Option<&'path [u8]>,
    want: Want,
    params: &mut Params<'path>,
) -> Option<usize> {
    let Some(rest) = rest else {
        return want.pick(&node.ends);
    };
    let (segment, next) = match memchr::memchr(b'/', rest) {
        Some(slash) => (rest.get(..slash).unwrap_or(&[]), rest.get(slash + 1..)),
        None => (rest, None),
    };
    if let Some(route) = node
        .find_literal(segment)
        .and_then(|child| walk(child, next, want, params))
    {
        return Some(route);
    }
    if let Some(route) = node
        .param
        .as_deref()
        .and_then(|child| walk_param(child, segment, next, want, params))
    {
        return Some(route);
    }
    let route = want.pick(&node.catch_alls)?;
    params.rest = Some(rest);
    Some(route)
}

/// Binds `segment` to the parameter child and matches below it; unbinds on failure.
fn walk_param<'path>(
    child: &Node,
    segment: &'path [u8],
    next: Option<&'path [u8]>,
    want: Want,
    params: &mut Params<'path>,
) -> Option<usize> {
    if segment.is_empty() || is_dot_segment(segment) || !params.push(segment) {
        return None;
    }
    let found = walk(child, next, want, params);
    if found.is_none() {
        params.pop();
    }
    found
}

/// `.` or `..`, literally or percent-encoded (`%2e`, `%2E`).
fn is_dot_segment(segment: &[u8]) -> bool {
    let mut dots = 0;
    let mut i = 0;
    while let Some(&b) = segment.get(i) {
        if b == b'.' {
            i += 1;
        } else if b == b'%'
            && segment.get(i + 1) == Some(&b'2')
            && matches!(segment.get(i + 2), Some(b'e' | b'E'))
        {
            i += 3;
        } else {
            return false;
        }
        dots += 1;
    }
    dots == 1 || dots == 2
}
