//! The lookup of a [`Placement::Split`](crate::Placement::Split) block with AVX2.
//!
//! In a split block, bit `i` of a key goes to word `i mod W`, at the 6-bit position
//! `(s[i / 8] >> 6·(i mod 8)) & 63`, where `s[t]` is word `t` of the key's position stream (see
//! `hash`). So four consecutive positions are four lanes of one 256-bit vector: broadcast the
//! stream word, shift each lane right by its own amount (`vpsrlvq`), keep 6 bits, and shift a 1
//! left by that (`vpsllvq`). ORing the vectors of all `k` positions gives the block's masks, `W/4`
//! vectors of four words; the key is present when no mask bit is clear in its word. The whole
//! lookup is ~30 instructions instead of ~10 per bit, so consecutive lookups overlap their cache
//! misses: a hit costs about 0.6× what the bit-by-bit lookup pays (docs/BENCHMARKS.md). One
//! branch: a two-line block's first line is tested before the second is read, which settles
//! all but `fill^8` (~0.4%) of the misses with one cache line.
//!
//! The words are read with relaxed atomic loads, one by one (a vector load of words another
//! thread may be storing to would be a data race in Rust's memory model), then put in vectors.

use std::arch::x86_64::{
    _mm256_and_si256, _mm256_andnot_si256, _mm256_cmpgt_epi64, _mm256_or_si256, _mm256_set_epi64x,
    _mm256_set1_epi64x, _mm256_setzero_si256, _mm256_sllv_epi64, _mm256_srlv_epi64,
    _mm256_testz_si256,
};

use crate::filter::Line;
use crate::hash::{KeyHash, SPLIT_POSITIONS_PER_WORD, splitmix64};
use crate::sync::Ordering::Relaxed;

/// Whether `hash` is present in the split block `lines` (`W/8` lines) with `k` bits per key;
/// `None` when this CPU has no AVX2, or for blocks wider than two lines (never split).
#[inline(always)]
pub(crate) fn contains_split<const W: usize>(
    lines: &[Line],
    hash: &KeyHash,
    k: u32,
) -> Option<bool> {
    if !(W == 8 || W == 16) || !std::arch::is_x86_feature_detected!("avx2") {
        return None;
    }
    // SAFETY: the only requirement of a `#[target_feature(enable = "avx2")]` function is that
    // the CPU supports AVX2, which was checked just above.
    Some(unsafe { contains_split_avx2::<W>(lines, hash.position_seed(), k) })
}

/// See the module's documentation. `W` is 8 or 16; `lines` holds `W/8` lines.
#[target_feature(enable = "avx2")]
fn contains_split_avx2<const W: usize>(lines: &[Line], seed: u64, k: u32) -> bool {
    const _: () = assert!(SPLIT_POSITIONS_PER_WORD == 8);
    let vectors = W / 4;
    let one = _mm256_set1_epi64x(1);
    let low6 = _mm256_set1_epi64x(63);
    let lane = _mm256_set_epi64x(3, 2, 1, 0);
    // Positions 0–3 of a stream word, then 4–7.
    let shifts = [
        _mm256_set_epi64x(18, 12, 6, 0),
        _mm256_set_epi64x(42, 36, 30, 24),
    ];
    let mut masks = [_mm256_setzero_si256(); 4];
    let mut state = seed;
    let mut word = 0u64;
    let k = i64::from(k);
    let mut first = 0i64; // the first position of this group of four
    let mut group = 0usize;
    while first < k {
        if group.is_multiple_of(2) {
            word = splitmix64(&mut state);
        }
        let bits = _mm256_and_si256(
            _mm256_srlv_epi64(_mm256_set1_epi64x(word as i64), shifts[group % 2]),
            low6,
        );
        // Lanes past `k` (the last group of a `k` that is not a multiple of 4) set nothing.
        let live = _mm256_cmpgt_epi64(_mm256_set1_epi64x(k - first), lane);
        let mask = _mm256_and_si256(_mm256_sllv_epi64(one, bits), live);
        let slot = group % vectors;
        masks[slot] = _mm256_or_si256(masks[slot], mask);
        first += 4;
        group += 1;
    }
    let lacking = |v: usize| {
        let line = &lines[v / 2].0;
        let at = (v % 2) * 4;
        let words = _mm256_set_epi64x(
            line[at + 3].load(Relaxed) as i64,
            line[at + 2].load(Relaxed) as i64,
            line[at + 1].load(Relaxed) as i64,
            line[at].load(Relaxed) as i64,
        );
        // andnot(a, b) = !a & b: the mask bits this word lacks.
        _mm256_andnot_si256(words, masks[v])
    };
    let first_line = _mm256_or_si256(lacking(0), lacking(1));
    if _mm256_testz_si256(first_line, first_line) == 0 {
        return false;
    }
    if vectors == 2 {
        return true;
    }
    let second_line = _mm256_or_si256(lacking(2), lacking(3));
    _mm256_testz_si256(second_line, second_line) == 1
}

#[cfg(test)]
mod tests;
