use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use admin::settings::{HashName, HttpUrl, RevokerSettings};

use crate::config::testing::{REVOKER, error, examples_dir, load, load_as, with_revoker};
use crate::config::{Overrides, Role};

const PATH: &str = "extra_config.auth/revoker";

fn revoker(body: &str) -> RevokerSettings {
    let config = load(&with_revoker(body)).unwrap_or_else(|e| panic!("{e}"));
    config.revoker.expect("a revoker section")
}

#[test]
fn the_playground_section_with_defaults() {
    let r = revoker(
        r#"{"N": 10000000, "P": 0.0000001, "hash_name": "optimal", "TTL": 1500, "port": 1234, "token_keys": ["jti"]}"#,
    );
    assert_eq!((r.n(), r.p(), r.ttl_secs()), (10_000_000, 1e-7, 1500));
    assert_eq!(r.geometry, bloom::Geometry::new(10_000_000, 1e-7).unwrap());
    assert_eq!(r.hash_name, HashName::Optimal);
    assert_eq!(r.rpc_port, Some(1234));
    assert_eq!(r.token_keys, ["jti"]);
    assert_eq!(r.ping_url, None);
    assert_eq!(r.ping_interval, Duration::from_secs(30));
    assert_eq!(r.api_key, None);
    assert_eq!(r.max_workers, 5);
    assert_eq!(r.max_retries, 0);
}

#[test]
fn every_field() {
    let r = revoker(
        r#"{"N": 1000, "P": 0.01, "TTL": 60, "hash_name": "default", "port": 1, "token_keys": ["jti", "sub"],
            "revoke_server_ping_url": "http://revoker:8081/instances", "revoke_server_ping_interval": "1m",
            "revoke_server_api_key": "k", "revoke_server_max_workers": 7, "revoke_server_max_retries": 3,
            "headers": ["x"], "@comment": "c"}"#,
    );
    assert_eq!(r.hash_name, HashName::Default);
    assert_eq!(
        r.ping_url,
        Some(HttpUrl {
            host: "revoker".into(),
            port: 8081,
            path: "/instances".into()
        })
    );
    assert_eq!(
        r.ping_url.as_ref().unwrap().to_string(),
        "http://revoker:8081/instances"
    );
    assert_eq!(r.ping_interval, Duration::from_secs(60));
    assert_eq!(r.api_key.as_ref().map(|k| k.expose()), Some("k"));
    assert_eq!(
        format!("{:?}", r.api_key),
        "Some(ApiKey(<1 bytes>))",
        "Debug never shows the key"
    );
    assert_eq!((r.max_workers, r.max_retries), (7, 3));
}

#[test]
fn keys_match_case_insensitively() {
    let r = revoker(
        r#"{"n": 1000, "p": 0.01, "ttl": 60, "HASH_NAME": "default", "Port": 9, "TOKEN_KEYS": ["jti"],
            "Revoke_Server_Max_Workers": 2}"#,
    );
    assert_eq!(
        (
            r.n(),
            r.p(),
            r.ttl_secs(),
            r.hash_name,
            r.rpc_port,
            r.max_workers
        ),
        (1000, 0.01, 60, HashName::Default, Some(9), 2)
    );
    assert_eq!(r.token_keys, ["jti"]);
    let e = error(&with_revoker(
        r#"{"N": 1000, "n": 2000, "P": 0.01, "TTL": 60}"#,
    ));
    assert_eq!(
        e,
        format!("config error: {PATH}: the key \"N\" is given twice (as \"N\" and \"n\")")
    );
}

#[test]
fn an_integral_float_n_is_accepted_as_krakend_does() {
    assert_eq!(
        revoker(r#"{"N": 1e7, "P": 1e-7, "TTL": 1500.0, "port": 1234.0, "token_keys": ["jti"]}"#)
            .n(),
        10_000_000
    );
}

#[test]
fn bad_n() {
    let cases = [
        ("0", "must be an integer >= 1, got 0"),
        ("-1", "must be an integer >= 1, got -1"),
        (
            "10000000.5",
            "expected an integer, got a number (10000000.5)",
        ),
        ("\"1e7\"", "expected an integer, got a string (\"1e7\")"),
        (
            "1e30",
            "expected an integer, got a number (1000000000000000000000000000000)",
        ),
        ("true", "expected an integer, got a boolean (true)"),
    ];
    for (n, want) in cases {
        let e = error(&with_revoker(&format!(
            r#"{{"N": {n}, "P": 0.01, "TTL": 60}}"#
        )));
        assert_eq!(e, format!("config error: {PATH}.N: {want}"), "N={n}");
    }
    let e = error(&with_revoker(
        r#"{"N": 18446744073709551615, "P": 0.01, "TTL": 60}"#,
    ));
    assert!(
        e.starts_with(&format!(
            "config error: {PATH}.N: N=18446744073709551615 at P=0.01 needs more than"
        )),
        "{e}"
    );
    let e = error(&with_revoker(r#"{"P": 0.01, "TTL": 60}"#));
    assert_eq!(e, format!("config error: {PATH}.N: required"));
}

#[test]
fn bad_p() {
    for (p, shown) in [
        ("1.5", "1.5"),
        ("1", "1"),
        ("0", "0"),
        ("-0.1", "-0.1"),
        ("1e-400", "0"),
    ] {
        let e = error(&with_revoker(&format!(
            r#"{{"N": 1000, "P": {p}, "TTL": 60}}"#
        )));
        assert_eq!(
            e,
            format!("config error: {PATH}.P: must be in (0,1), got {shown}"),
            "P={p}"
        );
    }
    let e = error(&with_revoker(r#"{"N": 1000, "p": 1.5, "TTL": 60}"#));
    assert_eq!(
        e,
        format!("config error: {PATH}.p: must be in (0,1), got 1.5"),
        "the path keeps the file's spelling"
    );
    let e = error(&with_revoker(r#"{"N": 1000, "P": "1e-7", "TTL": 60}"#));
    assert_eq!(
        e,
        format!("config error: {PATH}.P: expected a number, got a string (\"1e-7\")")
    );
    let e = error(&with_revoker(r#"{"N": 1000, "TTL": 60}"#));
    assert_eq!(e, format!("config error: {PATH}.P: required"));
}

#[test]
fn bad_ttl() {
    let cases = [
        ("0", "must be a number of seconds in 1..=4294967295, got 0"),
        (
            "-5",
            "must be a number of seconds in 1..=4294967295, got -5",
        ),
        (
            "4294967296",
            "must be a number of seconds in 1..=4294967295, got 4294967296",
        ),
        ("12.5", "expected an integer, got a number (12.5)"),
        ("\"30s\"", "expected an integer, got a string (\"30s\")"),
    ];
    for (ttl, want) in cases {
        let e = error(&with_revoker(&format!(
            r#"{{"N": 1000, "P": 0.01, "TTL": {ttl}}}"#
        )));
        assert_eq!(e, format!("config error: {PATH}.TTL: {want}"), "TTL={ttl}");
    }
    let e = error(&with_revoker(r#"{"N": 1000, "P": 0.01}"#));
    assert_eq!(e, format!("config error: {PATH}.TTL: required"));
}

#[test]
fn other_bad_values() {
    let cases = [
        (
            r#""Port": 70000"#,
            "Port: must be a port number (0-65535), got 70000",
        ),
        (
            r#""hash_name": "murmur""#,
            "hash_name: must be \"optimal\" or \"default\", got \"murmur\"",
        ),
        (
            r#""token_keys": "jti""#,
            "token_keys: expected an array, got a string (\"jti\")",
        ),
        (
            r#""token_keys": ["jti", ""]"#,
            "token_keys[1]: must not be empty",
        ),
        (
            r#""revoke_server_ping_url": "https://r/instances""#,
            "revoke_server_ping_url: \"https://r/instances\": https is not supported here; use http",
        ),
        (
            r#""revoke_server_ping_url": "revoker:8081""#,
            "revoke_server_ping_url: \"revoker:8081\" is not an absolute URL (http://host/path)",
        ),
        (
            r#""revoke_server_ping_interval": "0s""#,
            "revoke_server_ping_interval: must be greater than 0",
        ),
        (
            r#""revoke_server_ping_interval": 30"#,
            "revoke_server_ping_interval: expected a duration string like \"2s\", got a number (30)",
        ),
        (
            r#""revoke_server_api_key": """#,
            "revoke_server_api_key: must not be empty",
        ),
        (
            r#""revoke_server_max_workers": 0"#,
            "revoke_server_max_workers: must be an integer in 1..=4294967295, got 0",
        ),
        (
            r#""revoke_server_max_retries": "3""#,
            "revoke_server_max_retries: expected an integer, got a string (\"3\")",
        ),
    ];
    let base = r#""N": 1000, "P": 0.01, "TTL": 60"#;
    for (field, want) in cases {
        let e = error(&with_revoker(&format!("{{{base}, {field}}}")));
        assert_eq!(e, format!("config error: {PATH}.{want}"), "{field}");
    }
    let e = error(&with_revoker("[]"));
    assert_eq!(
        e,
        format!("config error: {PATH}: expected an object, got an array")
    );
}

#[test]
fn negative_retries_become_zero() {
    assert_eq!(
        revoker(&format!("{{{REVOKER}, \"revoke_server_max_retries\": -3}}")).max_retries,
        0
    );
}

#[test]
fn the_rpc_port_flag_beats_the_file() {
    let json = with_revoker(&format!("{{{REVOKER}}}"));
    let overrides = Overrides {
        rpc_port: Some(4321),
        ..Overrides::new(Role::Gateway)
    };
    assert_eq!(
        load_as(&json, overrides).unwrap().revoker.unwrap().rpc_port,
        Some(4321)
    );
    let json = with_revoker(r#"{"N": 1000, "P": 0.01, "TTL": 60, "token_keys": ["jti"]}"#);
    let overrides = Overrides {
        rpc_port: Some(4321),
        ..Overrides::new(Role::Gateway)
    };
    assert_eq!(
        load_as(&json, overrides).unwrap().revoker.unwrap().rpc_port,
        Some(4321)
    );
}

#[test]
fn admin_and_persistence_sections() {
    let json = format!(
        r#"{{"version": 3, "extra_config": {{"auth/revoker": {{{REVOKER}, "revoke_server_api_key": "k"}},
            "bloomgate/admin": {{"port": 8090, "rpc_listen_ip": "127.0.0.1"}},
            "bloomgate/persistence": {{"dir": "state"}}}}}}"#
    );
    let config = load(&json).unwrap();
    let admin = config.admin.unwrap();
    assert_eq!(
        (admin.port, admin.rpc_listen_ip),
        (8090, Some(IpAddr::from([127, 0, 0, 1])))
    );
    assert_eq!(
        config.persistence.unwrap().dir,
        examples_dir().join("state")
    );
    let json = format!(
        r#"{{"version": 3, "extra_config": {{"auth/revoker": {{{REVOKER}, "revoke_server_api_key": "k"}},
            "bloomgate/admin": {{"port": 8090}}, "bloomgate/persistence": {{"dir": "/var/lib/bg"}}}}}}"#
    );
    let config = load(&json).unwrap();
    assert_eq!(config.admin.unwrap().rpc_listen_ip, None);
    let persistence = config.persistence.unwrap();
    assert_eq!(persistence.dir, PathBuf::from("/var/lib/bg"));
    assert!(!persistence.ignore_corrupt, "off by default");
    let json = format!(
        r#"{{"version": 3, "extra_config": {{"auth/revoker": {{{REVOKER}}},
            "bloomgate/persistence": {{"dir": "s", "ignore_corrupt": true}}}}}}"#
    );
    assert!(load(&json).unwrap().persistence.unwrap().ignore_corrupt);
}

#[test]
fn bad_admin_and_persistence_sections() {
    let with = |extra: &str| {
        format!(
            r#"{{"version": 3, "extra_config": {{"auth/revoker": {{{REVOKER}, "revoke_server_api_key": "k"}}, {extra}}}}}"#
        )
    };
    let cases = [
        (
            r#""bloomgate/admin": {}"#,
            "extra_config.bloomgate/admin.port: required",
        ),
        (
            r#""bloomgate/admin": {"port": "8090"}"#,
            "extra_config.bloomgate/admin.port: expected an integer, got a string (\"8090\")",
        ),
        (
            r#""bloomgate/admin": {"port": 1, "rpc_listen_ip": "localhost"}"#,
            "extra_config.bloomgate/admin.rpc_listen_ip: \"localhost\" is not an IP address",
        ),
        (
            r#""bloomgate/persistence": {"dir": ""}"#,
            "extra_config.bloomgate/persistence.dir: must not be empty",
        ),
        (
            r#""bloomgate/persistence": {"dir": 1}"#,
            "extra_config.bloomgate/persistence.dir: expected a string, got a number (1)",
        ),
        (
            r#""bloomgate/persistence": {"dir": "s", "ignore_corrupt": "yes"}"#,
            "extra_config.bloomgate/persistence.ignore_corrupt: expected a boolean, got a string (\"yes\")",
        ),
        (
            r#""bloomgate/persistence": true"#,
            "extra_config.bloomgate/persistence: expected an object, got a boolean (true)",
        ),
    ];
    for (extra, want) in cases {
        assert_eq!(
            error(&with(extra)),
            format!("config error: {want}"),
            "{extra}"
        );
    }
}

#[test]
fn extensions_need_the_revoker_section() {
    let e = error(r#"{"version": 3, "extra_config": {"bloomgate/admin": {"port": 8090}}}"#);
    assert_eq!(
        e,
        "config error: extra_config.bloomgate/admin: needs an extra_config.auth/revoker section (the filter it serves)"
    );
    let e = error(r#"{"version": 3, "extra_config": {"bloomgate/persistence": {"dir": "x"}}}"#);
    assert_eq!(
        e,
        "config error: extra_config.bloomgate/persistence: needs an extra_config.auth/revoker section (the filter it serves)"
    );
    let e = error(&format!(
        r#"{{"version": 3, "extra_config": {{"auth/revoker": {{{REVOKER}}}, "bloomgate/admin": {{"port": 8090}}}}}}"#
    ));
    assert_eq!(
        e,
        format!(
            "config error: {PATH}.revoke_server_api_key: required with bloomgate/admin: the REST API is never open"
        )
    );
}
