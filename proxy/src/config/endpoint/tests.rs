use std::time::Duration;

use super::{Method, NameFilter};
use crate::config::testing::{error, load, load_as, with_endpoints};
use crate::config::{ErrorKind, Overrides, Role, Upstream, UrlPart};

#[test]
fn a_minimal_endpoint_gets_the_defaults() {
    let config = load(&with_endpoints(
        r#"{"endpoint": "/a/{id}", "backend": [{"url_pattern": "/b/{id}"}]}"#,
    ))
    .unwrap();
    let e = &config.endpoints[0];
    assert_eq!(e.index, 0);
    assert_eq!(e.method, Method::Get);
    assert_eq!(e.path.as_str(), "/a/{id}");
    assert_eq!(e.timeout, Duration::from_secs(2));
    assert_eq!(
        e.input_headers,
        NameFilter::Only(vec!["content-type".into()])
    );
    assert_eq!(e.input_query_strings, NameFilter::Only(vec![]));
    assert_eq!(e.validator, None);
    assert_eq!(e.backend.method, Method::Get);
    assert_eq!(
        e.backend.hosts,
        [Upstream {
            host: "b".into(),
            port: 1,
            host_header: "b:1".into()
        }]
    );
    assert_eq!(
        e.backend.url_pattern.parts(),
        [
            UrlPart::Literal("/b/".into()),
            UrlPart::Param {
                name: "id".into(),
                index: 0
            }
        ]
    );
    assert!(config.warnings.is_empty());
}

#[test]
fn every_endpoint_field() {
    let config = load(&with_endpoints(
        r#"{"endpoint": "/a", "method": "post", "timeout": "150us", "input_headers": ["X-Id", "Authorization"],
            "input_query_strings": ["a", "B"], "output_encoding": "no-op", "cache_ttl": "1s", "concurrent_calls": 3,
            "backend": [{"host": ["h1", "http://h2:81/"], "url_pattern": "/b", "method": "PUT", "encoding": "json"}]}"#,
    ))
    .unwrap();
    let e = &config.endpoints[0];
    assert_eq!(e.method, Method::Post);
    assert_eq!(e.timeout, Duration::from_micros(150));
    assert_eq!(
        e.input_headers,
        NameFilter::Only(vec!["x-id".into(), "authorization".into()])
    );
    assert!(e.input_headers.allows("x-id") && !e.input_headers.allows("content-type"));
    assert_eq!(
        e.input_query_strings,
        NameFilter::Only(vec!["a".into(), "B".into()])
    );
    assert!(e.input_query_strings.allows("B") && !e.input_query_strings.allows("b"));
    assert_eq!(e.backend.method, Method::Put);
    let hosts: Vec<String> = e.backend.hosts.iter().map(Upstream::authority).collect();
    assert_eq!(hosts, ["h1:80", "h2:81"]);
    assert!(config.warnings.is_empty(), "no-op says nothing");
}

#[test]
fn wildcards_and_empty_lists() {
    let config = load(&with_endpoints(
        r#"{"endpoint": "/a", "input_headers": ["X", "*"], "input_query_strings": ["*"], "backend": [{"url_pattern": "/b"}]},
           {"endpoint": "/c", "input_headers": [], "input_query_strings": [], "backend": [{"url_pattern": "/d"}]}"#,
    ))
    .unwrap();
    assert_eq!(config.endpoints[0].input_headers, NameFilter::All);
    assert_eq!(config.endpoints[0].input_query_strings, NameFilter::All);
    assert_eq!(
        config.endpoints[1].input_headers,
        NameFilter::Only(vec!["content-type".into()]),
        "[] is the default"
    );
    assert_eq!(
        config.endpoints[1].input_query_strings,
        NameFilter::Only(vec![])
    );
}

#[test]
fn all_methods_and_case() {
    for (name, method) in [
        ("GET", Method::Get),
        ("post", Method::Post),
        ("Put", Method::Put),
        ("PATCH", Method::Patch),
        ("DELETE", Method::Delete),
        ("HEAD", Method::Head),
        ("OPTIONS", Method::Options),
    ] {
        let config = load(&with_endpoints(&format!(
            r#"{{"endpoint": "/a", "method": "{name}", "backend": [{{"url_pattern": "/b"}}]}}"#
        )))
        .unwrap();
        assert_eq!(config.endpoints[0].method, method);
        assert_eq!(
            config.endpoints[0].backend.method, method,
            "the backend inherits it"
        );
    }
    let e = error(&with_endpoints(
        r#"{"endpoint": "/a", "method": "TRACE", "backend": [{"url_pattern": "/b"}]}"#,
    ));
    assert_eq!(
        e,
        "config error: endpoints[0].method: unsupported method \"TRACE\" (GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS)"
    );
    let e = error(&with_endpoints(
        r#"{"endpoint": "/a", "backend": [{"url_pattern": "/b", "method": "CONNECT"}]}"#,
    ));
    assert!(
        e.starts_with(
            "config error: endpoints[0].backend[0].method: unsupported method \"CONNECT\""
        ),
        "{e}"
    );
}

#[test]
fn the_endpoint_timeout_defaults_to_the_top_level_one() {
    let json = r#"{"version": 3, "timeout": "3000ms", "host": ["h"], "endpoints": [
        {"endpoint": "/a", "backend": [{"url_pattern": "/b"}]},
        {"endpoint": "/c", "timeout": "1m30s", "backend": [{"url_pattern": "/d"}]}]}"#;
    let config = load(json).unwrap();
    assert_eq!(config.endpoints[0].timeout, Duration::from_secs(3));
    assert_eq!(config.endpoints[1].timeout, Duration::from_secs(90));
}

#[test]
fn bad_endpoint_fields_name_the_field() {
    let cases = [
        (
            r#"{"backend": [{"url_pattern": "/b"}]}"#,
            "endpoints[0].endpoint: required",
        ),
        (
            r#"{"endpoint": "a", "backend": [{"url_pattern": "/b"}]}"#,
            "endpoints[0].endpoint: \"a\" must start with /",
        ),
        (
            r#"{"endpoint": "/__health", "backend": [{"url_pattern": "/b"}]}"#,
            "endpoints[0].endpoint: \"/__health\" is reserved for the health check",
        ),
        (
            r#"{"endpoint": "/a", "timeout": "2 s", "backend": [{"url_pattern": "/b"}]}"#,
            "endpoints[0].timeout: invalid duration \"2 s\": unknown unit \" s\" (ns, us, ms, s, m or h)",
        ),
        (
            r#"{"endpoint": "/a", "timeout": "0s", "backend": [{"url_pattern": "/b"}]}"#,
            "endpoints[0].timeout: must be greater than 0",
        ),
        (
            r#"{"endpoint": "/a", "input_headers": "*", "backend": [{"url_pattern": "/b"}]}"#,
            "endpoints[0].input_headers: expected an array, got a string (\"*\")",
        ),
        (
            r#"{"endpoint": "/a", "input_headers": ["X Y"], "backend": [{"url_pattern": "/b"}]}"#,
            "endpoints[0].input_headers[0]: \"X Y\" is not a valid header name",
        ),
        (
            r#"{"endpoint": "/a", "input_query_strings": [1], "backend": [{"url_pattern": "/b"}]}"#,
            "endpoints[0].input_query_strings[0]: expected a string, got a number (1)",
        ),
        (
            r#"{"endpoint": "/a", "output_encoding": 1, "backend": [{"url_pattern": "/b"}]}"#,
            "endpoints[0].output_encoding: expected a string, got a number (1)",
        ),
        (r#"{"endpoint": "/a"}"#, "endpoints[0].backend: required"),
        (
            r#"{"endpoint": "/a", "backend": []}"#,
            "endpoints[0].backend: at least one backend is required",
        ),
        (
            r#"{"endpoint": "/a", "backend": {"url_pattern": "/b"}}"#,
            "endpoints[0].backend: expected an array, got an object",
        ),
        (
            r#"{"endpoint": "/a", "backend": [{}]}"#,
            "endpoints[0].backend[0].url_pattern: required",
        ),
        (
            r#"{"endpoint": "/a", "backend": [{"url_pattern": 5}]}"#,
            "endpoints[0].backend[0].url_pattern: expected a string, got a number (5)",
        ),
        (
            r#"{"endpoint": "/a/{id}", "backend": [{"url_pattern": "/b/{idd}"}]}"#,
            "endpoints[0].backend[0].url_pattern: undeclared parameter {idd}: the endpoint declares {id}",
        ),
        (
            r#"{"endpoint": "/a", "backend": [{"url_pattern": "/b", "host": "h"}]}"#,
            "endpoints[0].backend[0].host: expected an array, got a string (\"h\")",
        ),
        (
            r#"{"endpoint": "/a", "backend": [{"url_pattern": "/b", "host": ["ftp://h"]}]}"#,
            "endpoints[0].backend[0].host[0]: \"ftp://h\": unsupported scheme \"ftp\" (http or https)",
        ),
        (
            r#"{"endpoint": "/a", "extra_config": [], "backend": [{"url_pattern": "/b"}]}"#,
            "endpoints[0].extra_config: expected an object, got an array",
        ),
        (r#"3"#, "endpoints[0]: expected an object, got a number (3)"),
    ];
    for (endpoint, want) in cases {
        assert_eq!(
            error(&with_endpoints(endpoint)),
            format!("config error: {want}"),
            "{endpoint}"
        );
    }
}

#[test]
fn a_backend_without_any_host_is_an_error() {
    let json =
        r#"{"version": 3, "endpoints": [{"endpoint": "/a", "backend": [{"url_pattern": "/b"}]}]}"#;
    assert_eq!(
        error(json),
        "config error: endpoints[0].backend[0].host: no backend host: set it here or at the top level"
    );
    let json = r#"{"version": 3, "endpoints": [{"endpoint": "/a", "backend": [{"url_pattern": "/b", "host": []}]}]}"#;
    assert_eq!(
        error(json),
        "config error: endpoints[0].backend[0].host: no backend host: set it here or at the top level"
    );
}

#[test]
fn a_bad_top_level_host_is_named_where_it_is_written() {
    let json = r#"{"version": 3, "host": ["http://ok", "ftp://no"], "endpoints": [{"endpoint": "/a", "backend": [{"url_pattern": "/b"}]}]}"#;
    assert_eq!(
        error(json),
        "config error: host[1]: \"ftp://no\": unsupported scheme \"ftp\" (http or https)"
    );
    let json = r#"{"version": 3, "host": ["ftp://no"], "endpoints": []}"#;
    assert_eq!(
        error(json),
        "config error: host[0]: \"ftp://no\": unsupported scheme \"ftp\" (http or https)",
        "even when unused"
    );
    let json = r#"{"version": 3, "host": [5]}"#;
    assert_eq!(
        error(json),
        "config error: host[0]: expected a string, got a number (5)"
    );
    let json = r#"{"version": 3, "host": ["https://api"], "endpoints": [{"endpoint": "/a", "backend": [{"url_pattern": "/b", "host": ["ok"]}]}]}"#;
    assert!(
        load(json).is_ok(),
        "an unused https top-level host is not an error"
    );
}

#[test]
fn aggregation_is_unsupported_naming_the_backend_list() {
    let json = with_endpoints(
        r#"{"endpoint": "/git/{user}", "backend": [{"url_pattern": "/u/{user}"}, {"url_pattern": "/r"}]}"#,
    );
    let e = load(&json).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported);
    assert_eq!(e.path, "endpoints[0].backend");
    assert_eq!(
        e.to_string(),
        "config error: endpoints[0].backend: aggregation (2 backends) is not supported; pass --skip-unsupported to leave such endpoints out"
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
    assert_eq!(
        config.skipped[0].to_string(),
        "warning: endpoints[0] GET /git/{user}: skipped: aggregation (2 backends) is not supported"
    );
}

#[test]
fn https_backends_and_jwt_params_are_unsupported() {
    let skip = Overrides {
        skip_unsupported: true,
        ..Overrides::new(Role::Check)
    };
    let json = with_endpoints(
        r#"{"endpoint": "/a", "backend": [{"url_pattern": "/b", "host": ["https://api.github.com"]}]},
           {"endpoint": "/c", "backend": [{"url_pattern": "/d/{JWT.sub}"}]},
           {"endpoint": "/e", "backend": [{"url_pattern": "/f"}]}"#,
    );
    let e = load(&json).unwrap_err();
    assert_eq!(
        (e.kind, e.path.as_str()),
        (ErrorKind::Unsupported, "endpoints[0].backend[0].host[0]")
    );
    let config = load_as(&json, skip).unwrap();
    assert_eq!(config.endpoints.len(), 1);
    assert_eq!(
        config.endpoints[0].index, 2,
        "kept endpoints keep their file index"
    );
    let lines: Vec<String> = config.skipped.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "warning: endpoints[0] GET /a: skipped: backend[0].host[0]: \"https://api.github.com\": https backends are not supported (bloomgate has no TLS to backends)",
            "warning: endpoints[1] GET /c: skipped: backend[0].url_pattern: {JWT.sub}: JWT claims as URL parameters are not supported",
        ]
    );
}

#[test]
fn skipping_never_hides_an_invalid_endpoint() {
    let skip = Overrides {
        skip_unsupported: true,
        ..Overrides::new(Role::Check)
    };
    let json = with_endpoints(
        r#"{"endpoint": "/a", "timeout": "soon", "backend": [{"url_pattern": "/b"}, {"url_pattern": "/c"}]}"#,
    );
    let e = load_as(&json, skip).unwrap_err();
    assert_eq!(e.path, "endpoints[0].timeout");
}

#[test]
fn an_https_top_level_host_makes_its_endpoints_unsupported() {
    let json = r#"{"version": 3, "host": ["https://api"], "endpoints": [{"endpoint": "/a", "backend": [{"url_pattern": "/b"}]}]}"#;
    let e = load(json).unwrap_err();
    assert_eq!(
        (e.kind, e.path.as_str()),
        (ErrorKind::Unsupported, "host[0]")
    );
    let config = load_as(
        json,
        Overrides {
            skip_unsupported: true,
            ..Overrides::new(Role::Check)
        },
    )
    .unwrap();
    assert_eq!(
        config.skipped[0].to_string(),
        "warning: endpoints[0] GET /a: skipped: host[0]: \"https://api\": https backends are not supported (bloomgate has no TLS to backends)"
    );
}

#[test]
fn duplicate_routes_are_an_error() {
    let json = with_endpoints(
        r#"{"endpoint": "/a/{x}", "backend": [{"url_pattern": "/b"}]},
           {"endpoint": "/a/{x}", "method": "POST", "backend": [{"url_pattern": "/b"}]},
           {"endpoint": "/a/{y}", "backend": [{"url_pattern": "/b"}]}"#,
    );
    assert_eq!(
        error(&json),
        "config error: endpoints[2].endpoint: GET /a/{y} is already defined by endpoints[0] (GET /a/{x})"
    );
}

#[test]
fn other_encodings_are_a_warning_not_an_error() {
    let json = r#"{"version": 3, "host": ["h"], "output_encoding": "json", "endpoints": [
        {"endpoint": "/a", "backend": [{"url_pattern": "/b"}]},
        {"endpoint": "/c", "output_encoding": "no-op", "backend": [{"url_pattern": "/d"}]},
        {"endpoint": "/e", "output_encoding": "xml", "backend": [{"url_pattern": "/f"}]}]}"#;
    let config = load(json).unwrap();
    assert_eq!(config.endpoints.len(), 3);
    let lines: Vec<String> = config.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "warning: output_encoding: \"json\" is not supported; GET /a is proxied as no-op (pass-through)",
            "warning: endpoints[2].output_encoding: \"xml\" is not supported; GET /e is proxied as no-op (pass-through)",
        ]
    );
}

#[test]
fn a_skipped_endpoint_leaves_no_warnings_behind() {
    let json = with_endpoints(
        r#"{"endpoint": "/a", "output_encoding": "json", "backend": [{"url_pattern": "/b/{JWT.sub}"}]}"#,
    );
    let config = load_as(
        &json,
        Overrides {
            skip_unsupported: true,
            ..Overrides::new(Role::Check)
        },
    )
    .unwrap();
    assert!(config.warnings.is_empty());
    assert_eq!(config.skipped.len(), 1);
}
