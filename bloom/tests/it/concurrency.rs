//! Several reader threads and the one writer, with rotation: any key whose insert
//! happened-before a check is found.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bloom::{Geometry, Revocations, SweepProgress};

const TTL: u64 = 10;

#[test]
fn readers_never_miss_a_published_insert_across_rotations() {
    let (shared, mut writer) =
        Revocations::new(Geometry::new(50_000, 1e-5).unwrap(), TTL, 0).unwrap();
    // (key index, simulated time of its insert), published with Release after the insert.
    let published = Arc::new(AtomicU64::new(0));
    let clock = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (shared, published, clock) = (
                Arc::clone(&shared),
                Arc::clone(&published),
                Arc::clone(&clock),
            );
            std::thread::spawn(move || {
                let mut checks = 0u64;
                loop {
                    let upto = published.load(Ordering::Acquire);
                    let now = clock.load(Ordering::SeqCst);
                    // Key i is inserted at simulated time i / 100; the keys of the last TTL
                    // seconds must be present.
                    let recent_from = (now.saturating_sub(TTL - 1) * 100).min(upto);
                    for i in (recent_from..upto).rev().take(200) {
                        let found = shared.contains(format!("jti-{i}").as_bytes());
                        // The writer may have moved on while we checked: a miss is a violation
                        // only if the key was still within its TTL *after* the check.
                        std::sync::atomic::fence(Ordering::SeqCst);
                        let after = clock.load(Ordering::SeqCst);
                        assert!(
                            found || after >= i / 100 + TTL,
                            "key {i} missing at {after}"
                        );
                        checks += 1;
                    }
                    if upto == 6_000 {
                        return checks;
                    }
                }
            })
        })
        .collect();
    for i in 0..6_000u64 {
        let now = i / 100; // 100 inserts per simulated second, rotations every 10 s
        clock.store(now, Ordering::SeqCst);
        if writer.advance(now) {
            // Interleave sweep steps with inserts, as the admin core does.
            let _ = writer.sweep_step(8);
        }
        writer.insert(format!("jti-{i}").as_bytes(), now);
        published.store(i + 1, Ordering::Release);
        if i % 97 == 0 {
            while writer.sweep_step(8) == SweepProgress::Pending {}
        }
    }
    for r in readers {
        assert!(r.join().expect("reader panicked") > 0);
    }
}
