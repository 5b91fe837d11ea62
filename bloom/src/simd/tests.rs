use super::*;
use crate::Filter;
use crate::geometry::{Geometry, Placement};

/// Reference: the portable, bit-by-bit answer for the same block.
fn bit_by_bit<const W: usize>(lines: &[Line], hash: &KeyHash, k: u32) -> bool {
    hash.positions::<W>(Placement::Split, k).all(|pos| {
        let word = pos >> 6;
        lines[word / 8].0[word % 8].load(Relaxed) & (1 << (pos & 63)) != 0
    })
}

/// Blocks of `W` words filled at densities from sparse to nearly full, so that both answers
/// occur often.
fn blocks<const W: usize>() -> Vec<Vec<Line>> {
    let mut state = 0x5eed_u64;
    let mut blocks = Vec::new();
    for density in 1..=8u32 {
        for _ in 0..40 {
            let lines = (0..W / 8)
                .map(|_| {
                    Line::with_words(std::array::from_fn(|_| {
                        // OR of `density` random words: each bit set with probability
                        // 1 - 2^-density.
                        (0..density).fold(0u64, |w, _| w | splitmix64(&mut state))
                    }))
                })
                .collect();
            blocks.push(lines);
        }
    }
    blocks
}

fn agrees_with_bit_by_bit<const W: usize>() {
    if !std::arch::is_x86_feature_detected!("avx2") {
        eprintln!("no AVX2 on this CPU: the vector lookup is never used, nothing to compare");
        return;
    }
    let (mut present, mut absent) = (0, 0);
    for (b, lines) in blocks::<W>().iter().enumerate() {
        for i in 0..200u32 {
            let hash = KeyHash::new(format!("jti-{b}-{i}").as_bytes(), 9);
            for k in [1, 3, 4, 5, 8, 9, 16, 17, 20, 31, 32, 33, 64] {
                let expected = bit_by_bit::<W>(lines, &hash, k);
                assert_eq!(
                    contains_split::<W>(lines, &hash, k),
                    Some(expected),
                    "W={W} k={k} block {b} key {i}"
                );
                if expected {
                    present += 1;
                } else {
                    absent += 1;
                }
            }
        }
    }
    // Both answers were exercised, many times.
    assert!(present > 10_000 && absent > 10_000, "{present} {absent}");
}

#[test]
fn one_line_blocks_agree_with_the_bit_by_bit_lookup() {
    agrees_with_bit_by_bit::<8>();
}

#[test]
fn two_line_blocks_agree_with_the_bit_by_bit_lookup() {
    agrees_with_bit_by_bit::<16>();
}

#[test]
fn wider_blocks_are_left_to_the_portable_lookup() {
    let lines: Vec<Line> = (0..4).map(|_| Line::with_words([0; 8])).collect();
    let hash = KeyHash::new(b"jti-x", 1);
    assert_eq!(contains_split::<32>(&lines, &hash, 20), None);
}

#[test]
fn a_split_filter_finds_what_it_holds() {
    // End to end through `Filter`, whatever lookup this CPU takes.
    for p in [1e-3, 1e-4, 1e-7] {
        let g = Geometry::new(20_000, p).unwrap();
        assert_eq!(g.placement(), Placement::Split, "{g}");
        let f = Filter::new(g);
        for i in 0..20_000u32 {
            f.insert(format!("jti-{i}").as_bytes());
        }
        assert!((0..20_000u32).all(|i| f.contains(format!("jti-{i}").as_bytes())));
    }
}
