//! Question: what do the first two steps of every request cost — parsing the request head
//! (`RequestParser`: the split-invariant scan for the blank line, then httparse and the
//! smuggling rules) and matching the route (`Router::find` over a per-method trie: literal >
//! `{param}` > `/*`) — for the heads and paths a gateway sees, and do they allocate? (The
//! `alloc` columns count per call.)
//!
//! `cargo bench -p perf --bench http`
//!
//! Heads: a load generator's (`Host` and a bearer token, as loadtest and wrk send), and a
//! browser's (13 fields, cookies, 772 bytes). Routes: 62 endpoints of a typical REST API (10
//! resources × list/create/get/update/delete/history, a health check, a static wildcard).
//! Before timing, every head must parse to its path and fields, and every path must reach the
//! expected route with the expected parameters.

use proxy::http::{HeaderSlots, Method, RequestParser};
use proxy::router::{RouteMatch, Router};

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

const TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImJlbmNoIn0.eyJzdWIiOiJiZW5jaC11c2VyIiwianRpIjoibHQxOTNmYTItMC0xMiIsImlhdCI6MTc5NTQwMDAwMCwiZXhwIjoxNzk1NDAzNjAwfQ.6bE0dF4s1oQmZ1tYVb2yK6cX9w4p3a8rR0jH7nU2kLs";

const RESOURCES: [&str; 10] = [
    "users",
    "orders",
    "products",
    "invoices",
    "carts",
    "payments",
    "shipments",
    "reviews",
    "coupons",
    "stores",
];

/// (name, head, path, field count)
fn heads() -> Vec<(&'static str, Vec<u8>, &'static str, usize)> {
    let loadgen = format!(
        "GET /protected HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
    );
    let browser = format!(
        "GET /api/v1/orders/12345/history?page=2&per_page=50 HTTP/1.1\r\n\
         Host: api.example.com\r\n\
         User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
         Accept: application/json, text/plain, */*\r\n\
         Accept-Language: en-GB,en;q=0.7,fr;q=0.3\r\n\
         Accept-Encoding: gzip, deflate, br, zstd\r\n\
         Referer: https://app.example.com/orders/12345\r\n\
         Authorization: Bearer {TOKEN}\r\n\
         Origin: https://app.example.com\r\n\
         Connection: keep-alive\r\n\
         Cookie: session=9f8e7d6c5b4a39281706f5e4d3c2b1a0; theme=dark; consent=1\r\n\
         Sec-Fetch-Dest: empty\r\n\
         Sec-Fetch-Mode: cors\r\n\
         Sec-Fetch-Site: same-site\r\n\r\n"
    );
    vec![
        ("loadgen", loadgen.into_bytes(), "/protected", 2),
        (
            "browser",
            browser.into_bytes(),
            "/api/v1/orders/12345/history",
            13,
        ),
    ]
}

fn routes() -> Vec<(Method, String)> {
    let mut routes = Vec::new();
    for r in RESOURCES {
        routes.push((Method::Get, format!("/api/v1/{r}")));
        routes.push((Method::Post, format!("/api/v1/{r}")));
        routes.push((Method::Get, format!("/api/v1/{r}/{{id}}")));
        routes.push((Method::Put, format!("/api/v1/{r}/{{id}}")));
        routes.push((Method::Delete, format!("/api/v1/{r}/{{id}}")));
        routes.push((Method::Get, format!("/api/v1/{r}/{{id}}/history")));
    }
    routes.push((Method::Get, "/health".to_owned()));
    routes.push((Method::Get, "/static/*".to_owned()));
    routes
}

/// (name, method, path, expected route and params; `None`: 404)
type PathCase = (
    &'static str,
    Method,
    &'static str,
    Option<(usize, &'static [&'static str])>,
);

const PATHS: [PathCase; 5] = [
    ("literal", Method::Get, "/api/v1/stores", Some((54, &[]))),
    (
        "param",
        Method::Get,
        "/api/v1/orders/12345",
        Some((8, &["12345"])),
    ),
    (
        "param_deep",
        Method::Get,
        "/api/v1/stores/98765/history",
        Some((59, &["98765"])),
    ),
    (
        "wildcard",
        Method::Get,
        "/static/css/app.min.css",
        Some((61, &[])),
    ),
    ("not_found", Method::Get, "/api/v2/orders/12345", None),
];

fn router() -> &'static Router {
    static ROUTER: std::sync::OnceLock<Router> = std::sync::OnceLock::new();
    ROUTER.get_or_init(|| {
        let routes = routes();
        let table: Vec<(Method, &str)> = routes.iter().map(|(m, p)| (*m, p.as_str())).collect();
        Router::new(&table).expect("routes")
    })
}

fn main() {
    // The answers, checked before anything is timed.
    for (name, head, path, fields) in heads() {
        let mut parser = RequestParser::new(64 * 1024);
        let mut slots = HeaderSlots::new();
        let parsed = parser
            .parse(&head, &mut slots)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"))
            .unwrap_or_else(|| panic!("{name}: incomplete"));
        assert_eq!(parsed.path(), path.as_bytes(), "{name}");
        assert_eq!(parsed.header_iter().count(), fields, "{name}");
        assert_eq!(parsed.head_len(), head.len(), "{name}");
    }
    let router = router();
    assert_eq!(router.len(), 62);
    for (name, method, path, expected) in PATHS {
        match (router.find(method, path.as_bytes()), expected) {
            (RouteMatch::Found { route, params }, Some((want, want_params))) => {
                assert_eq!(route, want, "{name}: route");
                let got: Vec<&[u8]> = params.as_slice().to_vec();
                let want: Vec<&[u8]> = want_params.iter().map(|p| p.as_bytes()).collect();
                assert_eq!(got, want, "{name}: params");
            }
            (RouteMatch::NotFound, None) => {}
            (other, _) => panic!("{name}: {other:?}"),
        }
    }
    divan::main();
}

/// `RequestParser::parse` on a whole head, as the glue calls it once the head is in.
#[divan::bench(args = ["loadgen", "browser"])]
fn parse_head(bencher: divan::Bencher, name: &str) {
    let head = heads()
        .into_iter()
        .find(|h| h.0 == name)
        .expect("a known head")
        .1;
    let mut parser = RequestParser::new(64 * 1024);
    bencher
        .counter(divan::counter::BytesCount::of_slice(&head))
        .bench_local(|| {
            let mut slots = HeaderSlots::new();
            let parsed = parser.parse(divan::black_box(&head), &mut slots);
            divan::black_box(parsed.map(|h| h.map(|h| h.head_len())).ok())
        });
}

/// `Router::find` over the 62-route table.
#[divan::bench(args = ["literal", "param", "param_deep", "wildcard", "not_found"])]
fn route(bencher: divan::Bencher, name: &str) {
    let router = router();
    let (_, method, path, _) = PATHS
        .into_iter()
        .find(|p| p.0 == name)
        .expect("a known path");
    bencher.bench_local(|| {
        let found = router.find(method, divan::black_box(path.as_bytes()));
        divan::black_box(matches!(found, RouteMatch::Found { .. }))
    });
}
