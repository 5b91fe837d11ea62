//! Question: does a steady-state request allocate? The architecture promises that a protected
//! request allocates nothing once a connection's buffers and the core's JWT scratch have grown
//! (`docs/ARCHITECTURE.md`, proxy). This bench FAILS (panics, so `cargo bench` exits non-zero)
//! if any request of any kind — valid, revoked, expired, bad signature, no token, unknown path
//! — allocates after warm-up, alone or pipelined several to a buffer. It then times what is
//! allowed to allocate: a new connection's first request.
//!
//! `cargo bench -p perf --bench alloc`
//!
//! Counting: the global allocator wraps divan's `AllocProfiler` (so divan's `alloc` columns
//! still show) and counts allocations and reallocations per thread; the count is read around
//! each request only, so the harness's own allocations never enter it.
//!
//! Unsafe: the only `unsafe` is that allocator's `GlobalAlloc` impl, which forwards each call
//! unchanged (the workspace's perf library itself forbids unsafe code).

mod common;

use common::{ConnBuffers, Fixture, KINDS, Kind};
use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;

/// Requests per kind before counting: the buffers grow to their high-water marks.
const WARM_UP: usize = 1_000;
/// Requests per kind counted.
const COUNTED: usize = 10_000;

/// divan's profiler, plus a per-thread count of allocations and reallocations.
struct Counting(divan::AllocProfiler);

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: a thread being torn down has no slot left; its allocations are not requests.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: every method forwards to `divan::AllocProfiler`, a `GlobalAlloc`, with the caller's
// own arguments; counting touches a const-initialised thread-local `Cell` and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { self.0.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as `alloc`.
        unsafe { self.0.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged; `ptr` came from this allocator with `layout`.
        unsafe { self.0.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from this allocator with `layout`.
        unsafe { self.0.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting(divan::AllocProfiler::system());

/// Allocations made by `COUNTED` requests of `kind` on a warmed connection, one request per
/// buffer.
fn steady_state(fixture: &Fixture, kind: Kind) -> u64 {
    let mut conn = ConnBuffers::new(&fixture.core.config);
    let bytes = fixture.request(kind);
    for _ in 0..WARM_UP {
        assert_eq!(fixture.plan(&mut conn, bytes), kind.expected());
    }
    let mut total = 0;
    for _ in 0..COUNTED {
        let before = allocations();
        let outcome = fixture.plan(&mut conn, bytes);
        total += allocations() - before;
        assert_eq!(outcome, kind.expected());
    }
    total
}

/// The same, with every kind pipelined in one buffer, as a client sending them back to back
/// (the glue parses each from the offset where the previous one ended).
fn pipelined(fixture: &Fixture) -> u64 {
    let mut conn = ConnBuffers::new(&fixture.core.config);
    let buf: Vec<u8> = KINDS
        .iter()
        .flat_map(|&k| fixture.request(k).iter().copied())
        .collect();
    let run = |conn: &mut ConnBuffers| {
        let mut start = 0;
        for kind in KINDS {
            let len = fixture.request(kind).len();
            assert_eq!(fixture.plan(conn, &buf[start..]), kind.expected());
            start += len;
        }
    };
    for _ in 0..WARM_UP {
        run(&mut conn);
    }
    let before = allocations();
    for _ in 0..COUNTED / KINDS.len() {
        run(&mut conn);
    }
    allocations() - before
}

fn main() {
    let fixture = Fixture::this_thread();
    let mut failures = Vec::new();
    for kind in KINDS {
        let n = steady_state(fixture, kind);
        println!("steady state, {kind:>9}: {n} allocation(s) in {COUNTED} requests");
        if n > 0 {
            failures.push(format!("{kind}: {n} in {COUNTED}"));
        }
    }
    let n = pipelined(fixture);
    println!("pipelined, every kind: {n} allocation(s)");
    if n > 0 {
        failures.push(format!("pipelined: {n}"));
    }
    assert!(
        failures.is_empty(),
        "a steady-state request allocates: {}",
        failures.join(", ")
    );
    divan::main();
}

/// A new connection's first request: its buffers are allocated here (the allocations divan
/// shows are the connection's, not the request's).
#[divan::bench(args = [Kind::Valid, Kind::Revoked])]
fn first_request_of_a_connection(bencher: divan::Bencher, kind: Kind) {
    let fixture = Fixture::this_thread();
    let bytes = fixture.request(kind);
    bencher.bench_local(|| {
        let mut conn = ConnBuffers::new(&fixture.core.config);
        divan::black_box(fixture.plan(&mut conn, divan::black_box(bytes)))
    });
}
