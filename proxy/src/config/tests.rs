//! Whole-file tests: defaults, top-level fields, the contract's "bad config" list, roles, and
//! robustness.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::testing::{
    REVOKER, error, examples_dir, load, load_as, with_endpoints, with_revoker, with_validator,
};
use super::{Config, ErrorKind, MapEnv, Overrides, PORT_VAR, Role};

#[test]
fn defaults() {
    let config = load(r#"{"version": 3}"#).unwrap();
    assert_eq!(config.port, 8080);
    assert_eq!(config.listen_ip, None);
    assert_eq!(
        config.listen_addr(),
        "0.0.0.0:8080".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(config.timeout, Duration::from_secs(2));
    assert_eq!(config.read_header_timeout, Duration::from_secs(10));
    assert_eq!(config.idle_timeout, Duration::from_secs(60));
    assert_eq!(config.max_header_bytes, 64 * 1024);
    assert_eq!(config.max_shutdown_wait_time, Duration::from_secs(5));
    assert!(config.access_log);
    assert!(config.endpoints.is_empty() && config.skipped.is_empty());
    assert_eq!(
        (
            config.revoker.as_ref(),
            config.admin.as_ref(),
            config.persistence.as_ref()
        ),
        (None, None, None)
    );
    assert_eq!(config.source, "");
}

#[test]
fn every_top_level_field() {
    let config = load(
        r#"{"version": 3, "port": 9000, "listen_ip": "::1", "timeout": "1m30s", "read_header_timeout": "200ms",
            "idle_timeout": "2m", "max_header_bytes": 8192, "max_shutdown_wait_time": "0s",
            "extra_config": {"router": {"disable_access_log": true, "return_error_msg": true}}}"#,
    )
    .unwrap();
    assert_eq!(config.port, 9000);
    assert_eq!(config.listen_ip, Some("::1".parse::<IpAddr>().unwrap()));
    assert_eq!(
        config.listen_addr(),
        "[::1]:9000".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(config.timeout, Duration::from_secs(90));
    assert_eq!(config.read_header_timeout, Duration::from_millis(200));
    assert_eq!(config.idle_timeout, Duration::from_secs(120));
    assert_eq!(config.max_header_bytes, 8192);
    assert_eq!(config.max_shutdown_wait_time, Duration::ZERO);
    assert!(!config.access_log);
    let config = load(r#"{"version": 3, "listen_ip": "", "max_header_bytes": 0}"#).unwrap();
    assert_eq!(config.listen_ip, None);
    assert_eq!(
        config.max_header_bytes,
        64 * 1024,
        "0 means the default, as KrakenD"
    );
}

#[test]
fn bad_top_level_fields() {
    let cases = [
        (
            r#"{"version": 3, "port": "8080"}"#,
            "port: expected an integer, got a string (\"8080\")",
        ),
        (
            r#"{"version": 3, "port": 65536}"#,
            "port: must be a port number (0-65535), got 65536",
        ),
        (
            r#"{"version": 3, "listen_ip": "localhost"}"#,
            "listen_ip: \"localhost\" is not an IP address",
        ),
        (
            r#"{"version": 3, "timeout": "2"}"#,
            "timeout: invalid duration \"2\": missing unit (ns, us, ms, s, m or h)",
        ),
        (
            r#"{"version": 3, "timeout": "0"}"#,
            "timeout: must be greater than 0",
        ),
        (
            r#"{"version": 3, "idle_timeout": "-1s"}"#,
            "idle_timeout: invalid duration \"-1s\": must not be negative",
        ),
        (
            r#"{"version": 3, "read_header_timeout": "3000000h"}"#,
            "read_header_timeout: invalid duration \"3000000h\": out of range (at most 2562047h)",
        ),
        (
            r#"{"version": 3, "max_shutdown_wait_time": 5}"#,
            "max_shutdown_wait_time: expected a duration string like \"2s\", got a number (5)",
        ),
        (
            r#"{"version": 3, "max_header_bytes": -1}"#,
            "max_header_bytes: must be in 0..=16777216 (0: the default), got -1",
        ),
        (
            r#"{"version": 3, "max_header_bytes": 1e3}"#,
            "max_header_bytes: expected an integer, got a number (1000)",
        ),
        (
            r#"{"version": 3, "host": "http://h"}"#,
            "host: expected an array, got a string (\"http://h\")",
        ),
        (
            r#"{"version": 3, "endpoints": {}}"#,
            "endpoints: expected an array, got an object",
        ),
        (
            r#"{"version": 3, "extra_config": []}"#,
            "extra_config: expected an object, got an array",
        ),
        (
            r#"{"version": 3, "extra_config": {"router": {"disable_access_log": "yes"}}}"#,
            "extra_config.router.disable_access_log: expected a boolean, got a string (\"yes\")",
        ),
    ];
    for (json, want) in cases {
        assert_eq!(error(json), format!("config error: {want}"), "{json}");
    }
}

/// The contract's list: each bad config exits with one line naming the field.
#[test]
fn contract_bad_configs_name_the_field() {
    let cases: Vec<(String, &str)> = vec![
        // invalid JSON
        (
            "{\"version\": 3,\n \"port\": }".to_owned(),
            "config error: <config>: invalid JSON at line 2",
        ),
        // a wrong type
        (
            r#"{"version": 3, "port": true}"#.to_owned(),
            "config error: port: expected an integer, got a boolean (true)",
        ),
        // an unknown alg
        (
            with_validator(r#"{"alg": "HS1", "jwk_local_path": "jwk-symmetric.json"}"#),
            "config error: endpoints[0].extra_config.auth/validator.alg: unknown algorithm \"HS1\"",
        ),
        // a missing key file
        (
            with_validator(r#"{"alg": "HS256", "jwk_local_path": "missing.json"}"#),
            "config error: endpoints[0].extra_config.auth/validator.jwk_local_path: cannot read ",
        ),
        // N <= 0
        (
            with_revoker(r#"{"N": 0, "P": 0.1, "TTL": 1}"#),
            "config error: extra_config.auth/revoker.N: must be an integer >= 1, got 0",
        ),
        (
            with_revoker(r#"{"N": -5, "P": 0.1, "TTL": 1}"#),
            "config error: extra_config.auth/revoker.N: must be an integer >= 1, got -5",
        ),
        // P not in (0,1)
        (
            with_revoker(r#"{"N": 10, "P": 1.5, "TTL": 1}"#),
            "config error: extra_config.auth/revoker.P: must be in (0,1), got 1.5",
        ),
        // TTL <= 0
        (
            with_revoker(r#"{"N": 10, "P": 0.1, "TTL": 0}"#),
            "config error: extra_config.auth/revoker.TTL: must be a number of seconds in 1..=4294967295, got 0",
        ),
        // a bad duration
        (
            r#"{"version": 3, "timeout": "2 seconds"}"#.to_owned(),
            "config error: timeout: invalid duration \"2 seconds\"",
        ),
        // version != 3
        (
            r#"{"version": 2}"#.to_owned(),
            "config error: version: must be 3 (the krakend.json v3 format), got 2",
        ),
        (
            r#"{"port": 8080}"#.to_owned(),
            "config error: version: required",
        ),
        (
            r#"{"version": "3"}"#.to_owned(),
            "config error: version: expected an integer, got a string (\"3\")",
        ),
        // an aggregation endpoint
        (
            with_endpoints(
                r#"{"endpoint": "/a", "backend": [{"url_pattern": "/b"}, {"url_pattern": "/c"}]}"#,
            ),
            "config error: endpoints[0].backend: aggregation (2 backends) is not supported",
        ),
        // plain-http jwk_url without disable_jwk_security
        (
            with_validator(r#"{"alg": "RS256", "jwk_url": "http://idp/certs"}"#),
            "config error: endpoints[0].extra_config.auth/validator.jwk_url: \"http://idp/certs\" is plain http",
        ),
        // the top level is not an object
        (
            "[]".to_owned(),
            "config error: <config>: expected a JSON object at the top level",
        ),
    ];
    for (json, want) in cases {
        let line = error(&json);
        assert!(
            line.starts_with(want),
            "{json}\n got: {line}\nwant: {want}..."
        );
        assert_eq!(line.lines().count(), 1, "{line}");
    }
}

#[test]
fn unreadable_files_name_the_file() {
    let env = MapEnv::default();
    let missing = examples_dir().join("no-such-config.json");
    let e = Config::from_file(&missing, &env, &Overrides::new(Role::Check)).unwrap_err();
    assert_eq!(e.path, missing.display().to_string());
    assert!(e.message.starts_with("cannot read: "), "{}", e.message);
    let e = Config::from_file(&examples_dir(), &env, &Overrides::new(Role::Check)).unwrap_err();
    assert!(
        e.message.starts_with("cannot read: "),
        "a directory: {}",
        e.message
    );
}

#[test]
fn files_resolve_relative_paths_against_their_directory() {
    let env = MapEnv::default();
    let config = Config::from_file(
        &examples_dir().join("gateway.json"),
        &env,
        &Overrides::new(Role::Gateway),
    )
    .unwrap();
    assert!(config.source.ends_with("gateway.json"));
    let v = config.endpoints[1].validator.as_ref().unwrap();
    assert_eq!(
        v.keys,
        super::KeySource::Local {
            path: examples_dir().join("jwk-symmetric.json")
        }
    );
    let config = Config::from_file(
        &examples_dir().join("revoker.json"),
        &env,
        &Overrides::new(Role::Revoker),
    )
    .unwrap();
    assert!(config.revoker.is_some());
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn the_port_comes_from_flag_then_env_then_file() {
    let json = r#"{"version": 3, "port": 9002}"#;
    let base = examples_dir();
    let load_env = |env: &MapEnv, port: Option<u16>| {
        let overrides = Overrides {
            port,
            ..Overrides::new(Role::Check)
        };
        Config::from_bytes(json.as_bytes(), &base, env, &overrides).map(|c| c.port)
    };
    let env = MapEnv::new([(PORT_VAR, "9001")]);
    assert_eq!(load_env(&env, Some(9000)), Ok(9000));
    assert_eq!(load_env(&env, None), Ok(9001));
    assert_eq!(load_env(&MapEnv::default(), None), Ok(9002));
    let e = load_env(&MapEnv::new([(PORT_VAR, "x")]), None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "config error: env KRAKEND_PORT: must be a port number (0-65535), got \"x\""
    );
    let config = Config::from_bytes(
        br#"{"version": 3}"#,
        &base,
        &MapEnv::new([(PORT_VAR, "7000")]),
        &Overrides::new(Role::Check),
    );
    assert_eq!(
        config.map(|c| c.port),
        Ok(7000),
        "the env applies even without a port in the file"
    );
}

#[test]
fn ignored_keys_and_namespaces() {
    let json = r##"{
        "$schema": "https://www.krakend.io/schema/v3.json", "@comment": "x", "_note": 1, "#tag": [],
        "version": 3, "name": "gw", "cache_ttl": "300s", "sequential_start": true, "async_agent": [{"x": 1}],
        "host": ["h"],
        "endpoints": [{"@comment": "e", "endpoint": "/a", "cache_ttl": "1s", "concurrent_calls": 2,
            "backend": [{"url_pattern": "/b", "allow": ["x"], "mapping": {"a": "b"}, "group": "g",
                         "extra_config": {"qos/ratelimit/proxy": {"max_rate": 1}}}],
            "extra_config": {"qos/ratelimit/router": {"max_rate": 2}, "auth/signer": {"alg": "nope"}}}],
        "extra_config": {
            "telemetry/logging": {"level": "DEBUG"}, "security/cors": {"allow_origins": ["*"]},
            "router": {"return_error_msg": true}, "auth/validator": {"shared_cache_duration": 900},
            "@comment": "y"
        }
    }"##;
    let config = load(json).unwrap();
    assert_eq!(config.endpoints.len(), 1);
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    assert!(config.revoker.is_none());
}

#[test]
fn a_commented_out_revoker_is_no_revoker() {
    let config =
        load(r#"{"version": 3, "extra_config": {"@auth/revoker": {"N": 0}, "_auth/revoker": 1}}"#)
            .unwrap();
    assert!(config.revoker.is_none());
}

#[test]
fn role_requirements() {
    let gateway = Overrides::new(Role::Gateway);
    let revoker = Overrides::new(Role::Revoker);
    let no_port = with_revoker(
        r#"{"N": 1000, "P": 0.01, "TTL": 60, "token_keys": ["jti"], "revoke_server_api_key": "k"}"#,
    );
    let e = load_as(&no_port, gateway.clone()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "config error: extra_config.auth/revoker.port: required by a gateway (the RPC port), or pass --rpc-port"
    );
    assert!(
        load_as(
            &no_port,
            Overrides {
                rpc_port: Some(1),
                ..gateway.clone()
            }
        )
        .is_ok()
    );
    assert!(
        load_as(&no_port, revoker.clone()).is_ok(),
        "the Revoke Server has no RPC port"
    );

    let no_keys = with_revoker(r#"{"N": 1000, "P": 0.01, "TTL": 60, "port": 1}"#);
    let e = load_as(&no_keys, gateway.clone()).unwrap_err();
    assert_eq!(e.path, "extra_config.auth/revoker.token_keys");

    let no_api_key = with_revoker(&format!("{{{REVOKER}}}"));
    assert!(load_as(&no_api_key, gateway.clone()).is_ok());
    let e = load_as(&no_api_key, revoker.clone()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "config error: extra_config.auth/revoker.revoke_server_api_key: required by the Revoke Server: its REST API is never open"
    );

    let e = load_as(r#"{"version": 3}"#, revoker).unwrap_err();
    assert_eq!(
        e.to_string(),
        "config error: extra_config.auth/revoker: required by the Revoke Server"
    );
    assert!(
        load_as(r#"{"version": 3}"#, gateway).is_ok(),
        "a gateway without revocation is allowed"
    );
}

#[test]
fn check_turns_the_requirements_of_the_likely_role_into_warnings() {
    // No endpoints: checked as a Revoke Server's file.
    let config = load(&with_revoker(r#"{"N": 1000, "P": 0.01, "TTL": 60}"#)).unwrap();
    let lines: Vec<String> = config.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "warning: extra_config.auth/revoker.revoke_server_api_key: missing: `bloomgate revoker` will refuse this file (required by the Revoke Server: its REST API is never open)"
        ]
    );
    // Endpoints: checked as a gateway's file.
    let json = r#"{"version": 3, "host": ["h"], "endpoints": [{"endpoint": "/a", "backend": [{"url_pattern": "/b"}]}],
        "extra_config": {"auth/revoker": {"N": 1000, "P": 0.01, "TTL": 60}}}"#;
    let config = load(json).unwrap();
    let paths: Vec<&str> = config.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "extra_config.auth/revoker.port",
            "extra_config.auth/revoker.token_keys"
        ]
    );
}

/// No input panics: every prefix of a full config, and every single-byte corruption of it,
/// gives a config or a one-line error.
#[test]
fn truncated_or_corrupted_configs_never_panic() {
    let original = std::fs::read(examples_dir().join("gateway.json")).unwrap();
    let original = String::from_utf8(original)
        .unwrap()
        .replace("10000000", "1000");
    let bytes = original.as_bytes();
    let base = examples_dir();
    let env = MapEnv::default();
    let overrides = Overrides::new(Role::Check);
    let check = |input: &[u8]| {
        if let Err(e) = Config::from_bytes(input, &base, &env, &overrides) {
            assert_eq!(e.to_string().lines().count(), 1, "{e}");
        }
    };
    for end in 0..bytes.len() {
        check(&bytes[..end]);
    }
    let mut corrupted = bytes.to_vec();
    for i in (0..bytes.len()).step_by(13) {
        for replacement in [b'"', b'{', b'9', b'-', 0xff] {
            corrupted[i] = replacement;
            check(&corrupted);
        }
        corrupted[i] = bytes[i];
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!(
        "{{\"version\": 3, \"x\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let e = error(&deep);
    assert!(e.starts_with("config error: <config>: invalid JSON"), "{e}");
}

#[test]
fn example_configs_pass_for_their_role() {
    let env = MapEnv::default();
    for (file, role) in [
        ("gateway.json", Role::Gateway),
        ("revoker.json", Role::Revoker),
    ] {
        let path = examples_dir().join(file);
        let config = Config::from_file(&path, &env, &Overrides::new(role))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(
            config.warnings.is_empty() && config.skipped.is_empty(),
            "{file}: {:?}",
            config.warnings
        );
    }
}

#[test]
fn unsupported_errors_say_how_to_skip() {
    let e = load(&with_endpoints(
        r#"{"endpoint": "/a", "backend": [{"url_pattern": "/b/{JWT.sub}"}]}"#,
    ))
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert!(
        e.to_string()
            .ends_with("; pass --skip-unsupported to leave such endpoints out")
    );
}
