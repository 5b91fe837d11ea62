//! Question: what does one whole request cost a data core — not only the synchronous `plan`
//! step of `request.rs`, but everything `proxy::server::conn::serve` does around it: read the
//! head from the client socket, guard it, take a pooled backend connection, write the upstream
//! request, read the backend's answer and relay it, on a kept-alive connection — for a valid
//! token (forwarded) and for a revoked one and an unknown path (answered by the gateway)?
//!
//! `cargo bench -p perf --bench connection`
//!
//! Mock connections: the client and the backend are `AF_UNIX` socket pairs, not TCP. One end
//! of each is handed to the gateway as an `event::net::Stream` (the core reads and writes a
//! stream socket the same way), the backend's end sits in the core's pool as an idle upstream
//! connection, and the other ends are driven on the same `event::Runtime`: the client writes a
//! request and reads the whole response; a canned backend reads each request head and answers
//! `200` with a 2-byte body. So the figure is the core's code plus the event loop plus the
//! socket calls, without TCP, loopback or a second CPU; what real TCP adds is in
//! `docs/PROFILING.md`.
//! The gateway is the bench config's (`common::Fixture`: HS256, 1M revoked `jti`s). Before
//! timing, every kind must get its status.

mod common;

// divan's allocation profiler: the table's `alloc` columns count what one whole request
// allocates (the core, the event loop, and this bench's client and backend together).
#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

use std::os::fd::OwnedFd;
use std::time::Duration;

use common::{Fixture, Kind};
use event::{Runtime, net::Stream};
use proxy::server::conn;
use proxy::server::upstream::Upstream;

/// The backend's answer to every request.
const BACKEND_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// The kinds timed: forwarded, refused by the filter, refused by the router.
const TIMED: [Kind; 3] = [Kind::Valid, Kind::Revoked, Kind::NotFound];

fn main() {
    divan::main();
}

/// A connected stream-socket pair as the data core's streams (call inside the runtime).
fn socket_pair() -> (Stream, Stream) {
    let (a, b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    let wrap = |s: std::os::unix::net::UnixStream| {
        Stream::from_fd(OwnedFd::from(s)).expect("a stream on the runtime")
    };
    (wrap(a), wrap(b))
}

/// A client connection to a data core and a backend connection in its pool, served by tasks on
/// `runtime`.
struct Mock {
    runtime: Runtime,
    client: Stream,
    response: Vec<u8>,
}

impl Mock {
    fn new() -> Mock {
        let runtime = Runtime::new().expect("an io_uring for the runtime");
        let fixture = Fixture::this_thread();
        let client = runtime.block_on(async move {
            let (client, gateway_side) = socket_pair();
            let (pooled, backend) = socket_pair();
            fixture.core.pool.put(Upstream {
                stream: pooled,
                reused: true,
                id: 0,
            });
            event::spawn(serve_backend(backend));
            event::spawn(conn::serve(&fixture.core, gateway_side));
            client
        });
        Mock {
            runtime,
            client,
            response: Vec::with_capacity(4096),
        }
    }

    /// Sends `request` and reads its whole response; returns the status.
    fn round_trip(&mut self, request: &[u8]) -> u16 {
        let (client, response) = (&mut self.client, &mut self.response);
        self.runtime.block_on(exchange(client, request, response))
    }
}

/// Writes `request`, reads one response (head and `Content-Length` body) into `response`.
async fn exchange(client: &mut Stream, request: &[u8], response: &mut Vec<u8>) -> u16 {
    client
        .write_all_by(request, None)
        .await
        .expect("send the request");
    response.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some((head_len, body_len)) = framing(response)
            && response.len() >= head_len + body_len
        {
            assert_eq!(
                response.len(),
                head_len + body_len,
                "one response at a time"
            );
            return status(response);
        }
        // The gateway's answers here are small: a response this large is a bug, not a wait.
        assert!(response.len() < 64 * 1024, "a response over 64 KiB");
        let n = client
            .read_by(&mut chunk, None)
            .await
            .expect("read the response");
        assert!(n > 0, "the gateway closed the connection");
        response.extend_from_slice(&chunk[..n]);
    }
}

/// `(head length, Content-Length)` once the head is complete (`None` before). Every answer
/// the core gives here is framed by `Content-Length`; a complete head without one fails the
/// bench instead of waiting for a body end that never comes.
fn framing(response: &[u8]) -> Option<(usize, usize)> {
    let end = response.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&response[..end]);
    let length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    });
    let Some(length) = length else {
        panic!("a response without Content-Length: {head}")
    };
    Some((end, length))
}

fn status(response: &[u8]) -> u16 {
    std::str::from_utf8(response.get(9..12).unwrap_or_default())
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The canned backend: every request head (GET, no body) gets [`BACKEND_RESPONSE`].
async fn serve_backend(mut stream: Stream) {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read_by(&mut chunk, None).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.drain(..end + 4);
            if stream.write_all_by(BACKEND_RESPONSE, None).await.is_err() {
                return;
            }
        }
    }
}

/// One request through the core over a warm keep-alive connection, per kind.
#[divan::bench(args = TIMED)]
fn request(bencher: divan::Bencher, kind: Kind) {
    let fixture = Fixture::this_thread();
    let mut mock = Mock::new();
    let request = fixture.request(kind);
    let expected = match kind {
        Kind::Valid => 200,
        Kind::NotFound => 404,
        _ => 401,
    };
    for _ in 0..64 {
        assert_eq!(mock.round_trip(request), expected, "{kind}: wrong status");
    }
    if kind == Kind::Valid {
        assert!(mock.response.ends_with(b"\r\n\r\nok"), "the backend's body");
    }
    bencher
        .counter(divan::counter::BytesCount::of_slice(request))
        .bench_local(|| divan::black_box(mock.round_trip(divan::black_box(request))));
    // Let the core see the client go, and close the pooled backend connection, on this
    // runtime: its sockets belong to it.
    drop(mock.client);
    mock.runtime.block_on(async move {
        event::sleep(Duration::from_millis(10)).await;
        fixture.core.pool.clear();
    });
}
