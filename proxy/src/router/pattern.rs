//! Endpoint patterns: `/literal/{param}/...` with an optional trailing `/*` catch-all.

use super::{MAX_PARAMS, RouteError};

/// One segment of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment<'p> {
    /// Matches exactly these bytes.
    Literal(&'p [u8]),
    /// Matches any non-empty segment other than `.` and `..`; the name is for templates.
    Param(&'p str),
}

/// A parsed pattern, borrowing its text.
#[derive(Clone, Debug)]
pub(crate) struct Pattern<'p> {
    pub(crate) segments: Vec<Segment<'p>>,
    pub(crate) catch_all: bool,
}

impl<'p> Pattern<'p> {
    /// The parameter names in order of appearance (their index is the param index).
    pub(crate) fn param_names(&self) -> impl Iterator<Item = &'p str> + '_ {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(name) => Some(*name),
            Segment::Literal(_) => None,
        })
    }
}

/// Parses a pattern: it starts with `/`; segments are split on `/`; a segment is either a
/// literal (no `{`, `}`, `*`, `?`, `#`, whitespace or control byte) or exactly `{name}` with
/// `name` in `[A-Za-z0-9_-]+`, unique in the pattern; `/*` may end it. At most
/// [`MAX_PARAMS`] params. `/` is one empty segment; `/a/` is `a` then an empty segment.
pub(crate) fn parse(pattern: &str) -> Result<Pattern<'_>, RouteError> {
    let invalid = |reason: &'static str| RouteError::InvalidPattern {
        pattern: pattern.to_owned(),
        reason,
    };
    let Some(body) = pattern.strip_prefix('/') else {
        return Err(invalid("must start with '/'"));
    };
    let (body, catch_all) = if body == "*" {
        (None, true)
    } else if let Some(prefix) = body.strip_suffix("/*") {
        (Some(prefix), true)
    } else {
        (Some(body), false)
    };
    let mut segments = Vec::new();
    let mut params = 0usize;
    for seg in body.into_iter().flat_map(|b| b.split('/')) {
        if let Some(inner) = seg.strip_prefix('{') {
            let Some(name) = inner.strip_suffix('}') else {
                return Err(invalid("a parameter must be a whole segment '{name}'"));
            };
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(invalid("a parameter name must be [A-Za-z0-9_-]+"));
            }
            if segments
                .iter()
                .any(|s| matches!(s, Segment::Param(n) if *n == name))
            {
                return Err(invalid("a parameter name is used twice"));
            }
            params += 1;
            if params > MAX_PARAMS {
                return Err(invalid("too many parameters"));
            }
            segments.push(Segment::Param(name));
        } else {
            if seg
                .bytes()
                .any(|b| matches!(b, b'{' | b'}' | b'*' | b'?' | b'#') || b <= b' ' || b == 0x7f)
            {
                return Err(invalid(
                    "a literal segment may not contain '{', '}', '*', '?', '#', whitespace or control bytes",
                ));
            }
            segments.push(Segment::Literal(seg.as_bytes()));
        }
    }
    Ok(Pattern {
        segments,
        catch_all,
    })
}
