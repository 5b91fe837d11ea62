use super::*;

const TTL: u64 = 60;

fn geometry() -> Geometry {
    Geometry::new(2_000, 1e-4).unwrap()
}

/// A snapshot holding `prev-i` in epoch 99 and `cur-i` in epoch 100.
fn sample() -> Vec<u8> {
    let (_, mut w) = Revocations::new(geometry(), TTL, 99 * TTL).unwrap();
    for i in 0..300 {
        w.insert(format!("prev-{i}").as_bytes(), 99 * TTL + 10);
    }
    for i in 0..300 {
        w.insert(format!("cur-{i}").as_bytes(), 100 * TTL + 10);
    }
    w.snapshot().to_vec()
}

/// Rewrites the header checksum so that a damaged body reaches the archive validation.
fn reseal(bytes: &mut [u8]) {
    let sum = xxh3_64(&bytes[HEADER_LEN..]);
    bytes[16..24].copy_from_slice(&sum.to_le_bytes());
}

#[test]
fn round_trip_keeps_both_generations_and_epochs() {
    let bytes = sample();
    let (r, _, report) = Revocations::restore(&bytes, geometry(), TTL, 100 * TTL + 20).unwrap();
    assert_eq!(
        report,
        RestoreReport {
            generations_kept: 2,
            generations_dropped: 0
        }
    );
    assert_eq!(r.epochs(), (100, 99));
    assert!((0..300).all(|i| r.contains(format!("prev-{i}").as_bytes())));
    assert!((0..300).all(|i| r.contains(format!("cur-{i}").as_bytes())));
    assert_eq!(r.stats()[0].inserted, 300);
}

#[test]
fn round_trip_is_byte_identical() {
    let bytes = sample();
    let (_, w, _) = Revocations::restore(&bytes, geometry(), TTL, 100 * TTL + 20).unwrap();
    assert_eq!(*w.snapshot(), *bytes);
}

#[test]
fn generations_older_than_the_window_are_dropped() {
    let bytes = sample();
    let (r, _, report) = Revocations::restore(&bytes, geometry(), TTL, 101 * TTL).unwrap();
    assert_eq!(
        report,
        RestoreReport {
            generations_kept: 1,
            generations_dropped: 1
        }
    );
    assert!((0..300).all(|i| r.contains(format!("cur-{i}").as_bytes())));
    assert!(
        (0..300)
            .filter(|i| r.contains(format!("prev-{i}").as_bytes()))
            .count()
            < 5
    );
    let (r, _, report) = Revocations::restore(&bytes, geometry(), TTL, 200 * TTL).unwrap();
    assert_eq!(report.generations_kept, 0);
    assert!(
        (0..300)
            .filter(|i| r.contains(format!("cur-{i}").as_bytes()))
            .count()
            < 5
    );
}

#[test]
fn wrong_geometry_or_ttl_is_refused() {
    let bytes = sample();
    let other = Geometry::new(2_001, 1e-4).unwrap();
    assert!(matches!(
        Revocations::restore(&bytes, other, TTL, 100 * TTL),
        Err(SnapshotError::Geometry { .. })
    ));
    let reseeded = Geometry::with_seed(2_000, 1e-4, 7).unwrap();
    assert!(matches!(
        Revocations::restore(&bytes, reseeded, TTL, 100 * TTL),
        Err(SnapshotError::Geometry { .. })
    ));
    assert_eq!(
        Revocations::restore(&bytes, geometry(), TTL + 1, 100 * TTL).unwrap_err(),
        SnapshotError::Ttl {
            expected: TTL + 1,
            found: TTL
        }
    );
}

#[test]
fn merge_into_a_live_filter_keeps_what_it_had() {
    let (r, mut w) = Revocations::new(geometry(), TTL, 100 * TTL).unwrap();
    w.insert(b"local", 100 * TTL + 1);
    w.merge_snapshot(&sample(), 100 * TTL + 2).unwrap();
    assert!(r.contains(b"local") && r.contains(b"cur-7") && r.contains(b"prev-7"));
}

#[test]
fn truncation_at_every_length_is_an_error() {
    let bytes = sample();
    for len in (0..bytes.len())
        .step_by(97)
        .chain(bytes.len() - 40..bytes.len())
    {
        let err = Revocations::restore(&bytes[..len], geometry(), TTL, 100 * TTL).unwrap_err();
        assert!(
            matches!(err, SnapshotError::Length { .. } | SnapshotError::Magic),
            "{len}: {err}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        Revocations::restore(&longer, geometry(), TTL, 100 * TTL),
        Err(SnapshotError::Length { .. })
    ));
}

#[test]
fn random_corruption_is_an_error_never_a_panic() {
    let bytes = sample();
    let geometry = geometry();
    let mut rng = 0x5eed_u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for round in 0..3_000 {
        let mut bad = bytes.clone();
        let flips = 1 + next() % 4;
        for _ in 0..flips {
            let at = (next() % bad.len() as u64) as usize;
            bad[at] ^= 1 << (next() % 8);
        }
        // Half the time, fix the checksum so the damage reaches the archive checks.
        let resealed = round % 2 == 0 && bad[..8] == bytes[..8];
        if resealed {
            reseal(&mut bad);
        }
        match Revocations::restore(&bad, geometry, TTL, 100 * TTL + 1) {
            Err(_) => {}
            // A resealed flip inside the words is a valid (different) filter; anything else
            // must have been refused.
            Ok(_) => assert!(resealed, "round {round}: corruption accepted"),
        }
    }
}

#[test]
fn garbage_bodies_with_valid_checksums_are_refused() {
    let mut rng = 42u64;
    for len in [0usize, 1, 7, 8, 64, 200, 4096] {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&(len as u64).to_le_bytes());
        bytes.extend_from_slice(&[0; 16]);
        for _ in 0..len {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            bytes.push((rng >> 56) as u8);
        }
        reseal(&mut bytes);
        assert!(
            Revocations::restore(&bytes, geometry(), TTL, 100 * TTL).is_err(),
            "{len}"
        );
    }
}

#[test]
fn a_damaged_word_is_refused_by_the_checksum_whichever_way_it_is_read() {
    let bytes = sample();
    let mut bad = bytes.clone();
    // The middle of the body lies in the generations' words: the archive stays valid, only
    // the checksum can tell.
    let at = HEADER_LEN + (bytes.len() - HEADER_LEN) / 2;
    bad[at] ^= 0x10;
    assert_eq!(
        Revocations::restore(&bad, geometry(), TTL, 100 * TTL + 1).map(|_| ()),
        Err(SnapshotError::Checksum)
    );
    let (r, mut w) = Revocations::new(geometry(), TTL, 100 * TTL).unwrap();
    w.insert(b"local", 100 * TTL + 1);
    let before = r.stats();
    assert_eq!(
        w.merge_snapshot(&bad, 100 * TTL + 2),
        Err(SnapshotError::Checksum)
    );
    assert_eq!(r.stats(), before, "a refused merge changed the filter");
    // Resealed, the same bytes are a valid (different) snapshot.
    reseal(&mut bad);
    assert!(Revocations::restore(&bad, geometry(), TTL, 100 * TTL + 1).is_ok());
}

#[test]
fn a_snapshot_of_another_format_is_refused_by_its_magic() {
    let mut older = sample();
    older[7] = 1; // format 1: scattered blocks only, another archive layout
    reseal(&mut older);
    let err = Revocations::restore(&older, geometry(), TTL, 100 * TTL).map(|_| ());
    assert_eq!(err, Err(SnapshotError::Magic));
    assert!(SnapshotError::Magic.to_string().contains("format 2"));
}

#[test]
fn the_live_writer_archives_exactly_what_a_collected_body_would() {
    let bytes = sample();
    let (r, w) = {
        let (r, w, _) = Revocations::restore(&bytes, geometry(), TTL, 100 * TTL + 1).unwrap();
        (r, w)
    };
    let g = geometry();
    let collected = Body {
        format: FORMAT,
        n: g.n(),
        p: g.p(),
        seed: g.seed(),
        placement: g.placement().code(),
        block_words: g.block_words(),
        blocks: g.blocks(),
        k: g.k(),
        ttl: TTL,
        generations: r
            .generations
            .iter()
            .map(|generation| GenerationBody {
                epoch: generation.epoch.load(Relaxed),
                inserted: generation.filter.inserted(),
                words: generation.filter.words().map(|w| w.load(Relaxed)).collect(),
            })
            .collect(),
    };
    let expected = rkyv::to_bytes::<rancor::Error>(&collected).unwrap();
    assert_eq!(&w.snapshot()[HEADER_LEN..], expected.as_slice());
}
