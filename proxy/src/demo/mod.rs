//! `bloomgate demo`: everything on one machine, nothing to prepare. A gateway with one
//! HS256-protected endpoint in front of an embedded echo backend, serving the Revoke Server REST
//! API itself (one-node mode), and on stdout a valid token and the curl lines that call the
//! endpoint (200), revoke the token (201) and call again (401).
//!
//! The pieces that decide something are sans-io and tested: [`config_json`] (the gateway's
//! config), [`mint`] (an HS256 token, signed with ring), [`jwk_set`] and [`instructions`].
//! [`run`] wires them: a random key and API key, the JWK Set in a temporary directory (removed
//! at exit), the echo backend ([`echo`]) on a free port, then the gateway until Ctrl-C.

pub mod echo;

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use crate::config::{Config, ConfigError, Overrides, ProcessEnv, Role};
use crate::jwt::base64url;
use crate::runtime::{Ready, RunOptions, RuntimeError};

/// The gateway's port when `--port` is not given and it is free.
pub const DEFAULT_PORT: u16 = 8080;
/// The protected endpoint.
pub const ENDPOINT: &str = "/protected";
/// The token's lifetime, and the filter's TTL.
pub const TTL_SECS: u64 = 3600;
/// The JWK's `kid`.
const KID: &str = "demo";
/// The token's issuer (checked by the endpoint).
const ISSUER: &str = "bloomgate-demo";

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// No randomness, no temporary directory, no port.
    #[error("demo: {0}")]
    Setup(String),
    /// The generated config was refused (a bug: say so).
    #[error("demo: the generated config is invalid: {0}")]
    Config(#[from] ConfigError),
    /// The gateway could not start.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// The ports and secrets of one demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The gateway's port.
    pub port: u16,
    /// The admin core's RPC port.
    pub rpc_port: u16,
    /// The Revoke Server REST API's port.
    pub rest_port: u16,
    /// The echo backend's port.
    pub backend_port: u16,
    /// `revoke_server_api_key`.
    pub api_key: String,
    /// Where the JWK Set file is.
    pub jwk_path: PathBuf,
}

/// The gateway config for `plan` (a valid `krakend.json`).
pub fn config_json(plan: &Plan) -> String {
    format!(
        r#"{{
  "version": 3,
  "name": "bloomgate demo",
  "listen_ip": "127.0.0.1",
  "port": {port},
  "timeout": "3s",
  "endpoints": [
    {{
      "endpoint": "{ENDPOINT}",
      "method": "GET",
      "backend": [{{"host": ["http://127.0.0.1:{backend}"], "url_pattern": "/echo"}}],
      "extra_config": {{
        "auth/validator": {{"alg": "HS256", "jwk_local_path": {jwk}, "issuer": "{ISSUER}"}}
      }}
    }}
  ],
  "extra_config": {{
    "auth/revoker": {{
      "N": 100000, "P": 0.0000001, "hash_name": "optimal", "TTL": {TTL_SECS},
      "port": {rpc}, "token_keys": ["jti", "sub"],
      "revoke_server_api_key": "{key}"
    }},
    "bloomgate/admin": {{"port": {rest}, "rpc_listen_ip": "127.0.0.1"}}
  }}
}}
"#,
        port = plan.port,
        backend = plan.backend_port,
        jwk = serde_json_string(&plan.jwk_path.display().to_string()),
        rpc = plan.rpc_port,
        key = plan.api_key,
        rest = plan.rest_port,
    )
}

/// A JWK Set holding the HS256 `secret`.
pub fn jwk_set(secret: &[u8]) -> String {
    let mut k = Vec::new();
    base64url::encode(secret, &mut k);
    format!(
        r#"{{"keys":[{{"kty":"oct","kid":"{KID}","alg":"HS256","use":"sig","k":"{}"}}]}}"#,
        String::from_utf8_lossy(&k)
    )
}

/// A compact HS256 JWT for `sub` with id `jti`, issued at `now`, valid for [`TTL_SECS`].
pub fn mint(secret: &[u8], sub: &str, jti: &str, now: u64) -> String {
    let header = format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{KID}"}}"#);
    let claims = format!(
        r#"{{"iss":"{ISSUER}","sub":{},"jti":{},"iat":{now},"exp":{}}}"#,
        serde_json_string(sub),
        serde_json_string(jti),
        now + TTL_SECS
    );
    let mut token = Vec::new();
    base64url::encode(header.as_bytes(), &mut token);
    token.push(b'.');
    base64url::encode(claims.as_bytes(), &mut token);
    let signature = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), &token);
    token.push(b'.');
    base64url::encode(signature.as_ref(), &mut token);
    String::from_utf8_lossy(&token).into_owned()
}

/// What the demo prints once it serves: the token and the three curl lines.
pub fn instructions(ready: &Ready, plan: &Plan, token: &str, jti: &str) -> String {
    let gateway = format!("http://127.0.0.1:{}", ready.listen.port());
    let rest = ready.rest.map_or(plan.rest_port, |a| a.port());
    let rpc = ready.rpc.map_or(plan.rpc_port, |a| a.port());
    let mut out = String::new();
    let _ = writeln!(out, "bloomgate demo is running (Ctrl-C to stop)");
    let _ = writeln!(
        out,
        "  gateway           {gateway}  ({ENDPOINT} needs an HS256 token)"
    );
    let _ = writeln!(
        out,
        "  revoke API        http://127.0.0.1:{rest}  (API key {})",
        plan.api_key
    );
    let _ = writeln!(out, "  RPC (admin core)  127.0.0.1:{rpc}");
    let _ = writeln!(
        out,
        "  echo backend      http://127.0.0.1:{}",
        plan.backend_port
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "A valid token (jti {jti}):");
    let _ = writeln!(out, "  TOKEN={token}");
    let _ = writeln!(out);
    let _ = writeln!(out, "1. Call the protected endpoint (200):");
    let _ = writeln!(
        out,
        "  curl -i -H \"Authorization: Bearer $TOKEN\" {gateway}{ENDPOINT}"
    );
    let _ = writeln!(out, "2. Revoke the token (201):");
    let _ = writeln!(
        out,
        "  curl -i -X POST -H 'Authorization: bearer {}' http://127.0.0.1:{rest}/tokens/jti/{jti}",
        plan.api_key
    );
    let _ = writeln!(out, "3. Call again (401):");
    let _ = writeln!(
        out,
        "  curl -i -H \"Authorization: Bearer $TOKEN\" {gateway}{ENDPOINT}"
    );
    let _ = writeln!(
        out,
        "Check it: curl -H 'Authorization: bearer {}' http://127.0.0.1:{rest}/tokens/jti/{jti}",
        plan.api_key
    );
    out
}

/// Runs the demo until SIGTERM/SIGINT.
pub fn run(port: Option<u16>) -> Result<(), DemoError> {
    let rng = SystemRandom::new();
    let random = |n: usize| -> Result<Vec<u8>, DemoError> {
        let mut bytes = vec![0u8; n];
        rng.fill(&mut bytes)
            .map_err(|_| DemoError::Setup("the system random generator failed".into()))?;
        Ok(bytes)
    };
    let secret = random(32)?;
    let api_key = hex(&random(16)?);
    let jti = uuid_text(&random(16)?);
    let dir = TempDir::new()?;
    let jwk_path = dir.0.join("jwk.json");
    std::fs::write(&jwk_path, jwk_set(&secret))
        .map_err(|e| DemoError::Setup(format!("{}: {e}", jwk_path.display())))?;
    let backend = echo::start().map_err(|e| DemoError::Setup(format!("echo backend: {e}")))?;
    let port = match port {
        Some(port) => port,
        None if is_free(DEFAULT_PORT) => DEFAULT_PORT,
        None => free_port()?,
    };
    let plan = Plan {
        port,
        rpc_port: free_port()?,
        rest_port: free_port()?,
        backend_port: backend.port(),
        api_key,
        jwk_path,
    };
    let overrides = Overrides {
        port: Some(plan.port),
        ..Overrides::new(Role::Gateway)
    };
    let config = Config::from_bytes(
        config_json(&plan).as_bytes(),
        &dir.0,
        &ProcessEnv,
        &overrides,
    )?;
    let token = mint(&secret, "demo-user", &jti, now());
    let (ready_tx, ready_rx) = mpsc::channel::<Ready>();
    let printer = std::thread::spawn({
        let plan = plan.clone();
        move || {
            if let Ok(ready) = ready_rx.recv() {
                print!("{}", instructions(&ready, &plan, &token, &jti));
                use std::io::Write as _;
                let _ = std::io::stdout().flush();
            }
        }
    });
    let result = crate::runtime::run(
        config,
        &RunOptions {
            cores: Some(1),
            ready: Some(ready_tx),
        },
    );
    let _ = printer.join();
    drop(backend);
    drop(dir);
    Ok(result?)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn is_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

fn free_port() -> Result<u16, DemoError> {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| DemoError::Setup(format!("no free port on 127.0.0.1: {e}")))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 16 random bytes as a version-4 UUID.
fn uuid_text(bytes: &[u8]) -> String {
    let mut b = [0u8; 16];
    for (slot, byte) in b.iter_mut().zip(bytes) {
        *slot = *byte;
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn serde_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A private temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, DemoError> {
        let dir = std::env::temp_dir().join(format!("bloomgate-demo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| DemoError::Setup(format!("{}: {e}", dir.display())))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests;
