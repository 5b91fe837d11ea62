use super::*;
use crate::config::{MapEnv, Overrides, Role};

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/krakend")
}

fn config(validator: &str) -> Config {
    let json = format!(
        r#"{{"version": 3, "host": ["http://127.0.0.1:1"], "endpoints": [
            {{"endpoint": "/public", "backend": [{{"url_pattern": "/"}}]}},
            {{"endpoint": "/a", "backend": [{{"url_pattern": "/"}}],
              "extra_config": {{"auth/validator": {validator}}}}},
            {{"endpoint": "/b", "backend": [{{"url_pattern": "/"}}],
              "extra_config": {{"auth/validator": {validator}}}}}]}}"#
    );
    Config::from_bytes(
        json.as_bytes(),
        &fixture_dir(),
        &MapEnv::default(),
        &Overrides::new(Role::Check),
    )
    .expect("valid config")
}

#[test]
fn local_key_files_are_loaded_once_and_shared() {
    let config =
        config(r#"{"alg": "HS256", "jwk_local_path": "playground-community.jwk-symmetric.json"}"#);
    let (validators, notes) = Validators::build(&config).expect("builds");
    assert_eq!(validators.len(), 3);
    assert!(validators.get(0).is_none());
    let (a, b) = (validators.get(1).expect("a"), validators.get(2).expect("b"));
    assert!(Arc::ptr_eq(&a.keys, &b.keys));
    // sim1 (A128KW) is reported once.
    assert_eq!(notes.warnings.len(), 1, "{:?}", notes.warnings);
    assert!(notes.warnings[0].starts_with(
        "warning: endpoints[1].extra_config.auth/validator.jwk_local_path: keys[0]: skipped"
    ));
}

#[test]
fn a_key_file_without_a_usable_key_is_a_config_error() {
    let config =
        config(r#"{"alg": "RS256", "jwk_local_path": "playground-community.jwk-symmetric.json"}"#);
    let error = Validators::build(&config).expect_err("no RSA key");
    assert_eq!(
        error.path,
        "endpoints[1].extra_config.auth/validator.jwk_local_path"
    );
    assert!(
        error.to_string().starts_with("config error: endpoints[1]"),
        "{error}"
    );
    assert!(
        error.message.contains("no key usable with alg RS256"),
        "{error}"
    );
}

#[test]
fn a_key_file_that_is_not_json_is_a_config_error() {
    let config = config(r#"{"alg": "HS256", "jwk_local_path": "SOURCES.md"}"#);
    let error = Validators::build(&config).expect_err("not a JWK Set");
    assert!(error.message.contains("not a JWK Set"), "{error}");
}

#[test]
fn an_unreachable_jwk_url_is_a_warning() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let config = config(&format!(
        r#"{{"alg": "HS256", "jwk_url": "http://127.0.0.1:{port}/jwks", "disable_jwk_security": true}}"#
    ));
    let (validators, notes) = Validators::build(&config).expect("starts anyway");
    let (a, b) = (validators.get(1).expect("a"), validators.get(2).expect("b"));
    assert!(Arc::ptr_eq(&a.keys, &b.keys), "one fetch for both");
    assert!(a.keys.current().is_empty());
    assert_eq!(notes.warnings.len(), 1, "{:?}", notes.warnings);
    assert!(
        notes.warnings[0].contains("jwk_url: cannot fetch"),
        "{:?}",
        notes.warnings
    );
}
