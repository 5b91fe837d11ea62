//! Self-registration: a gateway with `revoke_server_ping_url` POSTs its registration to the
//! Revoke Server every `revoke_server_ping_interval`, reporting the RPC address the revoker
//! should push to. Failures back off (up to the interval) and are logged once per change of
//! state, never once per attempt; a 409 (geometry mismatch) is logged as an error naming both
//! geometries.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use event::net::Stream;

use crate::settings::{HttpUrl, RevokerSettings};

/// The bound on one registration exchange.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of a response read (status line and a short error body).
const MAX_RESPONSE: usize = 16 * 1024;

/// What one ping achieved: its state, logged when it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PingOutcome {
    /// 200/201: registered (and, for a new instance, synced).
    Registered,
    /// 409: the revoker's geometry differs; the message is the revoker's.
    GeometryMismatch(String),
    /// Another status.
    Refused(u16, String),
    /// No answer: connect, resolve or read failed.
    Unreachable(String),
}

/// The JSON body of a registration (CONTRACT.md `POST /instances`).
pub fn registration_body(
    settings: &RevokerSettings,
    ip: IpAddr,
    rpc_port: u16,
    instance_id: &str,
) -> String {
    let mut body = String::with_capacity(160);
    let _ = write!(
        body,
        "{{\"ip\":\"{ip}\",\"port\":{rpc_port},\"n\":{},\"p\":{:e},\"ttl\":{},\"hash_name\":\"{}\",\"instance_id\":\"{}\"}}",
        settings.n(),
        settings.p(),
        settings.ttl_secs(),
        settings.hash_name.as_str(),
        json_escape(instance_id),
    );
    body
}

/// The status code and body of an HTTP/1.x response, if the bytes hold a whole head.
pub fn parse_response(bytes: &[u8]) -> Option<(u16, &[u8])> {
    let line_end = bytes.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&bytes[..line_end]).ok()?;
    let mut parts = line.splitn(3, ' ');
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let status = parts.next()?.parse().ok()?;
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    Some((status, &bytes[head_end + 4..]))
}

/// Pings until `shutdown`: registers at once, then every interval; after a failure retries
/// sooner (1 s, doubling up to the interval).
pub async fn run(
    settings: RevokerSettings,
    url: HttpUrl,
    rpc_ip: Option<IpAddr>,
    rpc_port: u16,
    shutdown: Arc<AtomicBool>,
) {
    let instance_id = format!("bloomgate-{}-{rpc_port}", std::process::id());
    let mut last: Option<PingOutcome> = None;
    let mut backoff = Duration::from_secs(1);
    while !shutdown.load(Ordering::Relaxed) {
        let outcome = ping(&settings, &url, rpc_ip, rpc_port, &instance_id).await;
        if last.as_ref() != Some(&outcome) {
            log_change(&settings, &url, &outcome);
        }
        let wait = if outcome == PingOutcome::Registered {
            backoff = Duration::from_secs(1);
            settings.ping_interval
        } else {
            let wait = backoff.min(settings.ping_interval);
            backoff = (backoff * 2).min(settings.ping_interval);
            wait
        };
        last = Some(outcome);
        sleep_unless(wait, &shutdown).await;
    }
}

/// One registration.
pub async fn ping(
    settings: &RevokerSettings,
    url: &HttpUrl,
    rpc_ip: Option<IpAddr>,
    rpc_port: u16,
    instance_id: &str,
) -> PingOutcome {
    let exchange = async {
        let addr = resolve(url)?;
        let mut stream = Stream::connect(addr, EXCHANGE_TIMEOUT)
            .await
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + EXCHANGE_TIMEOUT;
        // Report the address the revoker can reach us at: the configured one, else the local
        // end of this very connection.
        let ip = match rpc_ip {
            Some(ip) if !ip.is_unspecified() => ip,
            _ => stream.local_addr().map_err(|e| e.to_string())?.ip(),
        };
        let body = registration_body(settings, ip, rpc_port, instance_id);
        let mut request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            url.path,
            url.authority(),
            body.len()
        );
        if let Some(key) = &settings.api_key {
            let _ = write!(request, "Authorization: bearer {}\r\n", key.expose());
        }
        request.push_str("\r\n");
        request.push_str(&body);
        stream
            .write_all_by(request.as_bytes(), Some(deadline))
            .await
            .map_err(|e| e.to_string())?;
        let mut response = Vec::with_capacity(1024);
        let mut buf = [0u8; 4096];
        loop {
            let n = stream
                .read_by(&mut buf, Some(deadline))
                .await
                .map_err(|e| e.to_string())?;
            if n == 0 || response.len() + n > MAX_RESPONSE {
                response.extend_from_slice(&buf[..n.min(MAX_RESPONSE - response.len())]);
                break;
            }
            response.extend_from_slice(&buf[..n]);
        }
        let (status, body) =
            parse_response(&response).ok_or_else(|| "not an HTTP response".to_string())?;
        let body = String::from_utf8_lossy(body).trim().to_string();
        Ok::<_, String>(match status {
            200 | 201 => PingOutcome::Registered,
            409 => PingOutcome::GeometryMismatch(body),
            other => PingOutcome::Refused(other, body),
        })
    };
    let timeout = async {
        event::sleep(EXCHANGE_TIMEOUT * 2).await;
        Err("timed out".to_string())
    };
    futures_lite::future::or(exchange, timeout)
        .await
        .unwrap_or_else(PingOutcome::Unreachable)
}

fn resolve(url: &HttpUrl) -> Result<SocketAddr, String> {
    // A literal address needs no lookup; a name is resolved (blocking, on the admin core only).
    (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", url.host))?
        .next()
        .ok_or_else(|| format!("{} has no address", url.host))
}

fn log_change(settings: &RevokerSettings, url: &HttpUrl, outcome: &PingOutcome) {
    match outcome {
        PingOutcome::Registered => eprintln!("bloomgate: registered with the revoke server {url}"),
        PingOutcome::GeometryMismatch(message) => eprintln!(
            "bloomgate: error: the revoke server {url} refused this gateway's filter geometry (409): ours is N={} P={} TTL={}s hash_name={}; the server says: {message}",
            settings.n(),
            settings.p(),
            settings.ttl_secs(),
            settings.hash_name.as_str()
        ),
        PingOutcome::Refused(status, message) => {
            eprintln!(
                "bloomgate: warning: the revoke server {url} answered {status} to registration: {message}"
            )
        }
        PingOutcome::Unreachable(why) => {
            eprintln!(
                "bloomgate: warning: the revoke server {url} is unreachable ({why}); retrying with backoff"
            )
        }
    }
}

async fn sleep_unless(wait: Duration, shutdown: &AtomicBool) {
    let step = Duration::from_millis(100);
    let mut left = wait;
    while !left.is_zero() && !shutdown.load(Ordering::Relaxed) {
        let nap = left.min(step);
        event::sleep(nap).await;
        left = left.saturating_sub(nap);
    }
}

fn json_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            '"' => vec!['\\', '"'],
            '\\' => vec!['\\', '\\'],
            c if (c as u32) < 0x20 => format!("\\u{:04x}", c as u32).chars().collect(),
            c => vec![c],
        })
        .collect()
}

#[cfg(test)]
mod tests;
