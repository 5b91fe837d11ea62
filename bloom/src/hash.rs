//! From a key to its block and the bits it sets there.
//!
//! One call of xxh3-128 (seeded; the same bits on every platform and run, which snapshots and
//! syncs depend on) gives 128 bits: the low 64 choose the block by a multiply-shift range
//! reduction (no modulo, no power-of-two restriction), the high 64 seed a splitmix64 stream whose
//! words are cut into positions: for a [`Placement::Scattered`] block, `log2(block bits)` bits
//! each (a position anywhere in the block); for a [`Placement::Split`] one, 6 bits each, eight to
//! a stream word (bits 0–47), position `i` going to word `i mod W`. Every position is an
//! independent uniform draw, which is what the sizing in [`crate::geometry`] assumes.
//!
//! `hash_name` in the config (`optimal` or `default`) does not change this: KrakenD's `default`
//! chains MD5, CRC64, SHA-1 and two FNVs and so probes 2, 3, 5, 6 or 8 bits whatever `k` says —
//! 41x to 675x the configured false-positive rate at the usual settings — and its `optimal`
//! (FNV-1 128 double hashing) is slower than xxh3 and scatters a key over `k` cache lines.
//! bloomgate uses one fast, seeded hash for both names.

use xxhash_rust::xxh3::xxh3_128_with_seed;

use crate::geometry::Placement;

/// Positions a split block takes from one stream word (6 bits each; bits 48–63 are unused, so
/// that four positions fill one 256-bit vector from one word: see `simd`).
pub(crate) const SPLIT_POSITIONS_PER_WORD: u32 = 8;

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
        KeyHash {
            lo: h as u64,
            hi: (h >> 64) as u64,
        }
    }

    /// The block of this key in a filter of `blocks` blocks.
    #[inline(always)]
    pub fn block(&self, blocks: u64) -> usize {
        ((u128::from(self.lo) * u128::from(blocks)) >> 64) as usize
    }

    /// The seed of the position stream (the splitmix64 state before its first word).
    #[cfg_attr(any(loom, not(target_arch = "x86_64")), allow(dead_code))]
    #[inline(always)]
    pub(crate) fn position_seed(&self) -> u64 {
        self.hi
    }

    /// The bit positions (0 .. `W·64`) of this key inside its block, `k` of them, in the order
    /// both insert and lookup use.
    #[inline(always)]
    pub fn positions<const W: usize>(&self, placement: Placement, k: u32) -> Positions<W> {
        Positions {
            placement,
            state: self.hi,
            word: 0,
            left_in_word: 0,
            index: 0,
            k,
        }
    }

    /// The block and masks of this key in a filter of `blocks` blocks of `W` words with `k`
    /// bits per key placed as `placement` says. `W` must be a power of two between 8 and 64.
    #[inline(always)]
    pub fn probe<const W: usize>(&self, blocks: u64, placement: Placement, k: u32) -> Probe<W> {
        debug_assert!(W.is_power_of_two() && (8..=MAX_BLOCK_WORDS).contains(&W));
        let mut masks = [0u64; W];
        for pos in self.positions::<W>(placement, k) {
            masks[pos >> 6] |= 1u64 << (pos & 63);
        }
        Probe {
            block: self.block(blocks),
            masks,
        }
    }
}

/// The bit positions of a key in its block: a splitmix64 stream seeded by the hash's high half,
/// each word cut into positions as the placement says (see the module's documentation).
#[derive(Debug, Clone)]
pub struct Positions<const W: usize> {
    placement: Placement,
    state: u64,
    word: u64,
    left_in_word: u32,
    index: u32,
    k: u32,
}

impl<const W: usize> Iterator for Positions<W> {
    type Item = usize;

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        if self.index == self.k {
            return None;
        }
        let (bits_per_pos, per_word) = match self.placement {
            Placement::Split => (6, SPLIT_POSITIONS_PER_WORD),
            Placement::Scattered => {
                let bits = (W * 64).trailing_zeros();
                (bits, 64 / bits)
            }
        };
        if self.left_in_word == 0 {
            self.word = splitmix64(&mut self.state);
            self.left_in_word = per_word;
        }
        let bits = (self.word as usize) & ((1 << bits_per_pos) - 1);
        let pos = match self.placement {
            Placement::Split => ((self.index as usize % W) << 6) | bits,
            Placement::Scattered => bits,
        };
        self.word >>= bits_per_pos;
        self.left_in_word -= 1;
        self.index += 1;
        Some(pos)
    }
}

/// One step of splitmix64 (Steele, Lea, Flood 2014): a cheap, well-mixed 64-bit stream.
#[inline(always)]
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests;
