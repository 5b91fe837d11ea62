//! [`ConfigError`]: one problem in the config, named by its field path.

use std::fmt;

/// What kind of problem a [`ConfigError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file is wrong: unreadable, not JSON, a wrong type or an invalid value.
    Invalid,
    /// A valid KrakenD feature bloomgate does not implement (an aggregation endpoint, an
    /// `https` backend, a `{JWT.x}` parameter...). With `--skip-unsupported` the endpoint that
    /// uses it is left out with a warning instead.
    Unsupported,
}

/// One problem in the config: prints as `config error: <path>: <message>`, on one line.
///
/// `path` names the field the way the file nests it (`endpoints[2].backend[0].url_pattern`,
/// `extra_config.auth/revoker.P`); it is the file's path for problems with the whole file
/// (unreadable, invalid JSON).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The field, e.g. `extra_config.auth/revoker.P`.
    pub path: String,
    /// What is wrong with it, e.g. `must be in (0,1), got 1.5`.
    pub message: String,
    /// Invalid, or valid but unsupported.
    pub kind: ErrorKind,
}

impl ConfigError {
    /// An invalid value at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            path: path.into(),
            message: message.into(),
            kind: ErrorKind::Invalid,
        }
    }

    /// A feature bloomgate does not implement, at `path`.
    pub fn unsupported(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            path: path.into(),
            message: message.into(),
            kind: ErrorKind::Unsupported,
        }
    }

    /// Whether `--skip-unsupported` may leave the endpoint out instead.
    pub fn is_unsupported(&self) -> bool {
        self.kind == ErrorKind::Unsupported
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "<config>"
        } else {
            &self.path
        };
        write!(
            f,
            "config error: {}: {}",
            one_line(path),
            one_line(&self.message)
        )?;
        if self.is_unsupported() {
            f.write_str("; pass --skip-unsupported to leave such endpoints out")?;
        }
        Ok(())
    }
}

/// A non-fatal remark about the config: printed by `check` and at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The field the remark is about.
    pub path: String,
    /// The remark.
    pub message: String,
}

impl Warning {
    /// A remark about `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Warning {
        Warning {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "warning: {}: {}",
            one_line(&self.path),
            one_line(&self.message)
        )
    }
}

/// `s` with every control character (newlines included) replaced by a space, so that a message
/// quoting file content stays on one line.
pub(crate) fn one_line(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(char::is_control) {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .into()
    } else {
        s.into()
    }
}
