//! The admin core's RPC end to end: `bloomgate rpc` adds a `jti` to a running gateway's filter
//! and the next request with that token is refused; a wrong API key changes nothing.

use std::time::Instant;

use serde_json::json;

use crate::backend::Backend;
use crate::client::Client;
use crate::jwt::{base_claims, now, token};
use crate::support::{Gateway, bloomgate, fixture, free_port};

const KEY: &str = "rpc-test-key-5a1f";

#[test]
fn a_jti_added_over_rpc_is_refused_at_once() {
    let backend = Backend::start();
    let host = backend.url();
    let jwk = fixture("playground-community.jwk-symmetric.json");
    let rpc = free_port();
    let config = format!(
        r#"{{"version": 3, "port": 0, "host": ["{host}"],
  "endpoints": [{{"endpoint": "/private", "backend": [{{"url_pattern": "/echo/private"}}],
    "extra_config": {{"auth/validator": {{"alg": "HS256", "jwk_local_path": "{jwk}"}}}}}}],
  "extra_config": {{"auth/revoker": {{"N": 100000, "P": 1e-7, "TTL": 3600, "port": {rpc},
    "token_keys": ["jti"], "revoke_server_api_key": "{KEY}"}}}}}}"#
    );
    let gateway = Gateway::start("rpc-add", &config);
    let jti = format!("rpc-{}", now());
    let mut claims = base_claims();
    claims["jti"] = json!(jti);
    let bearer = format!("Authorization: Bearer {}\r\n", token(&claims));
    let mut client = Client::connect(gateway.addr());
    let get = |client: &mut Client| {
        client.request(format!("GET /private HTTP/1.1\r\nHost: gw\r\n{bearer}\r\n").as_bytes())
    };
    assert_eq!(get(&mut client).status, 200);

    let to = format!("127.0.0.1:{rpc}");
    let key = format!("jti-{jti}");
    // A wrong key is refused and changes nothing.
    let refused = bloomgate(
        &["rpc", "--to", &to, "--api-key", "wrong", "add", &key],
        &[],
    );
    assert_ne!(refused.code, Some(0), "{refused:?}");
    assert_eq!(get(&mut client).status, 200);

    let added = bloomgate(&["rpc", "--to", &to, "--api-key", KEY, "add", &key], &[]);
    assert_eq!(added.code, Some(0), "{added:?}");
    // The acknowledgement came after the words were set: the very next request is refused.
    let after = Instant::now();
    let r = get(&mut client);
    assert_eq!(r.status, 401, "{r:?}");
    println!(
        "first request after the RPC acknowledgement refused in {:?}",
        after.elapsed()
    );

    let checked = bloomgate(
        &["rpc", "--to", &to, "check", &key, "jti-other"],
        &[("BLOOMGATE_API_KEY", KEY)],
    );
    assert_eq!(checked.code, Some(0), "{checked:?}");
    assert!(
        checked.stdout.contains(&format!("{key}\trevoked")),
        "{checked:?}"
    );
    assert!(
        checked.stdout.contains("jti-other\tnot revoked"),
        "{checked:?}"
    );
    drop(gateway);
}
