use super::*;

const TTL: u64 = 100;

fn filter(now: u64) -> (Arc<Revocations>, Writer) {
    Revocations::new(Geometry::new(10_000, 1e-6).unwrap(), TTL, now).unwrap()
}

/// The writer as the admin core drives it: advance, then sweep in small steps.
fn tick(w: &mut Writer, now: u64) {
    if w.advance(now) {
        while w.sweep_step(7) == SweepProgress::Pending {}
    }
}

#[test]
fn zero_ttl_is_refused() {
    assert_eq!(
        Revocations::new(Geometry::new(10, 0.1).unwrap(), 0, 5).unwrap_err(),
        ZeroTtl
    );
}

#[test]
fn present_over_ttl_absent_after_two_ttl() {
    // Insert at every offset inside an epoch; check at every second until 2·TTL later.
    for offset in [0, 1, 37, 98, 99] {
        let start = 10 * TTL + offset;
        let (r, mut w) = filter(start);
        let key = format!("jti-{offset}");
        w.insert(key.as_bytes(), start);
        for now in start..start + 2 * TTL + 1 {
            tick(&mut w, now);
            let present = r.contains(key.as_bytes());
            if now < start + TTL {
                assert!(present, "inserted at {start}, missing at {now}");
            }
            if now >= start + 2 * TTL {
                assert!(!present, "inserted at {start}, still present at {now}");
            }
        }
    }
}

#[test]
fn inserts_during_a_sweep_survive_it() {
    let (r, mut w) = filter(0);
    for i in 0..5_000 {
        w.insert(format!("old-{i}").as_bytes(), 5);
    }
    // Epoch 2 reuses epoch 0's generation: start the sweep, interleave inserts with steps.
    assert!(w.advance(2 * TTL));
    let mut i = 0;
    loop {
        for _ in 0..20 {
            w.insert(format!("new-{i}").as_bytes(), 2 * TTL + 1);
            i += 1;
        }
        if w.sweep_step(3) == SweepProgress::Done {
            break;
        }
    }
    assert!(i > 100);
    for j in 0..i {
        assert!(
            r.contains(format!("new-{j}").as_bytes()),
            "new-{j} wiped by the sweep"
        );
    }
    let old_left = (0..5_000)
        .filter(|j| r.contains(format!("old-{j}").as_bytes()))
        .count();
    assert!(
        old_left < 50,
        "{old_left} expired values survived the sweep"
    );
}

#[test]
fn a_jump_of_several_epochs_clears_both_generations() {
    let (r, mut w) = filter(0);
    w.insert(b"a", 50);
    w.insert(b"b", 150);
    tick(&mut w, 10 * TTL);
    assert!(!r.contains(b"a") && !r.contains(b"b"));
    assert_eq!(r.epochs(), (10, 9));
    w.insert(b"c", 10 * TTL);
    assert!(r.contains(b"c"));
}

#[test]
fn a_clock_going_back_never_shortens_a_life() {
    let (r, mut w) = filter(5 * TTL);
    w.insert(b"x", 3 * TTL); // in the past: goes to the current epoch (5)
    tick(&mut w, 6 * TTL + 99);
    assert!(r.contains(b"x"));
    tick(&mut w, 7 * TTL);
    assert!(!r.contains(b"x"));
}

#[test]
fn counters_follow_the_generations() {
    let (r, mut w) = filter(0);
    for i in 0..100 {
        w.insert(format!("k{i}").as_bytes(), 1);
    }
    assert_eq!(r.percentage_consumed(), 1.0);
    let [newest, older] = r.stats();
    assert_eq!((newest.epoch, newest.inserted), (0, 100));
    assert_eq!(older.inserted, 0);
    let fpr = r.estimated_fpr();
    assert!(fpr > 0.0 && fpr < 1e-6, "{fpr}");
    tick(&mut w, TTL);
    assert_eq!(r.percentage_consumed(), 0.0);
    tick(&mut w, 2 * TTL);
    assert_eq!(r.stats()[1].inserted, 0);
}

#[test]
fn merge_by_epoch() {
    let geometry = Geometry::new(10_000, 1e-6).unwrap();
    let (theirs, mut their_writer) = Revocations::new(geometry, TTL, 10 * TTL).unwrap();
    their_writer.insert(b"previous", 9 * TTL + 50);
    their_writer.insert(b"current", 10 * TTL + 5);
    let words = |epoch: u64| -> Vec<u64> {
        theirs.generations[(epoch % 2) as usize]
            .filter
            .words()
            .map(|w| w.load(Relaxed))
            .collect()
    };
    let (ours, mut w) = Revocations::new(geometry, TTL, 10 * TTL + 1).unwrap();
    assert!(w.merge_generation(9, 1, &words(9), 10 * TTL + 1).unwrap());
    assert!(w.merge_generation(10, 1, &words(10), 10 * TTL + 1).unwrap());
    assert!(ours.contains(b"previous") && ours.contains(b"current"));
    // Too old: ignored.
    assert!(!w.merge_generation(8, 1, &words(10), 10 * TTL + 1).unwrap());
    // Wrong size: refused.
    assert!(w.merge_generation(10, 0, &[0, 1], 10 * TTL + 1).is_err());
    // Merging during a sweep keeps the merged bits.
    w.insert(b"old", 10 * TTL + 2);
    assert!(w.advance(11 * TTL));
    let (peer, mut peer_writer) = Revocations::new(geometry, TTL, 11 * TTL).unwrap();
    peer_writer.insert(b"fresh", 11 * TTL);
    let fresh: Vec<u64> = peer.generations[1]
        .filter
        .words()
        .map(|w| w.load(Relaxed))
        .collect();
    assert!(w.merge_generation(11, 1, &fresh, 11 * TTL).unwrap());
    w.finish_sweeps();
    assert!(ours.contains(b"fresh") && ours.contains(b"old"));
}
