//! Question: what does one request cost a data core in its own code — the sans-io path the
//! glue (`proxy::server::conn`) runs between reading a head and writing to the backend: parse
//! the head, route, guard (HS256 signature, `exp`, the `jti` looked up in a filter holding 1M
//! revocations), pick the upstream, render the backend path, write the upstream request head —
//! for a valid token and for each way of being refused? And does it allocate? (The `alloc`
//! columns count per request; `alloc.rs` fails the run if a steady-state request allocates.)
//!
//! `cargo bench -p perf --bench request`
//!
//! The gateway is built from its bench config (`perf/peers/bloomgate-bench.json`), as
//! `perf/compare.sh` runs it. No socket, no executor: what is left of a request's cost in a
//! profile of the running gateway is the kernel's and the event loop's. Before timing, every kind must
//! get its answer (`Fixture::check`).

mod common;

use common::{ConnBuffers, Fixture, KINDS, Kind};

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    let _ = Fixture::this_thread();
    divan::main();
}

/// One request of each kind through the whole synchronous path, on a warm connection.
#[divan::bench(args = KINDS)]
fn request(bencher: divan::Bencher, kind: Kind) {
    let fixture = Fixture::this_thread();
    let mut conn = ConnBuffers::new(&fixture.core.config);
    let bytes = fixture.request(kind);
    // Warm the connection's buffers and the core's scratch to their high-water marks.
    for _ in 0..16 {
        let _ = fixture.plan(&mut conn, bytes);
    }
    bencher
        .counter(divan::counter::BytesCount::of_slice(bytes))
        .bench_local(|| divan::black_box(fixture.plan(&mut conn, divan::black_box(bytes))));
}
