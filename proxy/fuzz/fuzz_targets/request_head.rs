//! Request heads from arbitrary bytes: parsing must never panic, must not depend on how the
//! bytes were split across reads, and whatever is accepted must route, rewrite and re-serialise
//! into a head that parses again.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use proxy::http::write::{HeaderFilter, UpstreamRequest, write_upstream_request};
use proxy::http::{
    BodyFraming, HeadError, HeaderSlots, MAX_HEADERS, Method, RequestParser, parse_request,
};
use proxy::router::{QueryFilter, RouteMatch, Router, UrlTemplate};

const MAX: usize = 4096;

struct Fixture {
    router: Router,
    template: UrlTemplate,
    filter: QueryFilter,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| Fixture {
        router: Router::new(&[
            (Method::Get, "/a/{x}/b"),
            (Method::Get, "/a/b/{y}"),
            (Method::Post, "/{z}"),
            (Method::Get, "/files/*"),
        ])
        .expect("valid routes"),
        template: UrlTemplate::parse("/backend/{x}?fixed=1", &["x"]).expect("valid template"),
        filter: QueryFilter::from_names(["a", "b c"]),
    })
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks a split point: the head arrives in two reads.
    let Some((&cut, raw)) = data.split_first() else {
        return;
    };
    let (mut s1, mut s2, mut s3, mut s4, mut s5) = (
        HeaderSlots::new(),
        HeaderSlots::new(),
        HeaderSlots::new(),
        HeaderSlots::new(),
        HeaderSlots::new(),
    );
    let whole = parse_request(raw, MAX, &mut s1);
    let stateless = whole.clone().map(|h| h.map(|h| h.head_len()));

    // The incremental parser gives the same answer however the bytes were split.
    let cut = usize::from(cut).min(raw.len());
    let mut parser = RequestParser::new(MAX);
    let split = match parser.parse(&raw[..cut], &mut s2) {
        Ok(None) => parser.parse(raw, &mut s3).map(|h| h.map(|h| h.head_len())),
        other => other.map(|h| h.map(|h| h.head_len())),
    };
    let gated = RequestParser::new(MAX)
        .parse(raw, &mut s4)
        .map(|h| h.map(|h| h.head_len()));
    assert_eq!(split, gated);
    // It agrees with the stateless parser, except that it waits for a blank line before
    // reporting a syntax error (regression `a_lone_tab_waits_for_a_blank_line`).
    assert!(
        gated == stateless
            || (gated == Ok(None) && stateless.is_err())
            || gated == Err(HeadError::HeaderTooLarge),
        "gated {gated:?} stateless {stateless:?}"
    );

    let Ok(Some(head)) = whole else {
        return;
    };
    assert!(head.head_len() <= raw.len());
    assert!(head.path().starts_with(b"/"));

    let f = fixture();
    let mut path = Vec::new();
    if let RouteMatch::Found { params, .. } = f.router.find(head.method(), head.path()) {
        f.template
            .render(&params, head.query(), &f.filter, &mut path);
    } else {
        path.extend_from_slice(b"/");
    }
    let filter = HeaderFilter::All;
    let extra: &[(&[u8], &[u8])] = &[(b"X-User", b"u")];
    let mut out = Vec::new();
    write_upstream_request(
        &mut out,
        &UpstreamRequest {
            method: head.method_bytes(),
            path_and_query: &path,
            authority: b"backend:80",
            client: &head,
            filter: &filter,
            client_ip: b"10.0.0.1",
            extra,
            framing: head.framing(),
            close: false,
        },
    );
    // The gateway adds up to four fields; past MAX_HEADERS our own parser would refuse them
    // (regression `a_full_head_is_written_with_the_fields_the_gateway_adds`).
    if head.headers().len() + 4 > MAX_HEADERS {
        return;
    }
    let back = parse_request(&out, usize::MAX, &mut s5)
        .expect("the upstream head must be valid")
        .expect("the upstream head must be complete");
    assert_eq!(back.head_len(), out.len());
    let expected = match head.framing() {
        BodyFraming::None if head.method().expects_content() => BodyFraming::Length(0),
        framing => framing,
    };
    assert_eq!(back.framing(), expected);
});
