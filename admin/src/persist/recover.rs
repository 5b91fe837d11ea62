//! Recovery at start (plain `std::fs`, before any executor runs): the newest valid snapshot,
//! then every record of the segments it does not cover, replayed at their own times so that
//! generations come out as they were; records older than the `2·TTL` window are skipped.
//!
//! - Zeros after the last record are a preallocated segment's unused part: the log ends there
//!   (they are cut off on disk).
//! - A torn tail (a cut or bad record within [`TORN_LIMIT`] bytes of the end of the data of the
//!   last non-empty segment: the last write, never synced, never acknowledged) is truncated on
//!   disk.
//! - A newest snapshot that does not validate is renamed `*.corrupt` and the previous one is
//!   used, with its segments (they are kept for this).
//! - Anything else — a bad record before the tail, a missing segment, an unreadable file, no
//!   valid snapshot left — is a [`RecoverError`] naming the file and the reason, unless
//!   `ignore_corrupt` is set: then it is noted in the [`Report`] and recovery goes on with what
//!   is valid. Nothing read from a file is trusted before its checksum passes; nothing panics.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bloom::{Geometry, Revocations, SnapshotError, Writer};

use super::journal::TORN_LIMIT;
use super::layout::{self, Entry};
use super::record::{self, End};
use super::segment::without_trailing_zeros;

/// What recovery needs.
#[derive(Debug, Clone)]
pub struct RecoverOptions {
    /// The configured filter.
    pub geometry: Geometry,
    /// `TTL` in seconds.
    pub ttl: u64,
    /// Unix seconds now (a parameter so tests can move time).
    pub now: u64,
    /// `bloomgate/persistence.ignore_corrupt`: go on past damage instead of refusing to start.
    pub ignore_corrupt: bool,
}

/// A snapshot file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SnapshotName {
    /// The first segment it does not cover.
    pub seq: u64,
    /// Its newest epoch.
    pub epoch: u64,
}

/// What is on disk after recovery (what the [`Store`](super::Store) continues from).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// Valid-looking snapshots, oldest first.
    pub snapshots: Vec<SnapshotName>,
    /// Segment numbers, ascending.
    pub segments: Vec<u64>,
    /// The number of the next segment to create.
    pub next_seq: u64,
}

/// What recovery did, for the start-up log line.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The snapshot loaded.
    pub snapshot: Option<PathBuf>,
    /// Segments read.
    pub segments: usize,
    /// Records replayed.
    pub replayed: u64,
    /// Records skipped as older than the window.
    pub expired: u64,
    /// Bytes cut from a torn tail.
    pub truncated: u64,
    /// Damage passed over (`ignore_corrupt`) or fallen back from, one line each.
    pub notes: Vec<String>,
    /// Whether damage was ignored (a fresh snapshot should supersede it).
    pub corrupt_ignored: bool,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.snapshot {
            Some(path) => write!(f, "snapshot {}", path.display())?,
            None => f.write_str("no snapshot")?,
        }
        write!(
            f,
            ", {} segment(s), {} record(s) replayed, {} expired",
            self.segments, self.replayed, self.expired
        )?;
        if self.truncated > 0 {
            write!(f, ", torn tail of {} byte(s) truncated", self.truncated)?;
        }
        Ok(())
    }
}

/// The recovered filter.
#[derive(Debug)]
pub struct Recovered {
    /// The filter for the readers.
    pub shared: Arc<Revocations>,
    /// Its one writer.
    pub writer: Writer,
    /// What is on disk now.
    pub layout: Layout,
    /// What was done.
    pub report: Report,
}

/// Why the filter could not be recovered. Printed as the reason the process exits.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// A file or the directory could not be read or changed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// On what.
        path: PathBuf,
        /// The system's error.
        source: io::Error,
    },
    /// A record before the tail is damaged.
    #[error(
        "{}: corrupt record at byte {offset} of {len}: {reason}; acknowledged revocations may be lost (set \"ignore_corrupt\": true in bloomgate/persistence to start with what is valid)",
        path.display()
    )]
    CorruptRecord {
        /// The segment.
        path: PathBuf,
        /// Where the bad record starts.
        offset: usize,
        /// The segment's length.
        len: usize,
        /// Why.
        reason: String,
    },
    /// A segment that a snapshot needs is not there.
    #[error(
        "{} is missing: the snapshot {} needs it (set \"ignore_corrupt\": true in bloomgate/persistence to start without it)",
        path.display(),
        snapshot.as_deref().map_or_else(|| "<none>".into(), |p| p.display().to_string())
    )]
    MissingSegment {
        /// The missing file.
        path: PathBuf,
        /// The snapshot in use.
        snapshot: Option<PathBuf>,
    },
    /// Every snapshot is damaged.
    #[error(
        "no valid snapshot: {} ({source}); set \"ignore_corrupt\": true in bloomgate/persistence to start from the log alone",
        path.display()
    )]
    Snapshot {
        /// The last snapshot tried.
        path: PathBuf,
        /// Why it was refused.
        source: SnapshotError,
    },
    /// `TTL` 0.
    #[error("{0}")]
    Filter(String),
}

/// A segment read into memory, with the length of its valid records.
struct Segment {
    path: PathBuf,
    bytes: Vec<u8>,
    valid: usize,
    /// `valid` plus whatever follows it up to the last nonzero byte (the rest is unused
    /// preallocated space).
    data_end: usize,
    end: End,
}

/// Recovers the filter kept in `dir` (created if missing).
pub fn recover(dir: &Path, options: &RecoverOptions) -> Result<Recovered, RecoverError> {
    let io = |op: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| RecoverError::Io { op, path, source }
    };
    std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    let mut report = Report::default();
    let mut snapshots = Vec::new();
    let mut segments = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io("read", dir))? {
        let entry = entry.map_err(io("read", dir))?;
        let name = entry.file_name();
        let Some(parsed) = name.to_str().and_then(layout::parse) else {
            continue;
        };
        match parsed {
            Entry::Segment { seq } => segments.push(seq),
            Entry::Snapshot { seq, epoch } => snapshots.push(SnapshotName { seq, epoch }),
            Entry::Temporary => {
                let path = entry.path();
                std::fs::remove_file(&path).map_err(io("remove", &path))?;
            }
        }
    }
    snapshots.sort();
    segments.sort_unstable();

    let now = options.now;
    let live = |time: u64| time / options.ttl + 1 >= now / options.ttl;
    // Replay starts at the first live record's time, so generations come out as they were.
    let start_of = |segs: &[Segment]| {
        let first = segs
            .iter()
            .filter_map(|s| {
                let mut first = None;
                record::scan(&s.bytes[..s.valid], |r| {
                    if first.is_none() && live(r.time) {
                        first = Some(r.time);
                    }
                });
                first
            })
            .min();
        first.map_or(now, |t| t.min(now))
    };
    let mut restored = None;
    while let Some(&name) = snapshots.last() {
        let path = layout::snapshot(dir, name.epoch, name.seq);
        let segs = read_segments(dir, &segments, name.seq, Some(&path), options, &mut report)?;
        let bytes = std::fs::read(&path).map_err(io("read", &path))?;
        match Revocations::restore(&bytes, options.geometry, options.ttl, start_of(&segs)) {
            Ok((shared, writer, _)) => {
                report.snapshot = Some(path);
                restored = Some((shared, writer, segs));
                break;
            }
            Err(e) => {
                snapshots.pop();
                let corrupt = path.with_extension("bin.corrupt");
                std::fs::rename(&path, &corrupt).map_err(io("rename", &path))?;
                let next = if snapshots.is_empty() {
                    "no older snapshot"
                } else {
                    "falling back to the previous snapshot"
                };
                report.notes.push(format!(
                    "snapshot {} is unusable ({e}); renamed to {}; {next}",
                    path.display(),
                    corrupt.display()
                ));
                if snapshots.is_empty() {
                    if !options.ignore_corrupt {
                        return Err(RecoverError::Snapshot { path, source: e });
                    }
                    report.corrupt_ignored = true;
                    report
                        .notes
                        .push("ignore_corrupt: starting from the log alone".into());
                }
            }
        }
    }
    let (shared, mut writer, segs) = match restored {
        Some(restored) => restored,
        None => {
            let segs = read_segments(dir, &segments, 0, None, options, &mut report)?;
            let (shared, writer) = Revocations::new(options.geometry, options.ttl, start_of(&segs))
                .map_err(|e| RecoverError::Filter(e.to_string()))?;
            (shared, writer, segs)
        }
    };
    let mut batch: Vec<&[u8]> = Vec::new();
    let mut batch_time = 0;
    let flush = |writer: &mut Writer, batch: &mut Vec<&[u8]>, time: u64| {
        if !batch.is_empty() {
            writer.insert_batch(batch.drain(..), time);
            writer.finish_sweeps();
        }
    };
    for segment in &segs {
        report.segments += 1;
        record::scan(&segment.bytes[..segment.valid], |r| {
            if !live(r.time) {
                report.expired += 1;
                return;
            }
            if r.time != batch_time || batch.len() >= 8192 {
                flush(&mut writer, &mut batch, batch_time);
                batch_time = r.time;
            }
            batch.push(r.key);
            report.replayed += 1;
        });
    }
    flush(&mut writer, &mut batch, batch_time);
    writer.advance(now);
    writer.finish_sweeps();

    let next_seq = segments
        .last()
        .map_or(0, |s| s + 1)
        .max(snapshots.last().map_or(0, |s| s.seq));
    Ok(Recovered {
        shared,
        writer,
        layout: Layout {
            snapshots,
            segments,
            next_seq,
        },
        report,
    })
}

/// Reads segments `from` and later, checking they follow each other and their records; cuts a
/// torn tail off the last non-empty one (on disk too).
fn read_segments(
    dir: &Path,
    all: &[u64],
    from: u64,
    snapshot: Option<&Path>,
    options: &RecoverOptions,
    report: &mut Report,
) -> Result<Vec<Segment>, RecoverError> {
    let wanted: Vec<u64> = all.iter().copied().filter(|&s| s >= from).collect();
    // Without a snapshot the log must start at segment 0; with one, at its `seq` (or later:
    // a segment with nothing in it may be missing).
    let mut expected = if snapshot.is_some() {
        wanted.first().copied().unwrap_or(from)
    } else {
        0
    };
    if snapshot.is_some() && expected > from {
        // The snapshot's first segment is gone while later ones exist.
        missing(dir, from, snapshot, options, report)?;
    }
    let mut segs = Vec::with_capacity(wanted.len());
    for &seq in &wanted {
        if seq != expected {
            missing(dir, expected, snapshot, options, report)?;
        }
        expected = seq + 1;
        let path = layout::segment(dir, seq);
        let bytes = std::fs::read(&path).map_err(|source| RecoverError::Io {
            op: "read",
            path: path.clone(),
            source,
        })?;
        let end = record::scan(&bytes, |_| {});
        let valid = end.valid_len(bytes.len());
        let data_end = valid + without_trailing_zeros(&bytes[valid..]);
        segs.push(Segment {
            path,
            bytes,
            valid,
            data_end,
            end,
        });
    }
    // Damage: a torn tail only at the end of the last non-empty segment.
    let last_nonempty = segs.iter().rposition(|s| s.data_end > 0);
    for (i, seg) in segs.iter_mut().enumerate() {
        if seg.valid == seg.bytes.len() {
            continue;
        }
        let rest = seg.data_end - seg.valid;
        if rest == 0 {
            // Only zeros after the records: unused preallocated space.
            truncate(&seg.path, seg.valid)?;
            seg.bytes.truncate(seg.valid);
            continue;
        }
        if Some(i) == last_nonempty && rest <= TORN_LIMIT {
            truncate(&seg.path, seg.valid)?;
            report.truncated += rest as u64;
            seg.bytes.truncate(seg.valid);
            continue;
        }
        let reason = match seg.end {
            End::Invalid { reason, .. } => reason.to_string(),
            _ => "a cut record".into(),
        };
        let error = RecoverError::CorruptRecord {
            path: seg.path.clone(),
            offset: seg.valid,
            len: seg.bytes.len(),
            reason,
        };
        if !options.ignore_corrupt {
            return Err(error);
        }
        report.corrupt_ignored = true;
        report.notes.push(format!(
            "ignore_corrupt: {error}; the rest of that segment is skipped"
        ));
    }
    Ok(segs)
}

fn missing(
    dir: &Path,
    seq: u64,
    snapshot: Option<&Path>,
    options: &RecoverOptions,
    report: &mut Report,
) -> Result<(), RecoverError> {
    let error = RecoverError::MissingSegment {
        path: layout::segment(dir, seq),
        snapshot: snapshot.map(Path::to_path_buf),
    };
    if !options.ignore_corrupt {
        return Err(error);
    }
    report.corrupt_ignored = true;
    report.notes.push(format!("ignore_corrupt: {error}"));
    Ok(())
}

/// Cuts `path` to `len` bytes and syncs it.
fn truncate(path: &Path, len: usize) -> Result<(), RecoverError> {
    let io = |op| {
        let path = path.to_path_buf();
        move |source| RecoverError::Io { op, path, source }
    };
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io("open"))?;
    file.set_len(len as u64).map_err(io("truncate"))?;
    file.sync_all().map_err(io("sync"))
}

#[cfg(test)]
mod tests;
