//! Two generations keyed by wall-clock epoch, and the one writer that rotates them.
//!
//! `epoch = unix_seconds / TTL`. Inserts go to the generation of the current epoch; lookups read
//! both. When the epoch advances to `e`, the generation that held epoch `e - 2` is cleared and
//! reused for `e`: a value inserted during epoch `e - 2` lived at least until `e · TTL`, which is
//! at least `TTL` after it was inserted, and at most `2 · TTL`. Every node of a cluster computes
//! the same epochs, so they expire the same revocations at the same instant.
//!
//! Clearing a large generation takes a while, so it is a *sweep* done in bounded steps (the
//! admin core yields between them). While a sweep is under way, inserts into the generation
//! being swept must not be wiped by it: an insert into a block the sweep has not reached yet
//! clears that block first and marks it, and the sweep skips marked blocks. Readers meanwhile may
//! see bits of expired values (a late expiry by at most the sweep's duration) but never miss a
//! value inserted before their check.
//!
//! Time is always a parameter (`now`, unix seconds); this module never reads a clock.

use std::sync::Arc;

use crate::filter::Filter;
use crate::geometry::Geometry;
use crate::hash::KeyHash;
use crate::sync::{AtomicU64, Ordering::Relaxed};

/// One generation: a filter and the epoch it holds.
#[derive(Debug)]
pub(crate) struct Generation {
    /// The epoch whose inserts this filter holds. Written only by the [`Writer`].
    pub(crate) epoch: AtomicU64,
    pub(crate) filter: Filter,
}

/// The revocation filter shared by every core: two generations of one geometry.
///
/// Readers call [`Revocations::contains`] through an `Arc`; all writes go through the single
/// [`Writer`] returned with it.
#[derive(Debug)]
pub struct Revocations {
    geometry: Geometry,
    ttl: u64,
    /// Generation `i` holds an epoch `e` with `e % 2 == i`.
    pub(crate) generations: [Generation; 2],
}

impl Revocations {
    /// An empty filter whose current epoch is `now / ttl`, and its one writer.
    ///
    /// # Errors
    /// [`ZeroTtl`] when `ttl` is 0.
    pub fn new(
        geometry: Geometry,
        ttl: u64,
        now: u64,
    ) -> Result<(Arc<Revocations>, Writer), ZeroTtl> {
        if ttl == 0 {
            return Err(ZeroTtl);
        }
        let current = now / ttl;
        let generation = |parity: u64| {
            // The generation of parity `current % 2` holds `current`; the other `current - 1`.
            let epoch = if current % 2 == parity {
                current
            } else {
                current.saturating_sub(1)
            };
            Generation {
                epoch: AtomicU64::new(epoch),
                filter: Filter::new(geometry),
            }
        };
        let shared = Arc::new(Revocations {
            geometry,
            ttl,
            generations: [generation(0), generation(1)],
        });
        let writer = Writer {
            shared: Arc::clone(&shared),
            current,
            sweeps: [None, None],
        };
        Ok((shared, writer))
    }

    /// A filter made of restored generations (a snapshot).
    pub(crate) fn from_generations(
        geometry: Geometry,
        ttl: u64,
        generations: [Generation; 2],
    ) -> Revocations {
        Revocations {
            geometry,
            ttl,
            generations,
        }
    }

    /// Whether `key` was revoked within the window (never false for a value inserted less than
    /// `TTL` ago; true for an absent value with probability about twice the generation's rate).
    #[inline]
    pub fn contains(&self, key: &[u8]) -> bool {
        self.contains_hash(&self.hash(key))
    }

    /// [`Revocations::contains`] for a key hashed with [`Revocations::hash`].
    #[inline]
    pub fn contains_hash(&self, hash: &KeyHash) -> bool {
        self.generations[0].filter.contains_hash(hash)
            | self.generations[1].filter.contains_hash(hash)
    }

    /// Hashes a key for this filter's geometry.
    #[inline]
    pub fn hash(&self, key: &[u8]) -> KeyHash {
        KeyHash::new(key, self.geometry.seed())
    }

    /// The geometry of each generation.
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// The rotation period in seconds.
    pub fn ttl(&self) -> u64 {
        self.ttl
    }

    /// The epochs held by the two generations, newest first.
    pub fn epochs(&self) -> (u64, u64) {
        let a = self.generations[0].epoch.load(Relaxed);
        let b = self.generations[1].epoch.load(Relaxed);
        (a.max(b), a.min(b))
    }

    /// Status of each generation, newest first (full scans: for status pages, not per request).
    pub fn stats(&self) -> [GenerationStats; 2] {
        let stat = |g: &Generation| GenerationStats {
            epoch: g.epoch.load(Relaxed),
            inserted: g.filter.inserted(),
            fill_ratio: g.filter.fill_ratio(),
            estimated_fpr: g.filter.estimated_fpr(),
            percentage_consumed: g.filter.percentage_consumed(),
        };
        let (a, b) = (stat(&self.generations[0]), stat(&self.generations[1]));
        if a.epoch >= b.epoch { [a, b] } else { [b, a] }
    }

    /// The current generation's `inserted / N` as 0–100: how much of the capacity this window
    /// has used.
    pub fn percentage_consumed(&self) -> f64 {
        let (newest, _) = self.epochs();
        self.generations[(newest % 2) as usize]
            .filter
            .percentage_consumed()
    }

    /// The rate a lookup sees now: a hit in either generation counts (a full scan).
    pub fn estimated_fpr(&self) -> f64 {
        let [a, b] = self.stats();
        // 1 - (1-a)(1-b), written so that tiny rates do not round to zero.
        a.estimated_fpr + b.estimated_fpr - a.estimated_fpr * b.estimated_fpr
    }
}

/// The figures of one generation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerationStats {
    /// The epoch it holds.
    pub epoch: u64,
    /// Insertions that set a new bit.
    pub inserted: u64,
    /// Fraction of bits set.
    pub fill_ratio: f64,
    /// Expected false-positive rate at this fill.
    pub estimated_fpr: f64,
    /// `inserted / N` in percent, clamped to 100.
    pub percentage_consumed: f64,
}

/// A TTL of zero seconds was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("TTL must be at least 1 second")]
pub struct ZeroTtl;

/// A sweep clearing one generation.
#[derive(Debug)]
struct Sweep {
    /// Blocks below this index are cleared.
    next_block: usize,
    /// Blocks at or above `next_block` that an insert cleared early (one bit each): the sweep
    /// must skip them or it would wipe that insert.
    touched: Vec<u64>,
}

impl Sweep {
    fn new(blocks: usize) -> Sweep {
        Sweep {
            next_block: 0,
            touched: vec![0; blocks.div_ceil(64)],
        }
    }
    fn is_touched(&self, block: usize) -> bool {
        self.touched[block / 64] & (1 << (block % 64)) != 0
    }
    fn touch(&mut self, block: usize) {
        self.touched[block / 64] |= 1 << (block % 64);
    }
}

/// Whether a sweep has work left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepProgress {
    /// No generation is being cleared.
    Done,
    /// Call [`Writer::sweep_step`] again (after yielding).
    Pending,
}

/// The only writer of a [`Revocations`]: inserts, rotation, merges. Owned by the admin core.
#[derive(Debug)]
pub struct Writer {
    shared: Arc<Revocations>,
    /// The newest epoch seen.
    current: u64,
    /// The sweep under way on each generation, if any.
    sweeps: [Option<Sweep>; 2],
}

impl Writer {
    /// The one writer of a freshly restored filter whose newest epoch is `current`.
    pub(crate) fn for_restored(shared: Arc<Revocations>, current: u64) -> Writer {
        Writer {
            shared,
            current,
            sweeps: [None, None],
        }
    }

    /// The filter this writer writes.
    pub fn shared(&self) -> &Arc<Revocations> {
        &self.shared
    }

    /// The current epoch (the newest this writer has seen).
    pub fn current_epoch(&self) -> u64 {
        self.current
    }

    /// Revokes `key` at time `now`; returns whether it set a new bit. Rotates first if `now` is
    /// in a later epoch. A clock that went back inserts into the newest generation, which only
    /// lengthens the value's life.
    pub fn insert(&mut self, key: &[u8], now: u64) -> bool {
        self.advance(now);
        let hash = self.shared.hash(key);
        self.insert_hash(&hash)
    }

    /// Revokes every key at time `now`; returns how many set a new bit.
    pub fn insert_batch<'k, I>(&mut self, keys: I, now: u64) -> u64
    where
        I: IntoIterator<Item = &'k [u8]>,
    {
        self.advance(now);
        let slot = (self.current % 2) as usize;
        if self.sweeps[slot].is_none() {
            return self.shared.generations[slot]
                .filter
                .insert_batch_exclusive(keys);
        }
        let mut added = 0;
        for key in keys {
            let hash = self.shared.hash(key);
            added += u64::from(self.insert_hash(&hash));
        }
        added
    }

    fn insert_hash(&mut self, hash: &KeyHash) -> bool {
        let slot = (self.current % 2) as usize;
        let filter = &self.shared.generations[slot].filter;
        if let Some(sweep) = &mut self.sweeps[slot] {
            let block = filter.block_of(hash);
            if block >= sweep.next_block && !sweep.is_touched(block) {
                filter.clear_blocks(block..block + 1);
                sweep.touch(block);
            }
        }
        // The writer is the only thread that writes the generations (`&mut self`, and
        // `Revocations` hands out no `&Filter`).
        filter.insert_hash_exclusive(hash)
    }

    /// Moves to the epoch of `now` if it is later than the current one, starting the sweeps
    /// that clear what fell out of the window. Returns whether a sweep is pending.
    pub fn advance(&mut self, now: u64) -> bool {
        let epoch = now / self.shared.ttl;
        if epoch > self.current {
            let blocks = self.shared.geometry.blocks() as usize;
            // The generation that receives `epoch` held `epoch - 2` or older: clear it. After a
            // jump of two epochs or more, the other one is out of the window too.
            let stale: &[u64] = if epoch - self.current == 1 {
                &[epoch]
            } else {
                &[epoch, epoch - 1]
            };
            for &e in stale {
                let slot = (e % 2) as usize;
                if self.sweeps[slot].is_some() {
                    self.finish_sweep(slot);
                }
                let generation = &self.shared.generations[slot];
                generation.filter.set_inserted(0);
                generation.epoch.store(e, Relaxed);
                self.sweeps[slot] = Some(Sweep::new(blocks));
            }
            self.current = epoch;
        }
        self.sweeps.iter().any(Option::is_some)
    }

    /// Clears up to `max_blocks` blocks of a pending sweep.
    pub fn sweep_step(&mut self, max_blocks: usize) -> SweepProgress {
        let blocks = self.shared.geometry.blocks() as usize;
        let Some(slot) = self.sweeps.iter().position(Option::is_some) else {
            return SweepProgress::Done;
        };
        let filter = &self.shared.generations[slot].filter;
        if let Some(sweep) = &mut self.sweeps[slot] {
            let end = sweep
                .next_block
                .saturating_add(max_blocks.max(1))
                .min(blocks);
            let mut start = sweep.next_block;
            while start < end {
                // Clear runs of untouched blocks in one call.
                let mut stop = start;
                while stop < end && !sweep.is_touched(stop) {
                    stop += 1;
                }
                filter.clear_blocks(start..stop);
                start = stop;
                while start < end && sweep.is_touched(start) {
                    start += 1;
                }
            }
            sweep.next_block = end;
            if end == blocks {
                self.sweeps[slot] = None;
            }
        }
        if self.sweeps.iter().any(Option::is_some) {
            SweepProgress::Pending
        } else {
            SweepProgress::Done
        }
    }

    /// Completes every pending sweep now.
    pub fn finish_sweeps(&mut self) {
        for slot in 0..2 {
            if self.sweeps[slot].is_some() {
                self.finish_sweep(slot);
            }
        }
    }

    fn finish_sweep(&mut self, slot: usize) {
        let other = self.sweeps[1 - slot].take();
        while self.sweep_step(usize::MAX) == SweepProgress::Pending {}
        self.sweeps[1 - slot] = other;
    }

    /// ORs a generation of `epoch` into the matching one here (a sync from a peer or a
    /// restore). `words` must be exactly one generation of this geometry. A generation older
    /// than the window is ignored; one newer than the current epoch (a peer whose clock is
    /// ahead) goes into the current generation, which only lengthens its values' lives.
    /// `inserted` is the other side's insertion count, added to this generation's. Returns
    /// whether anything was merged.
    pub fn merge_generation(
        &mut self,
        epoch: u64,
        inserted: u64,
        words: &[u64],
        now: u64,
    ) -> Result<bool, WordCount> {
        self.merge_words(epoch, inserted, words.iter().copied(), now)
    }

    /// [`Writer::merge_generation`] over any exact-size source of words (an archive's).
    pub(crate) fn merge_words<I>(
        &mut self,
        epoch: u64,
        inserted: u64,
        words: I,
        now: u64,
    ) -> Result<bool, WordCount>
    where
        I: ExactSizeIterator<Item = u64>,
    {
        let expected = self.shared.geometry.words();
        if words.len() as u64 != expected {
            return Err(WordCount {
                expected,
                found: words.len() as u64,
            });
        }
        self.advance(now);
        if epoch + 1 < self.current {
            return Ok(false);
        }
        let slot = (epoch.min(self.current) % 2) as usize;
        let filter = &self.shared.generations[slot].filter;
        filter.set_inserted(filter.inserted().saturating_add(inserted));
        match &mut self.sweeps[slot] {
            None => filter.or_words_single_writer(words),
            Some(sweep) => {
                let per_block = self.shared.geometry.block_words() as usize;
                let words: Vec<u64> = words.collect();
                for (block, chunk) in words.chunks_exact(per_block).enumerate() {
                    if chunk.iter().all(|&w| w == 0) {
                        continue;
                    }
                    if block >= sweep.next_block && !sweep.is_touched(block) {
                        filter.clear_blocks(block..block + 1);
                        sweep.touch(block);
                    }
                    filter.or_block(block, chunk);
                }
            }
        }
        Ok(true)
    }
}

/// A generation of the wrong size was offered for a merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a generation of this geometry has {expected} words, got {found}")]
pub struct WordCount {
    /// Words per generation of this geometry.
    pub expected: u64,
    /// Words offered.
    pub found: u64,
}

#[cfg(test)]
mod tests;
