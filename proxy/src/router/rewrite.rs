//! The backend URL: `url_pattern` with the endpoint's parameters substituted, plus the client's
//! query filtered by `input_query_strings`. Parsed once at config time; rendering writes into a
//! caller-provided, reused `Vec<u8>` and allocates nothing.

#[cfg(test)]
mod tests;

use super::Params;

/// Why a `url_pattern` was refused. Config-time only.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{name}` where the endpoint declares no such parameter.
    #[error("url_pattern {pattern:?} uses {{{name}}}, which the endpoint does not declare")]
    Undeclared {
        /// The url_pattern.
        pattern: String,
        /// The unknown name.
        name: String,
    },
    /// A `{` without `}`, a `}` without `{`, or an empty `{}`.
    #[error("url_pattern {pattern:?} has unbalanced or empty braces")]
    Braces {
        /// The url_pattern.
        pattern: String,
    },
    /// A byte that cannot be sent in a request target (whitespace, control, non-ASCII, `#`).
    #[error("url_pattern {pattern:?} has a byte that cannot be in a URL")]
    InvalidByte {
        /// The url_pattern.
        pattern: String,
    },
}

/// Which client query parameters reach the backend (`input_query_strings`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum QueryFilter {
    /// The default: none.
    #[default]
    None,
    /// `["*"]`: the whole query string, as sent.
    All,
    /// Parameters with exactly these names (case-sensitive, compared after percent-decoding the
    /// name, `+` as space, as Go's `url.Query` does), every occurrence, in the client's order.
    Only(Box<[Box<[u8]>]>),
}

impl QueryFilter {
    /// Builds the filter from `input_query_strings` (config time). `*` anywhere means all; an
    /// empty list means none.
    pub fn from_names<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut only = Vec::new();
        for name in names {
            let name = name.as_ref();
            if name == "*" {
                return QueryFilter::All;
            }
            only.push(name.as_bytes().into());
        }
        if only.is_empty() {
            QueryFilter::None
        } else {
            QueryFilter::Only(only.into_boxed_slice())
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    /// `text[start..end]`.
    Literal(usize, usize),
    /// Parameter by index.
    Param(usize),
}

/// A parsed `url_pattern`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlTemplate {
    text: Box<[u8]>,
    pieces: Box<[Piece]>,
    /// How to join the client query: `None` if the pattern has no `?`; else whether it needs
    /// `&` (its query part is non-empty and does not end with `&`).
    own_query: Option<bool>,
}

impl UrlTemplate {
    /// Parses `url_pattern` against the endpoint's parameter names in index order (see
    /// [`super::Router::param_names`] or [`param_names`]). A `/` is prepended if missing, as
    /// KrakenD does. `{name}` may appear anywhere, as often as wanted; it must be declared.
    pub fn parse<S: AsRef<str>>(
        url_pattern: &str,
        endpoint_params: &[S],
    ) -> Result<UrlTemplate, TemplateError> {
        let pattern = || url_pattern.to_owned();
        if url_pattern
            .bytes()
            .any(|b| b <= b' ' || b >= 0x7f || b == b'#')
        {
            return Err(TemplateError::InvalidByte { pattern: pattern() });
        }
        let slashed;
        let url_pattern = if url_pattern.starts_with('/') {
            url_pattern
        } else {
            slashed = format!("/{url_pattern}");
            &slashed
        };
        let mut text = Vec::with_capacity(url_pattern.len());
        let mut pieces = Vec::new();
        let mut rest = url_pattern;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                None => {
                    push_literal(&mut pieces, &mut text, rest.as_bytes());
                    break;
                }
                Some(at) => {
                    let (lit, tail) = rest.split_at(at);
                    push_literal(&mut pieces, &mut text, lit.as_bytes());
                    let Some(after) = tail.strip_prefix('{') else {
                        return Err(TemplateError::Braces { pattern: pattern() });
                    };
                    let Some(close) = after.find('}') else {
                        return Err(TemplateError::Braces { pattern: pattern() });
                    };
                    let (name, tail) = after.split_at(close);
                    if name.is_empty() || name.contains('{') {
                        return Err(TemplateError::Braces { pattern: pattern() });
                    }
                    let Some(index) = endpoint_params.iter().position(|p| p.as_ref() == name)
                    else {
                        return Err(TemplateError::Undeclared {
                            pattern: pattern(),
                            name: name.to_owned(),
                        });
                    };
                    pieces.push(Piece::Param(index));
                    rest = tail.get(1..).unwrap_or("");
                }
            }
        }
        if pieces.is_empty() {
            push_literal(&mut pieces, &mut text, b"");
        }
        let own_query = url_pattern.find('?').map(|q| {
            let query = url_pattern.get(q + 1..).unwrap_or("");
            !query.is_empty() && !query.ends_with('&')
        });
        Ok(UrlTemplate {
            text: text.into_boxed_slice(),
            pieces: pieces.into_boxed_slice(),
            own_query,
        })
    }

    /// Appends the backend path and query to `out`: the pattern with each `{name}` replaced by
    /// the raw parameter value (a missing one renders empty), then the client `query` filtered
    /// by `filter`, joined with `?` or, if the pattern has a query, `&`.
    pub fn render(
        &self,
        params: &Params<'_>,
        query: Option<&[u8]>,
        filter: &QueryFilter,
        out: &mut Vec<u8>,
    ) {
        for piece in self.pieces.iter() {
            match *piece {
                Piece::Literal(start, end) => {
                    out.extend_from_slice(self.text.get(start..end).unwrap_or(&[]));
                }
                Piece::Param(index) => out.extend_from_slice(params.get(index).unwrap_or(&[])),
            }
        }
        let Some(query) = query.filter(|q| !q.is_empty()) else {
            return;
        };
        let mut joined = false;
        let mut join = |out: &mut Vec<u8>| {
            if !joined {
                joined = true;
                match self.own_query {
                    None => out.push(b'?'),
                    Some(true) => out.push(b'&'),
                    Some(false) => {}
                }
            } else {
                out.push(b'&');
            }
        };
        match filter {
            QueryFilter::None => {}
            QueryFilter::All => {
                join(out);
                out.extend_from_slice(query);
            }
            QueryFilter::Only(names) => {
                for pair in query.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
                    let key = pair.split(|&b| b == b'=').next().unwrap_or(&[]);
                    if names.iter().any(|n| decoded_eq(key, n)) {
                        join(out);
                        out.extend_from_slice(pair);
                    }
                }
            }
        }
    }
}

fn push_literal(pieces: &mut Vec<Piece>, text: &mut Vec<u8>, lit: &[u8]) {
    let start = text.len();
    text.extend_from_slice(lit);
    pieces.push(Piece::Literal(start, text.len()));
}

/// Whether the query component `raw`, percent-decoded (`+` as space), equals `want`. An
/// invalid escape never matches (Go drops such a pair).
fn decoded_eq(raw: &[u8], want: &[u8]) -> bool {
    let mut i = 0;
    let mut wanted = want.iter();
    while let Some(&b) = raw.get(i) {
        let decoded = match b {
            b'%' => {
                let hi = raw
                    .get(i + 1)
                    .copied()
                    .and_then(crate::http::num::hex_value);
                let lo = raw
                    .get(i + 2)
                    .copied()
                    .and_then(crate::http::num::hex_value);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => {
                        i += 3;
                        (hi << 4) | lo
                    }
                    _ => return false,
                }
            }
            b'+' => {
                i += 1;
                b' '
            }
            _ => {
                i += 1;
                b
            }
        };
        if wanted.next() != Some(&decoded) {
            return false;
        }
    }
    wanted.next().is_none()
}

/// The parameter names of an endpoint pattern, in index order: what [`UrlTemplate::parse`]
/// takes. Validates the pattern like [`super::Router::new`].
pub fn param_names(endpoint: &str) -> Result<Vec<&str>, super::RouteError> {
    Ok(super::pattern::parse(endpoint)?.param_names().collect())
}
