use std::collections::HashSet;

use proptest::prelude::*;

use super::*;

fn key(i: u64) -> Vec<u8> {
    format!("jti-{i:016x}").into_bytes()
}

#[test]
fn inserted_keys_are_found_and_absent_ones_mostly_not() {
    let f = Filter::new(Geometry::new(10_000, 1e-3).unwrap());
    for i in 0..10_000 {
        f.insert(&key(i));
    }
    assert!((0..10_000).all(|i| f.contains(&key(i))));
    let false_positives = (10_000..210_000).filter(|&i| f.contains(&key(i))).count();
    // P = 1e-3 over 200k probes: ~190 expected; 400 is far outside the noise.
    assert!(false_positives < 400, "{false_positives}");
}

#[test]
fn every_block_size_works() {
    // P from loose to strict walks through 512- to 4096-bit blocks.
    let mut seen = HashSet::new();
    for p in [1e-2, 1e-5, 1e-7, 1e-9, 1e-12, 1e-15] {
        let g = Geometry::new(5_000, p).unwrap();
        seen.insert(g.block_words());
        let f = Filter::new(g);
        assert_eq!(
            f.insert_batch(
                (0..5_000)
                    .map(key)
                    .collect::<Vec<_>>()
                    .iter()
                    .map(Vec::as_slice)
            ),
            f.inserted()
        );
        assert!((0..5_000).all(|i| f.contains(&key(i))), "{g}");
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
}

#[test]
fn the_exclusive_writer_sets_the_same_bits_as_fetch_or() {
    for p in [1e-2, 1e-7, 1e-12, 1e-15] {
        let g = Geometry::new(3_000, p).unwrap();
        let keys: Vec<Vec<u8>> = (0..3_000).map(key).collect();
        let (shared, exclusive, one_by_one) = (Filter::new(g), Filter::new(g), Filter::new(g));
        // Short batches too: fewer keys than the prefetch distance.
        for run in keys.chunks(7) {
            shared.insert_batch(run.iter().map(Vec::as_slice));
            exclusive.insert_batch_exclusive(run.iter().map(Vec::as_slice));
        }
        for k in &keys {
            one_by_one.insert_hash_exclusive(&KeyHash::new(k, g.seed()));
        }
        let words = |f: &Filter| f.words().map(|w| w.load(Relaxed)).collect::<Vec<_>>();
        assert_eq!(words(&shared), words(&exclusive), "{g}");
        assert_eq!(words(&shared), words(&one_by_one), "{g}");
        assert_eq!(shared.inserted(), exclusive.inserted());
        assert_eq!(shared.inserted(), one_by_one.inserted());
    }
}

#[test]
fn insert_reports_new_bits_and_counts() {
    let f = Filter::new(Geometry::new(1000, 1e-4).unwrap());
    assert!(f.insert(b"sub-alice"));
    assert!(!f.insert(b"sub-alice"));
    assert_eq!(f.inserted(), 1);
    assert!(f.percentage_consumed() > 0.0 && f.percentage_consumed() <= 0.1 + 1e-9);
}

#[test]
fn union_requires_the_same_geometry() {
    let a = Filter::new(Geometry::new(1000, 1e-4).unwrap());
    let b = Filter::new(Geometry::new(1000, 1e-4).unwrap());
    let c = Filter::new(Geometry::new(1001, 1e-4).unwrap());
    a.insert(b"jti-a");
    b.insert(b"jti-b");
    a.union(&b).unwrap();
    assert!(a.contains(b"jti-a") && a.contains(b"jti-b"));
    assert!(!b.contains(b"jti-a") || b.contains(b"jti-a")); // b unchanged is all we know
    let err = a.union(&c).unwrap_err();
    assert_eq!(err.theirs.n(), 1001);
}

#[test]
fn fill_and_estimated_rate_track_load() {
    let g = Geometry::new(20_000, 1e-3).unwrap();
    let f = Filter::new(g);
    assert_eq!(f.fill_ratio(), 0.0);
    assert_eq!(f.estimated_fpr(), 0.0);
    for i in 0..20_000 {
        f.insert(&key(i));
    }
    let fill = f.fill_ratio();
    assert!(fill > 0.3 && fill < 0.6, "{fill}");
    // At N keys the estimate is close to the design rate.
    let est = f.estimated_fpr();
    assert!(
        est > g.design_fpr() / 2.0 && est < g.design_fpr() * 2.0,
        "{est} vs {}",
        g.design_fpr()
    );
    assert_eq!(
        f.percentage_consumed(),
        100.0_f64.min(f.inserted() as f64 * 100.0 / 20_000.0)
    );
}

#[test]
fn readers_on_other_threads_see_inserts_that_happened_before() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let f = Arc::new(Filter::new(Geometry::new(200_000, 1e-4).unwrap()));
    // The writer publishes "keys below this are inserted" with Release; readers Acquire it.
    let published = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (f, published) = (Arc::clone(&f), Arc::clone(&published));
            std::thread::spawn(move || {
                let mut checked = 0u64;
                loop {
                    let upto = published.load(Ordering::Acquire);
                    for i in upto.saturating_sub(64)..upto {
                        assert!(
                            f.contains(&key(i)),
                            "key {i} inserted before the check was missed"
                        );
                        checked += 1;
                    }
                    if upto == 100_000 {
                        return checked;
                    }
                }
            })
        })
        .collect();
    for i in 0..100_000 {
        f.insert(&key(i));
        published.store(i + 1, Ordering::Release);
    }
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, rng_seed: proptest::test_runner::RngSeed::Fixed(0xb10e), ..ProptestConfig::default() })]

    /// No false negatives against a `HashSet` oracle, over many sizes and rates.
    #[test]
    fn no_false_negatives(
        n in 1u64..5_000,
        p_exp in 1i32..12,
        keys in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..600),
        batch in any::<bool>(),
    ) {
        let f = Filter::new(Geometry::new(n, 10f64.powi(-p_exp)).unwrap());
        let oracle: HashSet<Vec<u8>> = keys.iter().cloned().collect();
        if batch {
            f.insert_batch(keys.iter().map(Vec::as_slice));
        } else {
            for k in &keys { f.insert(k); }
        }
        for k in &oracle {
            prop_assert!(f.contains(k));
        }
    }
}
