use std::time::Duration;

use super::{Alg, KeySource, PropagateClaim, ScopesMatcher, ValidatorSettings};
use crate::config::testing::{error, examples_dir, load, load_as, with_validator};
use crate::config::{ErrorKind, Overrides, Role, Scheme};

const PATH: &str = "endpoints[0].extra_config.auth/validator";

fn validator(body: &str) -> ValidatorSettings {
    let config = load(&with_validator(body)).unwrap_or_else(|e| panic!("{e}"));
    config.endpoints[0].validator.clone().expect("a validator")
}

#[test]
fn a_local_key_file_with_defaults() {
    let v = validator(r#"{"alg": "HS256", "jwk_local_path": "jwk-symmetric.json"}"#);
    assert_eq!(v.alg, Alg::HS256);
    assert_eq!(
        v.keys,
        KeySource::Local {
            path: examples_dir().join("jwk-symmetric.json")
        }
    );
    assert!(v.audience.is_empty() && v.roles.is_empty() && v.scopes.is_empty());
    assert_eq!(v.issuer, None);
    assert_eq!(v.roles_key, "roles");
    assert!(!v.roles_key_is_nested);
    assert_eq!(v.scopes_key, None);
    assert_eq!(v.scopes_matcher, ScopesMatcher::Any);
    assert!(v.propagate_claims.is_empty());
    assert_eq!(v.cookie_key, "access_token");
    assert_eq!(v.leeway, Duration::from_secs(1));
}

#[test]
fn every_field() {
    let v = validator(
        r#"{"alg": "RS256", "jwk_url": "https://idp.example.com:8443/certs?x=1", "cache_duration": 60,
            "audience": ["a", "b"], "issuer": "https://idp", "roles_key": "realm_access.roles",
            "roles_key_is_nested": true, "roles": ["admin"], "scopes_key": "scope", "scopes": ["r", "w"],
            "scopes_matcher": "all", "propagate_claims": [["sub", "X-User"], ["tenant", "x-tenant"]],
            "cookie_key": "tok", "leeway": "1m", "key_identify_strategy": "kid",
            "operation_debug": true, "cache": true, "@comment": "ignored"}"#,
    );
    assert_eq!(v.alg, Alg::RS256);
    let KeySource::Remote {
        url,
        cache_duration,
    } = &v.keys
    else {
        panic!("{:?}", v.keys)
    };
    assert_eq!(*cache_duration, Duration::from_secs(60));
    assert_eq!(
        (url.scheme, url.host.as_str(), url.port, url.path.as_str()),
        (Scheme::Https, "idp.example.com", 8443, "/certs?x=1")
    );
    assert_eq!(url.host_header, "idp.example.com:8443");
    assert!(!url.insecure);
    assert_eq!(v.audience, ["a", "b"]);
    assert_eq!(v.issuer.as_deref(), Some("https://idp"));
    assert_eq!(v.roles_key, "realm_access.roles");
    assert!(v.roles_key_is_nested);
    assert_eq!(v.roles, ["admin"]);
    assert_eq!(v.scopes_key.as_deref(), Some("scope"));
    assert_eq!(v.scopes, ["r", "w"]);
    assert_eq!(v.scopes_matcher, ScopesMatcher::All);
    assert_eq!(
        v.propagate_claims,
        [
            PropagateClaim {
                claim: "sub".into(),
                header: "X-User".into()
            },
            PropagateClaim {
                claim: "tenant".into(),
                header: "x-tenant".into()
            }
        ]
    );
    assert_eq!(v.cookie_key, "tok");
    assert_eq!(v.leeway, Duration::from_secs(60));
}

#[test]
fn every_supported_alg_parses() {
    for alg in Alg::ALL {
        let v = validator(&format!(
            r#"{{"alg": "{alg}", "jwk_local_path": "jwk-symmetric.json"}}"#
        ));
        assert_eq!(v.alg, alg);
        assert_eq!(Alg::from_name(alg.as_str()), Some(alg));
    }
    assert_eq!(
        Alg::from_name("hs256"),
        None,
        "JOSE names are case-sensitive"
    );
}

#[test]
fn an_unknown_alg_is_an_error_naming_the_field() {
    let e = error(&with_validator(
        r#"{"alg": "HS257", "jwk_local_path": "jwk-symmetric.json"}"#,
    ));
    assert!(
        e.starts_with(&format!(
            "config error: {PATH}.alg: unknown algorithm \"HS257\"; expected one of EdDSA, HS256"
        )),
        "{e}"
    );
    let e = error(&with_validator(
        r#"{"alg": "none", "jwk_local_path": "jwk-symmetric.json"}"#,
    ));
    assert!(
        e.starts_with(&format!(
            "config error: {PATH}.alg: unknown algorithm \"none\""
        )),
        "{e}"
    );
    let e = error(&with_validator(
        r#"{"jwk_local_path": "jwk-symmetric.json"}"#,
    ));
    assert_eq!(e, format!("config error: {PATH}.alg: required"));
    let e = error(&with_validator(
        r#"{"alg": 256, "jwk_local_path": "jwk-symmetric.json"}"#,
    ));
    assert_eq!(
        e,
        format!("config error: {PATH}.alg: expected a string, got a number (256)")
    );
}

#[test]
fn es512_is_unsupported_and_skippable() {
    let json = with_validator(r#"{"alg": "ES512", "jwk_local_path": "jwk-symmetric.json"}"#);
    let e = load(&json).unwrap_err();
    assert_eq!(
        (e.kind, e.path.as_str()),
        (
            ErrorKind::Unsupported,
            "endpoints[0].extra_config.auth/validator.alg"
        )
    );
    let config = load_as(
        &json,
        Overrides {
            skip_unsupported: true,
            ..Overrides::new(Role::Check)
        },
    )
    .unwrap();
    assert!(config.endpoints.is_empty());
    assert_eq!(config.skipped.len(), 1);
}

#[test]
fn a_missing_key_file_is_an_error_naming_the_field() {
    let e = error(&with_validator(
        r#"{"alg": "HS256", "jwk_local_path": "no-such-file.json"}"#,
    ));
    assert!(
        e.starts_with(&format!(
            "config error: {PATH}.jwk_local_path: cannot read "
        )),
        "{e}"
    );
    assert!(e.contains("no-such-file.json"), "{e}");
    let e = error(&with_validator(
        r#"{"alg": "HS256", "jwk_local_path": "."}"#,
    ));
    assert!(e.ends_with("not a regular file"), "{e}");
    let e = error(&with_validator(r#"{"alg": "HS256", "jwk_local_path": ""}"#));
    assert_eq!(
        e,
        format!("config error: {PATH}.jwk_local_path: must not be empty")
    );
}

#[test]
fn an_absolute_key_path_is_used_as_is() {
    let abs = examples_dir()
        .join("jwk-symmetric.json")
        .canonicalize()
        .unwrap();
    let body = format!(
        r#"{{"alg": "HS256", "jwk_local_path": {:?}}}"#,
        abs.display().to_string()
    );
    assert_eq!(validator(&body).keys, KeySource::Local { path: abs });
}

#[test]
fn plain_http_jwk_url_needs_disable_jwk_security() {
    let e = error(&with_validator(
        r#"{"alg": "HS256", "jwk_url": "http://idp/jwk"}"#,
    ));
    assert_eq!(
        e,
        format!(
            "config error: {PATH}.jwk_url: \"http://idp/jwk\" is plain http: use https, or set disable_jwk_security: true"
        )
    );
    let v =
        validator(r#"{"alg": "HS256", "jwk_url": "http://idp/jwk", "disable_jwk_security": true}"#);
    let KeySource::Remote {
        url,
        cache_duration,
    } = v.keys
    else {
        panic!()
    };
    assert!(url.insecure);
    assert_eq!((url.port, url.path.as_str()), (80, "/jwk"));
    assert_eq!(cache_duration, Duration::from_secs(900));
}

#[test]
fn key_source_problems() {
    let e = error(&with_validator(r#"{"alg": "HS256"}"#));
    assert_eq!(
        e,
        format!("config error: {PATH}: one of jwk_url or jwk_local_path is required")
    );
    let e = error(&with_validator(r#"{"alg": "HS256", "jwk_url": "idp/jwk"}"#));
    assert!(
        e.starts_with(&format!(
            "config error: {PATH}.jwk_url: \"idp/jwk\" is not an absolute URL"
        )),
        "{e}"
    );
    let e = error(&with_validator(
        r#"{"alg": "HS256", "jwk_url": "https://idp", "cache_duration": 0}"#,
    ));
    assert_eq!(
        e,
        format!("config error: {PATH}.cache_duration: must be a number of seconds >= 1, got 0")
    );
    let e = error(&with_validator(
        r#"{"alg": "HS256", "jwk_url": "https://idp", "disable_jwk_security": "yes"}"#,
    ));
    assert_eq!(
        e,
        format!(
            "config error: {PATH}.disable_jwk_security: expected a boolean, got a string (\"yes\")"
        )
    );
}

#[test]
fn a_local_file_wins_over_a_url_with_a_warning() {
    let config = load(&with_validator(
        r#"{"alg": "HS256", "jwk_local_path": "jwk-symmetric.json", "jwk_url": "https://idp/jwk"}"#,
    ))
    .unwrap();
    assert!(matches!(
        config.endpoints[0].validator.as_ref().unwrap().keys,
        KeySource::Local { .. }
    ));
    assert_eq!(config.warnings.len(), 1);
    assert_eq!(config.warnings[0].path, format!("{PATH}.jwk_url"));
}

#[test]
fn propagate_claims_must_be_pairs_of_strings() {
    let base = r#""alg": "HS256", "jwk_local_path": "jwk-symmetric.json""#;
    let cases = [
        (
            r#"[["sub"]]"#,
            "propagate_claims[0]: expected a [claim, header] pair, got 1 items",
        ),
        (
            r#"[["sub", "X", "Y"]]"#,
            "propagate_claims[0]: expected a [claim, header] pair, got 3 items",
        ),
        (
            r#"[["sub", 1]]"#,
            "propagate_claims[0][1]: expected a string, got a number (1)",
        ),
        (
            r#"["sub"]"#,
            "propagate_claims[0]: expected an array, got a string (\"sub\")",
        ),
        (
            r#"{"sub": "X"}"#,
            "propagate_claims: expected an array, got an object",
        ),
        (
            r#"[["sub", "X User"]]"#,
            "propagate_claims[0][1]: \"X User\" is not a valid header name",
        ),
        (
            r#"[["", "X"]]"#,
            "propagate_claims[0]: the claim name must not be empty",
        ),
    ];
    for (claims, want) in cases {
        let e = error(&with_validator(&format!(
            "{{{base}, \"propagate_claims\": {claims}}}"
        )));
        assert_eq!(e, format!("config error: {PATH}.{want}"), "{claims}");
    }
}

#[test]
fn other_bad_values() {
    let base = r#""alg": "HS256", "jwk_local_path": "jwk-symmetric.json""#;
    let cases = [
        (
            r#""scopes_matcher": "some""#,
            "scopes_matcher: must be \"any\" or \"all\", got \"some\"",
        ),
        (
            r#""audience": "a""#,
            "audience: expected an array, got a string (\"a\")",
        ),
        (
            r#""roles": [1]"#,
            "roles[0]: expected a string, got a number (1)",
        ),
        (
            r#""leeway": 5"#,
            "leeway: expected a duration string like \"2s\", got a number (5)",
        ),
        (
            r#""leeway": "5 s""#,
            "leeway: invalid duration \"5 s\": unknown unit \" s\" (ns, us, ms, s, m or h)",
        ),
        (
            r#""key_identify_strategy": "foo""#,
            "key_identify_strategy: unknown strategy \"foo\" (only \"kid\")",
        ),
        (
            r#""roles_key_is_nested": 1"#,
            "roles_key_is_nested: expected a boolean, got a number (1)",
        ),
    ];
    for (field, want) in cases {
        let e = error(&with_validator(&format!("{{{base}, {field}}}")));
        assert_eq!(e, format!("config error: {PATH}.{want}"), "{field}");
    }
    let e = error(&with_validator(r#""HS256""#));
    assert_eq!(
        e,
        format!("config error: {PATH}: expected an object, got a string (\"HS256\")")
    );
}

#[test]
fn unsupported_validator_features() {
    let base = r#""alg": "HS256", "jwk_local_path": "jwk-symmetric.json""#;
    for field in [
        r#""key_identify_strategy": "x5t""#,
        r#""auth_header_name": "X-Token""#,
        r#""cypher_key": "abc""#,
    ] {
        let e = load(&with_validator(&format!("{{{base}, {field}}}"))).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unsupported, "{field}: {e}");
    }
    let v = validator(&format!(
        r#"{{{base}, "auth_header_name": "authorization"}}"#
    ));
    assert_eq!(v.alg, Alg::HS256);
}

#[test]
fn a_short_leeway_is_raised_to_one_second_with_a_warning() {
    let config = load(&with_validator(
        r#"{"alg": "HS256", "jwk_local_path": "jwk-symmetric.json", "leeway": "200ms"}"#,
    ))
    .unwrap();
    assert_eq!(
        config.endpoints[0].validator.as_ref().unwrap().leeway,
        Duration::from_secs(1)
    );
    assert_eq!(config.warnings.len(), 1);
    assert_eq!(
        config.warnings[0].to_string(),
        format!("warning: {PATH}.leeway: 200ms is below the minimum; using 1s, as KrakenD")
    );
}

#[test]
fn describe_for_check() {
    let v = validator(r#"{"alg": "HS256", "jwk_url": "https://idp/jwk"}"#);
    assert_eq!(v.describe(), "jwt HS256, jwk_url=https://idp/jwk");
}
