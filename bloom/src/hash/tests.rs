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
    // A golden vector: changing the hash or the probe derivation breaks every snapshot on disk
    // and every cluster sync, so it must be a deliberate change that updates this test.
    let h = KeyHash::new(
        b"jti-mnb23vcsrt756yuiomnbvcx98ertyuiop",
        crate::geometry::DEFAULT_SEED,
    );
    let p: Probe<16> = h.probe(1_000_003, 20);
    assert_eq!(
        (p.block, positions(&p)),
        (GOLDEN_BLOCK, GOLDEN_POSITIONS.to_vec())
    );
}

const GOLDEN_BLOCK: usize = 986_709;
const GOLDEN_POSITIONS: [usize; 20] = [
    14, 22, 69, 81, 166, 194, 240, 259, 388, 399, 457, 571, 620, 622, 688, 746, 837, 953, 970, 1005,
];

#[test]
fn probe_sets_at_most_k_bits_in_range() {
    for i in 0..2000u32 {
        let h = KeyHash::new(&i.to_le_bytes(), 7);
        let p: Probe<8> = h.probe(10, 9);
        assert!(p.block < 10);
        let bits: u32 = p.masks.iter().map(|m| m.count_ones()).sum();
        assert!((1..=9).contains(&bits));
        let p: Probe<64> = h.probe(u64::MAX, 33);
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
        let p: Probe<8> = KeyHash::new(format!("jti-{i}").as_bytes(), 1).probe(64, 8);
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
    let a: Probe<8> = KeyHash::new(b"sub-alice", 1).probe(1 << 20, 10);
    let b: Probe<8> = KeyHash::new(b"sub-alice", 2).probe(1 << 20, 10);
    assert_ne!(a, b);
}
