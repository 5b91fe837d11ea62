//! A loom model of the filter's orderings: one writer (inserts, a rotation sweep interleaved
//! with an insert) and one reader. The words are `Relaxed`; the claim checked is that a key
//! whose insert happened-before a check (here through a Release/Acquire flag, as the RPC
//! acknowledgement or any other message would carry it) is found, whatever the interleaving.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test --release -p bloom --test loom`
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};

use bloom::{Geometry, Revocations, SweepProgress};

const TTL: u64 = 10;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(f);
}

#[test]
fn insert_then_publish_is_seen() {
    model(|| {
        let (shared, mut writer) =
            Revocations::new(Geometry::new(1, 0.5).unwrap(), TTL, 0).unwrap();
        let flag = Arc::new(AtomicBool::new(false));
        let reader = {
            let (shared, flag) = (shared.clone(), flag.clone());
            loom::thread::spawn(move || {
                if flag.load(Ordering::Acquire) {
                    assert!(shared.contains(b"jti-a"));
                }
            })
        };
        writer.insert(b"jti-a", 1);
        flag.store(true, Ordering::Release);
        reader.join().unwrap();
    });
}

#[test]
fn insert_during_a_sweep_then_publish_is_seen() {
    model(|| {
        let (shared, mut writer) =
            Revocations::new(Geometry::new(1, 0.5).unwrap(), TTL, 0).unwrap();
        writer.insert(b"jti-old", 1);
        let flag = Arc::new(AtomicBool::new(false));
        let reader = {
            let (shared, flag) = (shared.clone(), flag.clone());
            loom::thread::spawn(move || {
                if flag.load(Ordering::Acquire) {
                    assert!(shared.contains(b"jti-new"));
                }
            })
        };
        // Epoch 2 reuses epoch 0's generation: the sweep starts, the insert lands in a block the
        // sweep has not reached, then the sweep finishes.
        assert!(writer.advance(2 * TTL));
        writer.insert(b"jti-new", 2 * TTL);
        flag.store(true, Ordering::Release);
        while writer.sweep_step(1) == SweepProgress::Pending {}
        reader.join().unwrap();
        assert!(shared.contains(b"jti-new"));
    });
}
