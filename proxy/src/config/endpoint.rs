//! `endpoints[i]`: one route, its single backend and its optional token validator.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use super::error::{ConfigError, Warning};
use super::node::{Node, Obj};
use super::pattern::{PathPattern, UrlPattern, UrlPatternError};
use super::upstream::Upstream;
use super::validator::{ValidatorSettings, is_header_name};

#[cfg(test)]
mod tests;

/// The namespace of the token validator in an endpoint's `extra_config`.
pub const VALIDATOR_NAMESPACE: &str = "auth/validator";

/// An HTTP method an endpoint or a backend may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
}

impl Method {
    /// Every accepted method.
    pub const ALL: [Method; 7] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Head,
        Method::Options,
    ];

    /// The method's name, upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
        }
    }

    /// The method named `name`, compared case-insensitively (KrakenD upper-cases it).
    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name))
    }

    fn from_node(node: &Node<'_>) -> Result<Method, ConfigError> {
        let name = node.str()?;
        Method::from_name(name).ok_or_else(|| {
            node.error(format!(
                "unsupported method {name:?} (GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS)"
            ))
        })
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which request headers or query parameters are forwarded to the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameFilter {
    /// `["*"]`: all of them.
    All,
    /// Only these names (headers: lower case, matched case-insensitively; query parameters:
    /// as written, matched case-sensitively). Empty: none.
    Only(Vec<String>),
}

impl NameFilter {
    /// Whether `name` passes (`name` already lower case for headers).
    pub fn allows(&self, name: &str) -> bool {
        match self {
            NameFilter::All => true,
            NameFilter::Only(names) => names.iter().any(|n| n == name),
        }
    }
}

/// The single backend of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// `host` (the backend's, else the top-level one): used round-robin. Never empty.
    pub hosts: Vec<Upstream>,
    /// `url_pattern`, with the endpoint's parameters resolved.
    pub url_pattern: UrlPattern,
    /// `method` (default: the endpoint's).
    pub method: Method,
}

/// A validated endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Its position in the file's `endpoints` (for messages; skipped endpoints keep theirs).
    pub index: usize,
    /// `method` (default GET).
    pub method: Method,
    /// `endpoint`.
    pub path: PathPattern,
    /// `timeout` (default: the top-level `timeout`): time until the backend's response headers.
    pub timeout: Duration,
    /// `input_headers` (default: only `content-type`).
    pub input_headers: NameFilter,
    /// `input_query_strings` (default: none).
    pub input_query_strings: NameFilter,
    /// `backend[0]`.
    pub backend: Backend,
    /// `extra_config."auth/validator"`: `None` for a public endpoint.
    pub validator: Option<ValidatorSettings>,
}

/// What an endpoint inherits from the top level.
#[derive(Debug)]
pub(crate) struct Defaults<'a> {
    pub(crate) timeout: Duration,
    /// The top-level `host` entries, each parsed (or the error it gives when used).
    pub(crate) hosts: &'a [Result<Upstream, ConfigError>],
    pub(crate) output_encoding: Option<(String, &'a str)>,
    pub(crate) base_dir: &'a Path,
}

/// The method and path of an endpoint, read first so that a skipped endpoint can be named.
pub(crate) fn head(node: &Node<'_>) -> Result<(Method, PathPattern), ConfigError> {
    let obj = node.object()?;
    let path_node = obj.require("endpoint")?;
    let path = PathPattern::parse(path_node.str()?).map_err(|why| path_node.error(why))?;
    let method = obj
        .get("method")?
        .map(|n| Method::from_node(&n))
        .transpose()?
        .unwrap_or(Method::Get);
    Ok((method, path))
}

/// Reads the rest of the endpoint at `node`, whose `head` is `(method, path)`.
pub(crate) fn endpoint(
    node: &Node<'_>,
    index: usize,
    (method, path): (Method, PathPattern),
    defaults: &Defaults<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<Endpoint, ConfigError> {
    let obj = node.object()?;
    let timeout = match obj.get("timeout")? {
        None => defaults.timeout,
        Some(n) => n.positive_duration()?,
    };
    let input_headers = match obj.get("input_headers")? {
        None => default_headers(),
        Some(n) => header_filter(&n)?,
    };
    let input_query_strings = match obj.get("input_query_strings")? {
        None => NameFilter::Only(Vec::new()),
        Some(n) => {
            let names = n.str_list()?;
            if names.iter().any(|s| s == "*") {
                NameFilter::All
            } else {
                NameFilter::Only(names)
            }
        }
    };
    let encoding = match obj.get("output_encoding")? {
        Some(n) => Some((n.path().to_owned(), n.str()?)),
        None => defaults.output_encoding.clone(),
    };
    let backend = backend(&obj, method, &path, defaults)?;
    let validator = match obj.get("extra_config")? {
        None => None,
        Some(extra) => match extra.object()?.get(VALIDATOR_NAMESPACE)? {
            None => None,
            Some(section) => Some(ValidatorSettings::from_node(
                &section,
                defaults.base_dir,
                warnings,
            )?),
        },
    };
    if let Some((field, encoding)) = encoding
        && encoding != "no-op"
    {
        warnings.push(Warning::new(
            field,
            format!(
                "{encoding:?} is not supported; {method} {path} is proxied as no-op (pass-through)"
            ),
        ));
    }
    Ok(Endpoint {
        index,
        method,
        path,
        timeout,
        input_headers,
        input_query_strings,
        backend,
        validator,
    })
}

/// `input_headers` when absent or empty: only `Content-Type`, as KrakenD.
fn default_headers() -> NameFilter {
    NameFilter::Only(vec!["content-type".to_owned()])
}

fn header_filter(node: &Node<'_>) -> Result<NameFilter, ConfigError> {
    let mut names = Vec::new();
    for item in node.array()? {
        let name = item.str()?;
        if name == "*" {
            return Ok(NameFilter::All);
        }
        if !is_header_name(name) {
            return Err(item.error(format!("{name:?} is not a valid header name")));
        }
        names.push(name.to_ascii_lowercase());
    }
    Ok(if names.is_empty() {
        default_headers()
    } else {
        NameFilter::Only(names)
    })
}

/// `backend`: exactly one. More is aggregation, which is unsupported.
fn backend(
    obj: &Obj<'_>,
    method: Method,
    path: &PathPattern,
    defaults: &Defaults<'_>,
) -> Result<Backend, ConfigError> {
    let list_node = obj.require("backend")?;
    let list = list_node.array()?;
    let node = match list.as_slice() {
        [] => return Err(list_node.error("at least one backend is required")),
        [one] => one,
        many => {
            return Err(list_node.unsupported(format!(
                "aggregation ({} backends) is not supported",
                many.len()
            )));
        }
    };
    let obj = node.object()?;
    let method = obj
        .get("method")?
        .map(|n| Method::from_node(&n))
        .transpose()?
        .unwrap_or(method);
    let hosts = match obj.get("host")? {
        Some(n) if !n.array()?.is_empty() => n
            .array()?
            .iter()
            .map(|item| Upstream::parse(item.str()?, item.path()))
            .collect::<Result<Vec<_>, _>>()?,
        host => {
            if defaults.hosts.is_empty() {
                let field = host.map_or_else(|| obj.child_path("host"), |n| n.path().to_owned());
                return Err(ConfigError::new(
                    field,
                    "no backend host: set it here or at the top level",
                ));
            }
            defaults
                .hosts
                .iter()
                .cloned()
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    let pattern_node = obj.require("url_pattern")?;
    let params: Vec<&str> = path.params().collect();
    let url_pattern = UrlPattern::parse(pattern_node.str()?, &params).map_err(|e| match e {
        UrlPatternError::Invalid(why) => pattern_node.error(why),
        UrlPatternError::Unsupported(why) => pattern_node.unsupported(why),
    })?;
    Ok(Backend {
        hosts,
        url_pattern,
        method,
    })
}
