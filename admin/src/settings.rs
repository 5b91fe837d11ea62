//! The control plane's settings, as validated from `krakend.json` by the `proxy` crate's config
//! loader: plain values, no parsing and no serde here.
//!
//! - [`RevokerSettings`]: `extra_config."auth/revoker"` — the filter geometry and how this node
//!   talks to the Revoke Server (the same section in gateways and in the revoker).
//! - [`AdminSettings`]: `extra_config."bloomgate/admin"` — a gateway that also serves the Revoke
//!   Server REST API (one-node mode).
//! - [`PersistenceSettings`]: `extra_config."bloomgate/persistence"` — where revocations are kept.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use bloom::Geometry;

/// `extra_config."auth/revoker"`: the shared filter and the revocation protocol.
///
/// Every value is validated: `N >= 1`, `0 < P < 1` (both inside [`RevokerSettings::geometry`]),
/// `TTL >= 1s`, at least one worker.
#[derive(Debug, Clone, PartialEq)]
pub struct RevokerSettings {
    /// The filter's layout, sized from `N` and `P`.
    pub geometry: Geometry,
    /// `TTL`: the token lifetime and the generation period, in whole seconds (>= 1 s,
    /// <= `u32::MAX` s so that `2·TTL` in nanoseconds fits an `i64`).
    pub ttl: Duration,
    /// `hash_name`: accepted for compatibility; both values use bloomgate's one hash.
    pub hash_name: HashName,
    /// `port` (or `--rpc-port`): the port the admin core's RPC server listens on. A gateway
    /// needs it; the Revoke Server ignores it.
    pub rpc_port: Option<u16>,
    /// `token_keys`: the claims checked against the filter, in order.
    pub token_keys: Vec<String>,
    /// `revoke_server_ping_url`: the Revoke Server's `/instances` URL a gateway registers at.
    pub ping_url: Option<HttpUrl>,
    /// `revoke_server_ping_interval` (default 30 s, > 0).
    pub ping_interval: Duration,
    /// `revoke_server_api_key`: the REST API secret, also used on RPC between nodes.
    pub api_key: Option<ApiKey>,
    /// `revoke_server_max_workers` (default 5, >= 1): concurrent pushes to instances.
    pub max_workers: u32,
    /// `revoke_server_max_retries` (default 0; negative values become 0).
    pub max_retries: u32,
}

impl RevokerSettings {
    /// The default `revoke_server_ping_interval`.
    pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(30);
    /// The default `revoke_server_max_workers`.
    pub const DEFAULT_MAX_WORKERS: u32 = 5;

    /// `N`: revocations one generation holds at rate `P`.
    pub fn n(&self) -> u64 {
        self.geometry.n()
    }

    /// `P`: the target false-positive rate.
    pub fn p(&self) -> f64 {
        self.geometry.p()
    }

    /// `TTL` in seconds.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl.as_secs()
    }
}

/// `hash_name`: KrakenD's two hash families. bloomgate hashes both the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashName {
    /// `optimal` (the default).
    Optimal,
    /// `default`.
    Default,
}

impl HashName {
    /// The name as written in the config and reported by `GET /status`.
    pub fn as_str(self) -> &'static str {
        match self {
            HashName::Optimal => "optimal",
            HashName::Default => "default",
        }
    }
}

impl fmt::Display for HashName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A plain-`http` URL split for a client: `http://host:port/path?query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// The host name or IP address (an IPv6 address without brackets).
    pub host: String,
    /// The port (80 when the URL has none).
    pub port: u16,
    /// The path and query, starting with `/` (`/` when the URL has none).
    pub path: String,
}

impl HttpUrl {
    /// `host:port`, with brackets around an IPv6 address: what to connect to.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority(), self.path)
    }
}

/// `revoke_server_api_key`: a secret. Its `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key; the config loader rejects an empty one.
    pub fn new(key: String) -> ApiKey {
        ApiKey(key)
    }

    /// The key itself, to compare with a request's (in constant time).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey(<{} bytes>)", self.0.len())
    }
}

/// `extra_config."bloomgate/admin"`: this gateway also serves the Revoke Server REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSettings {
    /// `port`: the REST API's port.
    pub port: u16,
    /// `rpc_listen_ip`: the address the RPC port binds to (`None`: every interface).
    pub rpc_listen_ip: Option<IpAddr>,
}

/// `extra_config."bloomgate/persistence"`: revocations survive restarts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistenceSettings {
    /// `dir`: where revocations are written (a relative path in the file is already resolved
    /// against the config file's directory). Not checked at load time.
    pub dir: PathBuf,
    /// `ignore_corrupt` (default false): at start, pass over damaged files (a corrupt record
    /// before the log's tail, a missing segment, no valid snapshot) with a log line instead of
    /// refusing to start. Acknowledged revocations may then be lost.
    pub ignore_corrupt: bool,
}
