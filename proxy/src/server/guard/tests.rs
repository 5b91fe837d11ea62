//! The guard over real routes, validators and a real revocation filter: the one place the
//! revoked-token row of the status table is tested until the gateway can be fed revocations.

use std::path::PathBuf;
use std::sync::Arc;

use ring::hmac;

use super::*;
use crate::config::{Config, MapEnv, Overrides, Role};
use crate::http::{HeaderSlots, parse_request};
use crate::jwt::base64url;
use crate::server::Routes;

const NOW: u64 = 1_700_000_000;
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn b64(bytes: &[u8]) -> String {
    let mut out = Vec::new();
    base64url::encode(bytes, &mut out);
    String::from_utf8(out).expect("ascii")
}

fn token(claims: &str) -> String {
    let input = format!(
        "{}.{}",
        b64(br#"{"alg":"HS256","kid":"k"}"#),
        b64(claims.as_bytes())
    );
    let sig = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, SECRET), input.as_bytes());
    format!("{input}.{}", b64(sig.as_ref()))
}

struct Fixture {
    routes: Arc<Routes>,
    guard: Guard,
    writer: bloom::Writer,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fixture() -> Fixture {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("bloomgate-guard-{}-{n}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let jwks = format!(
        r#"{{"keys":[{{"kty":"oct","kid":"k","k":"{}"}}]}}"#,
        b64(SECRET)
    );
    let _ = std::fs::write(dir.join("jwks.json"), jwks);
    let json = r#"{"version": 3, "host": ["http://127.0.0.1:1"], "endpoints": [
        {"endpoint": "/public", "backend": [{"url_pattern": "/"}]},
        {"endpoint": "/private", "backend": [{"url_pattern": "/"}],
         "extra_config": {"auth/validator": {"alg": "HS256", "jwk_local_path": "jwks.json",
            "roles": ["admin"], "propagate_claims": [["sub", "X-User"], ["jti", "X-Jti"]]}}}],
        "extra_config": {"auth/revoker": {"N": 1000, "P": 0.000001, "TTL": 3600, "port": 1,
            "token_keys": ["jti", "sub"]}}}"#;
    let config = Config::from_bytes(
        json.as_bytes(),
        &dir,
        &MapEnv::default(),
        &Overrides::new(Role::Gateway),
    )
    .expect("config");
    let routes = Routes::build(&config).expect("routes");
    let (validators, _) = Validators::build(&config).expect("validators");
    let revoker = config.revoker.as_ref().expect("revoker");
    let (filter, writer) =
        bloom::Revocations::new(revoker.geometry, revoker.ttl_secs(), NOW).expect("filter");
    let token_keys = revoker
        .token_keys
        .iter()
        .map(|k| Box::from(k.as_str()))
        .collect();
    let guard = Guard::new(Arc::new(validators), Some(filter), token_keys);
    Fixture {
        routes,
        guard,
        writer,
        _dir: TempDir(dir),
    }
}

/// The guard's answer for `GET path` with `headers`, and the headers it would add.
fn run(f: &Fixture, path: &str, headers: &str) -> Result<Vec<(String, String)>, Reject> {
    let raw = format!("GET {path} HTTP/1.1\r\nHost: gw\r\n{headers}\r\n");
    let mut slots = HeaderSlots::new();
    let head = parse_request(raw.as_bytes(), 1 << 20, &mut slots)
        .expect("valid")
        .expect("complete");
    let index = usize::from(path == "/private");
    let route = &f.routes.routes[index];
    let mut values = Propagated::default();
    let pass = check(&f.guard, index, route, &head, NOW, &mut values)?;
    Ok(pass.with_headers(&values, |pairs| {
        pairs
            .iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect()
    }))
}

fn bearer(claims: &str) -> String {
    format!("Authorization: Bearer {}\r\n", token(claims))
}

#[test]
fn public_endpoints_pass_with_nothing_added() {
    let f = fixture();
    assert_eq!(run(&f, "/public", ""), Ok(vec![]));
}

#[test]
fn statuses_and_propagated_headers() {
    let f = fixture();
    assert_eq!(
        run(&f, "/private", ""),
        Err(Reject::Unauthorized(AuthReason::NoToken))
    );
    assert_eq!(
        run(
            &f,
            "/private",
            &bearer(r#"{"sub":"u","jti":"j","roles":["user"]}"#)
        ),
        Err(Reject::Forbidden)
    );
    assert_eq!(
        run(
            &f,
            "/private",
            &bearer(r#"{"sub":"u","jti":"j","roles":["admin"]}"#)
        ),
        Ok(vec![
            ("X-User".to_owned(), "u".to_owned()),
            ("X-Jti".to_owned(), "j".to_owned())
        ])
    );
}

#[test]
fn a_revoked_token_is_401_before_its_roles_are_looked_at() {
    let mut f = fixture();
    let allowed = bearer(r#"{"sub":"alice","jti":"t-1","roles":["admin"]}"#);
    let lacking = bearer(r#"{"sub":"bob","jti":"t-2","roles":["user"]}"#);
    assert!(run(&f, "/private", &allowed).is_ok());
    assert_eq!(run(&f, "/private", &lacking), Err(Reject::Forbidden));

    // What `POST /tokens/jti/t-1` and `POST /tokens/sub/bob` insert.
    f.writer.insert(b"jti-t-1", NOW);
    f.writer.insert(b"sub-bob", NOW);
    let revoked = Err(Reject::Unauthorized(AuthReason::Revoked));
    assert_eq!(run(&f, "/private", &allowed), revoked);
    assert_eq!(run(&f, "/private", &lacking), revoked);
    assert_eq!(Reject::Unauthorized(AuthReason::Revoked).status(), 401);
    // Another token of alice's with a fresh jti still passes (sub-alice is not revoked).
    assert!(
        run(
            &f,
            "/private",
            &bearer(r#"{"sub":"alice","jti":"t-3","roles":["admin"]}"#)
        )
        .is_ok()
    );
}

#[test]
fn a_closed_guard_fails_closed() {
    let f = fixture();
    let closed = Guard::closed();
    let raw = format!("GET /private HTTP/1.1\r\nHost: gw\r\n{}\r\n", bearer("{}"));
    let mut slots = HeaderSlots::new();
    let head = parse_request(raw.as_bytes(), 1 << 20, &mut slots)
        .expect("valid")
        .expect("complete");
    let mut values = Propagated::default();
    assert_eq!(
        check(&closed, 1, &f.routes.routes[1], &head, NOW, &mut values).map(|_| ()),
        Err(Reject::Unauthorized(AuthReason::Misconfigured))
    );
}
