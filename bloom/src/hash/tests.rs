use super::*;

/// Bit positions (word * 64 + bit) of a probe, ascending.
fn positions<const W: usize>(p: &Probe<W>) -> Vec<usize> {
    let mut out = Vec::new();
    for (w, m) in p.masks.iter().enumerate() {
        for b in 0..64 {
            if m & (1 << b) != 0 {
                out.push(w * 64 + b);
            }
        }
    }
    out
}

#[test]
fn same_bits_on_every_run_and_platform() {
    // Golden vectors: changing the hash or the probe derivation breaks every snapshot on disk
    // and every cluster sync, so it must be a deliberate change that updates this test. The
    // scattered one is what snapshot format 1 held.
    let h = KeyHash::new(
        b"jti-mnb23vcsrt756yuiomnbvcx98ertyuiop",
        crate::geometry::DEFAULT_SEED,
    );
    let p: Probe<16> = h.probe(1_000_003, Placement::Scattered, 20);
    assert_eq!(
        (p.block, positions(&p)),
        (GOLDEN_BLOCK, GOLDEN_POSITIONS.to_vec())
    );
    let p: Probe<16> = h.probe(1_000_003, Placement::Split, 20);
    assert_eq!(
        (p.block, positions(&p)),
        (GOLDEN_BLOCK, GOLDEN_SPLIT_POSITIONS.to_vec())
    );
}

const GOLDEN_SPLIT_POSITIONS: [usize; 20] = [
    15, 57, 78, 86, 155, 178, 202, 217, 268, 365, 431, 506, 534, 592, 657, 723, 792, 878, 953, 960,
];

#[test]
fn split_positions_put_bit_i_in_word_i_mod_w() {
    for i in 0..500u32 {
        let h = KeyHash::new(&i.to_le_bytes(), 3);
        for k in [1, 7, 16, 20, 33] {
            let words: Vec<usize> = h
                .positions::<16>(Placement::Split, k)
                .map(|pos| pos >> 6)
                .collect();
            let expected: Vec<usize> = (0..k as usize).map(|i| i % 16).collect();
            assert_eq!(words, expected);
        }
    }
}

#[test]
fn split_bits_are_uniform_in_every_word() {
    // 64k keys, 16 positions each: every (word, bit) pair expects 1024.
    let mut per_bit = [[0u32; 64]; 16];
    for i in 0..65_536u32 {
        let h = KeyHash::new(format!("jti-{i}").as_bytes(), 1);
        for pos in h.positions::<16>(Placement::Split, 16) {
            per_bit[pos >> 6][pos & 63] += 1;
        }
    }
    let all = per_bit.iter().flatten();
    assert!(
        all.clone().all(|&c| (880..=1170).contains(&c)),
        "{per_bit:?}"
    );
}

const GOLDEN_BLOCK: usize = 986_709;
const GOLDEN_POSITIONS: [usize; 20] = [
    14, 22, 69, 81, 166, 194, 240, 259, 388, 399, 457, 571, 620, 622, 688, 746, 837, 953, 970, 1005,
];

#[test]
fn probe_sets_at_most_k_bits_in_range() {
    for (i, placement) in (0..2000u32).zip([Placement::Split, Placement::Scattered].iter().cycle())
    {
        let placement = *placement;
        let h = KeyHash::new(&i.to_le_bytes(), 7);
        let p: Probe<8> = h.probe(10, placement, 9);
        assert!(p.block < 10);
        let bits: u32 = p.masks.iter().map(|m| m.count_ones()).sum();
        assert!((1..=9).contains(&bits));
        let p: Probe<64> = h.probe(u64::MAX, Placement::Scattered, 33);
        let bits: u32 = p.masks.iter().map(|m| m.count_ones()).sum();
        assert!((1..=33).contains(&bits));
    }
}

#[test]
fn blocks_and_positions_are_uniform() {
    // chi-square-ish sanity: 64 blocks, 64k keys -> ~1024 per block, each within 25%.
    let mut per_block = [0u32; 64];
    let mut per_bit = [0u32; 512];
    for i in 0..65_536u32 {
        let p: Probe<8> =
            KeyHash::new(format!("jti-{i}").as_bytes(), 1).probe(64, Placement::Scattered, 8);
        per_block[p.block] += 1;
        for (w, m) in p.masks.iter().enumerate() {
            for b in 0..64 {
                if m & (1 << b) != 0 {
                    per_bit[w * 64 + b] += 1;
                }
            }
        }
    }
    assert!(
        per_block.iter().all(|&c| (768..=1280).contains(&c)),
        "{per_block:?}"
    );
    // 65536 * 8 / 512 = 1024 per bit position on average.
    assert!(
        per_bit.iter().all(|&c| (800..=1250).contains(&c)),
        "{per_bit:?}"
    );
}

#[test]
fn seed_changes_the_bits() {
    let a: Probe<8> = KeyHash::new(b"sub-alice", 1).probe(1 << 20, Placement::Split, 10);
    let b: Probe<8> = KeyHash::new(b"sub-alice", 2).probe(1 << 20, Placement::Split, 10);
    assert_ne!(a, b);
}
