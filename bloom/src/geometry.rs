//! Sizing: from a capacity `N` and a target false-positive rate `P` to the blocked layout.
//!
//! Two geometries are reported side by side: the classic one (`m = ceil(-N ln P / (ln 2)^2)`,
//! `k = ceil(ln 2 · m / N)`, what KrakenD allocates) and the one bloomgate actually uses, a
//! *blocked* layout where every key's `k` bits sit in one block of 512, 1024, 2048 or 4096 bits
//! (1, 2, 4 or 8 cache lines). Blocking makes a lookup one memory access instead of `k`, but the
//! uneven number of keys per block raises the false-positive rate, so a blocked filter needs more
//! bits than the classic optimum for the same `P`.
//!
//! Inside its block a key's bits are placed one of two ways ([`Placement`]): *split* (bit `i` in
//! word `i mod W`, so that a lookup builds all its masks at once and tests the whole block in a
//! few vector instructions) or *scattered* (every bit anywhere in the block: a little less memory
//! for the same rate, but a bit at a time). [`Geometry::new`] computes the exact expected rate of
//! each candidate (a Poisson mixture over block loads) and takes the first, in order of lookup
//! cost, whose memory stays within [`MEMORY_BUDGET`] of the classic optimum: split blocks of one
//! or two cache lines, then scattered blocks of one to eight; for each, the fewest blocks and the
//! best `k` that keep the expected rate at `N` keys <= [`DESIGN_MARGIN`] · `P`.

use std::fmt;

/// A bound on one generation's bit array: 2^40 bits (128 GiB). Larger geometries are refused.
pub const MAX_BITS: u64 = 1 << 40;

/// The layout's expected false-positive rate at `N` keys is at most this fraction of `P`, so
/// that a *measured* rate stays under `P` despite sampling noise.
pub const DESIGN_MARGIN: f64 = 0.95;

/// A candidate layout is acceptable when its memory is at most this multiple of the classic
/// optimum. Past that, the next candidate is tried; scattered 4096-bit blocks are the last.
pub const MEMORY_BUDGET: f64 = 1.3;

/// Bits in one 64-byte cache line.
pub const LINE_BITS: u32 = 512;

/// The seed of bloomgate's hash. Part of the geometry: snapshots and syncs carry it, and a filter
/// built with another seed is refused, because its bits would mean something else.
pub const DEFAULT_SEED: u64 = 0x626c_6f6f_6d67_6174; // "bloomgat"

/// The largest `k` considered. Larger values never help at block sizes <= 4096 bits.
const MAX_K: u32 = 64;

/// The layouts tried, cheapest lookup first: split blocks of one and two cache lines (a lookup
/// is a handful of vector instructions), then scattered blocks of one to eight lines (a lookup
/// tests bit by bit). Split blocks of four lines and more are not offered: at the rates that need
/// them, a scattered block of the same size takes less memory.
const CANDIDATES: [(Placement, u32); 6] = [
    (Placement::Split, 512),
    (Placement::Split, 1024),
    (Placement::Scattered, 512),
    (Placement::Scattered, 1024),
    (Placement::Scattered, 2048),
    (Placement::Scattered, 4096),
];

/// Where a key's `k` bits go inside its block of `W` words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placement {
    /// Bit `i` in word `i mod W`, at a position 0–63 of its own: every word of the block is
    /// tested with one mask, so a lookup needs no per-bit branch (the "split block" filter of
    /// Putze, Sanders and Singler, as in Parquet and Impala).
    Split,
    /// Every bit at any of the block's positions.
    Scattered,
}

impl Placement {
    /// The byte that stands for this placement in snapshots and status replies.
    pub fn code(self) -> u8 {
        match self {
            Placement::Split => 1,
            Placement::Scattered => 2,
        }
    }

    /// The placement of a [`Placement::code`].
    pub fn from_code(code: u8) -> Option<Placement> {
        match code {
            1 => Some(Placement::Split),
            2 => Some(Placement::Scattered),
            _ => None,
        }
    }
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Placement::Split => "split",
            Placement::Scattered => "scattered",
        })
    }
}

/// Why a geometry cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeometryError {
    /// `N` was zero: a filter must hold at least one key.
    #[error("N must be at least 1, got 0")]
    ZeroCapacity,
    /// `P` was not strictly between 0 and 1 (or not a number).
    #[error("P must be in (0,1), got {0}")]
    RateOutOfRange(f64),
    /// The filter would need more than [`MAX_BITS`] bits, or sizes overflow `u64`/`usize`.
    #[error("N={n} at P={p} needs more than {max} bits per generation", max = MAX_BITS)]
    TooLarge {
        /// The capacity asked for.
        n: u64,
        /// The rate asked for.
        p: f64,
    },
}

/// The classic (unblocked) geometry for `(N, P)`, as KrakenD computes it: for reporting and for
/// the memory ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classic {
    /// `ceil(-N ln P / (ln 2)^2)` bits.
    pub bits: u64,
    /// `ceil(ln 2 · m / N)` hash functions.
    pub k: u32,
}

impl Classic {
    /// The classic optimum for `(n, p)`; the inputs must already be valid.
    fn for_inputs(n: u64, p: f64) -> Result<Classic, GeometryError> {
        let ln2 = std::f64::consts::LN_2;
        let bits = (-(n as f64) * p.ln() / (ln2 * ln2)).ceil();
        if !bits.is_finite() || bits > MAX_BITS as f64 {
            return Err(GeometryError::TooLarge { n, p });
        }
        let bits = (bits as u64).max(1);
        let k = (ln2 * bits as f64 / n as f64)
            .ceil()
            .clamp(1.0, f64::from(u32::MAX)) as u32;
        Ok(Classic { bits, k })
    }
}

/// The shape of one generation of the filter: everything needed to hash a key to its bits.
///
/// Two filters can be merged, or a snapshot restored, only when their geometries are equal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    n: u64,
    p: f64,
    placement: Placement,
    block_words: u32,
    blocks: u64,
    k: u32,
    seed: u64,
    classic: Classic,
    design_fpr: f64,
}

impl Geometry {
    /// Sizes a filter that holds `n` keys at a false-positive rate of at most `p`.
    pub fn new(n: u64, p: f64) -> Result<Geometry, GeometryError> {
        Geometry::with_seed(n, p, DEFAULT_SEED)
    }

    /// As [`Geometry::new`], with another hash seed (tests; a cluster must share one seed).
    pub fn with_seed(n: u64, p: f64, seed: u64) -> Result<Geometry, GeometryError> {
        if n == 0 {
            return Err(GeometryError::ZeroCapacity);
        }
        if !(p > 0.0 && p < 1.0) {
            return Err(GeometryError::RateOutOfRange(p));
        }
        let classic = Classic::for_inputs(n, p)?;
        let target = p * DESIGN_MARGIN;
        let mut chosen = None;
        for (placement, block_bits) in CANDIDATES {
            let layout = Layout::smallest(n, p, target, placement, block_bits)?;
            let within_budget = layout.bits() as f64 <= MEMORY_BUDGET * classic.bits as f64;
            chosen = Some(layout);
            if within_budget {
                break;
            }
        }
        let layout = chosen.ok_or(GeometryError::TooLarge { n, p })?;
        Ok(Geometry {
            n,
            p,
            placement: layout.placement,
            block_words: layout.block_bits / 64,
            blocks: layout.blocks,
            k: layout.k,
            seed,
            classic,
            design_fpr: layout.fpr,
        })
    }

    /// The capacity `N` this geometry was sized for (keys per generation).
    pub fn n(&self) -> u64 {
        self.n
    }
    /// The target false-positive rate `P`.
    pub fn p(&self) -> f64 {
        self.p
    }
    /// The hash seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Where a key's bits go inside its block.
    pub fn placement(&self) -> Placement {
        self.placement
    }
    /// Bits set per key in this layout.
    pub fn k(&self) -> u32 {
        self.k
    }
    /// 64-bit words per block (8, 16, 32 or 64).
    pub fn block_words(&self) -> u32 {
        self.block_words
    }
    /// Bits per block.
    pub fn block_bits(&self) -> u32 {
        self.block_words * 64
    }
    /// Cache lines per block: what one lookup touches.
    pub fn lines_per_block(&self) -> u32 {
        self.block_bits() / LINE_BITS
    }
    /// Blocks in one generation.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }
    /// 64-bit words in one generation.
    pub fn words(&self) -> u64 {
        self.blocks * u64::from(self.block_words)
    }
    /// Bits in one generation.
    pub fn bits(&self) -> u64 {
        self.words() * 64
    }
    /// Bytes in one generation (the filter keeps two).
    pub fn bytes(&self) -> u64 {
        self.words() * 8
    }
    /// The classic geometry, for reporting (`bits_optimal`, KrakenD's `k`).
    pub fn classic(&self) -> Classic {
        self.classic
    }
    /// This layout's memory divided by the classic optimum's.
    pub fn bytes_ratio_to_optimal(&self) -> f64 {
        self.bits() as f64 / self.classic.bits as f64
    }
    /// The expected false-positive rate of one generation holding exactly `N` keys.
    pub fn design_fpr(&self) -> f64 {
        self.design_fpr
    }
    /// The expected false-positive rate of one generation holding `keys` keys.
    pub fn expected_fpr(&self, keys: f64) -> f64 {
        layout_fpr(
            self.placement,
            self.block_bits(),
            keys / self.blocks as f64,
            self.k,
        )
    }
}

impl fmt::Display for Geometry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "N={} P={} ({} {} blocks of {} bits, k={}, {} bytes per generation)",
            self.n,
            self.p,
            self.blocks,
            self.placement,
            self.block_bits(),
            self.k,
            self.bytes()
        )
    }
}

/// One candidate layout for a block size.
#[derive(Debug, Clone, Copy)]
struct Layout {
    placement: Placement,
    block_bits: u32,
    blocks: u64,
    k: u32,
    fpr: f64,
}

impl Layout {
    fn bits(&self) -> u64 {
        self.blocks * u64::from(self.block_bits)
    }

    /// The fewest blocks of `block_bits` (with the best `k`) whose expected rate at `n` keys is
    /// at most `target`.
    fn smallest(
        n: u64,
        p: f64,
        target: f64,
        placement: Placement,
        block_bits: u32,
    ) -> Result<Layout, GeometryError> {
        let too_large = GeometryError::TooLarge { n, p };
        let max_blocks = MAX_BITS / u64::from(block_bits);
        let best_at = |blocks: u64| best_k(placement, block_bits, n as f64 / blocks as f64);
        // A blocked filter never beats the classic optimum, so start there.
        let classic = Classic::for_inputs(n, p)?;
        let mut lo = classic.bits.div_ceil(u64::from(block_bits)).max(1);
        if best_at(lo).1 <= target {
            let (k, fpr) = best_at(lo);
            return Ok(Layout {
                placement,
                block_bits,
                blocks: lo,
                k,
                fpr,
            });
        }
        // Exponential search for a size that is good enough, then bisect.
        let mut hi = lo;
        loop {
            hi = hi.checked_mul(2).ok_or(too_large.clone())?.min(max_blocks);
            if best_at(hi).1 <= target {
                break;
            }
            if hi == max_blocks {
                return Err(too_large);
            }
            lo = hi;
        }
        // Invariant: best_at(lo) > target >= best_at(hi).
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if best_at(mid).1 <= target {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        let (k, fpr) = best_at(hi);
        Ok(Layout {
            placement,
            block_bits,
            blocks: hi,
            k,
            fpr,
        })
    }
}

/// The `k` that minimises the expected rate at `keys_per_block`, with that rate.
fn best_k(placement: Placement, block_bits: u32, keys_per_block: f64) -> (u32, f64) {
    let mut best = (1, layout_fpr(placement, block_bits, keys_per_block, 1));
    for k in 2..=MAX_K {
        let fpr = layout_fpr(placement, block_bits, keys_per_block, k);
        if fpr < best.1 {
            best = (k, fpr);
        } else {
            break; // the rate is unimodal in k
        }
    }
    best
}

/// The expected false-positive rate of a blocked filter whose blocks hold `lambda` keys on
/// average (Poisson), each key setting `k` bits of its `block_bits`-bit block as `placement`
/// says.
pub(crate) fn layout_fpr(placement: Placement, block_bits: u32, lambda: f64, k: u32) -> f64 {
    match placement {
        Placement::Scattered => poisson_mixture(lambda, |keys| {
            // P(one probe finds a set bit) with `keys` keys in the block: 1 - (1-1/B)^(k·keys),
            // for each of the k probes.
            all_set(f64::from(block_bits), f64::from(k), keys)
        }),
        Placement::Split => {
            // Word w holds `k / W` bits of every key, or one more for the first `k mod W` words;
            // each word is a little scattered filter of 64 bits, independent of the others.
            let words = block_bits / 64;
            let (per_word, extra) = (k / words, k % words);
            poisson_mixture(lambda, |keys| {
                let heavy = word_rate(per_word + 1, keys);
                let light = word_rate(per_word, keys);
                heavy.powi(extra as i32) * light.powi((words - extra) as i32)
            })
        }
    }
}

/// The exact probability that `probes` positions drawn at random (with repeats) in a 64-bit
/// word all find a set bit after `keys` keys have each set `probes` such positions. The
/// classic `(1 - (1-1/64)^(probes·keys))^probes` treats the probes as independent; in a word
/// this small they are not (two probes may be the same bit, and the number of set bits
/// varies), and it underestimates the rate by a few percent at two probes a word. Here: over
/// the number `d` of distinct probed bits, by inclusion–exclusion
/// `P(d given bits all set) = sum_i (-1)^i C(d,i) (1 - i/64)^(probes·keys)`.
fn word_rate(probes: u32, keys: f64) -> f64 {
    const BITS: f64 = 64.0;
    // At most MAX_K / 8 = 8 probes a word (the fewest words a split block has is 8). Past
    // that the alternating sum below would lose its precision; the classic formula is close
    // there anyway.
    const MOST: usize = 8;
    let c = probes as usize;
    if c == 0 {
        return 1.0;
    }
    if c > MOST {
        return all_set(BITS, f64::from(probes), keys);
    }
    // distinct[d]: the probability that `probes` draws hit exactly d distinct bits.
    let mut distinct = [0.0f64; MOST + 1];
    distinct[0] = 1.0;
    for _ in 0..c {
        for d in (0..c).rev() {
            let fresh = distinct[d] * (BITS - d as f64) / BITS;
            distinct[d + 1] += fresh;
            distinct[d] -= fresh;
        }
    }
    // sum_d P(d) sum_i (-1)^i C(d,i) q_i  =  sum_i (-1)^i q_i sum_d P(d) C(d,i),
    // with q_i = (1 - i/64)^(probes·keys) computed once per i.
    let throws = f64::from(probes) * keys;
    let mut rate = 0.0;
    for i in 0..=c {
        let mut weight = 0.0;
        let mut choose = 1.0; // C(d, i), from d = i up
        for (d, &p_d) in distinct.iter().enumerate().take(c + 1).skip(i.max(1)) {
            if d > i {
                choose = choose * d as f64 / (d - i) as f64;
            }
            weight += p_d * choose;
        }
        let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
        rate += sign * weight * (throws * (-(i as f64) / BITS).ln_1p()).exp();
    }
    rate.clamp(0.0, 1.0)
}

/// The probability that `probes` positions of a `bits`-bit array all find a set bit after `keys`
/// keys have each set `probes` uniformly random positions of it: `(1 - (1-1/bits)^(probes·keys))^probes`.
fn all_set(bits: f64, probes: f64, keys: f64) -> f64 {
    let unset = (probes * keys * (-1.0 / bits).ln_1p()).exp();
    if unset >= 1.0 {
        0.0
    } else {
        (probes * (-unset).ln_1p()).exp()
    }
}

/// `E[rate(L)]` for a block load `L` ~ Poisson(`lambda`), summed over the loads that matter.
fn poisson_mixture(lambda: f64, rate: impl Fn(f64) -> f64) -> f64 {
    if lambda <= 0.0 {
        return 0.0;
    }
    let spread = 12.0 * lambda.sqrt() + 20.0;
    let first = (lambda - spread).max(0.0).floor() as u64;
    let last = (lambda + spread).ceil() as u64;
    let ln_lambda = lambda.ln();
    let mut sum = 0.0;
    for i in first..=last {
        let fi = i as f64;
        let ln_pois = -lambda + fi * ln_lambda - ln_factorial(fi);
        sum += ln_pois.exp() * rate(fi);
    }
    sum.min(1.0)
}

/// `ln(x!)` for a non-negative integer-valued `x` (Stirling with correction terms past 20).
fn ln_factorial(x: f64) -> f64 {
    if x < 20.0 {
        let mut acc = 0.0;
        let mut i = 2.0;
        while i <= x {
            acc += f64::ln(i);
            i += 1.0;
        }
        return acc;
    }
    let pi2 = 2.0 * std::f64::consts::PI;
    x * x.ln() - x + 0.5 * (pi2 * x).ln() + 1.0 / (12.0 * x) - 1.0 / (360.0 * x * x * x)
}

#[cfg(test)]
mod tests;
