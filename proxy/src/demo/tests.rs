use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};

use super::*;
use crate::config::MapEnv;

fn plan(dir: &std::path::Path) -> Plan {
    Plan {
        port: 18080,
        rpc_port: 18081,
        rest_port: 18082,
        backend_port: 18083,
        api_key: "0123abcd".into(),
        jwk_path: dir.join("jwk.json"),
    }
}

#[test]
fn the_generated_config_is_a_valid_one_node_gateway() {
    let dir = std::env::temp_dir().join(format!("bloomgate-demo-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plan = plan(&dir);
    std::fs::write(&plan.jwk_path, jwk_set(&[7u8; 32])).unwrap();
    let config = Config::from_bytes(
        config_json(&plan).as_bytes(),
        &dir,
        &MapEnv::new::<String, String>([]),
        &Overrides::new(Role::Gateway),
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(config.port, 18080);
    assert_eq!(config.admin.as_ref().map(|a| a.port), Some(18082));
    let revoker = config.revoker.unwrap();
    assert_eq!(revoker.rpc_port, Some(18081));
    assert_eq!(revoker.token_keys, ["jti", "sub"]);
    assert_eq!(revoker.api_key.unwrap().expose(), "0123abcd");
    assert_eq!(config.endpoints.len(), 1);
}

#[test]
fn minted_tokens_verify_with_an_independent_implementation() {
    let secret = [42u8; 32];
    let token = mint(&secret, "demo-user", "1234-abcd", now());
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.validate_aud = false;
    let data = decode::<serde_json::Value>(&token, &DecodingKey::from_secret(&secret), &validation)
        .unwrap();
    assert_eq!(data.claims["jti"], "1234-abcd");
    assert_eq!(data.claims["sub"], "demo-user");
    assert_eq!(data.header.kid.as_deref(), Some(KID));
    assert!(
        decode::<serde_json::Value>(&token, &DecodingKey::from_secret(&[1u8; 32]), &validation)
            .is_err()
    );
}

#[test]
fn instructions_have_the_three_curl_lines() {
    let plan = plan(std::path::Path::new("/tmp"));
    let ready = Ready {
        listen: "127.0.0.1:18080".parse().unwrap(),
        rpc: None,
        rest: Some("127.0.0.1:18082".parse().unwrap()),
    };
    let text = instructions(&ready, &plan, "T.O.K", "1234");
    assert!(text.contains("TOKEN=T.O.K"));
    assert_eq!(
        text.matches(
            "curl -i -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:18080/protected"
        )
        .count(),
        2
    );
    assert!(text.contains(
        "curl -i -X POST -H 'Authorization: bearer 0123abcd' http://127.0.0.1:18082/tokens/jti/1234"
    ));
}

#[test]
fn uuids_are_version_4() {
    let id = uuid_text(&[0xff; 16]);
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "4");
}
