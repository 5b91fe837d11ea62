//! `extra_config."auth/validator"` on an endpoint: which tokens it accepts. Only parsed and
//! validated here; the JWK set itself is read and checked by the JWT module at start.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::duration::format_duration;
use super::error::{ConfigError, Warning};
use super::node::{Node, Obj};
use super::url::{Scheme, parse_url};

#[cfg(test)]
mod tests;

/// The default `roles_key`.
pub const DEFAULT_ROLES_KEY: &str = "roles";
/// The default `cookie_key`.
pub const DEFAULT_COOKIE_KEY: &str = "access_token";
/// The default (and minimum) `leeway`.
pub const MIN_LEEWAY: Duration = Duration::from_secs(1);
/// The default `cache_duration` of a `jwk_url` key set.
pub const DEFAULT_CACHE_DURATION: Duration = Duration::from_secs(900);

/// A token's signature algorithm (`alg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    EdDSA,
    HS256,
    HS384,
    HS512,
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
}

impl Alg {
    /// Every supported algorithm, in the order the docs list them.
    pub const ALL: [Alg; 12] = [
        Alg::EdDSA,
        Alg::HS256,
        Alg::HS384,
        Alg::HS512,
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::ES256,
        Alg::ES384,
    ];

    /// The JOSE name, as in a token header.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::EdDSA => "EdDSA",
            Alg::HS256 => "HS256",
            Alg::HS384 => "HS384",
            Alg::HS512 => "HS512",
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
        }
    }

    /// The algorithm named exactly `name` (case-sensitive, as in JOSE).
    pub fn from_name(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the verification keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `jwk_local_path`: a JWK Set file, read at start. The path is resolved against the config
    /// file's directory and was readable when the config was loaded.
    Local {
        /// The resolved path.
        path: PathBuf,
    },
    /// `jwk_url`: a JWK Set fetched at start and refreshed every `cache_duration`.
    Remote {
        /// The URL.
        url: JwkUrl,
        /// `cache_duration` (seconds in the file; default 900 s, at least 1 s).
        cache_duration: Duration,
    },
}

/// A `jwk_url`, split for a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwkUrl {
    /// As written in the config.
    pub raw: String,
    /// `https` (or `http`, allowed only with `disable_jwk_security`).
    pub scheme: Scheme,
    /// Host name (lowercase) or IP address (IPv6 without brackets).
    pub host: String,
    /// Port (the scheme's default when absent).
    pub port: u16,
    /// `host[:port]` as written: the `Host` header.
    pub host_header: String,
    /// Path and query, starting with `/`.
    pub path: String,
    /// `disable_jwk_security`: plain `http` allowed, TLS certificates not verified.
    pub insecure: bool,
}

/// `scopes_matcher`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopesMatcher {
    /// `any` (the default): one listed scope is enough.
    Any,
    /// `all`: every listed scope is required.
    All,
}

/// One `propagate_claims` pair: the claim's value is **set** as this request header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropagateClaim {
    /// The claim name.
    pub claim: String,
    /// The header name, as written (a valid HTTP token).
    pub header: String,
}

/// A validated `auth/validator` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorSettings {
    /// `alg` (required): the token header's `alg` must equal it.
    pub alg: Alg,
    /// `jwk_local_path` or `jwk_url` (one is required; the local file wins when both are set).
    pub keys: KeySource,
    /// `audience`: every entry must be in the token's `aud`.
    pub audience: Vec<String>,
    /// `issuer`: exact match on `iss`.
    pub issuer: Option<String>,
    /// `roles_key` (default `roles`).
    pub roles_key: String,
    /// `roles_key_is_nested`: `roles_key` is a dotted path into nested objects
    /// (`realm_access.roles`), as KrakenD.
    pub roles_key_is_nested: bool,
    /// `roles`: any of them is enough; empty means no role check.
    pub roles: Vec<String>,
    /// `scopes_key`: where the scopes are; `None` means no scope check.
    pub scopes_key: Option<String>,
    /// `scopes`: required scopes (see `scopes_matcher`).
    pub scopes: Vec<String>,
    /// `scopes_matcher` (default `any`).
    pub scopes_matcher: ScopesMatcher,
    /// `propagate_claims`: claims copied to request headers.
    pub propagate_claims: Vec<PropagateClaim>,
    /// `cookie_key` (default `access_token`): read when there is no `Authorization` header.
    pub cookie_key: String,
    /// `leeway` (default and minimum 1 s): clock skew allowed for `exp`, `nbf`, `iat`.
    pub leeway: Duration,
}

impl ValidatorSettings {
    /// Reads the section at `section`. Relative `jwk_local_path`s resolve against `base_dir`.
    pub(crate) fn from_node(
        section: &Node<'_>,
        base_dir: &Path,
        warnings: &mut Vec<Warning>,
    ) -> Result<ValidatorSettings, ConfigError> {
        let obj = section.object()?;
        let alg = parse_alg(&obj.require("alg")?)?;
        let keys = key_source(&obj, base_dir, warnings)?;
        if let Some(node) = obj.get("key_identify_strategy")? {
            match node.str()? {
                "kid" => {}
                s @ ("x5t" | "x5t#S256" | "kid_x5t") => {
                    return Err(node.unsupported(format!("{s:?} is not supported (only \"kid\")")));
                }
                other => {
                    return Err(node.error(format!("unknown strategy {other:?} (only \"kid\")")));
                }
            }
        }
        if let Some(node) = obj.get("auth_header_name")? {
            let name = node.str()?;
            if !name.eq_ignore_ascii_case("authorization") {
                return Err(node.unsupported(format!(
                    "{name:?}: reading the token from another header than Authorization is not supported"
                )));
            }
        }
        if let Some(node) = obj.get("cypher_key")? {
            return Err(node.unsupported("encrypted JWK sets (cypher_key) are not supported"));
        }
        let scopes_matcher = match obj.get("scopes_matcher")? {
            None => ScopesMatcher::Any,
            Some(node) => match node.str()? {
                "any" => ScopesMatcher::Any,
                "all" => ScopesMatcher::All,
                other => {
                    return Err(node.error(format!("must be \"any\" or \"all\", got {other:?}")));
                }
            },
        };
        let leeway = match obj.get("leeway")? {
            None => MIN_LEEWAY,
            Some(node) => {
                let leeway = node.duration()?;
                if leeway < MIN_LEEWAY {
                    warnings.push(Warning::new(
                        node.path(),
                        format!(
                            "{} is below the minimum; using 1s, as KrakenD",
                            format_duration(leeway)
                        ),
                    ));
                }
                leeway.max(MIN_LEEWAY)
            }
        };
        Ok(ValidatorSettings {
            alg,
            keys,
            audience: opt_list(&obj, "audience")?,
            issuer: opt_string(&obj, "issuer")?,
            roles_key: opt_string(&obj, "roles_key")?
                .unwrap_or_else(|| DEFAULT_ROLES_KEY.to_owned()),
            roles_key_is_nested: obj
                .get("roles_key_is_nested")?
                .map(|n| n.bool())
                .transpose()?
                .unwrap_or(false),
            roles: opt_list(&obj, "roles")?,
            scopes_key: opt_string(&obj, "scopes_key")?,
            scopes: opt_list(&obj, "scopes")?,
            scopes_matcher,
            propagate_claims: propagate_claims(&obj)?,
            cookie_key: opt_string(&obj, "cookie_key")?
                .unwrap_or_else(|| DEFAULT_COOKIE_KEY.to_owned()),
            leeway,
        })
    }

    /// A short description for `check`: `jwt HS256, jwk_local_path=/etc/jwk.json`.
    pub fn describe(&self) -> String {
        match &self.keys {
            KeySource::Local { path } => {
                format!("jwt {}, jwk_local_path={}", self.alg, path.display())
            }
            KeySource::Remote { url, .. } => format!("jwt {}, jwk_url={}", self.alg, url.raw),
        }
    }
}

fn parse_alg(node: &Node<'_>) -> Result<Alg, ConfigError> {
    let name = node.str()?;
    if let Some(alg) = Alg::from_name(name) {
        return Ok(alg);
    }
    if name == "ES512" {
        return Err(node.unsupported("ES512 is not supported"));
    }
    let known: Vec<&str> = Alg::ALL.iter().map(|a| a.as_str()).collect();
    Err(node.error(format!(
        "unknown algorithm {name:?}; expected one of {}",
        known.join(", ")
    )))
}

fn key_source(
    obj: &Obj<'_>,
    base_dir: &Path,
    warnings: &mut Vec<Warning>,
) -> Result<KeySource, ConfigError> {
    let insecure = obj
        .get("disable_jwk_security")?
        .map(|n| n.bool())
        .transpose()?
        .unwrap_or(false);
    let local = obj.get("jwk_local_path")?;
    let url = obj.get("jwk_url")?;
    if let Some(node) = local {
        if let Some(url) = &url {
            warnings.push(Warning::new(
                url.path(),
                "ignored: jwk_local_path is set and wins, as in KrakenD",
            ));
        }
        let raw = node.str()?;
        if raw.is_empty() {
            return Err(node.error("must not be empty"));
        }
        let path = base_dir.join(raw);
        check_readable(&path)
            .map_err(|why| node.error(format!("cannot read {}: {why}", path.display())))?;
        return Ok(KeySource::Local { path });
    }
    let Some(node) = url else {
        return Err(obj.error("one of jwk_url or jwk_local_path is required"));
    };
    let raw = node.str()?;
    let parsed = parse_url(raw, false).map_err(|why| node.error(why))?;
    if parsed.scheme == Scheme::Http && !insecure {
        return Err(node.error(format!(
            "{raw:?} is plain http: use https, or set disable_jwk_security: true"
        )));
    }
    let cache_duration = match obj.get("cache_duration")? {
        None => DEFAULT_CACHE_DURATION,
        Some(n) => {
            Duration::from_secs(
                n.int_in(1, i128::from(u32::MAX), "a number of seconds >= 1")? as u64,
            )
        }
    };
    let path = if parsed.path.is_empty() {
        "/".to_owned()
    } else {
        parsed.path
    };
    Ok(KeySource::Remote {
        url: JwkUrl {
            raw: raw.to_owned(),
            scheme: parsed.scheme,
            host: parsed.host,
            port: parsed.port,
            host_header: parsed.authority,
            path,
            insecure,
        },
        cache_duration,
    })
}

/// Whether `path` is a file this process can open.
fn check_readable(path: &Path) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if meta.is_file() {
        Ok(())
    } else {
        Err("not a regular file".to_owned())
    }
}

fn opt_string(obj: &Obj<'_>, key: &str) -> Result<Option<String>, ConfigError> {
    obj.get(key)?
        .map(|n| n.str().map(str::to_owned))
        .transpose()
}

fn opt_list(obj: &Obj<'_>, key: &str) -> Result<Vec<String>, ConfigError> {
    Ok(obj
        .get(key)?
        .map(|n| n.str_list())
        .transpose()?
        .unwrap_or_default())
}

/// `propagate_claims`: `[[claim, header], ...]`, each pair exactly two strings, the header a
/// valid HTTP header name.
fn propagate_claims(obj: &Obj<'_>) -> Result<Vec<PropagateClaim>, ConfigError> {
    let Some(node) = obj.get("propagate_claims")? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for pair in node.array()? {
        let items = pair.array()?;
        let [claim, header] = items.as_slice() else {
            return Err(pair.error(format!(
                "expected a [claim, header] pair, got {} items",
                items.len()
            )));
        };
        let (claim, header_name) = (claim.str()?, header.str()?);
        if claim.is_empty() {
            return Err(pair.error("the claim name must not be empty"));
        }
        if !is_header_name(header_name) {
            return Err(header.error(format!("{header_name:?} is not a valid header name")));
        }
        out.push(PropagateClaim {
            claim: claim.to_owned(),
            header: header_name.to_owned(),
        });
    }
    Ok(out)
}

/// An HTTP `token` (RFC 9110): what a header name may be.
pub(crate) fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
