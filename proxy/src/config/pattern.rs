//! Endpoint paths (`/a/{id}/b`, `/files/*`) and backend URL patterns (`/b/{id}?x={id}`).

use std::fmt;

#[cfg(test)]
mod tests;

/// Paths a gateway keeps for itself: an endpoint may not be one of them nor start with them.
const RESERVED_PREFIXES: [&str; 2] = ["/__debug", "/__echo"];
/// The health path: reserved exactly and with sub-paths.
const HEALTH_PATH: &str = "/__health";

/// One `/`-separated piece of an endpoint path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Matched byte for byte.
    Literal(String),
    /// `{name}`: matches any one non-empty segment and captures it.
    Param(String),
}

/// A validated endpoint path: `/` followed by segments, optionally ending in `/*`.
///
/// `{param}` segments are whole segments of `[A-Za-z0-9_-]`; a trailing `/*` (a catch-all)
/// matches the prefix and anything below it, and the rest of the request path is appended to
/// the backend's `url_pattern` (as KrakenD Enterprise's wildcard endpoints do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    raw: String,
    segments: Vec<Segment>,
    trailing_slash: bool,
    catch_all: bool,
}

impl PathPattern {
    /// Parses and validates `raw`; the error is a message for the `endpoint` field.
    pub fn parse(raw: &str) -> Result<PathPattern, String> {
        let Some(body) = raw.strip_prefix('/') else {
            return Err(format!("{raw:?} must start with /"));
        };
        if raw.contains("//") {
            return Err(format!("{raw:?}: empty segment (//)"));
        }
        if raw == HEALTH_PATH || raw.starts_with("/__health/") {
            return Err(format!("{raw:?} is reserved for the health check"));
        }
        if let Some(prefix) = RESERVED_PREFIXES.iter().find(|p| raw.starts_with(*p)) {
            return Err(format!(
                "{raw:?}: paths starting with {prefix} are reserved"
            ));
        }
        let (body, catch_all) = match body.strip_suffix('*') {
            Some(prefix) if prefix.is_empty() || prefix.ends_with('/') => (prefix, true),
            Some(_) => return Err(format!("{raw:?}: * is only allowed as a last segment /*")),
            None => (body, false),
        };
        let trailing_slash = !catch_all && body.ends_with('/');
        let body = body.strip_suffix('/').unwrap_or(body);
        let mut segments = Vec::new();
        if !body.is_empty() {
            for piece in body.split('/') {
                let segment = parse_segment(piece).map_err(|why| format!("{raw:?}: {why}"))?;
                if let Segment::Param(name) = &segment
                    && segments.contains(&segment)
                {
                    return Err(format!("{raw:?}: the parameter {{{name}}} appears twice"));
                }
                segments.push(segment);
            }
        }
        Ok(PathPattern {
            raw: raw.to_owned(),
            segments,
            trailing_slash,
            catch_all,
        })
    }

    /// The path as written in the config.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The segments between the leading `/` and the end (or the `/*`).
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether the path ends in `/` (`/a/`), which KrakenD treats as distinct from `/a`.
    pub fn trailing_slash(&self) -> bool {
        self.trailing_slash
    }

    /// Whether the path ends in `/*`.
    pub fn catch_all(&self) -> bool {
        self.catch_all
    }

    /// The `{param}` names, in order.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(name) => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// The path with parameter names erased (`/a/{}/b`): two endpoints with the same shape and
    /// method cannot both be routed.
    pub(crate) fn shape(&self) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            out.push('/');
            match segment {
                Segment::Literal(s) => out.push_str(s),
                Segment::Param(_) => out.push_str("{}"),
            }
        }
        if self.trailing_slash || (self.segments.is_empty() && !self.catch_all) {
            out.push('/');
        }
        if self.catch_all {
            out.push_str("/*");
        }
        out
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// One path segment: `{name}` or literal text.
fn parse_segment(piece: &str) -> Result<Segment, String> {
    if piece.is_empty() {
        return Err("empty segment (//)".to_owned());
    }
    if let Some(inner) = piece.strip_prefix('{') {
        let name = inner
            .strip_suffix('}')
            .ok_or("a {param} must be a whole segment")?;
        if name.is_empty() || !name.bytes().all(is_param_byte) {
            return Err(format!(
                "invalid parameter name {{{name}}}: use letters, digits, _ and -"
            ));
        }
        return Ok(Segment::Param(name.to_owned()));
    }
    if piece.contains(['{', '}']) {
        return Err("a {param} must be a whole segment".to_owned());
    }
    if piece.contains('*') {
        return Err("* is only allowed as a last segment /*".to_owned());
    }
    if let Some(bad) = piece.chars().find(|&c| !is_path_char(c)) {
        return Err(format!(
            "{bad:?} is not allowed in a path (percent-encode it)"
        ));
    }
    Ok(Segment::Literal(piece.to_owned()))
}

/// `[A-Za-z0-9_-]`.
fn is_param_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// RFC 3986 `pchar`s: unreserved, sub-delims, `:`, `@`, and `%` for percent-encoding.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()+,;=:@%".contains(c)
}

/// One piece of a backend URL pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlPart {
    /// Copied as is.
    Literal(String),
    /// `{name}`: the value the endpoint captured for `name`; `index` is the parameter's position
    /// in [`PathPattern::params`].
    Param {
        /// The parameter's name.
        name: String,
        /// Its position among the endpoint's parameters.
        index: usize,
    },
}

/// A validated backend `url_pattern`: path and optional query, with the endpoint's `{param}`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlPattern {
    raw: String,
    parts: Vec<UrlPart>,
}

/// Why a `url_pattern` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UrlPatternError {
    /// Malformed, or a parameter the endpoint does not declare.
    Invalid(String),
    /// A feature bloomgate does not implement (`{JWT.claim}`).
    Unsupported(String),
}

impl UrlPattern {
    /// Parses `raw` (a leading `/` is added when missing, as KrakenD does), resolving each
    /// `{name}` against the endpoint's `params`.
    pub(crate) fn parse(raw: &str, params: &[&str]) -> Result<UrlPattern, UrlPatternError> {
        use UrlPatternError::{Invalid, Unsupported};
        if let Some(bad) = raw
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || !c.is_ascii())
        {
            return Err(Invalid(format!(
                "{bad:?} is not allowed in a URL (percent-encode it)"
            )));
        }
        if raw.contains('#') {
            return Err(Invalid("a fragment (#...) is not allowed".to_owned()));
        }
        let raw = if raw.starts_with('/') {
            raw.to_owned()
        } else {
            format!("/{raw}")
        };
        let mut parts = Vec::new();
        let mut rest = raw.as_str();
        while !rest.is_empty() {
            let open = rest.find(['{', '}']).unwrap_or(rest.len());
            if open > 0 {
                parts.push(UrlPart::Literal(rest[..open].to_owned()));
            }
            rest = &rest[open..];
            if rest.starts_with('}') {
                return Err(Invalid("unbalanced } (no matching {)".to_owned()));
            }
            let Some(after) = rest.strip_prefix('{') else {
                break;
            };
            let close = after
                .find('}')
                .ok_or_else(|| Invalid("unclosed {".to_owned()))?;
            let name = &after[..close];
            if name.starts_with("JWT.") {
                return Err(Unsupported(format!(
                    "{{{name}}}: JWT claims as URL parameters are not supported"
                )));
            }
            let Some(index) = params.iter().position(|p| *p == name) else {
                let declared = if params.is_empty() {
                    "the endpoint declares none".to_owned()
                } else {
                    let list: Vec<String> = params.iter().map(|p| format!("{{{p}}}")).collect();
                    format!("the endpoint declares {}", list.join(", "))
                };
                return Err(Invalid(format!(
                    "undeclared parameter {{{name}}}: {declared}"
                )));
            };
            parts.push(UrlPart::Param {
                name: name.to_owned(),
                index,
            });
            rest = &after[close + 1..];
        }
        Ok(UrlPattern { raw, parts })
    }

    /// The pattern as used (with the leading `/`).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Literal pieces and parameters, in order.
    pub fn parts(&self) -> &[UrlPart] {
        &self.parts
    }
}

impl fmt::Display for UrlPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}
