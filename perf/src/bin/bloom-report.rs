//! `bloom-report`: bloomgate's filter beside fastbloom's `AtomicBloomFilter`, in one run.
//!
//! Question: for the same N and P, how much memory does each take, what false-positive rate does
//! it really give, and what does an insert, a hit and a miss cost (also with two threads
//! reading)? Keys are random UUIDv4 strings prefixed `jti-` (40 bytes), as revocations are.
//! fastbloom hashes with xxh3 too, so the comparison is of layouts, not of hash functions.
//!
//! `cargo run --release -p perf --bin bloom-report -- --n 10000000 --p 1e-7`
//! prints one JSON line; `--snapshot` also times a snapshot and its restore of both generations
//! (`--only-snapshot`: only that).

use std::hint::black_box;
use std::time::Instant;

use bloom::{Filter, Geometry, Revocations};
use fastbloom::AtomicBloomFilter;
use xxhash_rust::xxh3::Xxh3Builder;

/// One key: `jti-` and a 36-character UUIDv4.
type Key = [u8; 40];

#[derive(Debug)]
struct Args {
    n: u64,
    p: f64,
    lookups: usize,
    reps: usize,
    absent: Option<u64>,
    snapshot: bool,
    only_snapshot: bool,
    skip_fastbloom: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: bloom-report --n N --p P [--lookups 1000000] [--reps 5] [--absent PROBES] [--snapshot | --only-snapshot] [--no-fastbloom]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        n: 0,
        p: 0.0,
        lookups: 1_000_000,
        reps: 5,
        absent: None,
        snapshot: false,
        only_snapshot: false,
        skip_fastbloom: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--n" => {
                args.n = value()
                    .parse::<f64>()
                    .map(|v| v as u64)
                    .unwrap_or_else(|_| usage())
            }
            "--p" => args.p = value().parse().unwrap_or_else(|_| usage()),
            "--lookups" => args.lookups = value().parse().unwrap_or_else(|_| usage()),
            "--reps" => args.reps = value().parse().unwrap_or_else(|_| usage()),
            "--absent" => {
                args.absent = Some(
                    value()
                        .parse::<f64>()
                        .map(|v| v as u64)
                        .unwrap_or_else(|_| usage()),
                )
            }
            "--snapshot" => args.snapshot = true,
            "--only-snapshot" => args.only_snapshot = true,
            "--no-fastbloom" => args.skip_fastbloom = true,
            _ => usage(),
        }
    }
    if args.n == 0 || args.reps == 0 || args.lookups == 0 {
        usage();
    }
    args
}

/// splitmix64: the key stream is a pure function of an index, so keys need no storage.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The `i`-th key of stream `stream` (0: inserted keys, 1: absent keys).
fn key(stream: u64, i: u64) -> Key {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let a = mix(i ^ (stream << 62));
    let b = mix(a ^ 0x5555);
    let mut bits = (u128::from(a) << 64) | u128::from(b);
    bits = (bits & !(0xf << 76)) | (0x4 << 76); // version 4
    bits = (bits & !(0x3 << 62)) | (0x2 << 62); // variant 10
    let mut out = *b"jti-00000000-0000-0000-0000-000000000000";
    let mut shift = 128;
    for (at, slot) in out.iter_mut().enumerate().skip(4) {
        if matches!(at, 12 | 17 | 22 | 27) {
            continue;
        }
        shift -= 4;
        *slot = HEX[((bits >> shift) & 0xf) as usize];
    }
    out
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// The mean ns per call of `op` over `keys`, one pass.
fn time_per_op(keys: &[Key], op: impl Fn(&Key) -> bool) -> f64 {
    let start = Instant::now();
    let mut hits = 0usize;
    for k in keys {
        hits += usize::from(op(k));
    }
    black_box(hits);
    start.elapsed().as_nanos() as f64 / keys.len() as f64
}

/// As [`time_per_op`], with two threads running `op` at once; ns per op per thread.
fn time_per_op_2threads(keys: &[Key], op: impl Fn(&Key) -> bool + Sync) -> f64 {
    let barrier = std::sync::Barrier::new(2);
    let per_thread: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|t| {
                let (barrier, op) = (&barrier, &op);
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    let mut hits = 0usize;
                    // The two threads walk the keys in opposite orders.
                    if t == 0 {
                        for k in keys {
                            hits += usize::from(op(k));
                        }
                    } else {
                        for k in keys.iter().rev() {
                            hits += usize::from(op(k));
                        }
                    }
                    black_box(hits);
                    start.elapsed().as_nanos() as f64 / keys.len() as f64
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(f64::NAN))
            .collect()
    });
    per_thread.iter().sum::<f64>() / 2.0
}

struct Figures {
    bytes: u64,
    ns_insert: f64,
    lookups: Lookups,
    fpr_measured: f64,
}

impl Figures {
    fn json(&self) -> String {
        format!(
            "\"bytes\":{},\"ns_insert\":{:.2},\"ns_hit\":{:.2},\"ns_miss\":{:.2},\"ns_miss_2threads\":{:.2},\"fpr_measured\":{:e}",
            self.bytes,
            self.ns_insert,
            self.lookups.ns_hit,
            self.lookups.ns_miss,
            self.lookups.ns_miss_2threads,
            self.fpr_measured
        )
    }
}

/// Medians of the timed lookups of one filter.
#[derive(Default)]
struct Lookups {
    ns_hit: f64,
    ns_miss: f64,
    ns_miss_2threads: f64,
}

/// Inserts the `n` keys of stream 0; the last `lookups` of them are timed (ns per insert), the
/// rest go in untimed first.
fn fill(args: &Args, insert: impl Fn(&Key) -> bool) -> f64 {
    let timed = (args.lookups as u64).min(args.n);
    for i in 0..args.n - timed {
        insert(&key(0, i));
    }
    let insert_keys: Vec<Key> = (args.n - timed..args.n).map(|i| key(0, i)).collect();
    let start = Instant::now();
    for k in &insert_keys {
        black_box(insert(k));
    }
    start.elapsed().as_nanos() as f64 / insert_keys.len() as f64
}

/// Hits (random inserted keys, not the recently inserted, cache-warm ones) and misses, timed
/// for both filters in alternation, pass by pass: a slow moment of this shared host lands on
/// one pass of each, not on all the passes of one filter, so the ratio of the medians compares
/// like with like.
fn time_lookups(
    args: &Args,
    ours: impl Fn(&Key) -> bool + Sync,
    theirs: Option<impl Fn(&Key) -> bool + Sync>,
) -> (Lookups, Lookups) {
    let hit_keys: Vec<Key> = (0..args.lookups as u64)
        .map(|i| key(0, mix(i ^ 0xabc) % args.n))
        .collect();
    let miss_keys: Vec<Key> = (0..args.lookups as u64).map(|i| key(1, i)).collect();
    assert!(
        hit_keys.iter().all(&ours),
        "a false negative: the filter is broken"
    );
    let mut passes: [Vec<[f64; 3]>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..args.reps {
        passes[0].push([
            time_per_op(&hit_keys, &ours),
            time_per_op(&miss_keys, &ours),
            time_per_op_2threads(&miss_keys, &ours),
        ]);
        if let Some(theirs) = &theirs {
            passes[1].push([
                time_per_op(&hit_keys, theirs),
                time_per_op(&miss_keys, theirs),
                time_per_op_2threads(&miss_keys, theirs),
            ]);
        }
    }
    let medians = |passes: &[[f64; 3]]| {
        if passes.is_empty() {
            return Lookups::default();
        }
        let of = |i: usize| median(passes.iter().map(|p| p[i]).collect());
        Lookups {
            ns_hit: of(0),
            ns_miss: of(1),
            ns_miss_2threads: of(2),
        }
    };
    (medians(&passes[0]), medians(&passes[1]))
}

/// This process's anonymous memory on transparent huge pages (`AnonHugePages` of
/// `/proc/self/smaps_rollup`), in bytes: whether bloomgate's bit array got the huge pages it
/// asks for, which a lookup's cost depends on. `None` where the file is missing.
fn anon_huge_bytes() -> Option<u64> {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").ok()?;
    let line = rollup.lines().find(|l| l.starts_with("AnonHugePages:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The share of the first `absent` keys of stream 1 (never inserted) that `contains` reports.
fn fpr(absent: u64, contains: impl Fn(&Key) -> bool) -> f64 {
    let mut false_positives = 0u64;
    for i in 0..absent {
        false_positives += u64::from(contains(&key(1, i)));
    }
    false_positives as f64 / absent as f64
}

fn main() {
    let args = parse_args();
    let geometry = match Geometry::new(args.n, args.p) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("bloom-report: {e}");
            std::process::exit(2);
        }
    };
    // Enough absent probes to expect ~10,000 false positives (1% precision), within
    // [20M, 200M]. Below ~100 expected, the rate is not resolved and the line says so.
    let absent = args
        .absent
        .unwrap_or_else(|| ((10_000.0 / args.p) as u64).clamp(20_000_000, 200_000_000));
    let fpr_resolved = absent as f64 * args.p >= 100.0;

    if args.only_snapshot {
        let (snapshot_bytes, ms_snapshot, ms_restore) = snapshot_figures(geometry, args.n);
        println!(
            "{{\"n\":{},\"p\":{:e},\"bytes_two_generations\":{},\"bytes_ratio_to_optimal\":{:.4},\"snapshot_bytes\":{snapshot_bytes},\"ms_snapshot\":{ms_snapshot:.1},\"ms_restore\":{ms_restore:.1}}}",
            args.n,
            args.p,
            2 * geometry.bytes(),
            geometry.bytes_ratio_to_optimal()
        );
        return;
    }
    let ours = Filter::new(geometry);
    let ours_insert = fill(&args, |k| ours.insert(k));
    let theirs = (!args.skip_fastbloom).then(|| {
        let filter = AtomicBloomFilter::with_false_pos(args.p)
            .hasher(Xxh3Builder::new())
            .expected_items(args.n as usize);
        let ns_insert = fill(&args, |k| filter.insert(k.as_slice()));
        (filter, ns_insert)
    });
    let (ours_lookups, theirs_lookups) = time_lookups(
        &args,
        |k| ours.contains(k),
        theirs
            .as_ref()
            .map(|(filter, _)| |k: &Key| filter.contains(k.as_slice())),
    );
    let huge_bytes = anon_huge_bytes();
    let ours_figures = Figures {
        bytes: geometry.bytes(),
        ns_insert: ours_insert,
        lookups: ours_lookups,
        fpr_measured: fpr(absent, |k| ours.contains(k)),
    };
    drop(ours);
    let fastbloom = theirs.map(|(filter, ns_insert)| Figures {
        bytes: filter.num_bits() as u64 / 8,
        ns_insert,
        lookups: theirs_lookups,
        fpr_measured: fpr(absent, |k| filter.contains(k.as_slice())),
    });
    let ns_writer_batch = writer_batch_figure(geometry, args.n, args.lookups);
    let snapshot = args.snapshot.then(|| snapshot_figures(geometry, args.n));

    let classic = geometry.classic();
    let mut line = format!(
        "{{\"n\":{},\"p\":{:e},\"bits_optimal\":{},\"k_optimal\":{},\"placement\":\"{}\",\"block_bits\":{},\"k\":{},\"bytes_two_generations\":{},\"bytes_ratio_to_optimal\":{:.4},\"absent_probes\":{},\"fpr_resolved\":{},{}",
        args.n,
        args.p,
        classic.bits,
        classic.k,
        geometry.placement(),
        geometry.block_bits(),
        geometry.k(),
        2 * geometry.bytes(),
        geometry.bytes_ratio_to_optimal(),
        absent,
        fpr_resolved,
        ours_figures.json()
    );
    line.push_str(&format!(",\"ns_insert_batch_writer\":{ns_writer_batch:.2}"));
    if let Some(bytes) = huge_bytes {
        line.push_str(&format!(",\"anon_huge_bytes_while_timing\":{bytes}"));
    }
    if let Some(f) = fastbloom {
        line.push_str(&format!(",\"fastbloom\":{{{}}}", f.json()));
    }
    if let Some((snapshot_bytes, ms_snapshot, ms_restore)) = snapshot {
        line.push_str(&format!(
            ",\"snapshot_bytes\":{snapshot_bytes},\"ms_snapshot\":{ms_snapshot:.1},\"ms_restore\":{ms_restore:.1}"
        ));
    }
    line.push('}');
    println!("{line}");
}

/// What the admin core pays per key of an RPC `Add`: `Writer::insert_batch` in runs of 8192
/// keys into a generation holding `n - lookups` keys already; ns per key, median over 5 passes
/// (each pass re-inserts the same `lookups` keys: the same memory traffic, no further filling).
fn writer_batch_figure(geometry: Geometry, n: u64, lookups: usize) -> f64 {
    const TTL: u64 = 3600;
    let now = 1_800_000_000;
    let (_, mut writer) = Revocations::new(geometry, TTL, now).unwrap_or_else(|e| panic!("{e}"));
    let timed = (lookups as u64).min(n);
    let untimed: Vec<Key> = (0..n - timed).map(|i| key(0, i)).collect();
    for run in untimed.chunks(8192) {
        writer.insert_batch(run.iter().map(|k| &k[..]), now);
    }
    drop(untimed);
    let keys: Vec<Key> = (n - timed..n).map(|i| key(0, i)).collect();
    median(
        (0..5)
            .map(|_| {
                let start = Instant::now();
                for run in keys.chunks(8192) {
                    black_box(writer.insert_batch(run.iter().map(|k| &k[..]), now));
                }
                start.elapsed().as_nanos() as f64 / keys.len() as f64
            })
            .collect(),
    )
}

/// Fills the current generation with `n` keys, then times a snapshot and a restore of both
/// generations (in memory: the disk is the persistence layer's business).
fn snapshot_figures(geometry: Geometry, n: u64) -> (usize, f64, f64) {
    const TTL: u64 = 3600;
    let now = 1_800_000_000;
    let bytes = {
        let (_, mut writer) =
            Revocations::new(geometry, TTL, now).unwrap_or_else(|e| panic!("{e}"));
        let mut run = Vec::with_capacity(8192);
        for i in 0..n {
            run.push(key(0, i));
            if run.len() == run.capacity() || i + 1 == n {
                writer.insert_batch(run.iter().map(|k| &k[..]), now);
                run.clear();
            }
        }
        let start = Instant::now();
        let bytes = writer.snapshot();
        (bytes, start.elapsed().as_secs_f64() * 1e3)
    };
    let start = Instant::now();
    let restored =
        Revocations::restore(&bytes.0, geometry, TTL, now).unwrap_or_else(|e| panic!("{e}"));
    let ms_restore = start.elapsed().as_secs_f64() * 1e3;
    assert!(restored.0.contains(&key(0, 0)));
    (bytes.0.len(), bytes.1, ms_restore)
}
