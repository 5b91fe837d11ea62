//! The process environment behind a trait, so tests pass a map instead of mutating the real
//! environment; and the one function that decides the listening port.

use std::collections::HashMap;

use super::error::ConfigError;

#[cfg(test)]
mod tests;

/// The environment variable that overrides the file's `port`, as in KrakenD.
pub const PORT_VAR: &str = "KRAKEND_PORT";

/// The listening port when neither the command line, the environment nor the file sets one.
pub const DEFAULT_PORT: u16 = 8080;

/// Read access to environment variables.
pub trait Env {
    /// The variable's value; `None` when unset. A value that is not UTF-8 comes back lossily
    /// converted (and then fails validation).
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    }
}

/// A fixed set of variables, for tests and embedding.
#[derive(Debug, Clone, Default)]
pub struct MapEnv(pub HashMap<String, String>);

impl MapEnv {
    /// An environment with exactly these variables.
    pub fn new<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> MapEnv {
        MapEnv(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl Env for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// The listening port: `--port` > env `KRAKEND_PORT` > the file's `port` > 8080.
///
/// An empty `KRAKEND_PORT` counts as unset; any other value must be a port number.
pub fn listen_port(cli: Option<u16>, env: &dyn Env, file: Option<u16>) -> Result<u16, ConfigError> {
    if let Some(port) = cli {
        return Ok(port);
    }
    if let Some(value) = env.var(PORT_VAR).filter(|v| !v.trim().is_empty()) {
        let trimmed = value.trim();
        return match trimmed.parse::<u16>() {
            Ok(port) if trimmed.bytes().all(|b| b.is_ascii_digit()) => Ok(port),
            _ => Err(ConfigError::new(
                format!("env {PORT_VAR}"),
                format!("must be a port number (0-65535), got {value:?}"),
            )),
        };
    }
    Ok(file.unwrap_or(DEFAULT_PORT))
}
