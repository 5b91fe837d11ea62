//! Service-level revocation sections: `auth/revoker` (case-insensitive keys, as KrakenD binds
//! them), and bloomgate's own `bloomgate/admin` and `bloomgate/persistence`.
//!
//! A present but bad `auth/revoker` section is an error: revocation is never silently off
//! (KrakenD CE logs a warning and runs without it).

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use admin::settings::{
    AdminSettings, ApiKey, HashName, HttpUrl, PersistenceSettings, RevokerSettings,
};
use bloom::{Geometry, GeometryError};

use super::error::ConfigError;
use super::node::{Node, Obj};
use super::url::{Scheme, parse_url};

#[cfg(test)]
mod tests;

/// The largest `TTL`, in seconds: `2·TTL` in nanoseconds still fits an `i64`.
pub const MAX_TTL_SECS: u64 = u32::MAX as u64;

/// Reads `auth/revoker`. `rpc_port` (`--rpc-port`) beats the section's `port`.
pub(crate) fn revoker_settings(
    section: &Node<'_>,
    rpc_port: Option<u16>,
) -> Result<RevokerSettings, ConfigError> {
    let obj = section.object()?;
    let n_node = obj.get_ci("N")?.ok_or_else(|| missing(&obj, "N"))?;
    let n = n_node.integral()?;
    let n = u64::try_from(n)
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| n_node.error(format!("must be an integer >= 1, got {n}")))?;
    let p_node = obj.get_ci("P")?.ok_or_else(|| missing(&obj, "P"))?;
    let p = p_node.f64()?;
    if !(p > 0.0 && p < 1.0) {
        return Err(p_node.error(format!("must be in (0,1), got {p}")));
    }
    let geometry = Geometry::new(n, p).map_err(|e| match e {
        GeometryError::RateOutOfRange(_) => p_node.error(format!("must be in (0,1), got {p}")),
        GeometryError::ZeroCapacity => n_node.error("must be an integer >= 1, got 0"),
        GeometryError::TooLarge { .. } => n_node.error(e.to_string()),
    })?;
    let ttl_node = obj.get_ci("TTL")?.ok_or_else(|| missing(&obj, "TTL"))?;
    let ttl = ttl_node.integral()?;
    let ttl = u64::try_from(ttl)
        .ok()
        .filter(|t| (1..=MAX_TTL_SECS).contains(t))
        .ok_or_else(|| {
            ttl_node.error(format!(
                "must be a number of seconds in 1..={MAX_TTL_SECS}, got {ttl}"
            ))
        })?;
    let hash_name = match obj.get_ci("hash_name")? {
        None => HashName::Optimal,
        Some(node) => match node.str()? {
            "optimal" => HashName::Optimal,
            "default" => HashName::Default,
            other => {
                return Err(
                    node.error(format!("must be \"optimal\" or \"default\", got {other:?}"))
                );
            }
        },
    };
    let file_port = obj
        .get_ci("port")?
        .map(|node| lenient_port(&node))
        .transpose()?;
    let token_keys = match obj.get_ci("token_keys")? {
        None => Vec::new(),
        Some(node) => {
            let keys = node.str_list()?;
            if let Some(i) = keys.iter().position(String::is_empty) {
                return Err(ConfigError::new(
                    format!("{}[{i}]", node.path()),
                    "must not be empty",
                ));
            }
            keys
        }
    };
    let ping_url = obj
        .get_ci("revoke_server_ping_url")?
        .map(|node| ping_url(&node))
        .transpose()?;
    let ping_interval = match obj.get_ci("revoke_server_ping_interval")? {
        None => RevokerSettings::DEFAULT_PING_INTERVAL,
        Some(node) => node.positive_duration()?,
    };
    let api_key = match obj.get_ci("revoke_server_api_key")? {
        None => None,
        Some(node) => {
            let key = node.str()?;
            if key.is_empty() {
                return Err(node.error("must not be empty"));
            }
            Some(ApiKey::new(key.to_owned()))
        }
    };
    let max_workers = match obj.get_ci("revoke_server_max_workers")? {
        None => RevokerSettings::DEFAULT_MAX_WORKERS,
        Some(node) => {
            let n = node.integral()?;
            u32::try_from(n).ok().filter(|n| *n >= 1).ok_or_else(|| {
                node.error(format!("must be an integer in 1..={}, got {n}", u32::MAX))
            })?
        }
    };
    let max_retries = match obj.get_ci("revoke_server_max_retries")? {
        None => 0,
        Some(node) => {
            let n = node.integral()?;
            u32::try_from(n.max(0))
                .map_err(|_| node.error(format!("must be at most {}, got {n}", u32::MAX)))?
        }
    };
    Ok(RevokerSettings {
        geometry,
        ttl: Duration::from_secs(ttl),
        hash_name,
        rpc_port: rpc_port.or(file_port),
        token_keys,
        ping_url,
        ping_interval,
        api_key,
        max_workers,
        max_retries,
    })
}

/// Reads `bloomgate/admin`.
pub(crate) fn admin_settings(section: &Node<'_>) -> Result<AdminSettings, ConfigError> {
    let obj = section.object()?;
    let port = obj.require("port")?.port()?;
    let rpc_listen_ip = match obj.get("rpc_listen_ip")? {
        None => None,
        Some(node) => Some(parse_ip(&node)?),
    };
    Ok(AdminSettings {
        port,
        rpc_listen_ip,
    })
}

/// Reads `bloomgate/persistence`; a relative `dir` resolves against `base_dir`.
pub(crate) fn persistence_settings(
    section: &Node<'_>,
    base_dir: &Path,
) -> Result<PersistenceSettings, ConfigError> {
    let obj = section.object()?;
    let node = obj.require("dir")?;
    let dir = node.str()?;
    if dir.is_empty() {
        return Err(node.error("must not be empty"));
    }
    let ignore_corrupt = match obj.get("ignore_corrupt")? {
        None => false,
        Some(node) => node.bool()?,
    };
    Ok(PersistenceSettings {
        dir: base_dir.join(dir),
        ignore_corrupt,
    })
}

/// An IP address string (`"10.0.0.1"`, `"::1"`).
pub(crate) fn parse_ip(node: &Node<'_>) -> Result<IpAddr, ConfigError> {
    let s = node.str()?;
    s.parse()
        .map_err(|_| node.error(format!("{s:?} is not an IP address")))
}

fn missing(obj: &Obj<'_>, key: &str) -> ConfigError {
    ConfigError::new(obj.child_path(key), "required")
}

/// A port number, also written as an integral float (`1234.0`), as KrakenD's revoker binds it.
fn lenient_port(node: &Node<'_>) -> Result<u16, ConfigError> {
    let n = node.integral()?;
    u16::try_from(n).map_err(|_| node.error(format!("must be a port number (0-65535), got {n}")))
}

/// `revoke_server_ping_url`: an absolute `http://` URL (bloomgate has no TLS client).
fn ping_url(node: &Node<'_>) -> Result<HttpUrl, ConfigError> {
    let raw = node.str()?;
    let url = parse_url(raw, false).map_err(|why| node.error(why))?;
    if url.scheme == Scheme::Https {
        return Err(node.error(format!("{raw:?}: https is not supported here; use http")));
    }
    let path = if url.path.is_empty() {
        "/".to_owned()
    } else {
        url.path
    };
    Ok(HttpUrl {
        host: url.host,
        port: url.port,
        path,
    })
}
