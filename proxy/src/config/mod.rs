//! Configuration: `krakend.json` (version 3) read, validated and turned into typed settings in
//! one step, [`Config::from_file`]. Nothing downstream sees JSON.
//!
//! How it is read: simd-json parses the file into a value tree; the `node` module walks it by
//! hand with accessors that know each value's field path, so every problem comes out as one
//! [`ConfigError`] naming the field (`config error: endpoints[2].backend[0].url_pattern: ...`).
//! (No serde mirror types: a hand walk names the exact field of every type error, which serde's
//! errors cannot.)
//! KrakenD's conventions hold: unknown keys and unknown `extra_config` namespaces are ignored,
//! keys starting with `@ $ _ #` are comments, `null` is the same as absent, `auth/revoker` keys
//! match case-insensitively.
//!
//! What it is not: no I/O beyond reading the file (and checking that a `jwk_local_path` can be
//! opened), no network, no JWK parsing. `docs/CONFIG.md` lists every field.

use std::fmt;
use std::io::Read as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use admin::settings::{AdminSettings, PersistenceSettings, RevokerSettings};

mod duration;
mod endpoint;
mod env;
mod error;
mod node;
mod pattern;
mod revoker;
mod summary;
mod upstream;
mod url;
mod validator;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

pub use duration::{DurationError, format_duration, parse_duration};
pub use endpoint::{Backend, Endpoint, Method, NameFilter, VALIDATOR_NAMESPACE};
pub use env::{DEFAULT_PORT, Env, MapEnv, PORT_VAR, ProcessEnv, listen_port};
pub use error::{ConfigError, ErrorKind, Warning};
pub use pattern::{PathPattern, Segment, UrlPart, UrlPattern};
pub use summary::Summary;
pub use upstream::Upstream;
pub use url::Scheme;
pub use validator::{Alg, JwkUrl, KeySource, PropagateClaim, ScopesMatcher, ValidatorSettings};

use node::Node;

/// The only `version` accepted.
pub const VERSION: i128 = 3;
/// Default `timeout`: how long an endpoint waits for its backend's response headers.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default `read_header_timeout`.
pub const DEFAULT_READ_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `idle_timeout`.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default `max_header_bytes` (also used for `0`).
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;
/// Largest `max_header_bytes` accepted.
pub const MAX_MAX_HEADER_BYTES: usize = 16 * 1024 * 1024;
/// Default `max_shutdown_wait_time`.
pub const DEFAULT_MAX_SHUTDOWN_WAIT: Duration = Duration::from_secs(5);
/// Largest config file read.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Namespace of the revocation filter (service level).
pub const REVOKER_NAMESPACE: &str = "auth/revoker";
/// Namespace of bloomgate's one-node Revoke Server REST API (service level).
pub const ADMIN_NAMESPACE: &str = "bloomgate/admin";
/// Namespace of bloomgate's persistence (service level).
pub const PERSISTENCE_NAMESPACE: &str = "bloomgate/persistence";

/// What the config is loaded for: decides which sections are required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `bloomgate run`: an `auth/revoker` section needs an RPC `port` and `token_keys`.
    Gateway,
    /// `bloomgate revoker`: `auth/revoker` with `revoke_server_api_key` is required.
    Revoker,
    /// `bloomgate check`: the requirements of the role the file looks written for (a gateway's
    /// when it has endpoints or `bloomgate/admin`, else the Revoke Server's) become warnings.
    Check,
}

/// What the command line (and the caller) adds to the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overrides {
    /// `--port`: beats `KRAKEND_PORT` and the file's `port`.
    pub port: Option<u16>,
    /// `--rpc-port`: beats `auth/revoker.port`.
    pub rpc_port: Option<u16>,
    /// `--skip-unsupported`: leave out endpoints that use unsupported features, with a warning,
    /// instead of failing.
    pub skip_unsupported: bool,
    /// Which command loads the config.
    pub role: Role,
}

impl Overrides {
    /// No overrides, for `role`.
    pub fn new(role: Role) -> Overrides {
        Overrides {
            port: None,
            rpc_port: None,
            skip_unsupported: false,
            role,
        }
    }
}

/// An endpoint left out by `--skip-unsupported`, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its position in `endpoints`.
    pub index: usize,
    /// Its method.
    pub method: Method,
    /// Its path.
    pub path: PathPattern,
    /// The unsupported feature (kind [`ErrorKind::Unsupported`]).
    pub reason: ConfigError,
}

impl fmt::Display for Skipped {
    /// `warning: endpoints[0] GET /git/{user}: skipped: aggregation (2 backends) is not supported`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = format!("endpoints[{}].", self.index);
        let field = self
            .reason
            .path
            .strip_prefix(&prefix)
            .unwrap_or(&self.reason.path);
        write!(
            f,
            "warning: endpoints[{}] {} {}: skipped: ",
            self.index, self.method, self.path
        )?;
        if field != "backend" {
            write!(f, "{}: ", error::one_line(field))?;
        }
        f.write_str(&error::one_line(&self.reason.message))
    }
}

/// A validated configuration: everything the gateway, the revoker and `check` need.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it came from (for messages); empty for [`Config::from_bytes`].
    pub source: String,
    /// The listening port, after `--port` > `KRAKEND_PORT` > `port` > 8080.
    pub port: u16,
    /// `listen_ip` (`None`: every interface).
    pub listen_ip: Option<IpAddr>,
    /// `timeout` (default 2 s): each endpoint's default.
    pub timeout: Duration,
    /// `read_header_timeout` (default 10 s): time to receive a request's head.
    pub read_header_timeout: Duration,
    /// `idle_timeout` (default 60 s): a keep-alive connection's idle time.
    pub idle_timeout: Duration,
    /// `max_header_bytes` (default 64 KiB): a larger request head gets 431.
    pub max_header_bytes: usize,
    /// `max_shutdown_wait_time` (default 5 s): how long in-flight requests may finish.
    pub max_shutdown_wait_time: Duration,
    /// `true` unless `extra_config.router.disable_access_log`.
    pub access_log: bool,
    /// The endpoints, in file order, without skipped ones.
    pub endpoints: Vec<Endpoint>,
    /// `extra_config."auth/revoker"`: `None` when absent (no revocation check).
    pub revoker: Option<RevokerSettings>,
    /// `extra_config."bloomgate/admin"`.
    pub admin: Option<AdminSettings>,
    /// `extra_config."bloomgate/persistence"`.
    pub persistence: Option<PersistenceSettings>,
    /// Non-fatal remarks, in file order.
    pub warnings: Vec<Warning>,
    /// Endpoints left out by `--skip-unsupported`.
    pub skipped: Vec<Skipped>,
}

impl Config {
    /// Reads and validates the file at `path`. Relative paths inside it (`jwk_local_path`,
    /// `bloomgate/persistence.dir`) resolve against the file's directory.
    pub fn from_file(
        path: &Path,
        env: &dyn Env,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let source = path.display().to_string();
        let bytes = read_limited(path).map_err(|why| ConfigError::new(source.clone(), why))?;
        let base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        load(&bytes, source, base_dir, env, overrides)
    }

    /// Validates a config held in memory; relative paths inside it resolve against `base_dir`.
    pub fn from_bytes(
        bytes: &[u8],
        base_dir: &Path,
        env: &dyn Env,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        load(bytes, String::new(), base_dir, env, overrides)
    }

    /// The address to listen on: `listen_ip` (default `0.0.0.0`) and `port`.
    pub fn listen_addr(&self) -> SocketAddr {
        SocketAddr::new(
            self.listen_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            self.port,
        )
    }

    /// The human-readable report `bloomgate check` prints.
    pub fn summary(&self) -> Summary<'_> {
        Summary::new(self)
    }
}

/// The file's bytes, at most [`MAX_FILE_BYTES`].
fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
    }
    Ok(bytes)
}

fn load(
    bytes: &[u8],
    source: String,
    base_dir: &Path,
    env: &dyn Env,
    overrides: &Overrides,
) -> Result<Config, ConfigError> {
    let document = node::parse_document(bytes, &source)?;
    let root = Node::root(&document);
    let top = root
        .object()
        .map_err(|_| ConfigError::new(source.clone(), "expected a JSON object at the top level"))?;

    let version = top.require("version")?;
    if version.int()? != VERSION {
        return Err(version.error(format!(
            "must be 3 (the krakend.json v3 format), got {}",
            version.int()?
        )));
    }
    let file_port = top.get("port")?.map(|n| n.port()).transpose()?;
    let port = listen_port(overrides.port, env, file_port)?;
    let listen_ip = match top.get("listen_ip")? {
        Some(n) if !n.str()?.is_empty() => Some(revoker::parse_ip(&n)?),
        _ => None,
    };
    let duration_or = |key: &str, default: Duration| -> Result<Duration, ConfigError> {
        Ok(top
            .get(key)?
            .map(|n| n.positive_duration())
            .transpose()?
            .unwrap_or(default))
    };
    let timeout = duration_or("timeout", DEFAULT_TIMEOUT)?;
    let read_header_timeout = duration_or("read_header_timeout", DEFAULT_READ_HEADER_TIMEOUT)?;
    let idle_timeout = duration_or("idle_timeout", DEFAULT_IDLE_TIMEOUT)?;
    let max_shutdown_wait_time = top
        .get("max_shutdown_wait_time")?
        .map(|n| n.duration())
        .transpose()?
        .unwrap_or(DEFAULT_MAX_SHUTDOWN_WAIT);
    let max_header_bytes = match top.get("max_header_bytes")? {
        None => DEFAULT_MAX_HEADER_BYTES,
        Some(n) => match n.int_in(
            0,
            MAX_MAX_HEADER_BYTES as i128,
            "in 0..=16777216 (0: the default)",
        )? {
            0 => DEFAULT_MAX_HEADER_BYTES,
            bytes => bytes as usize,
        },
    };

    let mut warnings = Vec::new();
    let extra = top.get("extra_config")?.map(|n| n.object()).transpose()?;
    let section = |ns: &str| -> Result<Option<Node<'_>>, ConfigError> {
        match &extra {
            Some(obj) => obj.get(ns),
            None => Ok(None),
        }
    };
    let revoker = section(REVOKER_NAMESPACE)?
        .map(|n| revoker::revoker_settings(&n, overrides.rpc_port))
        .transpose()?;
    let admin = section(ADMIN_NAMESPACE)?
        .map(|n| revoker::admin_settings(&n))
        .transpose()?;
    let persistence = section(PERSISTENCE_NAMESPACE)?
        .map(|n| revoker::persistence_settings(&n, base_dir))
        .transpose()?;
    let access_log = match section("router")? {
        None => true,
        Some(router) => !router
            .object()?
            .get("disable_access_log")?
            .map(|n| n.bool())
            .transpose()?
            .unwrap_or(false),
    };

    // An invalid top-level host is an error at once; an unsupported one (`https`) only for
    // the endpoints that use it, so that `--skip-unsupported` can leave those out.
    let hosts: Vec<Result<Upstream, ConfigError>> = match top.get("host")? {
        None => Vec::new(),
        Some(n) => n
            .array()?
            .iter()
            .map(|item| Upstream::parse(item.str()?, item.path()))
            .collect(),
    };
    if let Some(Err(e)) = hosts
        .iter()
        .find(|h| h.as_ref().is_err_and(|e| !e.is_unsupported()))
    {
        return Err(e.clone());
    }
    let output_encoding = top
        .get("output_encoding")?
        .map(|n| Ok::<_, ConfigError>((n.path().to_owned(), n.str()?)))
        .transpose()?;
    let defaults = endpoint::Defaults {
        timeout,
        hosts: &hosts,
        output_encoding,
        base_dir,
    };
    let (endpoints, skipped) =
        endpoints(&top, &defaults, overrides.skip_unsupported, &mut warnings)?;

    let config = Config {
        source,
        port,
        listen_ip,
        timeout,
        read_header_timeout,
        idle_timeout,
        max_header_bytes,
        max_shutdown_wait_time,
        access_log,
        endpoints,
        revoker,
        admin,
        persistence,
        warnings,
        skipped,
    };
    require_for_role(config, overrides.role)
}

/// Reads `endpoints`: each validated; duplicates refused; unsupported ones skipped or fatal.
fn endpoints(
    top: &node::Obj<'_>,
    defaults: &endpoint::Defaults<'_>,
    skip_unsupported: bool,
    warnings: &mut Vec<Warning>,
) -> Result<(Vec<Endpoint>, Vec<Skipped>), ConfigError> {
    let (mut kept, mut skipped) = (Vec::<Endpoint>::new(), Vec::new());
    let Some(list) = top.get("endpoints")? else {
        return Ok((kept, skipped));
    };
    for (index, node) in list.array()?.iter().enumerate() {
        let (method, path) = endpoint::head(node)?;
        let mut local = Vec::new();
        match endpoint::endpoint(node, index, (method, path.clone()), defaults, &mut local) {
            Ok(ep) => {
                if let Some(other) = kept
                    .iter()
                    .find(|o| o.method == ep.method && o.path.shape() == ep.path.shape())
                {
                    return Err(ConfigError::new(
                        format!("endpoints[{index}].endpoint"),
                        format!(
                            "{} {} is already defined by endpoints[{}] ({} {})",
                            ep.method, ep.path, other.index, other.method, other.path
                        ),
                    ));
                }
                warnings.extend(local);
                kept.push(ep);
            }
            Err(e) if e.is_unsupported() && skip_unsupported => {
                skipped.push(Skipped {
                    index,
                    method,
                    path,
                    reason: e,
                });
            }
            Err(e) => return Err(e),
        }
    }
    Ok((kept, skipped))
}

/// Requirements that depend on the command: an error for `run`/`revoker`, a warning for `check`.
/// Requirements of the bloomgate extensions hold for every role.
fn require_for_role(mut config: Config, role: Role) -> Result<Config, ConfigError> {
    let revoker_path = |key: &str| format!("extra_config.{REVOKER_NAMESPACE}.{key}");
    for (present, ns) in [
        (config.admin.is_some(), ADMIN_NAMESPACE),
        (config.persistence.is_some(), PERSISTENCE_NAMESPACE),
    ] {
        if present && config.revoker.is_none() {
            return Err(ConfigError::new(
                format!("extra_config.{ns}"),
                format!("needs an extra_config.{REVOKER_NAMESPACE} section (the filter it serves)"),
            ));
        }
    }
    if config.admin.is_some() && config.revoker.as_ref().is_some_and(|r| r.api_key.is_none()) {
        return Err(ConfigError::new(
            revoker_path("revoke_server_api_key"),
            format!("required with {ADMIN_NAMESPACE}: the REST API is never open"),
        ));
    }
    let mut unmet: Vec<(Role, ConfigError)> = Vec::new();
    match &config.revoker {
        Some(r) => {
            if r.rpc_port.is_none() {
                unmet.push((
                    Role::Gateway,
                    ConfigError::new(
                        revoker_path("port"),
                        "required by a gateway (the RPC port), or pass --rpc-port",
                    ),
                ));
            }
            if r.token_keys.is_empty() {
                unmet.push((
                    Role::Gateway,
                    ConfigError::new(
                        revoker_path("token_keys"),
                        "required by a gateway: the claims checked against the filter",
                    ),
                ));
            }
            if r.api_key.is_none() {
                unmet.push((
                    Role::Revoker,
                    ConfigError::new(
                        revoker_path("revoke_server_api_key"),
                        "required by the Revoke Server: its REST API is never open",
                    ),
                ));
            }
        }
        None => unmet.push((
            Role::Revoker,
            ConfigError::new(
                format!("extra_config.{REVOKER_NAMESPACE}"),
                "required by the Revoke Server",
            ),
        )),
    }
    // `check` does not know which command the file is for: a file with endpoints (or serving
    // the REST API itself) is a gateway's, anything else a Revoke Server's.
    let is_gateway =
        !config.endpoints.is_empty() || !config.skipped.is_empty() || config.admin.is_some();
    let checked_as = if is_gateway {
        Role::Gateway
    } else {
        Role::Revoker
    };
    for (needed_by, error) in unmet {
        if role == needed_by {
            return Err(error);
        }
        if role == Role::Check && checked_as == needed_by {
            let command = if needed_by == Role::Gateway {
                "bloomgate run"
            } else {
                "bloomgate revoker"
            };
            let message = format!(
                "missing: `{command}` will refuse this file ({})",
                error.message
            );
            config.warnings.push(Warning::new(error.path, message));
        }
    }
    Ok(config)
}
