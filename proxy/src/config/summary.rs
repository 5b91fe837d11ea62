//! The report `bloomgate check` prints: stable, human-readable, one fact per line.

use std::fmt;

use admin::settings::RevokerSettings;

use super::duration::format_duration;
use super::{Config, Endpoint};

#[cfg(test)]
mod tests;

const MIB: f64 = 1024.0 * 1024.0;

/// `Display`s a [`Config`] as `bloomgate check` reports it.
#[derive(Debug, Clone, Copy)]
pub struct Summary<'a> {
    config: &'a Config,
}

impl<'a> Summary<'a> {
    pub(crate) fn new(config: &'a Config) -> Summary<'a> {
        Summary { config }
    }
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.config;
        let source = if c.source.is_empty() {
            "<config>"
        } else {
            &c.source
        };
        writeln!(f, "config: {source}: OK")?;
        writeln!(f, "version: 3")?;
        writeln!(f, "listen: {}", c.listen_addr())?;
        writeln!(
            f,
            "timeouts: backend {}, read header {}, idle {}, shutdown wait {}",
            format_duration(c.timeout),
            format_duration(c.read_header_timeout),
            format_duration(c.idle_timeout),
            format_duration(c.max_shutdown_wait_time),
        )?;
        writeln!(f, "max header bytes: {}", c.max_header_bytes)?;
        writeln!(f, "access log: {}", if c.access_log { "on" } else { "off" })?;
        writeln!(
            f,
            "endpoints: {} ({} skipped)",
            c.endpoints.len(),
            c.skipped.len()
        )?;
        for endpoint in &c.endpoints {
            writeln!(f, "  {}", EndpointLine(endpoint))?;
        }
        writeln!(f, "warnings: {}", c.warnings.len())?;
        for warning in &c.warnings {
            writeln!(f, "  {warning}")?;
        }
        writeln!(f, "skipped: {}", c.skipped.len())?;
        for skipped in &c.skipped {
            writeln!(f, "  {skipped}")?;
        }
        match &c.revoker {
            None => writeln!(
                f,
                "revoker: none (no auth/revoker section: tokens are not checked for revocation)"
            )?,
            Some(r) => revoker(f, r)?,
        }
        if let Some(admin) = &c.admin {
            let ip = admin
                .rpc_listen_ip
                .map_or_else(|| "all interfaces".to_owned(), |ip| ip.to_string());
            writeln!(
                f,
                "admin: Revoke Server REST API on port {}, RPC bound to {ip}",
                admin.port
            )?;
        }
        if let Some(p) = &c.persistence {
            writeln!(f, "persistence: {}", p.dir.display())?;
        }
        Ok(())
    }
}

/// `GET /a/{id} -> http://h:80/b/{id}  [jwt HS256, jwk_local_path=...]`.
struct EndpointLine<'a>(&'a Endpoint);

impl fmt::Display for EndpointLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.0;
        let b = &e.backend;
        write!(f, "{} {} -> ", e.method, e.path)?;
        if b.method != e.method {
            write!(f, "{} ", b.method)?;
        }
        match b.hosts.as_slice() {
            [one] => write!(f, "{one}")?,
            many => {
                let list: Vec<String> = many.iter().map(ToString::to_string).collect();
                write!(f, "[{}]", list.join(", "))?;
            }
        }
        write!(f, "{}", b.url_pattern)?;
        match &e.validator {
            Some(v) => write!(f, "  [{}]", v.describe()),
            None => write!(f, "  [public]"),
        }
    }
}

fn revoker(f: &mut fmt::Formatter<'_>, r: &RevokerSettings) -> fmt::Result {
    let g = &r.geometry;
    writeln!(f, "revoker:")?;
    writeln!(
        f,
        "  N: {}, P: {}, TTL: {}s, hash_name: {}",
        r.n(),
        r.p(),
        r.ttl_secs(),
        r.hash_name
    )?;
    let keys = if r.token_keys.is_empty() {
        "(none)".to_owned()
    } else {
        r.token_keys.join(", ")
    };
    writeln!(f, "  token_keys: {keys}")?;
    match r.rpc_port {
        Some(port) => writeln!(f, "  RPC port: {port}")?,
        None => writeln!(f, "  RPC port: none")?,
    }
    match &r.ping_url {
        Some(url) => writeln!(
            f,
            "  revoke server: {url}, ping every {}",
            format_duration(r.ping_interval)
        )?,
        None => writeln!(f, "  revoke server: none")?,
    }
    writeln!(
        f,
        "  api key: {}, max workers: {}, max retries: {}",
        if r.api_key.is_some() {
            "set"
        } else {
            "not set"
        },
        r.max_workers,
        r.max_retries
    )?;
    writeln!(
        f,
        "  geometry: {} bits = {} {} blocks of {} bits, k={}, design rate {:.3e}",
        g.bits(),
        g.blocks(),
        g.placement(),
        g.block_bits(),
        g.k(),
        g.design_fpr()
    )?;
    writeln!(
        f,
        "  classic (KrakenD): {} bits, k={}; this layout is {:.3}x that",
        g.classic().bits,
        g.classic().k,
        g.bytes_ratio_to_optimal()
    )?;
    let bytes = g.bytes();
    writeln!(
        f,
        "  memory: {bytes} bytes ({:.1} MiB) per generation, {:.1} MiB for both generations",
        bytes as f64 / MIB,
        2.0 * bytes as f64 / MIB
    )
}
