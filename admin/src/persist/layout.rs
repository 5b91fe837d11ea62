//! The persistence directory's file names.
//!
//! - `journal-<seq>.log`: log segments, `seq` counting up from 0 (20 digits, so names sort).
//! - `snapshot-<epoch>-<seq>.bin`: a snapshot of the whole filter taken when segment `seq` was
//!   started: it holds every record of the segments before `seq`. Recovery loads it and replays
//!   segments `seq` and later.
//! - `*.tmp`: a snapshot being written; never read, removed at start.

use std::path::{Path, PathBuf};

/// A file recovery knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Entry {
    /// A log segment.
    Segment {
        /// Its sequence number.
        seq: u64,
    },
    /// A snapshot.
    Snapshot {
        /// The first segment it does not cover.
        seq: u64,
        /// The filter's newest epoch when taken (for people reading the directory).
        epoch: u64,
    },
    /// A snapshot left half-written by a crash.
    Temporary,
}

/// The path of segment `seq`.
pub fn segment(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("journal-{seq:020}.log"))
}

/// The path of a snapshot.
pub fn snapshot(dir: &Path, epoch: u64, seq: u64) -> PathBuf {
    dir.join(format!("snapshot-{epoch:020}-{seq:020}.bin"))
}

/// The temporary path a snapshot is written to before its rename.
pub fn temporary(dir: &Path, epoch: u64, seq: u64) -> PathBuf {
    dir.join(format!("snapshot-{epoch:020}-{seq:020}.bin.tmp"))
}

/// What a file name is (`None`: not ours, left alone).
pub fn parse(name: &str) -> Option<Entry> {
    if name.starts_with("snapshot-") && name.ends_with(".tmp") {
        return Some(Entry::Temporary);
    }
    if let Some(seq) = name
        .strip_prefix("journal-")
        .and_then(|r| r.strip_suffix(".log"))
    {
        return number(seq).map(|seq| Entry::Segment { seq });
    }
    let rest = name.strip_prefix("snapshot-")?.strip_suffix(".bin")?;
    let (epoch, seq) = rest.split_once('-')?;
    Some(Entry::Snapshot {
        seq: number(seq)?,
        epoch: number(epoch)?,
    })
}

fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let dir = Path::new("/d");
        let name = |p: PathBuf| p.file_name().unwrap().to_str().unwrap().to_owned();
        assert_eq!(
            parse(&name(segment(dir, 7))),
            Some(Entry::Segment { seq: 7 })
        );
        assert_eq!(
            parse(&name(snapshot(dir, 123, 9))),
            Some(Entry::Snapshot { seq: 9, epoch: 123 })
        );
        assert_eq!(parse(&name(temporary(dir, 1, 2))), Some(Entry::Temporary));
        for other in [
            "journal-.log",
            "journal-1a.log",
            "snapshot-1.bin",
            "x",
            "journal-+1.log",
        ] {
            assert_eq!(parse(other), None, "{other}");
        }
    }
}
