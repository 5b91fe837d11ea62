//! Question: what does the revocation check cost a request at the gateway's bench geometry
//! (N = 1e6, P = 1e-7: two generations of ~5.4 MB) holding 1M revoked `jti`s — a miss (a valid
//! token: the common case), a hit (a revoked one), the key's hash alone — and what does the
//! admin core pay per insert? Do readers on two threads slow each other down (they share the
//! filter's words and only load them)?
//!
//! `cargo bench -p perf --bench filter`
//!
//! Keys are `jti-<uuid>` (40 bytes), as the gateway builds them; each iteration takes the next
//! key of a shuffled set of 1M (hits: revoked keys; misses: others), so lookups land on random
//! blocks as real traffic does, not on a cache-warm few. `threads = [1, 2]`: the time is per
//! lookup on each thread while all of them run. Before timing: every revoked key is found and
//! the false-positive rate over 1M absent keys is within 10× the design rate.
//! `bloom-report` (`docs/BENCHMARKS.md`) compares the filter with fastbloom's; this bench is
//! the filter as the data plane uses it.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bloom::{Geometry, KeyHash, Revocations, Writer};

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

const KEYS: usize = 1_000_000;
const N: u64 = 1_000_000;
const P: f64 = 1e-7;
/// Any fixed instant: the filter never reads a clock.
const NOW: u64 = 1_795_400_000;

/// A key as the gateway builds it: `jti-` and a UUID.
type Key = [u8; 40];

struct Setup {
    filter: Arc<Revocations>,
    /// The filter's one writer (a `Mutex` only to live in a `static`).
    writer: Mutex<Writer>,
    revoked: Vec<Key>,
    absent: Vec<Key>,
}

fn jti(i: u64, salt: u64) -> Key {
    let mut x = i ^ salt.rotate_left(32);
    let mut next = || {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let (a, b) = (next(), next());
    format!(
        "jti-{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
    .into_bytes()
    .try_into()
    .expect("40 bytes")
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let geometry = Geometry::new(N, P).expect("geometry");
        let (filter, mut writer) = Revocations::new(geometry, 3600, NOW).expect("filter");
        let revoked: Vec<Key> = (0..KEYS as u64).map(|i| jti(i, 1)).collect();
        let absent: Vec<Key> = (0..KEYS as u64).map(|i| jti(i, 2)).collect();
        writer.insert_batch(revoked.iter().map(|k| &k[..]), NOW);
        // The answers, checked before anything is timed.
        assert!(
            revoked.iter().all(|k| filter.contains(&k[..])),
            "a revoked key is missing"
        );
        let false_positives = absent.iter().filter(|k| filter.contains(&k[..])).count();
        let rate = false_positives as f64 / absent.len() as f64;
        assert!(
            rate <= 10.0 * P.max(1.0 / KEYS as f64),
            "false-positive rate {rate}"
        );
        Setup {
            filter,
            writer: Mutex::new(writer),
            revoked,
            absent,
        }
    })
}

fn main() {
    let _ = setup();
    divan::main();
}

/// Where the next thread starts in the key sets.
static NEXT_START: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Each thread walks the keys from its own start with a stride coprime to their count:
    /// every key once per 1M lookups, in an order no prefetcher guesses.
    static CURSOR: Cell<usize> = Cell::new(NEXT_START.fetch_add(333_331, Ordering::Relaxed) % KEYS);
}

/// The next key of `keys`, copied: the input is hot in the cache, as a token in the read
/// buffer is; the filter's words are not.
fn next_key(keys: &[Key]) -> Key {
    const STRIDE: usize = 700_001; // prime: coprime to 1M
    let i = CURSOR.with(|c| {
        let i = c.get();
        c.set((i + STRIDE) % keys.len());
        i
    });
    keys[i]
}

/// `Revocations::contains` for a key that was never revoked (a valid token).
#[divan::bench(threads = [1, 2])]
fn miss(bencher: divan::Bencher) {
    let s = setup();
    bencher
        .with_inputs(|| next_key(&s.absent))
        .bench_values(|key| divan::black_box(s.filter.contains(&key)));
}

/// `Revocations::contains` for a revoked key (all `k` bits tested).
#[divan::bench(threads = [1, 2])]
fn hit(bencher: divan::Bencher) {
    let s = setup();
    bencher
        .with_inputs(|| next_key(&s.revoked))
        .bench_values(|key| divan::black_box(s.filter.contains(&key)));
}

/// The key's hash alone (seeded xxh3-128): what a lookup costs before touching memory.
#[divan::bench]
fn hash(bencher: divan::Bencher) {
    let s = setup();
    let seed = s.filter.geometry().seed();
    bencher
        .with_inputs(|| next_key(&s.absent))
        .bench_values(|key| divan::black_box(KeyHash::new(&key, seed)));
}

/// `Writer::insert` (the admin core, one key of an RPC batch): `fetch_or` on each word touched.
/// The keys are already in, so the filter does not fill up while timing; the work is the same.
#[divan::bench]
fn insert(bencher: divan::Bencher) {
    let s = setup();
    let mut writer = s.writer.lock().expect("one bench at a time");
    bencher
        .with_inputs(|| next_key(&s.revoked))
        .bench_local_values(|key| divan::black_box(writer.insert(&key, NOW)));
}
