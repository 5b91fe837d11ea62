//! Backend hosts: `"host": ["http://api:8080", "api2"]` into [`Upstream`]s.

use std::fmt;

use super::error::ConfigError;
use super::url::{Scheme, parse_url};

#[cfg(test)]
mod tests;

/// One backend server, plain HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// Host name (lowercase) or IP address (IPv6 without brackets): what to resolve.
    pub host: String,
    /// TCP port (80 when the config gives none).
    pub port: u16,
    /// `host[:port]` as written in the config (host lowercased): the `Host` header sent.
    pub host_header: String,
}

impl Upstream {
    /// Parses one `host` entry: `http://` is assumed when there is no scheme; `https://` is
    /// unsupported (bloomgate has no TLS to backends); a path other than `/` is unsupported.
    pub(crate) fn parse(entry: &str, path: &str) -> Result<Upstream, ConfigError> {
        let url = parse_url(entry, true).map_err(|why| ConfigError::new(path, why))?;
        if url.scheme == Scheme::Https {
            return Err(ConfigError::unsupported(
                path,
                format!(
                    "{entry:?}: https backends are not supported (bloomgate has no TLS to backends)"
                ),
            ));
        }
        if !(url.path.is_empty() || url.path == "/") {
            return Err(ConfigError::unsupported(
                path,
                format!(
                    "{entry:?}: a path in a backend host is not supported; put it in url_pattern"
                ),
            ));
        }
        Ok(Upstream {
            host: url.host,
            port: url.port,
            host_header: url.authority,
        })
    }

    /// `host:port`, IPv6 in brackets: what to connect to.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}", self.authority())
    }
}
