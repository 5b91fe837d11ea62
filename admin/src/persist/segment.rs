//! One journal file (`journal-<seq>.log`), open twice: plain `pwrite`s into the page cache on
//! the executor (microseconds for a group commit's few kilobytes), and `fdatasync`s through
//! io_uring on a glommio `BufferedFile`, which never block the executor.
//!
//! **Preallocation.** A segment can be created full of zeros, written to disk and synced before
//! the journal uses it ([`create_preallocated`]). A record written inside that range changes
//! no metadata (the blocks exist, the size stays), so its `fdatasync` is a data write and a
//! cache flush, without an inode update (nor, on a journalled ext4, a journal commit): on this
//! machine's disk 111–141 µs a sync instead of 174–184 µs for an append (median of 2,000,
//! 3 KB writes). Recovery reads the zeros after the last record as the log's end (a zeroed
//! record header never checks out). A segment written past its preallocated length simply
//! grows, as a plain one does.
//!
//! The zeros go by direct I/O and are not cached, so the first `pwrite` into each 4 KiB page
//! reads that page from the disk, on the executor. Avoiding it (whole-page writes, or the zeros
//! through the page cache) measured slower: that stall lets more revocations join the next
//! group (`docs/BENCHMARKS.md`, persistence).

use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::rc::Rc;

use glommio::io::{BufferedFile, DmaFile, OpenOptions};

/// Bytes of zeros written per call while preallocating.
const ZERO_PIECE: usize = 1 << 20;

/// A journal file, open for plain writes and for io_uring syncs.
#[derive(Debug)]
pub struct Segment {
    writes: std::fs::File,
    /// Shared with the sync tasks in flight.
    syncs: Rc<BufferedFile>,
    /// Bytes from the start that are zeros already on disk: writes inside them only overwrite.
    preallocated: u64,
}

/// Creates a new, empty segment file (it must not exist).
pub async fn create(path: &Path) -> Result<Segment, String> {
    open(path, true).await
}

/// Creates a new segment (it must not exist) holding `len` zero bytes on disk, synced. If the
/// zeros cannot be written (a full disk), the file is cut back to empty and returned as a
/// plain segment with the reason: it is still a valid, empty segment.
pub async fn create_preallocated(
    path: &Path,
    len: u64,
) -> Result<(Segment, Option<String>), String> {
    let mut segment = create(path).await?;
    match write_zeros(path, len).await {
        Ok(()) => {
            segment.preallocated = len;
            Ok((segment, None))
        }
        Err(reason) => {
            let _ = segment.writes.set_len(0);
            Ok((segment, Some(reason)))
        }
    }
}

/// Writes `len` zeros at the start of `path` with direct I/O (no page cache; the executor
/// only waits on io_uring) and syncs them with the file's new size.
async fn write_zeros(path: &Path, len: u64) -> Result<(), String> {
    let what = |e: glommio::GlommioError<()>| format!("cannot preallocate {}: {e}", path.display());
    let file = OpenOptions::new()
        .write(true)
        .dma_open(path)
        .await
        .map_err(what)?;
    let result = fill(&file, len).await;
    let result = match result {
        Ok(()) => file.fdatasync().await.map_err(what),
        Err(e) => Err(e),
    };
    let _ = file.close().await;
    result
}

async fn fill(file: &DmaFile, len: u64) -> Result<(), String> {
    let piece = ZERO_PIECE.min(usize::try_from(len).unwrap_or(ZERO_PIECE));
    let piece = usize::try_from(file.align_up(piece as u64)).unwrap_or(ZERO_PIECE);
    let mut buffer = file.alloc_dma_buffer(piece);
    buffer.as_bytes_mut().fill(0);
    let buffer = Rc::new(buffer);
    let mut pos = 0u64;
    while pos < len {
        let written = file
            .write_rc_at(Rc::clone(&buffer), pos)
            .await
            .map_err(|e| format!("cannot preallocate at byte {pos}: {e}"))?;
        if written == 0 {
            return Err(format!(
                "cannot preallocate at byte {pos}: short write (is the disk full?)"
            ));
        }
        pos += written as u64;
    }
    Ok(())
}

/// Opens `path` as a segment: created (it must not exist) or, for tests, an existing file.
pub(crate) async fn open(path: &Path, create: bool) -> Result<Segment, String> {
    let writes = std::fs::OpenOptions::new()
        .write(true)
        .create_new(create)
        .open(path)
        .map_err(|e| {
            let op = if create { "create" } else { "open" };
            format!("cannot {op} {}: {e}", path.display())
        })?;
    let syncs = OpenOptions::new()
        .write(true)
        .buffered_open(path)
        .await
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    Ok(Segment {
        writes,
        syncs: Rc::new(syncs),
        preallocated: 0,
    })
}

impl Segment {
    /// Bytes from the start that are preallocated zeros.
    pub fn preallocated(&self) -> u64 {
        self.preallocated
    }

    /// Writes `bytes` at `pos` (into the page cache; a sync follows). A failed or short write
    /// (disk full) is an error; recovery treats a cut record as a torn tail.
    pub fn write_all(&self, bytes: &[u8], pos: u64) -> Result<(), String> {
        self.writes
            .write_all_at(bytes, pos)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::WriteZero => {
                    format!("short write of {} bytes (is the disk full?)", bytes.len())
                }
                _ => e.to_string(),
            })
    }

    /// The file for a sync task.
    pub fn syncs(&self) -> Rc<BufferedFile> {
        Rc::clone(&self.syncs)
    }

    /// Closes a segment whose syncs have all returned, after cutting off the preallocated
    /// zeros past `end` (the bytes written). A cut that fails or is lost in a crash leaves
    /// zeros, which recovery reads as the end anyway. If a sync task still holds the file (after
    /// a failure), it is closed when that task drops it.
    pub async fn close(self, end: u64) {
        if end < self.preallocated {
            let _ = self.writes.set_len(end);
        }
        if let Ok(syncs) = Rc::try_unwrap(self.syncs) {
            let _ = syncs.close().await;
        }
    }
}

/// The length of `bytes` without its trailing zeros (a preallocated segment's unused part).
pub fn without_trailing_zeros(bytes: &[u8]) -> usize {
    const BLOCK: usize = 64;
    let mut end = bytes.len();
    // Whole blocks first (an OR of 64 bytes vectorises), then the last nonzero byte in one.
    while end >= BLOCK && bytes[end - BLOCK..end].iter().fold(0, |a, &b| a | b) == 0 {
        end -= BLOCK;
    }
    bytes[..end]
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::without_trailing_zeros;

    #[test]
    fn trailing_zeros_are_found_at_every_length() {
        for len in 0..200 {
            for last in 0..len {
                let mut bytes = vec![0u8; len];
                bytes[last] = 7;
                assert_eq!(without_trailing_zeros(&bytes), last + 1, "{len} {last}");
                bytes[0] = 1;
                assert_eq!(without_trailing_zeros(&bytes), last + 1, "{len} {last}");
            }
            assert_eq!(without_trailing_zeros(&vec![0u8; len]), 0);
        }
    }
}
