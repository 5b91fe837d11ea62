//! The REST API's JSON, sans-io: the registration body a gateway posts to `/instances`
//! ([`Registration::parse`]) and every response document, written in the field order
//! CONTRACT.md shows.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use serde_json::{Map, Value};

use super::api::ApiError;

/// The body of `POST /instances`: a gateway announcing its RPC address and filter geometry.
///
/// `ip`, `port`, `n`, `p`, `ttl` and `hash_name` are required; numbers may be JSON numbers or
/// strings holding one (`"port": "1234"`), as gateways of other implementations send them.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    /// The instance's IP address (unspecified, `0.0.0.0`: the caller substitutes the address the
    /// request came from).
    pub ip: IpAddr,
    /// Its RPC port.
    pub port: u16,
    /// Its `N`.
    pub n: u64,
    /// Its `P`.
    pub p: f64,
    /// Its `TTL`, seconds.
    pub ttl: u64,
    /// Its `hash_name` (any string; bloomgate hashes both names alike).
    pub hash_name: String,
    /// Optional: an id that changes when the instance restarts (its filter is then empty and
    /// gets a full sync again).
    pub instance_id: Option<String>,
    /// Optional, informational.
    pub cluster_id: Option<String>,
    /// Optional, informational.
    pub cn: Option<String>,
}

impl Registration {
    /// Parses and validates a body.
    pub fn parse(body: &[u8]) -> Result<Registration, ApiError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
        let Value::Object(obj) = value else {
            return Err(ApiError::BadRequest("expected a JSON object".into()));
        };
        let ip_text = string(&obj, "ip")?.ok_or_else(|| missing("ip"))?;
        let ip = ip_text
            .trim()
            .parse::<IpAddr>()
            .map_err(|_| ApiError::BadRequest(format!("ip: {ip_text:?} is not an IP address")))?;
        let port = integer(&obj, "port")?;
        let port = u16::try_from(port)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| {
                ApiError::BadRequest(format!("port: must be in 1..=65535, got {port}"))
            })?;
        let n = integer(&obj, "n")?;
        let p = float(&obj, "p")?;
        let ttl = integer(&obj, "ttl")?;
        let hash_name = string(&obj, "hash_name")?.ok_or_else(|| missing("hash_name"))?;
        Ok(Registration {
            ip,
            port,
            n,
            p,
            ttl,
            hash_name,
            instance_id: string(&obj, "instance_id")?,
            cluster_id: string(&obj, "cluster_id")?,
            cn: string(&obj, "cn")?,
        })
    }

    /// `ip:port`, the instance's name everywhere in the API.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.port)
    }
}

fn missing(field: &str) -> ApiError {
    ApiError::BadRequest(format!("{field}: required"))
}

/// An optional string field (`null` = absent).
fn string(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::BadRequest(format!("{field}: must be a string"))),
    }
}

/// A required non-negative integer: a JSON number (`1500`, `1500.0`) or a string holding one.
fn integer(obj: &Map<String, Value>, field: &str) -> Result<u64, ApiError> {
    let bad = || ApiError::BadRequest(format!("{field}: must be a non-negative integer"));
    match obj.get(field) {
        None | Some(Value::Null) => Err(missing(field)),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().and_then(integral))
            .ok_or_else(bad),
        Some(Value::String(s)) => {
            let s = s.trim();
            s.parse::<u64>()
                .ok()
                .or_else(|| s.parse::<f64>().ok().and_then(integral))
                .ok_or_else(bad)
        }
        Some(_) => Err(bad()),
    }
}

fn integral(f: f64) -> Option<u64> {
    (f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 1.8e19).then_some(f as u64)
}

/// A required finite number, or a string holding one.
fn float(obj: &Map<String, Value>, field: &str) -> Result<f64, ApiError> {
    let bad = || ApiError::BadRequest(format!("{field}: must be a number"));
    let f = match obj.get(field) {
        None | Some(Value::Null) => return Err(missing(field)),
        Some(Value::Number(n)) => n.as_f64().ok_or_else(bad)?,
        Some(Value::String(s)) => s.trim().parse::<f64>().map_err(|_| bad())?,
        Some(_) => return Err(bad()),
    };
    if f.is_finite() { Ok(f) } else { Err(bad()) }
}

/// `{"error":"..."}`.
pub fn error(message: &str) -> String {
    format!("{{\"error\":{}}}", quote(message))
}

/// `{"instances":["ip:port",...]}`.
pub fn instances(addrs: &[SocketAddr]) -> String {
    let mut out = String::from("{\"instances\":[");
    list(&mut out, addrs.iter().map(ToString::to_string));
    out.push_str("]}");
    out
}

/// `{"hits":[...],"misses":[...]}`.
pub fn hits(hits: &[String], misses: &[String]) -> String {
    let mut out = String::from("{\"hits\":[");
    list(&mut out, hits.iter().cloned());
    out.push_str("],\"misses\":[");
    list(&mut out, misses.iter().cloned());
    out.push_str("]}");
    out
}

/// What `GET /status` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusView<'a> {
    /// `N`.
    pub n: u64,
    /// `P`.
    pub p: f64,
    /// `hash_name`.
    pub hash_name: &'a str,
    /// `TTL`, seconds.
    pub ttl: u64,
    /// `revoke_server_max_workers`.
    pub workers: u32,
    /// `revoke_server_ping_interval`, nanoseconds (as Go's `time.Duration` prints in JSON).
    pub ping_interval_ns: u128,
    /// `revoke_server_max_retries`.
    pub max_retries: u32,
    /// The current generation's `inserted / N`, 0–100.
    pub percentage_consumed: f64,
}

/// `{"config":{"Seed":"","N":...,"P":...,"HashName":"...","TTL":...,"Workers":...,
/// "PingInterval":...,"MaxRetries":...},"percentage_consumed":...}`.
pub fn status(view: &StatusView<'_>) -> String {
    let mut out = String::with_capacity(192);
    let _ = write!(
        out,
        "{{\"config\":{{\"Seed\":\"\",\"N\":{},\"P\":{},\"HashName\":{},\"TTL\":{},\"Workers\":{},\"PingInterval\":{},\"MaxRetries\":{}}},\"percentage_consumed\":{}}}",
        view.n,
        number(view.p),
        quote(view.hash_name),
        view.ttl,
        view.workers,
        view.ping_interval_ns,
        view.max_retries,
        number(view.percentage_consumed.clamp(0.0, 100.0)),
    );
    out
}

fn list(out: &mut String, items: impl Iterator<Item = String>) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&quote(&item));
    }
}

/// A JSON string literal.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// A JSON number (0 for a non-finite value, which JSON cannot hold).
fn number(f: f64) -> String {
    if f.is_finite() {
        serde_json::to_string(&f).unwrap_or_else(|_| "0".into())
    } else {
        "0".into()
    }
}

#[cfg(test)]
mod tests;
