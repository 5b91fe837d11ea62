use proptest::prelude::*;

use super::*;
use crate::http::Method;
use crate::router::{RouteMatch, Router};

fn render(
    pattern: &str,
    endpoint: &str,
    path: &str,
    query: Option<&str>,
    filter: &QueryFilter,
) -> String {
    let names = param_names(endpoint).unwrap();
    let t = UrlTemplate::parse(pattern, &names).unwrap();
    let r = Router::new(&[(Method::Get, endpoint)]).unwrap();
    let RouteMatch::Found { params, .. } = r.find(Method::Get, path.as_bytes()) else {
        panic!("no match for {path}");
    };
    let mut out = b"prefix:".to_vec();
    t.render(&params, query.map(str::as_bytes), filter, &mut out);
    String::from_utf8(out)
        .unwrap()
        .strip_prefix("prefix:")
        .unwrap()
        .to_owned()
}

#[test]
fn substitutes_params_raw_anywhere() {
    let none = QueryFilter::None;
    assert_eq!(
        render(
            "/u/{id}/p/{post}",
            "/users/{id}/{post}",
            "/users/4%2F2/7",
            None,
            &none
        ),
        "/u/4%2F2/p/7"
    );
    assert_eq!(
        render("/v1/{id}.json", "/x/{id}", "/x/9", None, &none),
        "/v1/9.json"
    );
    assert_eq!(render("/{id}/{id}", "/x/{id}", "/x/9", None, &none), "/9/9");
    assert_eq!(render("/static", "/x/{id}", "/x/9", None, &none), "/static");
    assert_eq!(
        render("no-slash/{id}", "/x/{id}", "/x/9", None, &none),
        "/no-slash/9"
    );
    assert_eq!(render("", "/x", "/x", None, &none), "/");
}

#[test]
fn query_filters() {
    let q = Some("a=1&b=2&a=3&c&&d=%20");
    assert_eq!(render("/t", "/x", "/x", q, &QueryFilter::None), "/t");
    assert_eq!(
        render("/t", "/x", "/x", q, &QueryFilter::All),
        "/t?a=1&b=2&a=3&c&&d=%20"
    );
    let only = QueryFilter::from_names(["a", "c"]);
    assert_eq!(render("/t", "/x", "/x", q, &only), "/t?a=1&a=3&c");
    let only = QueryFilter::from_names(["zzz"]);
    assert_eq!(render("/t", "/x", "/x", q, &only), "/t");
    assert_eq!(render("/t", "/x", "/x", Some(""), &QueryFilter::All), "/t");
    assert_eq!(render("/t", "/x", "/x", None, &QueryFilter::All), "/t");
}

#[test]
fn names_are_case_sensitive_and_compared_decoded() {
    let only = QueryFilter::from_names(["a b", "Key"]);
    let q = Some("a%20b=1&a+b=2&key=3&Key=4&a%2=5&%4Bey=6");
    assert_eq!(
        render("/t", "/x", "/x", q, &only),
        "/t?a%20b=1&a+b=2&Key=4&%4Bey=6"
    );
}

#[test]
fn joins_a_pattern_that_has_a_query() {
    let all = QueryFilter::All;
    assert_eq!(
        render("/t?fixed=1", "/x", "/x", Some("a=1"), &all),
        "/t?fixed=1&a=1"
    );
    assert_eq!(render("/t?", "/x", "/x", Some("a=1"), &all), "/t?a=1");
    assert_eq!(
        render("/t?fixed=1&", "/x", "/x", Some("a=1"), &all),
        "/t?fixed=1&a=1"
    );
    assert_eq!(
        render("/t?id={id}", "/x/{id}", "/x/5", Some("a=1"), &all),
        "/t?id=5&a=1"
    );
    assert_eq!(render("/t?fixed=1", "/x", "/x", None, &all), "/t?fixed=1");
}

#[test]
fn filter_construction() {
    assert_eq!(
        QueryFilter::from_names(Vec::<&str>::new()),
        QueryFilter::None
    );
    assert_eq!(QueryFilter::from_names(["a", "*"]), QueryFilter::All);
    assert_eq!(QueryFilter::default(), QueryFilter::None);
}

#[test]
fn parse_errors() {
    let names = ["id"];
    assert!(matches!(
        UrlTemplate::parse("/{nope}", &names),
        Err(TemplateError::Undeclared { .. })
    ));
    assert!(matches!(
        UrlTemplate::parse("/{JWT.sub}", &names),
        Err(TemplateError::Undeclared { .. })
    ));
    for bad in ["/{id", "/id}", "/{}", "/{{id}}", "/}{"] {
        assert!(
            matches!(
                UrlTemplate::parse(bad, &names),
                Err(TemplateError::Braces { .. })
            ),
            "{bad}"
        );
    }
    for bad in ["/a b", "/a\n", "/a#b", "/caf\u{e9}"] {
        assert!(
            matches!(
                UrlTemplate::parse(bad, &names),
                Err(TemplateError::InvalidByte { .. })
            ),
            "{bad:?}"
        );
    }
    let e = UrlTemplate::parse("/{nope}", &names).unwrap_err();
    assert!(e.to_string().contains("{nope}"), "{e}");
}

#[test]
fn a_missing_param_renders_empty() {
    let t = UrlTemplate::parse("/a/{x}", &["x"]).unwrap();
    let mut out = Vec::new();
    t.render(
        &crate::router::Params::new(),
        None,
        &QueryFilter::None,
        &mut out,
    );
    assert_eq!(out, b"/a/");
}

#[test]
fn render_reuses_the_buffer() {
    let t = UrlTemplate::parse("/a/{x}?k=v", &["x"]).unwrap();
    let r = Router::new(&[(Method::Get, "/b/{x}")]).unwrap();
    let RouteMatch::Found { params, .. } = r.find(Method::Get, b"/b/123") else {
        panic!()
    };
    let filter = QueryFilter::from_names(["q"]);
    let mut out = Vec::with_capacity(256);
    let ptr = out.as_ptr();
    for _ in 0..100 {
        out.clear();
        t.render(&params, Some(b"q=1&z=2"), &filter, &mut out);
    }
    assert_eq!(out, b"/a/123?k=v&q=1");
    assert_eq!(out.as_ptr(), ptr);
}

proptest! {
    #[test]
    fn rendering_random_queries_never_panics(
        query in proptest::collection::vec(
            prop_oneof![Just(b'&'), Just(b'='), Just(b'%'), Just(b'+'), Just(b'a'), any::<u8>()], 0..64),
        names in proptest::collection::vec("[a%+= ]{0,3}", 0..3),
    ) {
        let t = UrlTemplate::parse("/t?x", &[] as &[&str]).unwrap();
        let filter = QueryFilter::from_names(&names);
        let mut out = Vec::new();
        t.render(&crate::router::Params::new(), Some(&query), &filter, &mut out);
        prop_assert!(out.starts_with(b"/t?x"));
    }

    #[test]
    fn decoded_eq_agrees_with_a_reference(raw in "[a-c%+0-9A-F]{0,8}", want in "[a-c ]{0,3}") {
        // Reference: decode fully (invalid escape -> no match), then compare.
        let mut decoded = Vec::new();
        let bytes = raw.as_bytes();
        let mut i = 0;
        let mut valid = true;
        while i < bytes.len() {
            match bytes[i] {
                b'%' => match (bytes.get(i + 1).and_then(|&b| crate::http::num::hex_value(b)),
                               bytes.get(i + 2).and_then(|&b| crate::http::num::hex_value(b))) {
                    (Some(h), Some(l)) => { decoded.push(h << 4 | l); i += 3; }
                    _ => { valid = false; break; }
                },
                b'+' => { decoded.push(b' '); i += 1; }
                b => { decoded.push(b); i += 1; }
            }
        }
        let expected = valid && decoded == want.as_bytes();
        // `decoded_eq` may stop early on a mismatch before an invalid escape: only a `true`
        // must agree exactly.
        let got = decoded_eq(bytes, want.as_bytes());
        if got { prop_assert!(expected); }
        if expected { prop_assert!(got); }
    }
}
