//! Snapshots: the whole filter (both generations, their epochs, the geometry, the hash seed) as
//! one self-checking byte string, for disk and for syncing a new gateway.
//!
//! Layout: a 32-byte header — magic `BLGSNAP\x02` (the last byte is the format), the body
//! length (u64 LE), the xxh3-64 of the body (u64 LE), 8 reserved zero bytes — then the body, an
//! rkyv archive. The header lets a reader reject truncation before it looks at the archive; the archive is validated byte by
//! byte (bytecheck) before any field is read. The checksum is verified before a merge into a
//! live filter; a restore, which builds new filters, verifies it on a second thread while it
//! copies and returns nothing unless it matches. Restoring never trusts a length or an index
//! from the file.

use std::sync::Arc;

use rkyv::rancor;
use rkyv::util::AlignedVec;
use rkyv::vec::{ArchivedVec, VecResolver};
use rkyv::with::{ArchiveWith, SerializeWith};
use rkyv::{Archived, Place};
use xxhash_rust::xxh3::xxh3_64;

use crate::filter::Filter;
use crate::generations::{Generation, Revocations, WordCount, Writer, ZeroTtl};
use crate::geometry::{Geometry, Placement};
use crate::sync::AtomicU64;
use crate::sync::Ordering::Relaxed;

/// The last byte is [`FORMAT`]: a snapshot of another format is refused before its archive,
/// whose layout may differ, is read.
const MAGIC: [u8; 8] = *b"BLGSNAP\x02";
/// Bytes before the body.
pub const HEADER_LEN: usize = 32;
/// The format version, in the magic and in the body. 2: the placement of bits in a block
/// (format 1 had only scattered blocks, with the bits of today's `Placement::Scattered`, but no
/// field saying so).
const FORMAT: u32 = 2;
const _: () = assert!(MAGIC[7] as u32 == FORMAT);

/// The archive's root, as a reader sees it. Written through [`BodyOut`], which archives to the
/// same type (a test serialises both and compares the bytes).
#[derive(rkyv::Archive)]
#[cfg_attr(test, derive(rkyv::Serialize))]
#[cfg_attr(
    not(test),
    expect(dead_code, reason = "only its archived form is read")
)]
struct Body {
    format: u32,
    n: u64,
    p: f64,
    seed: u64,
    placement: u8,
    block_words: u32,
    blocks: u64,
    k: u32,
    ttl: u64,
    generations: Vec<GenerationBody>,
}

#[derive(rkyv::Archive)]
#[cfg_attr(test, derive(rkyv::Serialize))]
struct GenerationBody {
    epoch: u64,
    inserted: u64,
    words: Vec<u64>,
}

/// [`Body`] as the writer builds it: the generations' words are read from the live filter
/// while they are archived, not collected into a `Vec` first (a second copy of the filter, and
/// its page faults: most of a snapshot's time).
#[derive(rkyv::Serialize, rkyv::Archive)]
#[rkyv(as = ArchivedBody)]
struct BodyOut {
    format: u32,
    n: u64,
    p: f64,
    seed: u64,
    placement: u8,
    block_words: u32,
    blocks: u64,
    k: u32,
    ttl: u64,
    generations: Vec<GenerationOut>,
}

#[derive(rkyv::Serialize, rkyv::Archive)]
#[rkyv(as = ArchivedGenerationBody)]
struct GenerationOut {
    epoch: u64,
    inserted: u64,
    #[rkyv(with = LiveWords)]
    words: GenerationRef,
}

/// One generation of a live filter (no lifetime: the derive's bounds would not normalise).
struct GenerationRef {
    shared: Arc<Revocations>,
    index: usize,
}

impl GenerationRef {
    fn filter(&self) -> &Filter {
        &self.shared.generations[self.index].filter
    }
}

/// Archives a filter's words, loaded one by one, as the `Vec<u64>` a reader finds.
struct LiveWords;

impl ArchiveWith<GenerationRef> for LiveWords {
    type Archived = ArchivedVec<Archived<u64>>;
    type Resolver = VecResolver;

    fn resolve_with(field: &GenerationRef, resolver: VecResolver, out: Place<Self::Archived>) {
        let words = field.filter().geometry().words() as usize;
        ArchivedVec::resolve_from_len(words, resolver, out);
    }
}

impl<S> SerializeWith<GenerationRef, S> for LiveWords
where
    S: rancor::Fallible + rkyv::ser::Allocator + rkyv::ser::Writer + ?Sized,
{
    fn serialize_with(field: &GenerationRef, serializer: &mut S) -> Result<VecResolver, S::Error> {
        ArchivedVec::<Archived<u64>>::serialize_from_unknown_length_iter(
            &mut field.filter().words().map(|word| word.load(Relaxed)),
            serializer,
        )
    }
}

/// Why a snapshot was refused. Nothing was changed when this is returned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SnapshotError {
    /// Fewer bytes than the header announces (a torn write), or more.
    #[error("snapshot is {found} bytes, its header announces {expected}")]
    Length {
        /// Header plus announced body length.
        expected: u64,
        /// What was given.
        found: u64,
    },
    /// Not a bloomgate snapshot, or a format this build cannot read.
    #[error("not a bloomgate snapshot of format {FORMAT} (bad magic, or another format)")]
    Magic,
    /// The body's checksum does not match: the bytes were damaged.
    #[error("snapshot checksum mismatch: the file is corrupt")]
    Checksum,
    /// The body is not a valid archive.
    #[error("snapshot body is not a valid archive: {0}")]
    Archive(String),
    /// A body format this build cannot read.
    #[error("snapshot format {0} is not supported")]
    Format(u32),
    /// The snapshot was taken with another geometry (N, P, seed or layout).
    #[error("snapshot geometry {found} differs from the configured {expected}")]
    Geometry {
        /// What the configuration asks for.
        expected: String,
        /// What the snapshot holds.
        found: String,
    },
    /// The snapshot was taken with another TTL.
    #[error("snapshot TTL {found}s differs from the configured {expected}s")]
    Ttl {
        /// The configured TTL.
        expected: u64,
        /// The snapshot's.
        found: u64,
    },
    /// The generations are not two distinct epochs of different parity.
    #[error("snapshot generations have an invalid epoch pair ({0}, {1})")]
    EpochPair(u64, u64),
    /// A generation has the wrong number of words.
    #[error(transparent)]
    Words(#[from] WordCount),
    /// TTL 0.
    #[error(transparent)]
    Ttl0(#[from] ZeroTtl),
}

/// A snapshot, header and body, in a buffer aligned for the archive (so that restoring from it
/// needs no copy). Dereferences to its bytes.
#[derive(Debug)]
pub struct SnapshotBytes(AlignedVec<16>);

impl std::ops::Deref for SnapshotBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// What a restore kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestoreReport {
    /// Generations merged in (0–2).
    pub generations_kept: u32,
    /// Generations older than the window, dropped.
    pub generations_dropped: u32,
}

impl Writer {
    /// The whole filter as a snapshot (header and body). Runs on the writer, so no insert
    /// interleaves with the copy.
    pub fn snapshot(&self) -> SnapshotBytes {
        let shared = self.shared();
        let g = shared.geometry();
        let generations = shared
            .generations
            .iter()
            .enumerate()
            .map(|(index, generation)| GenerationOut {
                epoch: generation.epoch.load(Relaxed),
                inserted: generation.filter.inserted(),
                words: GenerationRef {
                    shared: Arc::clone(shared),
                    index,
                },
            })
            .collect();
        let body = BodyOut {
            format: FORMAT,
            n: g.n(),
            p: g.p(),
            seed: g.seed(),
            placement: g.placement().code(),
            block_words: g.block_words(),
            blocks: g.blocks(),
            k: g.k(),
            ttl: shared.ttl(),
            generations,
        };
        let estimate = HEADER_LEN + 256 + 2 * 8 * g.words() as usize;
        let mut buffer = AlignedVec::<16>::with_capacity(estimate);
        buffer.extend_from_slice(&[0u8; HEADER_LEN]);
        // Serialising plain integers and vectors into memory cannot fail.
        let mut buffer = match rkyv::api::high::to_bytes_in::<_, rancor::Panic>(&body, buffer) {
            Ok(buffer) => buffer,
            Err(never) => match never {},
        };
        let body_len = (buffer.len() - HEADER_LEN) as u64;
        let checksum = xxh3_64(&buffer[HEADER_LEN..]);
        buffer[..8].copy_from_slice(&MAGIC);
        buffer[8..16].copy_from_slice(&body_len.to_le_bytes());
        buffer[16..24].copy_from_slice(&checksum.to_le_bytes());
        SnapshotBytes(buffer)
    }

    /// Validates `bytes` as a snapshot of this filter's geometry and TTL and merges its
    /// generations in (by epoch, see [`Writer::merge_generation`]). Nothing changes on error.
    pub fn merge_snapshot(
        &mut self,
        bytes: &[u8],
        now: u64,
    ) -> Result<RestoreReport, SnapshotError> {
        let (geometry, ttl) = (*self.shared().geometry(), self.shared().ttl());
        // This changes a live filter: the checksum is verified before any word is read.
        with_generations(bytes, &geometry, ttl, Checksum::First, |older, newer| {
            let mut report = RestoreReport {
                generations_kept: 0,
                generations_dropped: 0,
            };
            // Oldest first, so that advancing to the newest epoch happens before its merge.
            for generation in [older, newer] {
                let words = generation.words.iter().map(|w| w.to_native());
                let epoch = generation.epoch.to_native();
                if self.merge_words(epoch, generation.inserted.to_native(), words, now)? {
                    report.generations_kept += 1;
                } else {
                    report.generations_dropped += 1;
                }
            }
            Ok(report)
        })?
    }
}

impl Revocations {
    /// A filter of `geometry` and `ttl` restored from a snapshot at time `now`: generations
    /// older than the window are dropped. The snapshot must match the geometry and TTL.
    ///
    /// Builds each generation straight from the archive's words, one pass over memory, while
    /// another thread verifies the checksum (nothing built is returned unless it matches): the
    /// restore takes about as long as the copy instead of the checksum plus the copy.
    pub fn restore(
        bytes: &[u8],
        geometry: Geometry,
        ttl: u64,
        now: u64,
    ) -> Result<(Arc<Revocations>, Writer, RestoreReport), SnapshotError> {
        if ttl == 0 {
            return Err(ZeroTtl.into());
        }
        with_generations(
            bytes,
            &geometry,
            ttl,
            Checksum::Alongside,
            |older, newer| {
                // A snapshot from a clock ahead of ours keeps its epochs: lives only get longer.
                let current = (now / ttl).max(newer.epoch.to_native());
                let mut report = RestoreReport {
                    generations_kept: 0,
                    generations_dropped: 0,
                };
                let mut kept: [Option<(u64, Filter)>; 2] = [None, None];
                for generation in [older, newer] {
                    let epoch = generation.epoch.to_native();
                    if epoch + 1 >= current {
                        let words = generation.words.iter().map(|w| w.to_native());
                        let filter =
                            Filter::from_words(geometry, words, generation.inserted.to_native());
                        kept[(epoch % 2) as usize] = Some((epoch, filter));
                        report.generations_kept += 1;
                    } else {
                        report.generations_dropped += 1;
                    }
                }
                let [even, odd] = kept;
                let slot = |parity: u64, restored: Option<(u64, Filter)>| {
                    let (epoch, filter) = restored.unwrap_or_else(|| {
                        let epoch = if current % 2 == parity {
                            current
                        } else {
                            current.saturating_sub(1)
                        };
                        (epoch, Filter::new(geometry))
                    });
                    Generation {
                        epoch: AtomicU64::new(epoch),
                        filter,
                    }
                };
                let generations = [slot(0, even), slot(1, odd)];
                let shared = Arc::new(Revocations::from_generations(geometry, ttl, generations));
                let writer = Writer::for_restored(Arc::clone(&shared), current);
                (shared, writer, report)
            },
        )
    }
}

/// When [`with_generations`] verifies the body's checksum.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Checksum {
    /// Before the generations are handed over: for a use with effects on live state.
    First,
    /// On another thread while the generations are used: for a use that only builds something
    /// new, which is dropped if the checksum does not match.
    Alongside,
}

/// Checks `bytes` (envelope, archive, geometry, TTL, epoch pair, sizes, checksum) and hands its
/// two generations, oldest first, to `use_them`; with [`Checksum::Alongside`], what `use_them`
/// returns is dropped and [`SnapshotError::Checksum`] returned if the checksum fails. The
/// archive's structure is validated (bytecheck) before any field is read either way, and a
/// refusal for any other reason names the checksum instead when the bytes are damaged.
fn with_generations<R>(
    bytes: &[u8],
    geometry: &Geometry,
    ttl: u64,
    checksum: Checksum,
    use_them: impl FnOnce(&ArchivedGenerationBody, &ArchivedGenerationBody) -> R,
) -> Result<R, SnapshotError> {
    let (body, expected_sum) = envelope(bytes)?;
    let intact = || xxh3_64(body) == expected_sum;
    if checksum == Checksum::First && !intact() {
        return Err(SnapshotError::Checksum);
    }
    let aligned;
    let archive = if (body.as_ptr() as usize).is_multiple_of(16) {
        body
    } else {
        let mut copy = AlignedVec::<16>::with_capacity(body.len());
        copy.extend_from_slice(body);
        aligned = copy;
        aligned.as_slice()
    };
    let generations = match validated_generations(archive, geometry, ttl) {
        Ok(generations) => generations,
        Err(_) if checksum == Checksum::Alongside && !intact() => {
            return Err(SnapshotError::Checksum);
        }
        Err(refused) => return Err(refused),
    };
    let (older, newer) = generations.oldest_first();
    if checksum == Checksum::First {
        return Ok(use_them(older, newer));
    }
    std::thread::scope(|scope| {
        let verifier = std::thread::Builder::new()
            .name("snapshot-checksum".into())
            .spawn_scoped(scope, intact);
        let result = use_them(older, newer);
        let intact = match verifier {
            Ok(verifier) => verifier.join().unwrap_or(false),
            // No thread to be had: verify here, after the copy.
            Err(_) => intact(),
        };
        if intact {
            Ok(result)
        } else {
            Err(SnapshotError::Checksum)
        }
    })
}

/// The two generations of a validated archive.
struct Generations<'a> {
    a: &'a ArchivedGenerationBody,
    b: &'a ArchivedGenerationBody,
}

impl<'a> Generations<'a> {
    fn oldest_first(&self) -> (&'a ArchivedGenerationBody, &'a ArchivedGenerationBody) {
        if self.a.epoch.to_native() < self.b.epoch.to_native() {
            (self.a, self.b)
        } else {
            (self.b, self.a)
        }
    }
}

/// The archive in `body` (16-byte aligned), validated byte by byte (bytecheck), checked against
/// the geometry and TTL, with a valid epoch pair and the right number of words in each
/// generation.
fn validated_generations<'a>(
    body: &'a [u8],
    geometry: &Geometry,
    ttl: u64,
) -> Result<Generations<'a>, SnapshotError> {
    let archived = rkyv::access::<ArchivedBody, rancor::Error>(body)
        .map_err(|e| SnapshotError::Archive(e.to_string()))?;
    check_compatible(archived, geometry, ttl)?;
    let [a, b] = archived.generations.as_slice() else {
        return Err(SnapshotError::EpochPair(0, 0));
    };
    let (ea, eb) = (a.epoch.to_native(), b.epoch.to_native());
    if ea == eb || ea % 2 == eb % 2 {
        return Err(SnapshotError::EpochPair(ea, eb));
    }
    for generation in [a, b] {
        if generation.words.len() as u64 != geometry.words() {
            return Err(WordCount {
                expected: geometry.words(),
                found: generation.words.len() as u64,
            }
            .into());
        }
    }
    Ok(Generations { a, b })
}

fn check_compatible(archived: &ArchivedBody, g: &Geometry, ttl: u64) -> Result<(), SnapshotError> {
    let format = archived.format.to_native();
    if format != FORMAT {
        return Err(SnapshotError::Format(format));
    }
    let found = (
        archived.n.to_native(),
        archived.p.to_native(),
        archived.seed.to_native(),
        archived.placement,
        archived.block_words.to_native(),
        archived.blocks.to_native(),
        archived.k.to_native(),
    );
    let expected = (
        g.n(),
        g.p(),
        g.seed(),
        g.placement().code(),
        g.block_words(),
        g.blocks(),
        g.k(),
    );
    if found != expected {
        let placement = Placement::from_code(found.3).map_or_else(
            || format!("unknown placement {}", found.3),
            |p| p.to_string(),
        );
        return Err(SnapshotError::Geometry {
            expected: g.to_string(),
            found: format!(
                "N={} P={} seed={:#x} ({} {placement} blocks of {} words, k={})",
                found.0, found.1, found.2, found.5, found.4, found.6
            ),
        });
    }
    let found_ttl = archived.ttl.to_native();
    if found_ttl != ttl {
        return Err(SnapshotError::Ttl {
            expected: ttl,
            found: found_ttl,
        });
    }
    Ok(())
}

/// The body of a snapshot whose header and length are right, and the checksum its header
/// announces for it.
fn envelope(bytes: &[u8]) -> Result<(&[u8], u64), SnapshotError> {
    let header = bytes.get(..HEADER_LEN).ok_or(SnapshotError::Length {
        expected: HEADER_LEN as u64,
        found: bytes.len() as u64,
    })?;
    if header[..8] != MAGIC {
        return Err(SnapshotError::Magic);
    }
    let field = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&header[at..at + 8]);
        u64::from_le_bytes(b)
    };
    let (len, checksum) = (field(8), field(16));
    let expected = len.saturating_add(HEADER_LEN as u64);
    if expected != bytes.len() as u64 {
        return Err(SnapshotError::Length {
            expected,
            found: bytes.len() as u64,
        });
    }
    if field(24) != 0 {
        // The reserved field is covered by no checksum: damage there is damage all the same.
        return Err(SnapshotError::Checksum);
    }
    Ok((&bytes[HEADER_LEN..], checksum))
}

#[cfg(test)]
mod tests;
