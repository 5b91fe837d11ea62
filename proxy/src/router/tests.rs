use proptest::prelude::*;

use super::*;
use crate::http::Method::{Delete, Get, Post, Put};

fn router(routes: &[(Method, &str)]) -> Router {
    Router::new(routes).unwrap()
}

fn found<'p>(r: &Router, m: Method, path: &'p str) -> (usize, Vec<&'p str>, Option<&'p str>) {
    match r.find(m, path.as_bytes()) {
        RouteMatch::Found { route, params } => (
            route,
            params
                .as_slice()
                .iter()
                .map(|p| std::str::from_utf8(p).unwrap())
                .collect(),
            params.rest().map(|p| std::str::from_utf8(p).unwrap()),
        ),
        other => panic!("{m:?} {path}: {other:?}"),
    }
}

#[test]
fn literal_and_param_routes() {
    let r = router(&[
        (Get, "/users/{id}"),
        (Get, "/users/{id}/posts/{post}"),
        (Get, "/users/me"),
        (Get, "/"),
    ]);
    assert_eq!(found(&r, Get, "/users/42"), (0, vec!["42"], None));
    assert_eq!(
        found(&r, Get, "/users/42/posts/7"),
        (1, vec!["42", "7"], None)
    );
    assert_eq!(found(&r, Get, "/users/me"), (2, vec![], None));
    assert_eq!(found(&r, Get, "/"), (3, vec![], None));
    assert_eq!(r.find(Get, b"/users"), RouteMatch::NotFound);
    assert_eq!(r.find(Get, b"/users/"), RouteMatch::NotFound);
    assert_eq!(r.find(Get, b"/users/42/posts"), RouteMatch::NotFound);
    assert_eq!(r.find(Get, b"/nope"), RouteMatch::NotFound);
    assert_eq!(r.find(Get, b""), RouteMatch::NotFound);
    assert_eq!(r.find(Get, b"users/42"), RouteMatch::NotFound);
}

#[test]
fn literal_beats_param_and_backtracks() {
    let r = router(&[(Get, "/a/new/x"), (Get, "/a/{id}/y"), (Get, "/a/{id}")]);
    assert_eq!(found(&r, Get, "/a/new/x").0, 0);
    // `new` matches the literal, which has no `y` below: back to the parameter.
    assert_eq!(found(&r, Get, "/a/new/y"), (1, vec!["new"], None));
    assert_eq!(found(&r, Get, "/a/new"), (2, vec!["new"], None));
}

#[test]
fn precedence_is_per_method() {
    let r = router(&[(Get, "/a/new"), (Post, "/a/{id}")]);
    assert_eq!(found(&r, Post, "/a/new"), (1, vec!["new"], None));
    assert_eq!(found(&r, Get, "/a/new").0, 0);
    assert_eq!(r.find(Get, b"/a/other"), RouteMatch::MethodNotAllowed);
}

#[test]
fn method_not_allowed_vs_not_found() {
    let r = router(&[(Get, "/a"), (Delete, "/a")]);
    assert_eq!(found(&r, Delete, "/a").0, 1);
    assert_eq!(r.find(Post, b"/a"), RouteMatch::MethodNotAllowed);
    assert_eq!(r.find(Method::Head, b"/a"), RouteMatch::MethodNotAllowed);
    assert_eq!(r.find(Method::Other, b"/a"), RouteMatch::MethodNotAllowed);
    assert_eq!(r.find(Post, b"/b"), RouteMatch::NotFound);
}

#[test]
fn trailing_slash_matters() {
    let r = router(&[(Get, "/a"), (Get, "/b/")]);
    assert_eq!(found(&r, Get, "/a").0, 0);
    assert_eq!(r.find(Get, b"/a/"), RouteMatch::NotFound);
    assert_eq!(found(&r, Get, "/b/").0, 1);
    assert_eq!(r.find(Get, b"/b"), RouteMatch::NotFound);
}

#[test]
fn catch_all() {
    let r = router(&[
        (Get, "/files/*"),
        (Get, "/files/special"),
        (Get, "/t/{k}/*"),
    ]);
    assert_eq!(found(&r, Get, "/files/a/b/c"), (0, vec![], Some("a/b/c")));
    assert_eq!(found(&r, Get, "/files/"), (0, vec![], Some("")));
    assert_eq!(found(&r, Get, "/files/special").0, 1);
    assert_eq!(
        found(&r, Get, "/files/special/x"),
        (0, vec![], Some("special/x"))
    );
    assert_eq!(r.find(Get, b"/files"), RouteMatch::NotFound);
    assert_eq!(
        found(&r, Get, "/t/jti/a%2Fb/c"),
        (2, vec!["jti"], Some("a%2Fb/c"))
    );
}

#[test]
fn root_catch_all_matches_everything_last() {
    let r = router(&[(Get, "/*"), (Get, "/health")]);
    assert_eq!(found(&r, Get, "/"), (0, vec![], Some("")));
    assert_eq!(found(&r, Get, "/x/y"), (0, vec![], Some("x/y")));
    assert_eq!(found(&r, Get, "/health").0, 1);
    assert_eq!(r.find(Post, b"/x"), RouteMatch::MethodNotAllowed);
}

#[test]
fn params_are_raw_and_never_dot_segments() {
    let r = router(&[(Get, "/u/{id}")]);
    assert_eq!(found(&r, Get, "/u/a%20b").1, vec!["a%20b"]);
    assert_eq!(found(&r, Get, "/u/..."), (0, vec!["..."], None));
    for dots in ["/u/.", "/u/..", "/u/%2e", "/u/%2E%2e", "/u/.%2E", "/u/"] {
        assert_eq!(r.find(Get, dots.as_bytes()), RouteMatch::NotFound, "{dots}");
    }
    // Literal dot segments match literally only.
    let r = router(&[(Get, "/a/../b")]);
    assert_eq!(found(&r, Get, "/a/../b").0, 0);
}

#[test]
fn empty_segments() {
    let r = router(&[(Get, "/a/{x}/b")]);
    assert_eq!(r.find(Get, b"/a//b"), RouteMatch::NotFound);
    assert_eq!(r.find(Get, b"//a/x/b"), RouteMatch::NotFound);
}

#[test]
fn sixteen_params() {
    let pattern: String = (0..MAX_PARAMS).map(|i| format!("/{{p{i}}}")).collect();
    let r = router(&[(Get, &pattern)]);
    let path: String = (0..MAX_PARAMS).map(|i| format!("/v{i}")).collect();
    let (_, params, _) = found(&r, Get, &path);
    assert_eq!(params.len(), MAX_PARAMS);
    assert_eq!(params[15], "v15");
    let too_many: String = (0..=MAX_PARAMS).map(|i| format!("/{{p{i}}}")).collect();
    assert!(matches!(
        Router::new(&[(Get, &too_many)]),
        Err(RouteError::InvalidPattern { .. })
    ));
}

#[test]
fn invalid_patterns() {
    for p in [
        "", "a", "/a{b}", "/{a", "/a}", "/{}", "/{a b}", "/{a}/{a}", "/a*", "/*/a", "/a/*/*",
        "/a b", "/a?b", "/a#b", "/{a.b}", "/{*}",
    ] {
        assert!(
            matches!(
                Router::new(&[(Get, p)]),
                Err(RouteError::InvalidPattern { .. })
            ),
            "{p:?}"
        );
    }
    let e = Router::new(&[(Method::Other, "/a")]).unwrap_err();
    assert!(matches!(e, RouteError::UnsupportedMethod { .. }));
}

#[test]
fn duplicates_are_rejected_by_shape() {
    let e = Router::new(&[(Get, "/a/{x}"), (Get, "/a/{y}")]).unwrap_err();
    assert_eq!(
        e,
        RouteError::Duplicate {
            method: "GET",
            pattern: "/a/{y}".into(),
            other: "/a/{x}".into()
        }
    );
    assert!(e.to_string().contains("/a/{y}"));
    assert!(Router::new(&[(Get, "/a/*"), (Get, "/a/*")]).is_err());
    // Same shape, other method: fine; param vs catch-all: fine.
    let r = router(&[(Get, "/a/{x}"), (Put, "/a/{name}"), (Get, "/a/*")]);
    assert_eq!(r.param_names(1), &["name".into()] as &[Box<str>]);
    assert_eq!(found(&r, Put, "/a/1"), (1, vec!["1"], None));
}

#[test]
fn accessors() {
    let r = router(&[(Get, "/a/{x}/{y}")]);
    assert_eq!(r.len(), 1);
    assert!(!r.is_empty());
    assert_eq!(r.pattern(0), Some("/a/{x}/{y}"));
    assert_eq!(r.pattern(1), None);
    assert_eq!(r.param_names(0).len(), 2);
    assert!(r.param_names(9).is_empty());
    assert_eq!(param_names("/a/{x}/b/{y}/*").unwrap(), vec!["x", "y"]);
    assert!(param_names("/a/{").is_err());
    let p = Params::default();
    assert!(p.is_empty());
    assert_eq!(p.get(0), None);
    assert!(Router::new(&[]).unwrap().is_empty());
}

proptest! {
    #[test]
    fn random_paths_never_panic(path in proptest::collection::vec(
        prop_oneof![Just(b'/'), Just(b'a'), Just(b'b'), Just(b'.'), Just(b'%'), any::<u8>()], 0..64)) {
        let r = router(&[
            (Get, "/a/{x}/b"), (Get, "/a/b/{y}"), (Get, "/{z}"), (Post, "/a/*"), (Get, "/"),
            (Get, "/a/{x}/{y}/{z}/*"),
        ]);
        for m in [Get, Post, Method::Other] {
            if let RouteMatch::Found { route, params } = r.find(m, &path) {
                prop_assert!(route < r.len());
                prop_assert_eq!(params.len(), r.param_names(route).len());
                for p in params.as_slice() {
                    prop_assert!(!p.is_empty() && !p.contains(&b'/'));
                }
            }
        }
    }

    #[test]
    fn a_pattern_matches_its_own_instantiation(
        segs in proptest::collection::vec(
            prop_oneof![
                "[a-z]{1,5}".prop_map(|s| (s, false)),
                "[a-z0-9]{1,5}".prop_map(|s| (s, true)),
            ],
            0..6,
        ),
        catch_all: bool,
        rest in "[a-z/]{0,10}",
    ) {
        let mut pattern = String::new();
        let mut path = String::new();
        let mut values = Vec::new();
        for (i, (text, is_param)) in segs.iter().enumerate() {
            if *is_param {
                pattern.push_str(&format!("/{{p{i}}}"));
                values.push(text.clone());
            } else {
                pattern.push('/');
                pattern.push_str(text);
            }
            path.push('/');
            path.push_str(text);
        }
        if catch_all {
            pattern.push_str("/*");
            path.push('/');
            path.push_str(&rest);
        }
        if pattern.is_empty() {
            pattern.push('/');
            path.push('/');
        }
        let r = router(&[(Get, &pattern)]);
        let (route, params, got_rest) = found(&r, Get, &path);
        prop_assert_eq!(route, 0);
        prop_assert_eq!(params, values.iter().map(String::as_str).collect::<Vec<_>>());
        prop_assert_eq!(got_rest, catch_all.then_some(rest.as_str()));
    }
}
