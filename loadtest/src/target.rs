//! `http://host:port/path?query` URLs: the target and `--revoke-url`. Plain HTTP only.

use std::net::{SocketAddr, ToSocketAddrs};

/// A parsed `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (80 when absent).
    pub port: u16,
    /// The `Host` header value: `host[:port]` as written in the URL.
    pub authority: String,
    /// Path and query, starting with `/`.
    pub path: String,
}

/// A URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not `http://...`.
    #[error("{0}: only http:// URLs are supported")]
    Scheme(String),
    /// No host, a bad port, a malformed IPv6 literal.
    #[error("{url}: {message}")]
    Malformed {
        /// The URL.
        url: String,
        /// What is wrong.
        message: &'static str,
    },
    /// The host name does not resolve.
    #[error("{authority}: cannot resolve: {message}")]
    Resolve {
        /// `host:port`.
        authority: String,
        /// The resolver's error.
        message: String,
    },
}

impl Target {
    /// Parses `http://host[:port][/path][?query]`.
    pub fn parse(url: &str) -> Result<Target, TargetError> {
        let malformed = |message| TargetError::Malformed {
            url: url.to_owned(),
            message,
        };
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| TargetError::Scheme(url.to_owned()))?;
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.contains('@') {
            return Err(malformed("user info is not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| malformed("unclosed [ in the host"))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| malformed("junk after ]"))?,
                ),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(malformed("no host"));
        }
        let port = match port {
            None => 80,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| malformed("the port must be 1..65535"))?,
        };
        let path = match path {
            "" => "/".to_owned(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_owned(),
        };
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(malformed("spaces or control characters in the path"));
        }
        Ok(Target {
            host: host.to_owned(),
            port,
            authority: authority.to_owned(),
            path,
        })
    }

    /// The first address the host resolves to.
    pub fn resolve(&self) -> Result<SocketAddr, TargetError> {
        let error = |message: String| TargetError::Resolve {
            authority: self.authority.clone(),
            message,
        };
        (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| error(e.to_string()))?
            .next()
            .ok_or_else(|| error("no address".to_owned()))
    }

    /// The URL again, normalised.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.authority, self.path)
    }
}

#[cfg(test)]
mod tests;
