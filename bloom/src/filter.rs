//! One generation: a blocked bloom filter over atomic `u64` words.
//!
//! Shared by every core by reference. Readers use relaxed loads; the one writer (the admin core)
//! uses `fetch_or`. A set bit is never a wrong answer for a key that was inserted, so no ordering
//! stronger than `Relaxed` is needed on the words: a check that happens-after an insert (through
//! whatever synchronisation carried the news of the insert) sees its bits by read-write coherence.

use crate::geometry::Geometry;
use crate::hash::{KeyHash, Probe};
use crate::storage::Lines;
use crate::sync::{AtomicU64, Ordering::Relaxed};

/// Eight words: one 64-byte cache line, aligned so that a block never straddles two lines more
/// than it must.
#[repr(C, align(64))]
#[derive(Debug)]
pub(crate) struct Line(pub(crate) [AtomicU64; 8]);

impl Line {
    fn zeroed() -> Line {
        Line(std::array::from_fn(|_| AtomicU64::new(0)))
    }

    pub(crate) fn with_words(words: [u64; 8]) -> Line {
        Line(words.map(AtomicU64::new))
    }
}

/// Two filters that cannot be merged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot merge filters of different geometries: ours {ours}, theirs {theirs}")]
pub struct GeometryMismatch {
    /// This filter's geometry.
    pub ours: Geometry,
    /// The other filter's geometry.
    pub theirs: Geometry,
}

/// A blocked bloom filter: every key's `k` bits lie in one block of 1, 2, 4 or 8 cache lines.
#[derive(Debug)]
pub struct Filter {
    geometry: Geometry,
    /// The bit array: `blocks · lines_per_block` lines in one allocation, 64-byte aligned (huge
    /// pages when large: see `storage`).
    lines: Lines,
    /// Insertions that set at least one new bit (an approximate count of distinct keys), for
    /// `percentage_consumed`. Written by the one writer only.
    inserted: AtomicU64,
}

impl Filter {
    /// An empty filter of this geometry. Allocates `geometry.bytes()` bytes, zeroed.
    pub fn new(geometry: Geometry) -> Filter {
        let lines = geometry.blocks() as usize * geometry.lines_per_block() as usize;
        Filter {
            geometry,
            lines: Lines::from_fn(lines, |_| Line::zeroed()),
            inserted: AtomicU64::new(0),
        }
    }

    /// A filter holding `words` (exactly `geometry.words()` of them; missing ones are zero),
    /// written once, in order: a restore touches the memory once instead of zeroing it first.
    pub(crate) fn from_words(
        geometry: Geometry,
        words: impl IntoIterator<Item = u64>,
        inserted: u64,
    ) -> Filter {
        let lines = geometry.blocks() as usize * geometry.lines_per_block() as usize;
        let mut words = words.into_iter();
        Filter {
            geometry,
            lines: Lines::from_fn(lines, |_| {
                Line::with_words(std::array::from_fn(|_| words.next().unwrap_or(0)))
            }),
            inserted: AtomicU64::new(inserted),
        }
    }

    /// The geometry this filter was built with.
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// Adds `key`. Returns whether any bit was newly set (false: the key, or a key sharing all
    /// its bits, was already there).
    #[inline]
    pub fn insert(&self, key: &[u8]) -> bool {
        self.insert_hash(&KeyHash::new(key, self.geometry.seed()))
    }

    /// Whether `key` may have been inserted: never false for an inserted key; true for an absent
    /// one with probability about the geometry's false-positive rate.
    #[inline]
    pub fn contains(&self, key: &[u8]) -> bool {
        self.contains_hash(&KeyHash::new(key, self.geometry.seed()))
    }

    /// [`Filter::insert`] for a key already hashed with this geometry's seed.
    #[inline]
    pub fn insert_hash(&self, hash: &KeyHash) -> bool {
        self.insert_hash_as::<false>(hash)
    }

    /// [`Filter::insert_hash`] for the one writer of this filter (the generations' `Writer`):
    /// a plain load and store per word instead of a locked `fetch_or`. On x86 a locked RMW
    /// drains the store buffer and waits for its cache miss, so consecutive inserts cannot
    /// overlap their misses; plain stores can. Sound only while no other thread writes this
    /// filter: a concurrent writer's bits could be overwritten. Readers are unaffected (they
    /// see each word either before or after the store, as with `fetch_or`).
    #[inline]
    pub(crate) fn insert_hash_exclusive(&self, hash: &KeyHash) -> bool {
        self.insert_hash_as::<true>(hash)
    }

    #[inline(always)]
    fn insert_hash_as<const EXCLUSIVE: bool>(&self, hash: &KeyHash) -> bool {
        let changed = match self.geometry.block_words() {
            8 => self.insert_in::<8, EXCLUSIVE>(hash),
            16 => self.insert_in::<16, EXCLUSIVE>(hash),
            32 => self.insert_in::<32, EXCLUSIVE>(hash),
            _ => self.insert_in::<64, EXCLUSIVE>(hash),
        };
        if changed {
            if EXCLUSIVE {
                self.inserted
                    .store(self.inserted.load(Relaxed) + 1, Relaxed);
            } else {
                self.inserted.fetch_add(1, Relaxed);
            }
        }
        changed
    }

    /// [`Filter::contains`] for a key already hashed with this geometry's seed.
    #[inline]
    pub fn contains_hash(&self, hash: &KeyHash) -> bool {
        match self.geometry.block_words() {
            8 => self.contains_in::<8>(hash),
            16 => self.contains_in::<16>(hash),
            32 => self.contains_in::<32>(hash),
            _ => self.contains_in::<64>(hash),
        }
    }

    /// Adds every key; returns how many set a new bit. Prefetches the blocks of the keys ahead
    /// of the one being inserted, so that their cache misses overlap.
    pub fn insert_batch<'k, I>(&self, keys: I) -> u64
    where
        I: IntoIterator<Item = &'k [u8]>,
    {
        self.insert_batch_as::<false, I>(keys)
    }

    /// [`Filter::insert_batch`] for the one writer of this filter: see
    /// [`Filter::insert_hash_exclusive`].
    pub(crate) fn insert_batch_exclusive<'k, I>(&self, keys: I) -> u64
    where
        I: IntoIterator<Item = &'k [u8]>,
    {
        self.insert_batch_as::<true, I>(keys)
    }

    /// Software pipelining: each key is hashed and its block prefetched `AHEAD` keys before it
    /// is inserted, so that about `AHEAD` cache misses are in flight at any time instead of one
    /// (a prefetch retires at once; a load that misses would stall the pipeline).
    fn insert_batch_as<'k, const EXCLUSIVE: bool, I>(&self, keys: I) -> u64
    where
        I: IntoIterator<Item = &'k [u8]>,
    {
        const AHEAD: usize = 16;
        let seed = self.geometry.seed();
        let mut ahead = [KeyHash::new(b"", seed); AHEAD];
        let mut seen = 0usize;
        let mut added = 0;
        for key in keys {
            let hash = KeyHash::new(key, seed);
            self.prefetch_block(&hash);
            let slot = &mut ahead[seen % AHEAD];
            if seen >= AHEAD {
                added += u64::from(self.insert_hash_as::<EXCLUSIVE>(slot));
            }
            *slot = hash;
            seen += 1;
        }
        for i in seen.saturating_sub(AHEAD)..seen {
            added += u64::from(self.insert_hash_as::<EXCLUSIVE>(&ahead[i % AHEAD]));
        }
        added
    }

    fn prefetch_block(&self, hash: &KeyHash) {
        let per_block = self.geometry.lines_per_block() as usize;
        let start = self.block_of(hash) * per_block;
        for line in &self.lines[start..start + per_block] {
            crate::storage::prefetch(line);
        }
    }

    #[inline(always)]
    fn block_lines<const W: usize>(&self, block: usize) -> &[Line] {
        let start = block * (W / 8);
        &self.lines[start..start + W / 8]
    }

    #[inline(always)]
    fn insert_in<const W: usize, const EXCLUSIVE: bool>(&self, hash: &KeyHash) -> bool {
        let g = &self.geometry;
        let probe: Probe<W> = hash.probe(g.blocks(), g.placement(), g.k());
        let lines = self.block_lines::<W>(probe.block);
        let mut new_bits = 0u64;
        for (w, &mask) in probe.masks.iter().enumerate() {
            if mask != 0 {
                let word = &lines[w / 8].0[w % 8];
                let old = if EXCLUSIVE {
                    let old = word.load(Relaxed);
                    if old & mask != mask {
                        word.store(old | mask, Relaxed);
                    }
                    old
                } else {
                    word.fetch_or(mask, Relaxed)
                };
                new_bits |= mask & !old;
            }
        }
        new_bits != 0
    }

    #[inline(always)]
    fn contains_in<const W: usize>(&self, hash: &KeyHash) -> bool {
        let lines = self.block_lines::<W>(hash.block(self.geometry.blocks()));
        #[cfg(all(target_arch = "x86_64", not(loom)))]
        if self.geometry.placement() == crate::geometry::Placement::Split
            && let Some(found) = crate::simd::contains_split::<W>(lines, hash, self.geometry.k())
        {
            return found;
        }
        self.contains_bit_by_bit::<W>(lines, hash)
    }

    /// The portable lookup: test bit by bit and stop at the first clear one. The block is a
    /// cache miss; every test after the first is a hit in the same line(s). Stopping early keeps
    /// few instructions waiting on the miss, so lookups of consecutive requests overlap their
    /// misses: a miss costs about half of what testing the whole block bit by bit does (see
    /// docs/BENCHMARKS.md).
    #[inline(always)]
    fn contains_bit_by_bit<const W: usize>(&self, lines: &[Line], hash: &KeyHash) -> bool {
        let g = &self.geometry;
        for pos in hash.positions::<W>(g.placement(), g.k()) {
            let word = pos >> 6;
            if lines[word / 8].0[word % 8].load(Relaxed) & (1 << (pos & 63)) == 0 {
                return false;
            }
        }
        true
    }

    /// ORs `other` into this filter, word by word.
    pub fn union(&self, other: &Filter) -> Result<(), Box<GeometryMismatch>> {
        if self.geometry != other.geometry {
            return Err(Box::new(GeometryMismatch {
                ours: self.geometry,
                theirs: other.geometry,
            }));
        }
        for (mine, theirs) in self.words().zip(other.words()) {
            let bits = theirs.load(Relaxed);
            if bits != 0 {
                mine.fetch_or(bits, Relaxed);
            }
        }
        self.inserted.fetch_add(other.inserted(), Relaxed);
        Ok(())
    }

    /// Fraction of bits set, 0.0–1.0 (a full scan: for status pages, not the hot path).
    pub fn fill_ratio(&self) -> f64 {
        let ones: u64 = self
            .words()
            .map(|w| u64::from(w.load(Relaxed).count_ones()))
            .sum();
        ones as f64 / self.geometry.bits() as f64
    }

    /// The false-positive rate expected now, estimated from the fill ratio (a full scan).
    pub fn estimated_fpr(&self) -> f64 {
        estimated_fpr_from_fill(&self.geometry, self.fill_ratio())
    }

    /// Insertions that set a new bit since the filter was created or cleared.
    pub fn inserted(&self) -> u64 {
        self.inserted.load(Relaxed)
    }

    /// `inserted / N`, as a percentage clamped to 0–100.
    pub fn percentage_consumed(&self) -> f64 {
        (self.inserted() as f64 * 100.0 / self.geometry.n() as f64).min(100.0)
    }

    /// Every word, in order.
    pub(crate) fn words(&self) -> impl Iterator<Item = &AtomicU64> {
        self.lines.iter().flat_map(|line| line.0.iter())
    }

    /// Zeroes the blocks in `blocks` (a range of block indices) with relaxed stores.
    pub(crate) fn clear_blocks(&self, blocks: std::ops::Range<usize>) {
        let per = self.geometry.lines_per_block() as usize;
        for line in &self.lines[blocks.start * per..blocks.end * per] {
            for word in &line.0 {
                word.store(0, Relaxed);
            }
        }
    }

    /// Sets the insertion count (after a clear or a restore).
    pub(crate) fn set_inserted(&self, count: u64) {
        self.inserted.store(count, Relaxed);
    }

    /// The block a hash falls in.
    pub(crate) fn block_of(&self, hash: &KeyHash) -> usize {
        hash.block(self.geometry.blocks())
    }

    /// ORs `words` in (a merge). Only for the one writer of a generation: it reads and stores
    /// each word instead of `fetch_or`, which is sound because no other thread writes these
    /// words, and runs at memory speed where a locked RMW per word would not.
    pub(crate) fn or_words_single_writer(&self, words: impl IntoIterator<Item = u64>) {
        for (slot, value) in self.words().zip(words) {
            let old = slot.load(Relaxed);
            if old | value != old {
                slot.store(old | value, Relaxed);
            }
        }
    }

    /// ORs the words of one block in (a merge during a sweep).
    pub(crate) fn or_block(&self, block: usize, words: &[u64]) {
        let per_block = self.geometry.block_words() as usize;
        let per = self.geometry.lines_per_block() as usize;
        let lines = &self.lines[block * per..(block + 1) * per];
        for (slot, &value) in lines
            .iter()
            .flat_map(|l| l.0.iter())
            .zip(&words[..per_block])
        {
            if value != 0 {
                slot.fetch_or(value, Relaxed);
            }
        }
    }
}

/// The expected rate of a generation whose fill ratio is `fill`: the number of keys that
/// explains that fill (`n = -(m/k) ln(1 - fill)`), put through the layout's exact formula.
pub fn estimated_fpr_from_fill(geometry: &Geometry, fill: f64) -> f64 {
    if fill >= 1.0 {
        return 1.0;
    }
    let keys = -(geometry.bits() as f64 / f64::from(geometry.k())) * (-fill).ln_1p();
    geometry.expected_fpr(keys)
}

#[cfg(test)]
mod tests;
