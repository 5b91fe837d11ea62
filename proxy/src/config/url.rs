//! The small URL parser the config needs: `scheme://host[:port][/path]`, for backend hosts,
//! `jwk_url` and `revoke_server_ping_url`. No user info, no fragment, no whitespace.

use std::net::Ipv6Addr;

#[cfg(test)]
mod tests;

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP (default port 80).
    Http,
    /// HTTP over TLS (default port 443).
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// A split URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedUrl {
    pub(crate) scheme: Scheme,
    /// Lowercase host name, or an IP address (IPv6 without brackets).
    pub(crate) host: String,
    /// The port, the scheme's default when absent.
    pub(crate) port: u16,
    /// `host[:port]` as written (host lowercased, IPv6 in brackets): the `Host` header.
    pub(crate) authority: String,
    /// Path and query as written; may be empty.
    pub(crate) path: String,
}

/// Parses `input`. Without a `scheme://` prefix the URL is taken as `http://` when
/// `default_http`, else refused.
pub(crate) fn parse_url(input: &str, default_http: bool) -> Result<ParsedUrl, String> {
    if input.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{input:?} contains whitespace or control characters"
        ));
    }
    let (scheme, rest) = match input.split_once("://") {
        Some((scheme, rest)) => {
            let scheme = if scheme.eq_ignore_ascii_case("http") {
                Scheme::Http
            } else if scheme.eq_ignore_ascii_case("https") {
                Scheme::Https
            } else {
                return Err(format!(
                    "{input:?}: unsupported scheme {scheme:?} (http or https)"
                ));
            };
            (scheme, rest)
        }
        None if default_http => (Scheme::Http, input),
        None => {
            return Err(format!(
                "{input:?} is not an absolute URL (http://host/path)"
            ));
        }
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if path.contains('#') {
        return Err(format!("{input:?}: a fragment (#...) is not allowed"));
    }
    if authority.contains('@') {
        return Err(format!("{input:?}: user info (user@host) is not allowed"));
    }
    let (host, port) = split_host_port(authority).map_err(|why| format!("{input:?}: {why}"))?;
    let port = port.unwrap_or(scheme.default_port());
    let host = host.to_ascii_lowercase();
    let authority = authority.to_ascii_lowercase();
    Ok(ParsedUrl {
        scheme,
        host,
        port,
        authority,
        path: path.to_owned(),
    })
}

/// `host[:port]` or `[v6][:port]` into the host (without brackets) and the port.
fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (v6, after) = bracketed.split_once(']').ok_or("unclosed [ in the host")?;
        v6.parse::<Ipv6Addr>()
            .map_err(|_| format!("{v6:?} is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or("unexpected characters after ]")?,
            ),
        };
        (v6, port)
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("no host".to_owned());
    }
    if !authority.starts_with('[')
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    {
        return Err(format!("{host:?} is not a valid host name"));
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return Err(format!("{p:?} is not a port number (1-65535)")),
        },
    };
    Ok((host, port))
}
