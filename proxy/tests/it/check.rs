//! `bloomgate check`: the KrakenD fixtures, the examples, and bad files.

use crate::support::{Scratch, bloomgate, example, fixture};

#[test]
fn the_enterprise_revoker_config_passes() {
    let out = bloomgate(
        &[
            "check",
            "-c",
            &fixture("playground-enterprise.revoker.json"),
        ],
        &[],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    assert!(
        out.stdout.contains("\nlisten: 0.0.0.0:8081\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\n  token_keys: jti, sub\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("\n  revoke server: http://revoker:8081/instances, ping every 30s\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_community_gateway_fails_on_aggregation_by_default() {
    let out = bloomgate(
        &["check", "-c", &fixture("playground-community.krakend.json")],
        &[],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert_eq!(
        out.stderr,
        "config error: endpoints[0].backend: aggregation (2 backends) is not supported; \
         pass --skip-unsupported to leave such endpoints out\n"
    );
}

#[test]
fn the_community_gateway_passes_when_skipping_unsupported_endpoints() {
    let out = bloomgate(
        &[
            "check",
            "--skip-unsupported",
            "-c",
            &fixture("playground-community.krakend.json"),
        ],
        &[],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let s = &out.stdout;
    assert!(s.contains("\nendpoints: 6 (9 skipped)\n"), "{s}");
    assert!(s.contains("\n  warning: endpoints[0] GET /git/{user}: skipped: aggregation (2 backends) is not supported\n"), "{s}");
    assert!(
        s.contains("\n  warning: endpoints[3] GET /market/cached: skipped: backend[0].host[0]: "),
        "{s}"
    );
    assert!(
        s.contains("\n  GET /public -> http://fake_api:80/hotels/1.json  [public]\n"),
        "{s}"
    );
    assert!(s.contains("\n  GET /private/custom -> http://fake_api:80/user/1.json  [jwt HS256, jwk_url=http://fake_api/jwk/symmetric.json]\n"), "{s}");
    // The revoker geometry for N = 1e7, P = 1e-7.
    let g = bloom::Geometry::new(10_000_000, 1e-7).unwrap();
    assert!(
        s.contains("\n  N: 10000000, P: 0.0000001, TTL: 1500s, hash_name: optimal\n"),
        "{s}"
    );
    assert!(s.contains("\n  RPC port: 1234\n"), "{s}");
    assert!(
        s.contains(&format!(
            "\n  geometry: {} bits = {} {} blocks of {} bits, k={}",
            g.bits(),
            g.blocks(),
            g.placement(),
            g.block_bits(),
            g.k()
        )),
        "{s}"
    );
    assert!(
        s.contains(&format!(
            "\n  classic (KrakenD): {} bits, k={}",
            g.classic().bits,
            g.classic().k
        )),
        "{s}"
    );
    assert!(s.contains("MiB for both generations\n"), "{s}");
}

#[test]
fn the_krakend_ce_test_config_fails_then_passes_with_skipping() {
    let path = fixture("krakend-ce.tests.krakend.json");
    let out = bloomgate(&["check", "-c", &path], &[]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.starts_with(
            "config error: endpoints[2].backend: aggregation (2 backends) is not supported"
        ),
        "{out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 1);

    let out = bloomgate(&["check", "-c", &path, "--skip-unsupported"], &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let s = &out.stdout;
    assert!(s.contains("\nendpoints: 22 (13 skipped)\n"), "{s}");
    assert!(s.contains("skipped: backend[0].url_pattern: {JWT.sub}: JWT claims as URL parameters are not supported"), "{s}");
    assert!(
        s.contains("\n  warning: endpoints[5].output_encoding: \"xml\" is not supported"),
        "{s}"
    );
    assert!(s.contains("\nrevoker: none"), "{s}");
}

#[test]
fn the_examples_pass() {
    for name in ["gateway.json", "revoker.json"] {
        let out = bloomgate(&["check", "-c", &example(name)], &[]);
        assert_eq!(out.code, Some(0), "{name}: {out:?}");
        assert!(
            out.stdout.contains("\nwarnings: 0\n"),
            "{name}: {}",
            out.stdout
        );
    }
}

#[test]
fn the_port_comes_from_the_env_unless_a_flag_says_otherwise() {
    let out = bloomgate(
        &["check", "-c", &example("gateway.json")],
        &[("KRAKEND_PORT", "9123")],
    );
    assert!(out.stdout.contains("\nlisten: 0.0.0.0:9123\n"), "{out:?}");
    let out = bloomgate(
        &["check", "-c", &example("gateway.json")],
        &[("KRAKEND_PORT", "nope")],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(
        out.stderr,
        "config error: env KRAKEND_PORT: must be a port number (0-65535), got \"nope\"\n"
    );
}

#[test]
fn bad_files_print_exactly_one_config_error_line() {
    let scratch = Scratch::new("bad-files");
    let cases = [
        (
            "syntax.json",
            "{\"version\": 3,\n  \"port\": 80,,\n}",
            "config error: ",
        ),
        ("empty.json", "", "config error: "),
        (
            "version.json",
            r#"{"version": 2}"#,
            "config error: version: must be 3",
        ),
        (
            "p.json",
            r#"{"version": 3, "extra_config": {"auth/revoker": {"N": 10, "P": 1.5, "TTL": 60}}}"#,
            "config error: extra_config.auth/revoker.P: must be in (0,1), got 1.5",
        ),
        (
            "key.json",
            r#"{"version": 3, "host": ["h"], "endpoints": [{"endpoint": "/a", "backend": [{"url_pattern": "/b"}],
            "extra_config": {"auth/validator": {"alg": "HS256", "jwk_local_path": "missing-jwk.json"}}}]}"#,
            "config error: endpoints[0].extra_config.auth/validator.jwk_local_path: cannot read ",
        ),
    ];
    for (name, contents, want) in cases {
        let path = scratch.file(name, contents);
        let out = bloomgate(&["check", "-c", &path], &[]);
        assert_eq!(out.code, Some(1), "{name}: {out:?}");
        assert!(out.stdout.is_empty(), "{name}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{name}: {out:?}");
        assert!(out.stderr.starts_with(want), "{name}: {out:?}");
        assert!(!out.stderr.contains("panicked"), "{name}: {out:?}");
    }
    let out = bloomgate(
        &[
            "check",
            "-c",
            &scratch.file("syntax2.json", "{\n\"version\": 3\n\"port\": 1}"),
        ],
        &[],
    );
    assert!(
        out.stderr.contains("invalid JSON at line 3, column 1"),
        "{out:?}"
    );
}

#[test]
fn a_missing_file_names_the_file() {
    let out = bloomgate(&["check", "-c", "/nonexistent/krakend.json"], &[]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr
            .starts_with("config error: /nonexistent/krakend.json: cannot read: "),
        "{out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 1);
}

#[test]
fn revoker_validates_then_binds_and_names_a_busy_address() {
    // Both examples are valid Revoke Server configs; the port is taken, so each stops at bind.
    let busy = std::net::TcpListener::bind("0.0.0.0:0").expect("bind");
    let port = busy.local_addr().expect("addr").port().to_string();
    for name in ["revoker.json", "gateway.json"] {
        let out = bloomgate(&["revoker", "-c", &example(name), "--port", &port], &[]);
        assert_eq!(out.code, Some(1), "{name}: {out:?}");
        assert!(
            out.stderr.contains(&format!("0.0.0.0:{port}")),
            "{name}: {out:?}"
        );
    }
    // Without an API key the REST API would be open: a config error, nothing bound.
    let scratch = Scratch::new("revoker-no-key");
    let path = scratch.file(
        "r.json",
        r#"{"version": 3, "extra_config": {"auth/revoker": {"N": 10, "P": 0.01, "TTL": 60}}}"#,
    );
    let out = bloomgate(&["revoker", "-c", &path], &[]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr
            .starts_with("config error: extra_config.auth/revoker.revoke_server_api_key"),
        "{out:?}"
    );
}

#[test]
fn run_fails_on_a_bad_config_before_binding_anything() {
    let out = bloomgate(
        &["run", "-c", &fixture("playground-community.krakend.json")],
        &[],
    );
    assert_eq!(out.code, Some(1), "config errors come first: {out:?}");
    assert!(out.stderr.starts_with("config error: "), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
}

#[test]
fn check_parses_local_jwk_sets_as_run_does() {
    let scratch = Scratch::new("check-jwk");
    scratch.file("garbage.jwk.json", "this is not a JWK Set");
    scratch.file(
        "oct.jwk.json",
        r#"{"keys": [{"kty": "oct", "kid": "a", "alg": "HS256", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}]}"#,
    );
    let config = |alg: &str, jwk: &str| {
        format!(
            r#"{{"version": 3, "host": ["h"], "endpoints": [{{"endpoint": "/a", "backend": [{{"url_pattern": "/b"}}],
            "extra_config": {{"auth/validator": {{"alg": "{alg}", "jwk_local_path": "{jwk}"}}}}}}]}}"#
        )
    };
    let field = "config error: endpoints[0].extra_config.auth/validator.jwk_local_path: ";
    let cases = [
        ("garbage.json", config("HS256", "garbage.jwk.json"), ""),
        (
            "no-rsa.json",
            config("RS256", "oct.jwk.json"),
            "no key usable with alg RS256",
        ),
    ];
    for (name, contents, says) in cases {
        let path = scratch.file(name, &contents);
        let out = bloomgate(&["check", "-c", &path], &[]);
        assert_eq!(out.code, Some(1), "{name}: {out:?}");
        assert!(out.stdout.is_empty(), "{name}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{name}: {out:?}");
        assert!(out.stderr.starts_with(field), "{name}: {out:?}");
        assert!(out.stderr.contains(says), "{name}: {out:?}");
    }
    // The same file with the alg it holds a key for passes.
    let path = scratch.file("ok.json", &config("HS256", "oct.jwk.json"));
    let out = bloomgate(&["check", "-c", &path], &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
}
