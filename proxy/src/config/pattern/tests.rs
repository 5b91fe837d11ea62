use super::{PathPattern, Segment, UrlPart, UrlPattern, UrlPatternError};

fn path(raw: &str) -> PathPattern {
    PathPattern::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
}

#[test]
fn endpoint_paths_split_into_segments() {
    let p = path("/a/{id}/b");
    assert_eq!(
        p.segments(),
        [
            Segment::Literal("a".into()),
            Segment::Param("id".into()),
            Segment::Literal("b".into())
        ]
    );
    assert_eq!(p.params().collect::<Vec<_>>(), ["id"]);
    assert!(!p.catch_all() && !p.trailing_slash());
    assert_eq!(p.as_str(), "/a/{id}/b");

    let root = path("/");
    assert!(root.segments().is_empty() && !root.catch_all());
    let p = path("/files/*");
    assert!(p.catch_all());
    assert_eq!(p.segments(), [Segment::Literal("files".into())]);
    let all = path("/*");
    assert!(all.catch_all() && all.segments().is_empty());
    let p = path("/a/");
    assert!(p.trailing_slash());
    let p = path("/v1/{user-id}/{Name_2}/x:y@z~.!$&'()+,;=%20");
    assert_eq!(p.params().collect::<Vec<_>>(), ["user-id", "Name_2"]);
    let p = path("/__wildcard/x");
    assert_eq!(p.segments().len(), 2);
}

#[test]
fn shapes_ignore_parameter_names() {
    assert_eq!(path("/a/{x}").shape(), path("/a/{y}").shape());
    assert_ne!(path("/a/{x}").shape(), path("/a/x").shape());
    assert_ne!(path("/a").shape(), path("/a/").shape());
    assert_ne!(path("/a").shape(), path("/a/*").shape());
    assert_ne!(path("/").shape(), path("/*").shape());
}

#[test]
fn bad_endpoint_paths_are_refused() {
    let cases = [
        ("", "must start with /"),
        ("a/b", "must start with /"),
        ("/__health", "reserved for the health check"),
        ("/__health/x", "reserved for the health check"),
        ("/__debug", "paths starting with /__debug are reserved"),
        ("/__debug/x", "paths starting with /__debug are reserved"),
        ("/__echo", "paths starting with /__echo are reserved"),
        ("/__echoes", "paths starting with /__echo are reserved"),
        ("/a//b", "empty segment"),
        ("//", "empty segment"),
        ("/a/{id", "must be a whole segment"),
        ("/a/x{id}", "must be a whole segment"),
        ("/a/{id}x", "must be a whole segment"),
        ("/a/{}", "invalid parameter name"),
        ("/a/{i.d}", "invalid parameter name"),
        ("/a/{JWT.sub}", "invalid parameter name"),
        ("/a/{x}/{x}", "appears twice"),
        ("/a*", "only allowed as a last segment"),
        ("/a/*/b", "only allowed as a last segment"),
        ("/a/b*", "only allowed as a last segment"),
        ("/a b", "not allowed in a path"),
        ("/a?b", "not allowed in a path"),
        ("/a#b", "not allowed in a path"),
        ("/é", "not allowed in a path"),
    ];
    for (raw, want) in cases {
        let e = PathPattern::parse(raw).expect_err(raw);
        assert!(e.contains(want), "{raw:?}: {e:?} should contain {want:?}");
    }
    assert!(
        PathPattern::parse("/__healthy").is_ok(),
        "only /__health and below are reserved"
    );
}

#[test]
fn url_patterns_resolve_parameters_by_index() {
    let u = UrlPattern::parse("/b/{bar}?foo={foo}&x=1", &["foo", "bar"]).unwrap();
    assert_eq!(
        u.parts(),
        [
            UrlPart::Literal("/b/".into()),
            UrlPart::Param {
                name: "bar".into(),
                index: 1
            },
            UrlPart::Literal("?foo=".into()),
            UrlPart::Param {
                name: "foo".into(),
                index: 0
            },
            UrlPart::Literal("&x=1".into()),
        ]
    );
    let u = UrlPattern::parse("/user/schedule/{id}.rss", &["id"]).unwrap();
    assert_eq!(u.parts().len(), 3);
    let u = UrlPattern::parse("users", &[]).unwrap();
    assert_eq!(u.as_str(), "/users");
    let u = UrlPattern::parse("/api?ids=bitcoin%2Cethereum", &[]).unwrap();
    assert_eq!(
        u.parts(),
        [UrlPart::Literal("/api?ids=bitcoin%2Cethereum".into())]
    );
    let u = UrlPattern::parse("", &[]).unwrap();
    assert_eq!(u.as_str(), "/");
}

#[test]
fn bad_url_patterns() {
    let invalid = [
        (
            "/x/{resp0_id}",
            vec!["id"],
            "undeclared parameter {resp0_id}: the endpoint declares {id}",
        ),
        (
            "/x/{id}",
            vec![],
            "undeclared parameter {id}: the endpoint declares none",
        ),
        ("/x/{id", vec!["id"], "unclosed {"),
        ("/x/id}", vec!["id"], "unbalanced }"),
        ("/x y", vec![], "not allowed in a URL"),
        ("/x\u{7f}", vec![], "not allowed in a URL"),
        ("/ü", vec![], "not allowed in a URL"),
        ("/x#y", vec![], "fragment"),
    ];
    for (raw, params, want) in invalid {
        match UrlPattern::parse(raw, &params) {
            Err(UrlPatternError::Invalid(e)) => assert!(e.contains(want), "{raw:?}: {e:?}"),
            other => panic!("{raw:?}: {other:?}"),
        }
    }
    match UrlPattern::parse("/p/{JWT.sub}", &[]) {
        Err(UrlPatternError::Unsupported(e)) => {
            assert_eq!(
                e,
                "{JWT.sub}: JWT claims as URL parameters are not supported"
            );
        }
        other => panic!("{other:?}"),
    }
}
