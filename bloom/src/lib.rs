//! The revocation filter of bloomgate: what every request on every core asks, and what the
//! admin core writes while they do.
//!
//! - [`Geometry`]: from a capacity `N` and a false-positive rate `P` to a blocked layout whose
//!   measured rate at `N` keys stays under `P` (and the classic geometry, for comparison).
//! - [`Filter`]: one generation, a blocked bloom filter over atomic `u64` words in one
//!   64-byte-aligned allocation (huge pages when large); all `k` bits of a key lie in one block of 1–8 cache lines.
//!   `insert` is `fetch_or`, `contains` is relaxed loads: shared by all cores by reference.
//! - [`Revocations`] and its single [`Writer`]: two generations keyed by wall-clock epoch
//!   (`unix_seconds / TTL`), rotated by incremental sweeps; a value lives at least `TTL` and at
//!   most `2·TTL`.
//! - Snapshots ([`Writer::snapshot`], [`Revocations::restore`]): rkyv archives behind a
//!   checksummed header, validated before use.
//!
//! What this crate is not: it does no I/O, runs no tasks, and never reads a clock — time is a
//! parameter (`now`, unix seconds). Two modules hold its `unsafe`: `storage` allocates the bit
//! array (on huge pages when it is large), and `simd` looks a key up in a split block with AVX2
//! when the CPU has it (the portable lookup is used otherwise).
#![deny(unsafe_code)]

pub mod filter;
pub mod generations;
pub mod geometry;
pub mod hash;
#[cfg(all(target_arch = "x86_64", not(loom)))]
#[allow(unsafe_code)]
mod simd;
pub mod snapshot;
#[allow(unsafe_code)]
mod storage;
mod sync;

pub use filter::{Filter, GeometryMismatch};
pub use generations::{GenerationStats, Revocations, SweepProgress, WordCount, Writer, ZeroTtl};
pub use geometry::{Classic, Geometry, GeometryError, Placement};
pub use hash::KeyHash;
pub use snapshot::{RestoreReport, SnapshotBytes, SnapshotError};
