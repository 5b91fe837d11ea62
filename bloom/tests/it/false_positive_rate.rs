//! Measured false-positive rates at `N` inserted keys stay within 1.1·P.
//!
//! Slow in debug builds: `.ci/run` runs them in release mode
//! (`cargo test --release -p bloom --test it -- --ignored`).

use bloom::{Filter, Geometry};

/// Inserts `n` keys, probes `absent` keys never inserted, returns (false positives, rate).
fn measure(n: u64, p: f64, absent: u64) -> (u64, f64) {
    let filter = Filter::new(Geometry::new(n, p).expect("valid geometry"));
    let mut key = [0u8; 20];
    key[..4].copy_from_slice(b"jti-");
    for i in 0..n {
        key[4..12].copy_from_slice(&i.to_le_bytes());
        filter.insert(&key);
    }
    for i in 0..n.min(100_000) {
        key[4..12].copy_from_slice(&i.to_le_bytes());
        assert!(filter.contains(&key), "false negative for key {i}");
    }
    key[12] = 1; // a disjoint key space
    let mut hits = 0;
    for i in 0..absent {
        key[4..12].copy_from_slice(&i.to_le_bytes());
        hits += u64::from(filter.contains(&key));
    }
    (hits, hits as f64 / absent as f64)
}

fn assert_rate(n: u64, p: f64, absent: u64) {
    let (hits, rate) = measure(n, p, absent);
    println!("N={n} P={p}: {hits} false positives in {absent} absent keys, rate {rate:.3e}");
    assert!(rate <= 1.1 * p, "N={n} P={p}: measured {rate:.3e} > 1.1·P");
}

#[test]
fn small_filter_rate() {
    assert_rate(20_000, 1e-2, 1_000_000);
}

#[test]
#[ignore = "slow: 1e6 inserts and 1e7 probes; run in release"]
fn n1e6_p1e3() {
    assert_rate(1_000_000, 1e-3, 10_000_000);
}

#[test]
#[ignore = "slow: 1e6 inserts and 1e7 probes; run in release"]
fn n1e6_p1e4() {
    assert_rate(1_000_000, 1e-4, 10_000_000);
}

#[test]
#[ignore = "slow: 1e7 inserts and 2e7 probes; run in release"]
fn n1e7_p1e4() {
    assert_rate(10_000_000, 1e-4, 20_000_000);
}
