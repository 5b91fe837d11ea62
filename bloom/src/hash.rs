//! From a key to its block and the bits it sets there.
//!
//! One call of xxh3-128 (seeded; the same bits on every platform and run, which snapshots and
//! syncs depend on) gives 128 bits: the low 64 choose the block by a multiply-shift range
//! reduction (no modulo, no power-of-two restriction), the high 64 seed a splitmix64 stream whose
//! words are cut into `log2(block bits)`-bit positions. Every position is an independent uniform
//! draw, which is what the sizing in [`crate::geometry`] assumes.
//!
//! `hash_name` in the config (`optimal` or `default`) does not change this: KrakenD's `default`
//! chains MD5, CRC64, SHA-1 and two FNVs and so probes 2, 3, 5, 6 or 8 bits whatever `k` says —
//! 41x to 675x the configured false-positive rate at the usual settings — and its `optimal`
//! (FNV-1 128 double hashing) is slower than xxh3 and scatters a key over `k` cache lines.
//! bloomgate uses one fast, seeded hash for both names.

use xxhash_rust::xxh3::xxh3_128_with_seed;

/// The most words a block can have (4096 bits).
pub const MAX_BLOCK_WORDS: usize = 64;

/// Where a key lives: its block, and a mask per word of that block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe<const W: usize> {
    /// Index of the block in the generation.
    pub block: usize,
    /// The bits the key sets, word by word.
    pub masks: [u64; W],
}

/// The 128-bit hash of a key under `seed`. Computed once per key, usable against any generation
/// of the same geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyHash {
    lo: u64,
    hi: u64,
}

impl KeyHash {
    /// Hashes `key` with `seed`.
    #[inline]
    pub fn new(key: &[u8], seed: u64) -> KeyHash {
        let h = xxh3_128_with_seed(key, seed);
        KeyHash { lo: h as u64, hi: (h >> 64) as u64 }
    }

    /// The block of this key in a filter of `blocks` blocks.
    #[inline(always)]
    pub fn block(&self, blocks: u64) -> usize {
        ((u128::from(self.lo) * u128::from(blocks)) >> 64) as usize
    }

    /// The block and masks of this key in a filter of `blocks` blocks of `W` words with `k`
    /// bits per key. `W` must be a power of two between 8 and 64.
    #[inline(always)]
    pub fn probe<const W: usize>(&self, blocks: u64, k: u32) -> Probe<W> {
        debug_assert!(W.is_power_of_two() && (8..=MAX_BLOCK_WORDS).contains(&W));
        let block = self.block(blocks);
        let bits_per_pos = (W * 64).trailing_zeros(); // log2(block bits)
        let per_word = 64 / bits_per_pos;
        let mut masks = [0u64; W];
        let mut state = self.hi;
        let mut left = k;
        while left > 0 {
            let mut z = splitmix64(&mut state);
            for _ in 0..per_word.min(left) {
                let pos = (z as usize) & (W * 64 - 1);
                masks[pos >> 6] |= 1u64 << (pos & 63);
                z >>= bits_per_pos;
            }
            left = left.saturating_sub(per_word);
        }
        Probe { block, masks }
    }
}

/// One step of splitmix64 (Steele, Lea, Flood 2014): a cheap, well-mixed 64-bit stream.
#[inline(always)]
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests;
