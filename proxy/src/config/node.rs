//! Reading the parsed JSON by hand: a [`Node`] is one value that knows its field path, so every
//! type error names the field (`endpoints[2].backend[0].url_pattern: expected a string, got 3`).
//!
//! The file is parsed with simd-json into an owned value first; this module is the only place
//! that looks at that value. Conventions, as KrakenD: `null` is the same as an absent key; keys
//! starting with `@`, `$`, `_` or `#` are comments and never match.

use std::time::Duration;

use simd_json::OwnedValue as Value;
use simd_json::StaticNode;

use super::duration::parse_duration;
use super::error::ConfigError;

#[cfg(test)]
mod tests;

/// Parses `bytes` as one JSON document. Syntax errors name `source` (the file) and, when
/// simd-json knows it, the line and column.
pub(crate) fn parse_document(bytes: &[u8], source: &str) -> Result<Value, ConfigError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes); // a UTF-8 BOM
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ConfigError::new(source, "invalid JSON: the file is empty"));
    }
    // simd-json rewrites its input in place (string unescaping), so it gets a copy and the
    // original stays intact for the error position.
    let mut scratch = bytes.to_vec();
    simd_json::to_owned_value(&mut scratch).map_err(|e| {
        let what = describe(e.error());
        let message = match position(bytes, e.index()) {
            Some((line, column)) => format!("invalid JSON at line {line}, column {column}: {what}"),
            None => format!("invalid JSON: {what}"),
        };
        ConfigError::new(source, message)
    })
}

/// A short description of a simd-json syntax error.
fn describe(error: &simd_json::ErrorType) -> String {
    use simd_json::ErrorType as E;
    match error {
        E::Eof => "unexpected end of input".to_owned(),
        E::TrailingData => "unexpected characters after the document".to_owned(),
        E::InvalidNumber | E::InvalidExponent => "invalid or out-of-range number".to_owned(),
        E::InvalidEscape | E::InvalidUnicodeEscape | E::InvalidUnicodeCodepoint => {
            "invalid escape in a string".to_owned()
        }
        E::InvalidUtf8 => "invalid UTF-8".to_owned(),
        E::UnterminatedString => "unterminated string".to_owned(),
        E::ExpectedTrue | E::ExpectedFalse | E::ExpectedNull => "invalid literal".to_owned(),
        E::ExpectedObjectContent
        | E::ExpectedObjectKey
        | E::ExpectedMapComma
        | E::ExpectedObjectColon
        | E::ExpectedMapEnd
        | E::KeyMustBeAString
        | E::BadKeyType => "malformed object (a missing comma, colon or quote?)".to_owned(),
        E::ExpectedArrayComma | E::ExpectedArrayContent => {
            "malformed array (a missing or extra comma?)".to_owned()
        }
        E::DepthLimitExceeded => "nested too deeply".to_owned(),
        E::InputTooLarge => "the file is too large".to_owned(),
        other => format!("syntax error ({other:?})"),
    }
}

/// The 1-based line and column (in characters) of byte `index`, when it is a plausible
/// position (simd-json reports 0 when it does not know).
fn position(bytes: &[u8], index: usize) -> Option<(usize, usize)> {
    if index == 0 || index >= bytes.len() {
        return None;
    }
    let before = &bytes[..index];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    Some((line, column))
}

/// Whether KrakenD treats `key` as a comment: it starts with `@`, `$`, `_` or `#`.
pub(crate) fn is_comment_key(key: &str) -> bool {
    key.starts_with(['@', '$', '_', '#'])
}

/// One JSON value and the path of the field that holds it.
#[derive(Debug, Clone)]
pub(crate) struct Node<'a> {
    value: &'a Value,
    path: String,
}

impl<'a> Node<'a> {
    /// The document itself (path `""`).
    pub(crate) fn root(value: &'a Value) -> Node<'a> {
        Node {
            value,
            path: String::new(),
        }
    }

    /// The field path, e.g. `endpoints[0].backend`.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// An invalid-value error at this field.
    pub(crate) fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::new(self.path.clone(), message)
    }

    /// An unsupported-feature error at this field.
    pub(crate) fn unsupported(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::unsupported(self.path.clone(), message)
    }

    fn expected(&self, what: &str) -> ConfigError {
        self.error(format!(
            "expected {what}, got {}",
            describe_value(self.value)
        ))
    }

    /// This value as an object.
    pub(crate) fn object(&self) -> Result<Obj<'a>, ConfigError> {
        match self.value {
            Value::Object(map) => Ok(Obj {
                map,
                path: self.path.clone(),
            }),
            _ => Err(self.expected("an object")),
        }
    }

    /// This value as an array, each element with its `[i]` path.
    pub(crate) fn array(&self) -> Result<Vec<Node<'a>>, ConfigError> {
        match self.value {
            Value::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, value)| Node {
                    value,
                    path: format!("{}[{i}]", self.path),
                })
                .collect()),
            _ => Err(self.expected("an array")),
        }
    }

    /// This value as a string.
    pub(crate) fn str(&self) -> Result<&'a str, ConfigError> {
        match self.value {
            Value::String(s) => Ok(s),
            _ => Err(self.expected("a string")),
        }
    }

    /// This value as a boolean.
    pub(crate) fn bool(&self) -> Result<bool, ConfigError> {
        match self.value {
            Value::Static(StaticNode::Bool(b)) => Ok(*b),
            _ => Err(self.expected("a boolean")),
        }
    }

    /// This value as any number.
    pub(crate) fn f64(&self) -> Result<f64, ConfigError> {
        match self.value {
            Value::Static(StaticNode::U64(n)) => Ok(*n as f64),
            Value::Static(StaticNode::I64(n)) => Ok(*n as f64),
            Value::Static(StaticNode::F64(n)) => Ok(*n),
            _ => Err(self.expected("a number")),
        }
    }

    /// This value as an integer written as one (`10`, `-3`; not `1e7` nor `10.0`).
    pub(crate) fn int(&self) -> Result<i128, ConfigError> {
        match self.value {
            Value::Static(StaticNode::U64(n)) => Ok(i128::from(*n)),
            Value::Static(StaticNode::I64(n)) => Ok(i128::from(*n)),
            _ => Err(self.expected("an integer")),
        }
    }

    /// This value as an integer, also when written as a number with no fraction (`1e7`,
    /// `1500.0`), as KrakenD's `auth/revoker` accepts.
    pub(crate) fn integral(&self) -> Result<i128, ConfigError> {
        match self.value {
            Value::Static(StaticNode::F64(n)) => {
                // Beyond ±2^100 the exact value does not matter: every range check fails.
                if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e30 {
                    Ok(*n as i128)
                } else {
                    Err(self.expected("an integer"))
                }
            }
            _ => self.int(),
        }
    }

    /// This value as an integer in `lo..=hi`; `what` describes the range in the message.
    pub(crate) fn int_in(&self, lo: i128, hi: i128, what: &str) -> Result<i128, ConfigError> {
        let n = self.int()?;
        if (lo..=hi).contains(&n) {
            Ok(n)
        } else {
            Err(self.error(format!("must be {what}, got {n}")))
        }
    }

    /// This value as a port number (0-65535; 0 lets the system pick one).
    pub(crate) fn port(&self) -> Result<u16, ConfigError> {
        let n = self.int_in(0, 65_535, "a port number (0-65535)")?;
        u16::try_from(n).map_err(|_| self.error("must be a port number (0-65535)"))
    }

    /// This value as a Go duration string.
    pub(crate) fn duration(&self) -> Result<Duration, ConfigError> {
        let s = self
            .str()
            .map_err(|_| self.expected("a duration string like \"2s\""))?;
        parse_duration(s).map_err(|e| self.error(e.to_string()))
    }

    /// This value as a Go duration string greater than zero.
    pub(crate) fn positive_duration(&self) -> Result<Duration, ConfigError> {
        let d = self.duration()?;
        if d.is_zero() {
            Err(self.error("must be greater than 0"))
        } else {
            Ok(d)
        }
    }

    /// This value as an array of strings.
    pub(crate) fn str_list(&self) -> Result<Vec<String>, ConfigError> {
        self.array()?
            .iter()
            .map(|item| item.str().map(str::to_owned))
            .collect()
    }
}

/// `value` for an error message: its type, and the value itself when short.
fn describe_value(value: &Value) -> String {
    match value {
        Value::Static(StaticNode::Null) => "null".to_owned(),
        Value::Static(StaticNode::Bool(b)) => format!("a boolean ({b})"),
        Value::Static(StaticNode::U64(n)) => format!("a number ({n})"),
        Value::Static(StaticNode::I64(n)) => format!("a number ({n})"),
        Value::Static(StaticNode::F64(n)) => format!("a number ({n})"),
        Value::String(s) if s.chars().count() <= 40 => format!("a string ({s:?})"),
        Value::String(_) => "a string".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// A JSON object and its path: typed lookups by key.
#[derive(Debug, Clone)]
pub(crate) struct Obj<'a> {
    map: &'a simd_json::owned::Object,
    path: String,
}

impl<'a> Obj<'a> {
    /// The path of `key` inside this object.
    pub(crate) fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// An invalid-value error about the object itself.
    pub(crate) fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::new(self.path.clone(), message)
    }

    /// The value under exactly `key`; `None` when absent or `null`. A key given twice is an
    /// error (JSON parsers disagree on which one wins).
    pub(crate) fn get(&self, key: &str) -> Result<Option<Node<'a>>, ConfigError> {
        self.find(key, |k| k == key)
    }

    /// The value under `key` compared ASCII-case-insensitively (`N`/`n`, `TTL`/`ttl`), as Go's
    /// `encoding/json` binds `auth/revoker`. Two spellings of one key are an error.
    pub(crate) fn get_ci(&self, key: &str) -> Result<Option<Node<'a>>, ConfigError> {
        self.find(key, |k| k.eq_ignore_ascii_case(key))
    }

    fn find(
        &self,
        key: &str,
        matches: impl Fn(&str) -> bool,
    ) -> Result<Option<Node<'a>>, ConfigError> {
        let mut found: Option<(&'a String, &'a Value)> = None;
        for (k, v) in self.map.iter() {
            if is_comment_key(k) || !matches(k) {
                continue;
            }
            if let Some((first, _)) = found {
                let (a, b) = if first <= k { (first, k) } else { (k, first) };
                let message = if a == b {
                    format!("the key {a:?} is given twice")
                } else {
                    format!("the key {key:?} is given twice (as {a:?} and {b:?})")
                };
                return Err(self.error(message));
            }
            found = Some((k, v));
        }
        Ok(found.and_then(|(k, value)| {
            if matches!(value, Value::Static(StaticNode::Null)) {
                None
            } else {
                Some(Node {
                    value,
                    path: self.child_path(k),
                })
            }
        }))
    }

    /// The value under `key`, or an error naming it when absent.
    pub(crate) fn require(&self, key: &str) -> Result<Node<'a>, ConfigError> {
        self.get(key)?
            .ok_or_else(|| ConfigError::new(self.child_path(key), "required"))
    }
}
