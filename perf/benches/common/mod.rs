//! The data plane of one core without sockets, as `proxy::server::conn` drives it: what
//! `request.rs` times and `alloc.rs` counts allocations of. Shared by those benches
//! (`mod common;`), not a bench itself.
//!
//! [`Fixture`] is a data core built from the gateway's own bench config
//! (`perf/peers/bloomgate-bench.json`: one HS256-protected endpoint, `auth/revoker` with
//! N = 1e6, P = 1e-7), its filter holding 1M revoked `jti`s, and a request per [`Kind`].
//! [`Fixture::plan`] is the synchronous step of the glue's `Conn::plan`: parse the head, route,
//! guard (JWT + revocation), pick the upstream, render the backend path and write the upstream
//! request head into the connection's reused buffers ([`ConnBuffers`]).

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use proxy::config::{Config, MapEnv, Overrides, Role};
use proxy::http::write::{IpText, UpstreamRequest, write_upstream_request};
use proxy::http::{HeaderSlots, Method, RequestParser};
use proxy::jwt::{Propagated, Validators, base64url};
use proxy::reject::Reject;
use proxy::router::RouteMatch;
use proxy::server::{Core, Guard, Routes, guard};

/// The gateway's bench config, also served by `perf/compare.sh` and `perf/flamegraph.sh`.
pub const BENCH_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/bloomgate-bench.json");
/// Its JWK set (one HS256 key, `kid` "bench").
pub const BENCH_JWK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/bench-jwk.json");
/// Revocations in the filter, as in `perf/compare.sh`.
pub const REVOCATIONS: u32 = 1_000_000;

/// The requests a protected endpoint sees.
pub const KINDS: [Kind; 6] = [
    Kind::Valid,
    Kind::Revoked,
    Kind::Expired,
    Kind::BadSig,
    Kind::NoToken,
    Kind::NotFound,
];

/// One kind of request, and the answer it deserves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A valid token: forwarded.
    Valid,
    /// A valid token whose `jti` is one of the 1M revoked: 401.
    Revoked,
    /// `exp` an hour ago: 401.
    Expired,
    /// One signature bit flipped: 401.
    BadSig,
    /// No `Authorization`: 401.
    NoToken,
    /// A path no endpoint has: 404.
    NotFound,
}

impl Kind {
    /// The outcome the glue must reach.
    pub fn expected(self) -> Outcome {
        match self {
            Kind::Valid => Outcome::Forward,
            Kind::NotFound => Outcome::Answer(404),
            _ => Outcome::Answer(401),
        }
    }

    /// Its name in bench output.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Valid => "valid",
            Kind::Revoked => "revoked",
            Kind::Expired => "expired",
            Kind::BadSig => "badsig",
            Kind::NoToken => "no_token",
            Kind::NotFound => "not_found",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the synchronous step decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Forward: the upstream head is in [`ConnBuffers::upstream_head`].
    Forward,
    /// The gateway answers with this status.
    Answer(u16),
    /// The head is not complete.
    Incomplete,
}

/// A connection's reused state (`Conn` in `proxy::server::conn`).
#[derive(Debug)]
pub struct ConnBuffers {
    parser: RequestParser,
    /// The rendered backend path (the glue renders it into its output buffer).
    out: Vec<u8>,
    /// The upstream request head.
    pub upstream_head: Vec<u8>,
    claims: Propagated,
    ip: IpText,
}

impl ConnBuffers {
    /// A new connection from 127.0.0.1, with the glue's initial capacities.
    pub fn new(config: &Config) -> ConnBuffers {
        ConnBuffers {
            parser: RequestParser::new(config.max_header_bytes),
            out: Vec::with_capacity(16 * 1024),
            upstream_head: Vec::with_capacity(2048),
            claims: Propagated::default(),
            ip: IpText::new(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        }
    }
}

/// A data core with its guard, its filter full, and one request per kind.
pub struct Fixture {
    /// The core (routes, guard, per-core scratch), as `runtime::run` builds it.
    pub core: Core,
    requests: Vec<(Kind, Vec<u8>)>,
    /// The filter's one writer: kept alive as the admin core keeps it, never used here.
    _writer: bloom::Writer,
}

impl std::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixture").finish_non_exhaustive()
    }
}

/// The `i`-th revoked `jti`: UUID-shaped, deterministic (splitmix64).
pub fn revoked_jti(i: u32) -> String {
    let mut x = u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x2026_1123;
    let mut next = || {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let (a, b) = (next(), next());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

/// The bench secret: the `k` of `perf/peers/bench-jwk.json`.
pub fn bench_secret() -> Vec<u8> {
    let jwk = std::fs::read_to_string(BENCH_JWK).expect("perf/peers/bench-jwk.json");
    let k = jwk
        .split("\"k\": \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a \"k\" in the JWK set");
    let mut secret = vec![0; k.len()];
    let n = base64url::decode(k.as_bytes(), &mut secret).expect("base64url k");
    secret.truncate(n);
    secret
}

/// A compact HS256 JWT (`kid` "bench") over `claims`; `flip` flips a signature bit.
pub fn mint(secret: &[u8], claims: &str, flip: bool) -> String {
    let mut token = Vec::new();
    base64url::encode(br#"{"alg":"HS256","typ":"JWT","kid":"bench"}"#, &mut token);
    token.push(b'.');
    base64url::encode(claims.as_bytes(), &mut token);
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let mut tag = ring::hmac::sign(&key, &token).as_ref().to_vec();
    if flip {
        tag[0] ^= 1;
    }
    token.push(b'.');
    base64url::encode(&tag, &mut token);
    String::from_utf8(token).expect("ascii")
}

/// A request head as loadtest sends it.
pub fn request(path: &str, token: Option<&str>) -> Vec<u8> {
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:18480\r\n");
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

impl Fixture {
    /// This thread's fixture (a `Core` is per thread: `Rc`s, `RefCell`s), built and checked
    /// once, then kept for the process's life.
    pub fn this_thread() -> &'static Fixture {
        thread_local! {
            static FIXTURE: &'static Fixture = {
                let fixture = Fixture::new();
                fixture.check();
                Box::leak(Box::new(fixture))
            };
        }
        FIXTURE.with(|f| *f)
    }

    /// Loads the bench config, builds routes, validators, the filter (1M `jti`s revoked) and
    /// the core; mints a token per kind. Seconds of work (the inserts); do it once.
    pub fn new() -> Fixture {
        let overrides = Overrides::new(Role::Gateway);
        let config = Config::from_file(Path::new(BENCH_CONFIG), &MapEnv::default(), &overrides)
            .unwrap_or_else(|e| panic!("{e}"));
        let routes = Routes::build(&config).expect("routes");
        let (validators, _) = Validators::build(&config).unwrap_or_else(|e| panic!("{e}"));
        let settings = config
            .revoker
            .clone()
            .expect("the bench config has auth/revoker");
        let now = proxy::runtime::unix_now();
        let (filter, mut writer) =
            bloom::Revocations::new(settings.geometry, settings.ttl_secs(), now).expect("filter");
        let keys: Vec<String> = (0..REVOCATIONS)
            .map(|i| format!("jti-{}", revoked_jti(i)))
            .collect();
        writer.insert_batch(keys.iter().map(|k| k.as_bytes()), now);
        let token_keys: Arc<[Box<str>]> = settings
            .token_keys
            .iter()
            .map(|k| Box::from(k.as_str()))
            .collect();
        let guard = Guard::new(Arc::new(validators), Some(filter), token_keys);
        let core =
            Core::new(Arc::new(config), routes, Arc::new(AtomicBool::new(false))).with_guard(guard);

        let secret = bench_secret();
        let claims = |jti: &str, iat: u64, exp: u64| {
            format!(r#"{{"sub":"bench-user","jti":"{jti}","iat":{iat},"exp":{exp}}}"#)
        };
        let valid = mint(&secret, &claims("lt-0-1", now - 10, now + 3600), false);
        let revoked = mint(
            &secret,
            &claims(&revoked_jti(REVOCATIONS / 2), now - 10, now + 3600),
            false,
        );
        let expired = mint(&secret, &claims("lt-0-2", now - 7200, now - 3600), false);
        let badsig = mint(&secret, &claims("lt-0-3", now - 10, now + 3600), true);
        let requests = vec![
            (Kind::Valid, request("/protected", Some(&valid))),
            (Kind::Revoked, request("/protected", Some(&revoked))),
            (Kind::Expired, request("/protected", Some(&expired))),
            (Kind::BadSig, request("/protected", Some(&badsig))),
            (Kind::NoToken, request("/protected", None)),
            (Kind::NotFound, request("/nowhere", Some(&valid))),
        ];
        Fixture {
            core,
            requests,
            _writer: writer,
        }
    }

    /// The request bytes of `kind`.
    pub fn request(&self, kind: Kind) -> &[u8] {
        self.requests
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, r)| &r[..])
            .expect("every kind has a request")
    }

    /// Checks that every kind gets its answer (and a forwarded one its upstream head); panics
    /// otherwise. The benches call it before timing.
    pub fn check(&self) {
        let mut conn = ConnBuffers::new(&self.core.config);
        for kind in KINDS {
            let outcome = self.plan(&mut conn, self.request(kind));
            assert_eq!(outcome, kind.expected(), "{kind}: wrong outcome");
            if kind == Kind::Valid {
                // No `input_headers`: only the gateway's own fields go to the backend.
                assert_eq!(
                    String::from_utf8_lossy(&conn.upstream_head),
                    "GET /protected HTTP/1.1\r\nHost: 127.0.0.1:18490\r\n\
                     X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Host: 127.0.0.1:18480\r\n\r\n",
                    "the upstream head"
                );
            }
        }
    }

    /// The synchronous step of `Conn::plan` in `proxy::server::conn` for one request at the
    /// start of `buf`: parse, health, route, guard, upstream, render, upstream head.
    pub fn plan(&self, conn: &mut ConnBuffers, buf: &[u8]) -> Outcome {
        let core = &self.core;
        let mut slots = HeaderSlots::new();
        let head = match conn.parser.parse(buf, &mut slots) {
            Ok(Some(head)) => head,
            Ok(None) => return Outcome::Incomplete,
            Err(e) => return Outcome::Answer(e.reject().status()),
        };
        let framing = head.framing();
        let method = head.method();
        if head.path() == b"/__health" && matches!(method, Method::Get | Method::Head) {
            return Outcome::Answer(200);
        }
        let (route, params) = match core.routes.router.find(method, head.path()) {
            RouteMatch::Found { route, params } => (route, params),
            RouteMatch::MethodNotAllowed => return Outcome::Answer(405),
            RouteMatch::NotFound => return Outcome::Answer(404),
        };
        let Some(spec) = core.routes.routes.get(route) else {
            return Outcome::Answer(404);
        };
        let now = proxy::runtime::unix_now();
        let pass = match guard::check(&core.guard, route, spec, &head, now, &mut conn.claims) {
            Ok(pass) => pass,
            Err(reject) => return Outcome::Answer(reject.status()),
        };
        let Some(upstream) = core.pick_upstream(route) else {
            return Outcome::Answer(Reject::BadGateway.status());
        };
        let authority = core
            .routes
            .upstreams
            .get(upstream)
            .map_or(&b""[..], |u| &u.host_header);
        conn.out.clear();
        spec.template
            .render(&params, head.query(), &spec.query, &mut conn.out);
        conn.upstream_head.clear();
        pass.with_headers(&conn.claims, |extra| {
            write_upstream_request(
                &mut conn.upstream_head,
                &UpstreamRequest {
                    method: &spec.backend_method,
                    path_and_query: &conn.out,
                    authority,
                    client: &head,
                    filter: &spec.headers,
                    client_ip: conn.ip.as_bytes(),
                    extra,
                    framing,
                    close: false,
                },
            );
        });
        Outcome::Forward
    }
}
