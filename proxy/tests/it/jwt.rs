//! JWT validation end to end through the `bloomgate` binary: KrakenD CE's own spec cases
//! replayed against the playground's symmetric JWK Set, and every row of CONTRACT.md's status
//! table that involves a token. Tokens are minted with `jsonwebtoken`, an implementation
//! independent of bloomgate's.
//!
//! The revoked-token row (revocation checked before roles) is tested at the unit level in
//! `server::guard`, against a real `bloom::Revocations`, and end to end through the Revoke
//! Server and the RPC push in `revoker.rs`. Here the filter is configured and empty, so the
//! check runs on every request and lets every token through.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::backend::Backend;
use crate::client::{Client, Response};
use crate::support::{Gateway, Scratch, bloomgate, fixture, free_port};

/// The playground's HS256 key `sim2` (`playground-community.jwk-symmetric.json`).
const SIM2: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

pub fn sim2_secret() -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(SIM2)
        .expect("base64url key")
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// KrakenD CE's `/private/custom` (tests/fixtures/krakend.json), its JWK Set swapped for the
/// local copy; plus a copy that propagates claims and reads a custom cookie, and the
/// revocation filter.
fn config(backend: &Backend, jwk: &str) -> String {
    let host = backend.url();
    let rpc = free_port();
    format!(
        r#"{{
  "version": 3,
  "port": 0,
  "host": ["{host}"],
  "endpoints": [
    {{"endpoint": "/private/custom", "backend": [{{"url_pattern": "/echo/custom"}}],
      "extra_config": {{"auth/validator": {{
        "alg": "HS256", "audience": ["http://api.example.com"], "roles_key": "roles",
        "issuer": "https://krakend.io", "roles": ["role_a", "role_c"],
        "jwk_local_path": "{jwk}"}}}}}},
    {{"endpoint": "/private/claims", "input_headers": ["X-User", "X-Roles", "X-Other"],
      "backend": [{{"url_pattern": "/echo/claims"}}],
      "extra_config": {{"auth/validator": {{
        "alg": "HS256", "audience": ["http://api.example.com"], "issuer": "https://krakend.io",
        "cookie_key": "session", "leeway": "1s",
        "propagate_claims": [["sub", "X-User"], ["roles", "X-Roles"], ["missing", "X-Missing"]],
        "jwk_local_path": "{jwk}"}}}}}},
    {{"endpoint": "/public", "backend": [{{"url_pattern": "/echo/public"}}]}}
  ],
  "extra_config": {{
    "auth/revoker": {{"N": 10000, "P": 0.0000001, "hash_name": "optimal", "TTL": 1500,
                      "port": {rpc}, "token_keys": ["jti", "sub"]}}
  }}
}}"#
    )
}

fn start(name: &str) -> (Backend, Gateway) {
    let backend = Backend::start();
    let jwk = fixture("playground-community.jwk-symmetric.json");
    let gateway = Gateway::start(name, &config(&backend, &jwk));
    (backend, gateway)
}

/// Claims every test token starts from: valid for the playground endpoint.
pub fn base_claims() -> Value {
    json!({
        "aud": "http://api.example.com",
        "iss": "https://krakend.io",
        "sub": "1234567890qwertyuio",
        "jti": format!("jti-{}", now()),
        "exp": now() + 600,
        "iat": now() - 10,
        "roles": ["role_a", "role_b"],
    })
}

/// `base_claims` with `changes` merged in (`null` removes a claim).
fn claims(changes: Value) -> Value {
    let mut claims = base_claims();
    if let (Some(map), Some(changes)) = (claims.as_object_mut(), changes.as_object()) {
        for (k, v) in changes {
            if v.is_null() {
                map.remove(k);
            } else {
                map.insert(k.clone(), v.clone());
            }
        }
    }
    claims
}

fn mint(alg: Algorithm, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    encode(&header, claims, &EncodingKey::from_secret(&sim2_secret())).expect("encode")
}

pub fn token(claims: &Value) -> String {
    mint(Algorithm::HS256, Some("sim2"), claims)
}

fn get(client: &mut Client, path: &str, headers: &str) -> Response {
    client.request(format!("GET {path} HTTP/1.1\r\nHost: gw\r\n{headers}\r\n").as_bytes())
}

fn assert_401(r: &Response, what: &str) {
    assert_eq!(r.status, 401, "{what}: {r:?}");
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer error="invalid_token""#),
        "{what}: {r:?}"
    );
    assert!(r.body.is_empty(), "{what}: {r:?}");
    assert!(!r.has("content-type"), "{what}: {r:?}");
}

/// One KrakenD CE spec file: `in` (method, url, headers) and `out` (status, body, headers,
/// where `[""]` means the header must be absent).
fn replay(client: &mut Client, name: &str) -> (Response, Value) {
    let text =
        std::fs::read_to_string(fixture(&format!("krakend-ce-specs/{name}"))).expect("spec file");
    let spec: Value = serde_json::from_str(&text).expect("spec JSON");
    let url = spec["in"]["url"].as_str().expect("url");
    let path = url.trim_start_matches("http://localhost:8080");
    let mut headers = String::new();
    if let Some(map) = spec["in"]["header"].as_object() {
        for (k, v) in map {
            headers.push_str(&format!("{k}: {}\r\n", v.as_str().expect("header value")));
        }
    }
    let method = spec["in"]["method"].as_str().expect("method");
    let r =
        client.request(format!("{method} {path} HTTP/1.1\r\nHost: gw\r\n{headers}\r\n").as_bytes());
    let expected = spec["out"]["status_code"].as_u64().expect("status");
    assert_eq!(u64::from(r.status), expected, "{name}: {r:?}");
    (r, spec)
}

#[test]
fn krakend_ce_spec_cases() {
    let (backend, gateway) = start("jwt-specs");
    let mut client = Client::connect(gateway.addr());
    // jwt_1: valid token without a required role: 403, empty body, no content-type;
    // jwt_2: garbage: 401; router_401_1: no token: 401.
    for name in ["jwt_1.json", "jwt_2.json", "router_401_1.json"] {
        let (r, spec) = replay(&mut client, name);
        assert!(r.body.is_empty(), "{name}: {r:?}");
        for (header, values) in spec["out"]["header"].as_object().expect("headers") {
            if values[0] == "" {
                assert!(!r.has(header), "{name}: {header} must be absent: {r:?}");
            }
        }
    }
    assert!(backend.requests().is_empty(), "{:?}", backend.requests());
    // jwt_3: a valid token reaches the backend. Differs from KrakenD on purpose: KrakenD's
    // spec answers from its `static` proxy data; bloomgate is pass-through, so the body and
    // headers are the backend's (here the echo backend's).
    let (r, _) = replay(&mut client, "jwt_3.json");
    assert_eq!(r.header("x-echo-target"), Some("/echo/custom"), "{r:?}");
    assert_eq!(backend.requests().len(), 1);
    let _ = gateway.stderr();
}

#[test]
fn every_token_row_of_the_status_table() {
    let (backend, gateway) = start("jwt-statuses");
    let mut client = Client::connect(gateway.addr());
    let bearer = |t: &str| format!("Authorization: Bearer {t}\r\n");
    let valid = token(&base_claims());

    // The 401 rows.
    let mut forged = valid.clone();
    let last = forged.pop().expect("non-empty");
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let none = {
        let parts: Vec<&str> = valid.split('.').collect();
        use base64::Engine as _;
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
        format!("{header}.{}.", parts[1])
    };
    let n = now() as i64;
    let cases: Vec<(&str, String)> = vec![
        ("no token", String::new()),
        ("garbage", bearer("garbage")),
        ("bad signature", bearer(&forged)),
        (
            "alg mismatch",
            bearer(&mint(Algorithm::HS512, Some("sim2"), &base_claims())),
        ),
        ("alg none", bearer(&none)),
        (
            "unknown kid",
            bearer(&mint(Algorithm::HS256, Some("sim9"), &base_claims())),
        ),
        ("expired", bearer(&token(&claims(json!({"exp": n - 60}))))),
        (
            "not yet valid",
            bearer(&token(&claims(json!({"nbf": n + 60})))),
        ),
        (
            "iat in the future",
            bearer(&token(&claims(json!({"iat": n + 60})))),
        ),
        (
            "wrong iss",
            bearer(&token(&claims(json!({"iss": "https://evil.example"})))),
        ),
        ("missing aud", bearer(&token(&claims(json!({"aud": null}))))),
        (
            "wrong aud",
            bearer(&token(&claims(json!({"aud": ["http://other.example"]})))),
        ),
        (
            "too large",
            bearer(&token(&claims(json!({"pad": "x".repeat(17 * 1024)})))),
        ),
        (
            "JWS JSON serialization",
            bearer(r#"{"payload":"e30","signatures":[]}"#),
        ),
    ];
    for (what, headers) in &cases {
        assert_401(&get(&mut client, "/private/custom", headers), what);
    }
    // Duplicate claims: assembled by hand (no JSON library writes them).
    let duplicate = {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let payload = format!(
            r#"{{"aud":"http://api.example.com","iss":"https://krakend.io","roles":["role_a"],"jti":"a","jti":"b","exp":{}}}"#,
            n + 600
        );
        let input = format!(
            "{}.{}",
            b64(r#"{"alg":"HS256","kid":"sim2"}"#),
            b64(&payload)
        );
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &sim2_secret());
        let sig = ring::hmac::sign(&key, input.as_bytes());
        format!(
            "{input}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig)
        )
    };
    assert_401(
        &get(&mut client, "/private/custom", &bearer(&duplicate)),
        "duplicate jti",
    );

    // 403: valid, lacks the role.
    let no_role = token(&claims(json!({"roles": ["role_y"]})));
    let r = get(&mut client, "/private/custom", &bearer(&no_role));
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.body.is_empty() && !r.has("www-authenticate"), "{r:?}");
    assert!(backend.requests().is_empty(), "{:?}", backend.requests());

    // Valid: the backend's response; bare tokens and any scheme case work.
    for headers in [
        bearer(&valid),
        format!("Authorization: bEaReR {valid}\r\n"),
        format!("Authorization: {valid}\r\n"),
    ] {
        let r = get(&mut client, "/private/custom", &headers);
        assert_eq!(r.status, 200, "{headers}: {r:?}");
        assert_eq!(r.header("x-echo-target"), Some("/echo/custom"));
    }
    assert_eq!(backend.requests().len(), 3);
    // The connection survived every rejection (keep-alive), and public endpoints need nothing.
    assert_eq!(get(&mut client, "/public", "").status, 200);
}

#[test]
fn propagated_claims_and_the_cookie() {
    let (backend, gateway) = start("jwt-propagate");
    let mut client = Client::connect(gateway.addr());
    let valid = token(&base_claims());
    // From the cookie `session`; a client-sent X-User is replaced, not passed through.
    let r = get(
        &mut client,
        "/private/claims",
        &format!("Cookie: theme=dark; session={valid}\r\nX-User: forged\r\nX-Other: kept\r\n"),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let seen = backend.requests();
    let last = seen.last().expect("the request reached the backend");
    let users: Vec<&str> = last
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("x-user"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(users, ["1234567890qwertyuio"], "{last:?}");
    assert_eq!(last.header("x-roles"), Some("role_a,role_b"));
    assert_eq!(last.header("x-missing"), Some(""));
    assert_eq!(last.header("x-other"), Some("kept"));
    assert!(
        !last.has("authorization") && !last.has("cookie"),
        "{last:?}"
    );
    // The default cookie name does not apply to this endpoint.
    let r = get(
        &mut client,
        "/private/claims",
        &format!("Cookie: access_token={valid}\r\n"),
    );
    assert_401(&r, "access_token on an endpoint that reads session");
}

#[test]
fn a_key_file_without_a_usable_key_stops_the_gateway() {
    let scratch = Scratch::new("jwt-config-error");
    let jwk = fixture("playground-community.jwk-symmetric.json");
    let path = scratch.file(
        "krakend.json",
        &format!(
            r#"{{"version": 3, "host": ["http://127.0.0.1:1"], "endpoints": [
                {{"endpoint": "/p", "backend": [{{"url_pattern": "/"}}],
                  "extra_config": {{"auth/validator": {{"alg": "RS256", "jwk_local_path": "{jwk}"}}}}}}]}}"#
        ),
    );
    let out = bloomgate(&["run", "-c", &path, "--port", "0", "--cores", "1"], &[]);
    assert_eq!(out.code, Some(1), "{out:?}");
    let line = out.stderr.lines().last().unwrap_or_default();
    assert!(
        line.starts_with("config error: endpoints[0].extra_config.auth/validator.jwk_local_path: ")
            && line.contains("no key usable with alg RS256"),
        "{out:?}"
    );
}

/// A JWK Set server for `jwk_url`: serves whatever `body` holds.
struct JwksServer {
    port: u16,
    body: std::sync::Arc<std::sync::Mutex<String>>,
}

impl JwksServer {
    fn start(body: &str) -> JwksServer {
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let body = std::sync::Arc::new(std::sync::Mutex::new(body.to_owned()));
        let shared = std::sync::Arc::clone(&body);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = [0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let body = shared.lock().map(|b| b.clone()).unwrap_or_default();
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        JwksServer { port, body }
    }
}

#[test]
fn jwk_url_keys_and_an_unknown_kid_refetch() {
    let backend = Backend::start();
    let jwks = |kids: &[&str]| {
        let keys: Vec<String> = kids
            .iter()
            .map(|kid| format!(r#"{{"kty":"oct","kid":"{kid}","k":"{SIM2}","alg":"HS256"}}"#))
            .collect();
        format!(r#"{{"keys":[{}]}}"#, keys.join(","))
    };
    let server = JwksServer::start(&jwks(&["sim2"]));
    let config = format!(
        r#"{{"version": 3, "port": 0, "host": ["{}"], "endpoints": [
            {{"endpoint": "/p", "backend": [{{"url_pattern": "/echo/p"}}],
              "extra_config": {{"auth/validator": {{"alg": "HS256",
                "jwk_url": "http://127.0.0.1:{}/jwks", "disable_jwk_security": true}}}}}}]}}"#,
        backend.url(),
        server.port
    );
    let gateway = Gateway::start("jwt-url", &config);
    let mut client = Client::connect(gateway.addr());
    let bearer = |kid: &str| {
        format!(
            "Authorization: Bearer {}\r\n",
            mint(Algorithm::HS256, Some(kid), &base_claims())
        )
    };
    assert_eq!(get(&mut client, "/p", &bearer("sim2")).status, 200);
    // The issuer publishes a new key; the first token with it is refused at once and triggers
    // a background refetch; soon after, it passes.
    if let Ok(mut body) = server.body.lock() {
        *body = jwks(&["sim2", "next"]);
    }
    assert_401(&get(&mut client, "/p", &bearer("next")), "unknown kid");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = get(&mut client, "/p", &bearer("next"));
        if r.status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never refetched: {}",
            gateway.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
