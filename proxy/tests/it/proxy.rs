//! `bloomgate run` end to end: a real gateway process in front of a real backend
//! ([`Backend`]), driven by a raw client ([`Client`]) so that malformed, ambiguous, pipelined
//! and slow requests can be sent byte for byte. Every wait is bounded.
//!
//! Tests that open many connections, move large bodies or measure time take [`serial`], so
//! they neither starve each other nor skew each other's clocks.

use std::net::{SocketAddr, TcpStream};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::backend::{Backend, checksum, pattern};
use crate::client::{Client, Response, get};
use crate::support::{Gateway, example, free_port};

/// Taken by the heavy and the timing-sensitive tests.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The gateway config most tests use: every backend mode behind its own endpoint, small limits
/// so that they are quick to reach.
fn config(backend: &Backend, dead_port: u16) -> String {
    let host = backend.url();
    let jwk = example("jwk-symmetric.json");
    format!(
        r#"{{
  "version": 3,
  "port": 0,
  "timeout": "2s",
  "read_header_timeout": "1s",
  "max_header_bytes": 2048,
  "max_shutdown_wait_time": "3s",
  "host": ["{host}"],
  "endpoints": [
    {{"endpoint": "/echo/{{id}}", "backend": [{{"url_pattern": "/echo/{{id}}"}}]}},
    {{"endpoint": "/echo-post", "method": "POST", "backend": [{{"url_pattern": "/echo/post"}}]}},
    {{"endpoint": "/submit", "method": "POST", "backend": [{{"url_pattern": "/sink"}}]}},
    {{"endpoint": "/fixed", "backend": [{{"url_pattern": "/fixed"}}]}},
    {{"endpoint": "/status/{{code}}", "backend": [{{"url_pattern": "/status/{{code}}"}}]}},
    {{"endpoint": "/slow/{{ms}}", "timeout": "5s", "backend": [{{"url_pattern": "/slow/{{ms}}"}}]}},
    {{"endpoint": "/stall-once", "timeout": "300ms", "backend": [{{"url_pattern": "/stall-once"}}]}},
    {{"endpoint": "/close", "backend": [{{"url_pattern": "/close"}}]}},
    {{"endpoint": "/down", "backend": [{{"host": ["http://127.0.0.1:{dead_port}"], "url_pattern": "/down"}}]}},
    {{"endpoint": "/huge/{{n}}", "backend": [{{"url_pattern": "/huge/{{n}}"}}]}},
    {{"endpoint": "/chunked/{{n}}", "backend": [{{"url_pattern": "/chunked/{{n}}"}}]}},
    {{"endpoint": "/private", "backend": [{{"url_pattern": "/echo/private"}}],
      "extra_config": {{"auth/validator": {{"alg": "HS256", "jwk_local_path": "{jwk}"}}}}}},
    {{"endpoint": "/all/{{a}}", "input_headers": ["*"], "input_query_strings": ["*"],
      "backend": [{{"url_pattern": "/echo/all/{{a}}"}}]}},
    {{"endpoint": "/some", "input_headers": ["X-Kept", "Keep-Alive"], "input_query_strings": ["a", "b"],
      "backend": [{{"url_pattern": "/echo/some?fixed=1"}}]}},
    {{"endpoint": "/users/{{id}}/posts/{{post}}", "backend": [{{"url_pattern": "/echo/p/{{post}}/by/{{id}}"}}]}}
  ]
}}"#
    )
}

/// A backend and a gateway in front of it (`/down` points at a port nobody listens on).
fn start(name: &str) -> (Backend, Gateway) {
    let backend = Backend::start();
    let gateway = Gateway::start(name, &config(&backend, free_port()));
    (backend, gateway)
}

fn get_on(client: &mut Client, path: &str) -> Response {
    client.request(format!("GET {path} HTTP/1.1\r\nHost: gw\r\n\r\n").as_bytes())
}

fn assert_closed(client: &mut Client, what: &str) {
    assert!(
        client.closed_within(Duration::from_secs(3)),
        "{what}: the gateway should close the connection"
    );
}

// ---------------------------------------------------------------------------------------------
// 1. The contract's statuses (those that need no JWT).

#[test]
fn a_backend_response_passes_through_with_its_status_headers_and_body() {
    let (backend, gateway) = start("pass-through");
    let mut client = Client::connect(gateway.addr());

    let r = get_on(&mut client, "/fixed");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), "fixed");
    assert_eq!(r.header("content-length"), Some("5"), "{r:?}");
    assert_eq!(r.header("content-type"), Some("text/plain"), "{r:?}");
    assert_eq!(r.header("x-custom"), Some("yes"), "{r:?}");
    assert_eq!(r.header("set-cookie"), Some("a=b"), "{r:?}");

    // The backend's own statuses, 404 included, are relayed as they are.
    for code in [201, 404, 418, 503] {
        let r = get_on(&mut client, &format!("/status/{code}"));
        assert_eq!(r.status, code, "{r:?}");
        assert_eq!(r.text(), format!("status {code}"));
    }
    assert_eq!(backend.requests().len(), 5);

    // `Connection: close` is honoured.
    let r = client.request(b"GET /fixed HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("connection"), Some("close"), "{r:?}");
    assert_closed(&mut client, "Connection: close");

    // An HTTP/1.0 client cannot read chunked: a chunked backend body runs until close.
    let mut client = Client::connect(gateway.addr());
    let r = client.request(b"GET /chunked/100000 HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(!r.chunked && !r.has("content-length"), "{r:?}");
    assert!(r.body == pattern(100_000), "{} bytes", r.body.len());
}

#[test]
fn expect_100_continue_is_answered_before_the_body_is_sent() {
    let (backend, gateway) = start("expect");
    let mut client = Client::connect(gateway.addr());
    client.send(
        b"POST /echo-post HTTP/1.1\r\nHost: gw\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    );
    let interim = client
        .read_head_response(Duration::from_secs(5))
        .expect("100 Continue");
    assert_eq!(interim.status, 100, "{interim:?}");
    let r = client.request(b"hello");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), "hello");
    let seen = backend.requests();
    assert!(!seen[0].has("expect"), "{seen:?}");
}

#[test]
fn unknown_paths_are_404_and_wrong_methods_405_on_a_connection_that_stays_open() {
    let (backend, gateway) = start("404-405");
    let mut client = Client::connect(gateway.addr());
    let r = get_on(&mut client, "/nope");
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(r.text(), "404 page not found");
    let r = client.request(b"POST /fixed HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(r.status, 405, "{r:?}");
    assert_eq!(r.text(), "405 method not allowed");
    let r = client.request(b"DELETE /echo/1 HTTP/1.1\r\nHost: gw\r\n\r\n");
    assert_eq!(r.status, 405, "{r:?}");
    // The same connection still serves.
    let r = get_on(&mut client, "/echo/1");
    assert_eq!(r.status, 200, "{r:?}");
    let seen = backend.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].target, "/echo/1");
}

#[test]
fn health_is_200_json() {
    let (backend, gateway) = start("health");
    let r = get(gateway.addr(), "/__health");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert!(r.text().starts_with(r#"{"status":"ok""#), "{}", r.text());
    let mut client = Client::connect(gateway.addr());
    client.send(b"HEAD /__health HTTP/1.1\r\nHost: gw\r\n\r\n");
    let r = client
        .read_head_response(Duration::from_secs(5))
        .expect("HEAD response");
    assert_eq!(r.status, 200, "{r:?}");
    // No body followed the head: the next response starts right after it.
    let r = get_on(&mut client, "/__health");
    assert_eq!(r.status, 200, "{r:?}");
    client.send(b"HEAD /__health HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n");
    let r = client
        .read_head_response(Duration::from_secs(5))
        .expect("HEAD response");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-length"), Some("27"), "{r:?}");
    assert_eq!(r.header("connection"), Some("close"), "{r:?}");
    assert_closed(&mut client, "HEAD with Connection: close");
    assert!(backend.requests().is_empty());
}

#[test]
fn ambiguous_framing_and_bad_chunks_are_400_and_large_heads_431() {
    let (backend, gateway) = start("400-431");
    let cases: [(&str, Vec<u8>, u16); 5] = [
        (
            "Content-Length with Transfer-Encoding",
            b"POST /echo-post HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
            400,
        ),
        (
            "a chunk size that is not hex",
            b"POST /echo-post HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n".to_vec(),
            400,
        ),
        (
            "chunk data longer than its size",
            b"POST /echo-post HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n".to_vec(),
            400,
        ),
        (
            "a header block over max_header_bytes",
            format!(
                "GET /echo/1 HTTP/1.1\r\nHost: gw\r\nX-Big: {}\r\n\r\n",
                "a".repeat(3000)
            )
            .into_bytes(),
            431,
        ),
        (
            "more header fields than the gateway keeps",
            format!(
                "GET /echo/1 HTTP/1.1\r\nHost: gw\r\n{}\r\n",
                (0..120).map(|i| format!("X-{i}: v\r\n")).collect::<String>()
            )
            .into_bytes(),
            431,
        ),
    ];
    for (what, bytes, status) in cases {
        let mut client = Client::connect(gateway.addr());
        let r = client.request(&bytes);
        assert_eq!(r.status, status, "{what}: {r:?}");
        assert_closed(&mut client, what);
    }
    // Nothing complete reached the backend.
    let seen = backend.requests();
    assert!(seen.iter().all(|s| !s.complete), "{seen:?}");
}

#[test]
fn a_refused_backend_and_one_closing_without_an_answer_are_502() {
    let (backend, gateway) = start("502");
    let mut client = Client::connect(gateway.addr());
    let began = Instant::now();
    let r = get_on(&mut client, "/down");
    assert_eq!(r.status, 502, "{r:?}");
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "{:?}",
        began.elapsed()
    );
    // A gateway error on a bodiless request keeps the connection.
    let r = get_on(&mut client, "/close");
    assert_eq!(r.status, 502, "{r:?}");
    let r = get_on(&mut client, "/echo/after");
    assert_eq!(r.status, 200, "{r:?}");
    // A fresh backend connection that closes without an answer is not retried: the request
    // reached the backend once.
    let closes = backend
        .requests()
        .iter()
        .filter(|s| s.target == "/close")
        .count();
    assert_eq!(closes, 1, "{:?}", backend.requests());
}

#[test]
fn a_backend_silent_past_the_endpoint_timeout_is_504_and_not_retried() {
    let _serial = serial();
    let (backend, gateway) = start("504");
    let mut client = Client::connect(gateway.addr());
    let began = Instant::now();
    // The backend stays silent the first time only: a retry would turn this into a 200.
    let r = get_on(&mut client, "/stall-once");
    let took = began.elapsed();
    assert_eq!(r.status, 504, "{r:?}");
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_millis(1500),
        "the endpoint timeout is 300ms, the 504 came after {took:?}"
    );
    let seen = backend.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    // The connection stays usable; the backend answers now.
    let r = get_on(&mut client, "/stall-once");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), "recovered");
}

#[test]
fn a_protected_endpoint_is_401_and_never_reaches_the_backend() {
    let (backend, gateway) = start("401");
    let mut client = Client::connect(gateway.addr());
    for auth in [
        "",
        "Authorization: Bearer not.a.token\r\n",
        "Cookie: access_token=x\r\n",
    ] {
        let r =
            client.request(format!("GET /private HTTP/1.1\r\nHost: gw\r\n{auth}\r\n").as_bytes());
        assert_eq!(r.status, 401, "{auth:?}: {r:?}");
        assert_eq!(
            r.header("www-authenticate"),
            Some(r#"Bearer error="invalid_token""#),
            "{r:?}"
        );
        assert!(r.body.is_empty(), "{r:?}");
    }
    assert!(backend.requests().is_empty(), "{:?}", backend.requests());
}

// ---------------------------------------------------------------------------------------------
// 2. Large bodies, both ways, byte-exact.

const BIG: usize = 8 * 1024 * 1024;

/// `body` as chunks of varied sizes (one with an extension), then the last chunk.
fn chunked(body: &[u8]) -> Vec<u8> {
    const SIZES: [usize; 5] = [1, 5000, 65_536, 250_000, 17];
    let mut out = Vec::with_capacity(body.len() + body.len() / 1000 + 64);
    let mut rest = body;
    let mut i = 0;
    while !rest.is_empty() {
        let n = SIZES[i % SIZES.len()].min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        if i == 2 {
            out.extend_from_slice(format!("{n:x};ext=1\r\n").as_bytes());
        } else {
            out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        }
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
        rest = tail;
        i += 1;
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[test]
fn an_8_mib_request_body_reaches_the_backend_byte_exact() {
    let _serial = serial();
    let (backend, gateway) = start("big-request");
    let body = pattern(BIG);
    let want = format!("{} {}", BIG, checksum(&body));
    let mut client = Client::connect(gateway.addr());

    client.send(
        format!("POST /submit HTTP/1.1\r\nHost: gw\r\nContent-Length: {BIG}\r\n\r\n").as_bytes(),
    );
    client.send(&body);
    let r = client.response();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), want, "Content-Length body");

    client.send(b"POST /submit HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n");
    client.send(&chunked(&body));
    let r = client.response();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), want, "chunked body");

    let seen = backend.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].header("content-length"), Some("8388608"));
    assert!(!seen[0].has("transfer-encoding"));
    assert_eq!(seen[1].header("transfer-encoding"), Some("chunked"));
    assert!(!seen[1].has("content-length"));
    assert!(seen.iter().all(|s| s.complete && s.body_len == BIG));
}

#[test]
fn an_8_mib_response_body_reaches_the_client_byte_exact() {
    let _serial = serial();
    let (backend, gateway) = start("big-response");
    let body = pattern(BIG);
    let mut client = Client::connect(gateway.addr());

    let r = get_on(&mut client, &format!("/huge/{BIG}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("8388608"));
    assert!(!r.chunked);
    assert!(
        r.body == body,
        "Content-Length body differs ({} bytes)",
        r.body.len()
    );

    let r = get_on(&mut client, &format!("/chunked/{BIG}"));
    assert_eq!(r.status, 200);
    assert!(r.chunked, "{:?}", r.headers);
    assert!(
        r.body == body,
        "chunked body differs ({} bytes)",
        r.body.len()
    );

    // Both on one backend connection: the bodies were read to their exact ends.
    assert_eq!(backend.accepted(), 1);
}

// ---------------------------------------------------------------------------------------------
// 3 and 4. Keep-alive and pipelining.

#[test]
fn sequential_requests_reuse_one_backend_connection() {
    let (backend, gateway) = start("keep-alive");
    let mut client = Client::connect(gateway.addr());
    for i in 0..20 {
        let r = if i % 5 == 4 {
            client.request(
                format!(
                    "POST /echo-post HTTP/1.1\r\nHost: gw\r\nContent-Length: 6\r\n\r\nbody-{}",
                    i % 10
                )
                .as_bytes(),
            )
        } else {
            get_on(&mut client, &format!("/echo/{i}"))
        };
        assert_eq!(r.status, 200, "{i}: {r:?}");
    }
    // A second client connection, later: the pooled backend connection again.
    let r = get(gateway.addr(), "/echo/second");
    assert_eq!(r.status, 200, "{r:?}");
    let seen = backend.requests();
    assert_eq!(seen.len(), 21);
    assert_eq!(backend.accepted(), 1, "{seen:?}");
    assert!(seen.iter().all(|s| s.conn == 0));
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let (backend, gateway) = start("pipelining");
    let mut client = Client::connect(gateway.addr());
    let mut batch = Vec::new();
    for i in 0..10 {
        match i {
            3 => batch.extend_from_slice(b"GET /nope HTTP/1.1\r\nHost: gw\r\n\r\n"),
            6 => batch.extend_from_slice(
                b"POST /echo-post HTTP/1.1\r\nHost: gw\r\nContent-Length: 7\r\n\r\nbody-06",
            ),
            _ => batch.extend_from_slice(
                format!("GET /echo/{i} HTTP/1.1\r\nHost: gw\r\n\r\n").as_bytes(),
            ),
        }
    }
    client.send(&batch);
    for i in 0..10 {
        let r = client.response();
        match i {
            3 => assert_eq!(r.status, 404, "{i}: {r:?}"),
            6 => {
                assert_eq!(r.status, 200, "{i}: {r:?}");
                assert_eq!(r.text(), "body-06");
            }
            _ => {
                assert_eq!(r.status, 200, "{i}: {r:?}");
                assert_eq!(
                    r.header("x-echo-target"),
                    Some(format!("/echo/{i}").as_str()),
                    "{i}: {r:?}"
                );
            }
        }
    }
    let targets: Vec<String> = backend.requests().into_iter().map(|s| s.target).collect();
    let want: Vec<String> = (0..10)
        .filter(|&i| i != 3)
        .map(|i| {
            if i == 6 {
                "/echo/post".into()
            } else {
                format!("/echo/{i}")
            }
        })
        .collect();
    assert_eq!(targets, want);
    assert_eq!(backend.accepted(), 1);
}

// ---------------------------------------------------------------------------------------------
// 5. Many connections dropped half-way.

#[test]
fn two_hundred_connections_dropped_mid_request_leave_the_gateway_serving() {
    let _serial = serial();
    let (backend, mut gateway) = start("200-connections");
    let mut clients = Vec::new();
    for i in 0..200 {
        let mut client = Client::connect(gateway.addr());
        match i % 5 {
            0 => {}
            1 => client.send(b"GET /echo/1 HTTP/1.1\r\nHo"),
            2 => client.send(
                b"POST /submit HTTP/1.1\r\nHost: gw\r\nContent-Length: 100000\r\n\r\npartial body",
            ),
            3 => client.send(
                b"POST /submit HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n100\r\nabc",
            ),
            _ => {
                // A complete request whose response is never read.
                client.send(format!("GET /huge/{} HTTP/1.1\r\nHost: gw\r\n\r\n", 1 << 20).as_bytes());
            }
        }
        clients.push(client);
    }
    std::thread::sleep(Duration::from_millis(300));
    for (i, client) in clients.iter().enumerate() {
        if i % 2 == 0 {
            client.shutdown_write();
        }
    }
    drop(clients);

    let began = Instant::now();
    let mut client = Client::connect(gateway.addr());
    for i in 0..10 {
        let r = get_on(&mut client, &format!("/echo/after-{i}"));
        assert_eq!(r.status, 200, "{r:?}");
    }
    assert_eq!(get(gateway.addr(), "/__health").status, 200);
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
    assert!(gateway.is_running(), "{}", gateway.stderr());
    // A body cut off by its client is never completed toward the backend.
    let seen = backend.requests();
    assert!(
        seen.iter()
            .filter(|s| s.target == "/sink")
            .all(|s| !s.complete),
        "{seen:?}"
    );
    // No connection was left behind: the drain finds nothing in flight and does not wait
    // for max_shutdown_wait_time (3s).
    drop(client);
    let signalled = Instant::now();
    assert!(gateway.sigterm());
    let status = gateway.wait_exit(Duration::from_secs(5));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{status:?}");
    assert!(
        signalled.elapsed() < Duration::from_millis(1500),
        "the drain waited {:?}: connections were left open",
        signalled.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Slowloris.

#[test]
fn a_slowloris_client_is_cut_off_while_others_are_served() {
    let _serial = serial();
    let (_backend, gateway) = start("slowloris");
    let addr = gateway.addr();
    let slow = std::thread::spawn(move || slowloris(addr));
    // Meanwhile another client is served promptly.
    let mut client = Client::connect(gateway.addr());
    for i in 0..8 {
        let began = Instant::now();
        let r = get_on(&mut client, &format!("/echo/{i}"));
        assert_eq!(r.status, 200, "{r:?}");
        assert!(
            began.elapsed() < Duration::from_millis(800),
            "{:?}",
            began.elapsed()
        );
        std::thread::sleep(Duration::from_millis(150));
    }
    let (closed_after, got) = slow.join().expect("slowloris thread");
    let closed_after = closed_after.expect("the slow client was never cut off");
    assert!(
        closed_after >= Duration::from_millis(900) && closed_after < Duration::from_secs(3),
        "read_header_timeout is 1s; the slow head was cut off after {closed_after:?}"
    );
    assert!(
        !got.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
}

/// Sends a head one byte every 100 ms; returns how long after the first byte the gateway
/// closed the connection (if it did within 6 s), and what it sent.
fn slowloris(addr: SocketAddr) -> (Option<Duration>, Vec<u8>) {
    use std::io::{Read as _, Write as _};
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    let _ = stream.set_nodelay(true);
    let mut reader = stream.try_clone().expect("clone");
    let began = Instant::now();
    let watcher = std::thread::spawn(move || {
        let _ = reader.set_read_timeout(Some(Duration::from_secs(6)));
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        (began.elapsed(), got)
    });
    let head = b"GET /echo/slow HTTP/1.1\r\nHost: gw\r\nX-Padding: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    for &b in head.iter() {
        if watcher.is_finished() || stream.write_all(&[b]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (after, got) = watcher.join().expect("watcher");
    ((after < Duration::from_secs(6)).then_some(after), got)
}

// ---------------------------------------------------------------------------------------------
// 7. Request smuggling.

#[test]
fn smuggling_attempts_are_refused_and_never_reach_the_backend() {
    let (backend, gateway) = start("smuggling");
    const HIDDEN: &str = "GET /smuggled HTTP/1.1\r\nHost: gw\r\n\r\n";
    let refused: Vec<(&str, String, u16)> = vec![
        (
            "CL.TE",
            format!(
                "POST /submit HTTP/1.1\r\nHost: gw\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{HIDDEN}",
                5 + HIDDEN.len()
            ),
            400,
        ),
        (
            "TE.CL",
            format!(
                "POST /submit HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n{:x}\r\n{HIDDEN}\r\n0\r\n\r\n",
                HIDDEN.len()
            ),
            400,
        ),
        (
            "two different Content-Length",
            format!(
                "POST /submit HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\nContent-Length: {}\r\n\r\n{HIDDEN}",
                HIDDEN.len()
            ),
            400,
        ),
        (
            "a signed Content-Length",
            format!(
                "POST /submit HTTP/1.1\r\nHost: gw\r\nContent-Length: +{}\r\n\r\n{HIDDEN}",
                HIDDEN.len()
            ),
            400,
        ),
        (
            "an obfuscated chunked",
            format!(
                "POST /submit HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n{HIDDEN}"
            ),
            400,
        ),
        (
            "Transfer-Encoding: chunked, identity",
            format!(
                "POST /submit HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n{HIDDEN}"
            ),
            400,
        ),
        (
            "two Transfer-Encoding fields",
            format!(
                "POST /submit HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{HIDDEN}"
            ),
            400,
        ),
        (
            "a coding before chunked",
            format!(
                "POST /submit HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n{HIDDEN}"
            ),
            501,
        ),
        (
            "Transfer-Encoding in HTTP/1.0",
            format!(
                "POST /submit HTTP/1.0\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{HIDDEN}"
            ),
            400,
        ),
        (
            "obs-fold hiding Transfer-Encoding",
            format!(
                "POST /submit HTTP/1.1\r\nHost: gw\r\nX-Folded: a\r\n Transfer-Encoding: chunked\r\nContent-Length: {}\r\n\r\n0\r\n\r\n{HIDDEN}",
                5 + HIDDEN.len()
            ),
            400,
        ),
        (
            "whitespace before the colon",
            format!(
                "POST /submit HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n{HIDDEN}"
            ),
            400,
        ),
        (
            "a bare LF",
            format!(
                "POST /submit HTTP/1.1\nHost: gw\nTransfer-Encoding: chunked\n\n0\r\n\r\n{HIDDEN}"
            ),
            400,
        ),
        (
            "a bad chunk size hiding a request",
            format!(
                "POST /submit HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n-0\r\n\r\n{HIDDEN}"
            ),
            400,
        ),
    ];
    for (what, bytes, status) in &refused {
        let mut client = Client::connect(gateway.addr());
        let r = client.request(bytes.as_bytes());
        assert_eq!(r.status, *status, "{what}: {r:?}");
        assert_eq!(r.header("connection"), Some("close"), "{what}: {r:?}");
        assert_closed(&mut client, what);
    }
    let seen = backend.requests();
    assert!(
        seen.iter().all(|s| !s.complete),
        "a refused request reached the backend: {seen:?}"
    );

    // Well-framed bodies with a request inside or right behind: the body goes as a body, and
    // what follows it is a request of its own, routed by the gateway (`/smuggled` is no
    // endpoint: 404), never a request to the backend.
    let framed: [(&str, String); 3] = [
        (
            "a shorter Content-Length",
            format!("POST /submit HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n\r\nhello{HIDDEN}"),
        ),
        (
            "a last chunk before the hidden request",
            format!(
                "POST /submit HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n{HIDDEN}"
            ),
        ),
        (
            "a request inside a body",
            format!(
                "POST /submit HTTP/1.1\r\nHost: gw\r\nContent-Length: {}\r\n\r\n{HIDDEN}GET /fixed HTTP/1.1\r\nHost: gw\r\n\r\n",
                HIDDEN.len()
            ),
        ),
    ];
    for (what, bytes) in &framed {
        let mut client = Client::connect(gateway.addr());
        client.send(bytes.as_bytes());
        let first = client.response();
        assert_eq!(first.status, 200, "{what}: {first:?}");
        let second = client.response();
        let want = if what.contains("inside") { 200 } else { 404 };
        assert_eq!(second.status, want, "{what}: {second:?}");
    }
    let seen: Vec<_> = backend
        .requests()
        .into_iter()
        .filter(|s| s.complete)
        .collect();
    let targets: Vec<&str> = seen.iter().map(|s| s.target.as_str()).collect();
    assert_eq!(targets, ["/sink", "/sink", "/sink", "/fixed"], "{seen:?}");
    assert_eq!(
        seen.iter().map(|s| s.body_len).collect::<Vec<_>>(),
        [5, 5, HIDDEN.len(), 0]
    );
    assert!(
        backend
            .requests()
            .iter()
            .all(|s| !s.target.contains("smuggled"))
    );
}

// ---------------------------------------------------------------------------------------------
// 8. Backends that go away, come back, or are slow.

#[test]
fn a_backend_that_is_down_then_up_is_used_again() {
    let port = free_port();
    let gateway = Gateway::start(
        "down-up",
        &format!(
            r#"{{"version": 3, "port": 0, "timeout": "1s",
                "host": ["127.0.0.1:{port}"],
                "endpoints": [
                    {{"endpoint": "/flaky", "backend": [{{"url_pattern": "/echo/flaky"}}]}},
                    {{"endpoint": "/flaky-post", "method": "POST", "backend": [{{"url_pattern": "/echo/post"}}]}}
                ]}}"#
        ),
    );
    let mut client = Client::connect(gateway.addr());
    assert_eq!(get_on(&mut client, "/flaky").status, 502);

    let backend = Backend::start_on(port);
    let r = get_on(&mut client, "/flaky");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(backend.requests().len(), 1);
    // The backend restarts: the gateway's pooled connection to it is dead now. An idempotent
    // request is retried once on a fresh connection and reaches the new backend once.
    drop(backend);
    let backend = Backend::start_on(port);
    let r = get_on(&mut client, "/flaky");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(backend.requests().len(), 1, "{:?}", backend.requests());
    // Once more with a POST, which is never sent twice: a pooled connection the backend has
    // closed is noticed before it is used.
    drop(backend);
    let backend = Backend::start_on(port);
    let r =
        client.request(b"POST /flaky-post HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\n\r\nbody");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), "body");
    assert_eq!(backend.requests().len(), 1, "{:?}", backend.requests());
    drop(backend);
    assert_eq!(get_on(&mut client, "/flaky").status, 502);
}

#[test]
fn a_slow_backend_does_not_delay_a_fast_endpoint() {
    let _serial = serial();
    let (backend, gateway) = start("slow-fast");
    let addr = gateway.addr();
    let slow = std::thread::spawn(move || {
        let began = Instant::now();
        let r = get(addr, "/slow/1500");
        (r, began.elapsed())
    });
    let seen = backend.wait_for_requests(1, Duration::from_secs(5));
    assert_eq!(seen.len(), 1, "the slow request never reached the backend");
    let mut client = Client::connect(gateway.addr());
    let began = Instant::now();
    for i in 0..5 {
        assert_eq!(get_on(&mut client, &format!("/echo/{i}")).status, 200);
    }
    let fast = began.elapsed();
    assert!(
        fast < Duration::from_millis(1000),
        "5 fast requests took {fast:?}"
    );
    let (r, took) = slow.join().expect("slow client");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), "slow");
    assert!(took >= Duration::from_millis(1400), "{took:?}");
}

// ---------------------------------------------------------------------------------------------
// 9. What is forwarded.

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-authorization",
    "proxy-authenticate",
    "proxy-connection",
];

#[test]
fn hop_by_hop_headers_are_dropped_both_ways_and_forwarded_headers_set() {
    let (backend, gateway) = start("hop-by-hop");
    let mut client = Client::connect(gateway.addr());
    // `input_headers: ["*"]`: everything but hop-by-hop fields passes.
    let r = client.request(
        b"GET /all/x?q=1&r=2 HTTP/1.1\r\nHost: gw.example:8080\r\nConnection: keep-alive, X-Foo\r\n\
          X-Foo: drop\r\nKeep-Alive: timeout=5\r\nUpgrade: websocket\r\nTE: trailers\r\nTrailer: X-T\r\n\
          Proxy-Authorization: Basic eA==\r\nProxy-Connection: keep-alive\r\nX-Kept: yes\r\n\
          X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Host: evil.example\r\n\r\n",
    );
    assert_eq!(r.status, 200, "{r:?}");
    let seen = backend.requests();
    let s = &seen[0];
    assert_eq!(s.target, "/echo/all/x?q=1&r=2");
    assert_eq!(s.version, "HTTP/1.1");
    assert_eq!(
        s.header("host"),
        Some(format!("127.0.0.1:{}", backend.port()).as_str())
    );
    assert_eq!(s.header("x-kept"), Some("yes"), "{s:?}");
    for name in HOP_BY_HOP.iter().chain(&["x-foo"]) {
        assert!(!s.has(name), "{name} reached the backend: {s:?}");
    }
    assert_eq!(
        s.header("x-forwarded-for"),
        Some("10.0.0.1, 127.0.0.1"),
        "{s:?}"
    );
    assert_eq!(
        s.header("x-forwarded-host"),
        Some("gw.example:8080"),
        "{s:?}"
    );

    // And from the backend: its hop-by-hop fields (`Connection: x-hop` names `X-Hop`) stop at
    // the gateway.
    let r = get_on(&mut client, "/fixed");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("x-custom"), Some("yes"), "{r:?}");
    for name in HOP_BY_HOP
        .iter()
        .filter(|n| **n != "connection")
        .chain(&["x-hop"])
    {
        assert!(!r.has(name), "{name} reached the client: {r:?}");
    }
    assert!(
        r.header("connection").is_none_or(|v| !v.contains("x-hop")),
        "{r:?}"
    );
}

#[test]
fn input_headers_and_input_query_strings_filter_what_the_backend_gets() {
    let (backend, gateway) = start("filters");
    let mut client = Client::connect(gateway.addr());
    // The default: only Content-Type, and no query string.
    let r = client.request(
        b"POST /echo-post?a=1 HTTP/1.1\r\nHost: gw\r\nContent-Type: text/x-test\r\n\
          Authorization: Bearer abc\r\nCookie: c=1\r\nX-Kept: yes\r\nUser-Agent: it\r\n\
          X-Forwarded-For: 10.0.0.1\r\nContent-Length: 2\r\n\r\nhi",
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), "hi");
    // Named headers (hop-by-hop ones stay out even when named) and named query parameters,
    // after the pattern's own query.
    let r = client.request(
        b"GET /some?a=1&c=3&b=2&a=4 HTTP/1.1\r\nHost: gw\r\nX-Kept: yes\r\nX-Other: no\r\n\
          Keep-Alive: timeout=5\r\nContent-Type: text/plain\r\n\r\n",
    );
    assert_eq!(r.status, 200, "{r:?}");
    let seen = backend.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");

    let s = &seen[0];
    assert_eq!(s.target, "/echo/post");
    let mut names: Vec<String> = s
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "content-length",
            "content-type",
            "host",
            "x-forwarded-for",
            "x-forwarded-host"
        ],
        "{s:?}"
    );
    assert_eq!(s.header("content-type"), Some("text/x-test"));
    // The client's own X-Forwarded-For is not trusted unless every header is forwarded.
    assert_eq!(s.header("x-forwarded-for"), Some("127.0.0.1"));

    let s = &seen[1];
    assert_eq!(s.target, "/echo/some?fixed=1&a=1&b=2&a=4");
    assert_eq!(s.header("x-kept"), Some("yes"), "{s:?}");
    for name in ["x-other", "keep-alive", "content-type"] {
        assert!(!s.has(name), "{name}: {s:?}");
    }
}

#[test]
fn url_pattern_parameters_are_rewritten() {
    let (backend, gateway) = start("rewrite");
    let r = get(gateway.addr(), "/users/42/posts/7?x=1");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("x-echo-target"), Some("/echo/p/7/by/42"));
    // Parameters are copied raw, never decoded into something else.
    let r = get(gateway.addr(), "/users/a%2Fb/posts/%2E%2E");
    assert_eq!(r.status, 404, "a `..` parameter must not match: {r:?}");
    let r = get(gateway.addr(), "/users/a%2Fb/posts/7");
    assert_eq!(r.status, 200, "{r:?}");
    let targets: Vec<String> = backend.requests().into_iter().map(|s| s.target).collect();
    assert_eq!(targets, ["/echo/p/7/by/42", "/echo/p/7/by/a%2Fb"]);
}

// ---------------------------------------------------------------------------------------------
// 10. SIGTERM.

#[test]
fn sigterm_lets_an_in_flight_request_finish_then_exits_0() {
    let _serial = serial();
    let (backend, mut gateway) = start("sigterm");
    let addr = gateway.addr();
    // An idle keep-alive connection must not hold the exit up.
    let mut idle = Client::connect(addr);
    assert_eq!(get_on(&mut idle, "/echo/idle").status, 200);
    let slow = std::thread::spawn(move || get(addr, "/slow/1500"));
    let seen = backend.wait_for_requests(2, Duration::from_secs(5));
    assert_eq!(seen.len(), 2, "{seen:?}");

    let signalled = Instant::now();
    assert!(gateway.sigterm());
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "the gateway still accepts connections after SIGTERM"
    );
    assert!(
        idle.closed_within(Duration::from_secs(2)),
        "the idle connection stayed open"
    );
    let r = slow.join().expect("slow client");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), "slow");
    let status = gateway.wait_exit(Duration::from_secs(5));
    let took = signalled.elapsed();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "{status:?}: {}",
        gateway.stderr()
    );
    assert!(took < Duration::from_secs(3), "exit took {took:?}");
}

#[test]
fn sigterm_waits_no_longer_than_max_shutdown_wait_time() {
    let _serial = serial();
    let backend = Backend::start();
    let mut gateway = Gateway::start(
        "sigterm-bound",
        &format!(
            r#"{{"version": 3, "port": 0, "max_shutdown_wait_time": "1s", "host": ["{}"],
                "endpoints": [{{"endpoint": "/slow", "timeout": "20s", "backend": [{{"url_pattern": "/slow/15000"}}]}}]}}"#,
            backend.url()
        ),
    );
    let addr = gateway.addr();
    let _slow = std::thread::spawn(move || {
        let mut client = Client::connect(addr);
        client.send(b"GET /slow HTTP/1.1\r\nHost: gw\r\n\r\n");
        client.closed_within(Duration::from_secs(10))
    });
    assert_eq!(
        backend.wait_for_requests(1, Duration::from_secs(5)).len(),
        1
    );
    let signalled = Instant::now();
    assert!(gateway.sigterm());
    let status = gateway.wait_exit(Duration::from_secs(5));
    let took = signalled.elapsed();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "{status:?}: {}",
        gateway.stderr()
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "max_shutdown_wait_time is 1s; exit took {took:?}"
    );
}

#[test]
fn a_large_upload_to_a_refused_request_still_gets_its_status() {
    // The gateway answers 405 without forwarding the 4 MiB body, then closes with a lingering
    // read (so the client's upload completes instead of meeting a reset).
    let _serial = serial();
    let (backend, gateway) = start("linger");
    let mut client = Client::connect(gateway.addr());
    let body = vec![b'x'; 4 * 1024 * 1024];
    let head = format!(
        "PUT /fixed HTTP/1.1\r\nHost: gw\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = client_stream(&client);
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&body);
    });
    // Let the whole upload go out (or fail) before reading: the response must still be there.
    let _ = writer.join();
    let r = client.read_response(Duration::from_secs(5));
    assert!(matches!(&r, Ok(r) if r.status == 405), "{r:?}");
    assert!(backend.requests().is_empty());
}

fn client_stream(client: &Client) -> TcpStream {
    client
        .stream()
        .try_clone()
        .expect("clone the client socket")
}
